/**
 * @module The model downloader against a local fake hub (Bun.serve on port 0, two origins: the
 * "hub" answers `resolve` URLs with a 302 to the "CDN", which serves the bytes with Range
 * support, as huggingface.co does). Covers: redirect, token only to the hub, a transfer cut
 * mid-body (partial kept, next pull resumes with a 206), a wrong hash (rejected, nothing
 * installed, partial deleted), a server that ignores Range (restart from zero), and the CLI
 * (`aria model pull|list|rm` with HF_ENDPOINT pointing at the fake hub).
 */
import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installedPath, pullModel } from "../../src/model/download.ts";
import { DownloadError } from "../../src/model/hub.ts";
import type { RegistryEntry } from "../../src/model/registry.ts";

/** Deterministic file content (not compressible to nothing, so ranges matter). */
function makeFile(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const FILE = makeFile(300_000, 7);
const SHA = createHash("sha256").update(FILE).digest("hex");

/** What the fake servers saw and how they behave. */
const state = {
  cutNext: false, // the next hub answer redirects to a CDN that stops after half the body
  ignoreRange: false, // the CDN answers 200 with the whole file even to a Range request
  requests: [] as { server: string; path: string; range: string | null; auth: string | null }[],
};

const cdn = Bun.serve({
  port: 0,
  fetch(req) {
    const url = new URL(req.url);
    const range = req.headers.get("range");
    state.requests.push({
      server: "cdn",
      path: url.pathname,
      range,
      auth: req.headers.get("authorization"),
    });
    if (url.pathname !== "/blobs/file") return new Response("no such blob", { status: 404 });
    let start = 0;
    const m = range === null ? null : /^bytes=(\d+)-$/.exec(range);
    if (m !== null && !state.ignoreRange) start = Number(m[1]);
    if (start >= FILE.length) {
      return new Response(null, {
        status: 416,
        headers: { "content-range": `bytes */${FILE.length}` },
      });
    }
    const body = FILE.subarray(start);
    const headers: Record<string, string> = { "content-length": String(body.length) };
    if (start > 0) headers["content-range"] = `bytes ${start}-${FILE.length - 1}/${FILE.length}`;
    return new Response(body as Uint8Array<ArrayBuffer>, {
      status: start > 0 ? 206 : 200,
      headers,
    });
  },
});

/**
 * A CDN that cuts the connection mid-body: a raw TCP server writes the status line and headers
 * of the whole answer (200, or 206 for a Range), then half of the body, then closes the socket.
 */
const cutter = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    data(socket, data) {
      const request = new TextDecoder().decode(data);
      const m = /\r\nrange: bytes=(\d+)-\r\n/i.exec(request);
      state.requests.push({
        server: "cut",
        path: "/",
        range: m ? `bytes=${m[1]}-` : null,
        auth: null,
      });
      const start = m ? Number(m[1]) : 0;
      const body = FILE.subarray(start);
      const head = start > 0
        ? `HTTP/1.1 206 Partial Content\r\ncontent-range: bytes ${start}-${
          FILE.length - 1
        }/${FILE.length}\r\n`
        : "HTTP/1.1 200 OK\r\n";
      socket.write(`${head}content-length: ${body.length}\r\nconnection: close\r\n\r\n`);
      socket.write(body.subarray(0, Math.floor(body.length / 2)));
      // close a moment later, as a dropped connection does (not in the same packet as the data)
      setTimeout(() => socket.end(), 50);
    },
  },
});

const hub = Bun.serve({
  port: 0,
  fetch(req) {
    const url = new URL(req.url);
    state.requests.push({
      server: "hub",
      path: url.pathname,
      range: req.headers.get("range"),
      auth: req.headers.get("authorization"),
    });
    if (url.pathname === "/test/tiny-gguf/resolve/main/model.gguf") {
      if (state.cutNext) {
        state.cutNext = false;
        return Response.redirect(`http://127.0.0.1:${cutter.port}/blobs/file`, 302);
      }
      return Response.redirect(`http://127.0.0.1:${cdn.port}/blobs/file`, 302);
    }
    if (
      url.pathname === "/tiiuae/Falcon3-10B-Instruct-1.58bit-GGUF/resolve/main/ggml-model-i2_s.gguf"
    ) {
      return Response.redirect(`http://127.0.0.1:${cdn.port}/blobs/file`, 302);
    }
    return new Response("Entry not found", { status: 404 });
  },
});

const roots: string[] = [];
afterAll(() => {
  hub.stop(true);
  cdn.stop(true);
  cutter.stop(true);
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "aria-pull-"));
  roots.push(d);
  return d;
}

function entry(sha256: string | undefined, size?: number): RegistryEntry {
  return {
    name: "tiny-test",
    aliases: [],
    description: "test file",
    repo: "test/tiny-gguf",
    revision: "main",
    file: "model.gguf",
    ...(sha256 === undefined ? {} : { sha256 }),
    ...(size === undefined ? {} : { size }),
    arch: "bitnet",
    ternaryType: "TQ2_0",
    license: "MIT",
    source: "test",
  };
}

const hubSettings = () => ({ endpoint: `http://127.0.0.1:${hub.port}`, token: "secret-token" });
const partialDir = (d: string) => join(d, "models", ".partial");

beforeEach(() => {
  state.cutNext = false;
  state.ignoreRange = false;
  state.requests = [];
});

describe("pullModel against a fake hub", () => {
  test("follows the redirect, sends the token to the hub only, installs the verified file", async () => {
    const d = dataDir();
    const seen: number[] = [];
    const r = await pullModel(entry(SHA, FILE.length), {
      dataDir: d,
      hub: hubSettings(),
      onProgress: (p) => seen.push(p.done),
    });
    expect(r.path).toBe(installedPath(entry(SHA), d));
    expect(r.sha256).toBe(SHA);
    expect(r.resumedFrom).toBe(0);
    expect<Uint8Array>(new Uint8Array(readFileSync(r.path))).toEqual(FILE);
    expect(seen.at(-1)).toBe(FILE.length);
    expect(state.requests.map((q) => [q.server, q.auth])).toEqual([
      ["hub", "Bearer secret-token"],
      ["cdn", null], // another origin: the token is not forwarded
    ]);
    expect(readdirSync(partialDir(d))).toEqual([]); // no partial file, no lock left
    // a second pull finds it installed and downloads nothing
    state.requests = [];
    const again = await pullModel(entry(SHA), { dataDir: d, hub: hubSettings() });
    expect(again.alreadyInstalled).toBe(true);
    expect(state.requests).toEqual([]);
  });

  test("a transfer cut mid-body keeps the partial file; the next pull resumes with Range", async () => {
    const d = dataDir();
    state.cutNext = true;
    let failure: unknown;
    try {
      await pullModel(entry(SHA, FILE.length), { dataDir: d, hub: hubSettings() });
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(DownloadError);
    expect((failure as DownloadError).code).toBe("HUB_INTERRUPTED");
    expect((failure as Error).message).toContain("run the same command again to resume");
    const dest = installedPath(entry(SHA), d);
    expect(existsSync(dest)).toBe(false); // nothing half-installed
    const part = join(partialDir(d), "tiny-test.gguf.part");
    const kept = statSync(part).size;
    expect(kept).toBe(Math.floor(FILE.length / 2));

    state.requests = [];
    const r = await pullModel(entry(SHA, FILE.length), { dataDir: d, hub: hubSettings() });
    expect(r.resumedFrom).toBe(kept);
    expect(state.requests.find((q) => q.server === "cdn")?.range).toBe(`bytes=${kept}-`);
    expect<Uint8Array>(new Uint8Array(readFileSync(dest))).toEqual(FILE);
    expect(existsSync(part)).toBe(false);
  });

  test("a wrong hash is rejected: nothing installed, the partial file deleted", async () => {
    const d = dataDir();
    const wrong = "0".repeat(64);
    let failure: unknown;
    try {
      await pullModel(entry(wrong), { dataDir: d, hub: hubSettings() });
    } catch (err) {
      failure = err;
    }
    expect((failure as DownloadError).code).toBe("HUB_HASH");
    expect((failure as Error).message).toContain(SHA);
    // fetched at "main": the message names the likely cause, a re-upload
    expect((failure as Error).message).toContain('fetched at "main" (no commit is pinned)');
    expect(existsSync(installedPath(entry(wrong), d))).toBe(false);
    expect(readdirSync(partialDir(d))).toEqual([]);
  });

  test("a server that ignores Range restarts the file from zero (no duplicated bytes)", async () => {
    const d = dataDir();
    state.cutNext = true;
    await pullModel(entry(SHA), { dataDir: d, hub: hubSettings() }).catch(() => {});
    state.ignoreRange = true;
    const r = await pullModel(entry(SHA), { dataDir: d, hub: hubSettings() });
    expect(r.resumedFrom).toBe(0);
    expect<Uint8Array>(new Uint8Array(readFileSync(r.path))).toEqual(FILE);
  });

  test("a complete partial file (416 to its Range) is verified and installed", async () => {
    const d = dataDir();
    state.cutNext = true;
    await pullModel(entry(SHA), { dataDir: d, hub: hubSettings() }).catch(() => {});
    await pullModel(entry(SHA), { dataDir: d, hub: hubSettings() });
    // simulate: the whole file is in .partial but was never renamed
    const part = join(partialDir(d), "tiny-test.gguf.part");
    await Bun.write(part, FILE);
    rmSync(installedPath(entry(SHA), d));
    const r = await pullModel(entry(SHA), { dataDir: d, hub: hubSettings() });
    expect(r.sha256).toBe(SHA);
    expect<Uint8Array>(new Uint8Array(readFileSync(r.path))).toEqual(FILE);
  });

  test("a pull running in another process locks the file; a lock of a dead process is taken over", async () => {
    const d = dataDir();
    const other = Bun.spawn(["sleep", "30"]);
    const lock = join(partialDir(d), "tiny-test.gguf.part.lock");
    await Bun.write(lock, String(other.pid));
    await expect(pullModel(entry(SHA), { dataDir: d, hub: hubSettings() })).rejects.toThrow(
      new RegExp(`pid ${other.pid}\\) is downloading`),
    );
    other.kill();
    await other.exited;
    const r = await pullModel(entry(SHA), { dataDir: d, hub: hubSettings() });
    expect(r.sha256).toBe(SHA);
    expect(existsSync(lock)).toBe(false);
  });

  test("a 404 says to check the name; an unknown hash needs noVerify", async () => {
    const d = dataDir();
    const missing = { ...entry(SHA), file: "nope.gguf" };
    await expect(pullModel(missing, { dataDir: d, hub: hubSettings() })).rejects.toThrow(
      /404; check the model name/,
    );
    await expect(pullModel(entry(undefined), { dataDir: d, hub: hubSettings() })).rejects.toThrow(
      /pass --no-verify/,
    );
    expect(existsSync(installedPath(entry(SHA), d))).toBe(false);
  });
});

describe("aria model pull | list | rm (CLI, HF_ENDPOINT = the fake hub)", () => {
  const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
  async function aria(home: string, ...args: string[]) {
    const p = Bun.spawn([process.execPath, MAIN, ...args], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ARIA_HOME: home, HF_ENDPOINT: `http://127.0.0.1:${hub.port}` },
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, stdout, stderr };
  }

  test("a model without a known hash: refused, then pulled with --no-verify, listed, removed", async () => {
    const home = dataDir();
    const refused = await aria(home, "model", "pull", "falcon3-10b");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("pass --no-verify");

    const pulled = await aria(home, "model", "pull", "falcon3-10b", "--no-verify");
    expect(pulled.stderr).toContain("100%"); // plain progress lines reach 100% (not a TTY)
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toContain("installed falcon3-10b-1.58bit");
    const path = join(home, "models", "falcon3-10b-1.58bit.gguf");
    expect<Uint8Array>(new Uint8Array(readFileSync(path))).toEqual(FILE);

    const list = JSON.parse((await aria(home, "model", "list", "--json")).stdout);
    const row = list.models.find((m: { name: string }) => m.name === "falcon3-10b-1.58bit");
    expect(row).toMatchObject({ status: "installed", path, verified: false });

    const rm = await aria(home, "model", "rm", "falcon3-10b");
    expect(rm.code).toBe(0);
    expect(existsSync(path)).toBe(false);
    const again = await aria(home, "model", "rm", "falcon3-10b");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("is not installed");
  });
});
