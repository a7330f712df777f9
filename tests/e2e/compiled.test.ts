/**
 * @module The single executable: `bun build --compile` embeds libbitnet and the built-in model
 * (aria-nano). The binary copied alone into an empty directory loads the library from inside
 * itself (library.ts's embedded path), runs a given model, and with no --model runs and serves
 * aria-nano, copied once into the data dir (src/model/builtin.ts).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testModel } from "../helpers/models.ts";

const ROOT = join(import.meta.dir, "..", "..");
let dir = "";
let exe = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "aria-bin-"));
  exe = join(dir, "aria");
  const build = Bun.spawnSync(
    [process.execPath, "build", "--compile", join(ROOT, "src", "main.ts"), "--outfile", exe],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  expect(build.stderr.toString()).not.toContain("error");
  expect(build.exitCode).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runJson(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const p = Bun.spawnSync(cmd, {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
  return JSON.parse(p.stdout.toString()) as {
    tokens: number[];
    prompt_tokens: number;
    text: string;
  };
}

test("a compiled aria binary in an empty directory runs a model with its embedded libbitnet", async () => {
  const model = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
  const out = runJson(
    [
      exe,
      "run",
      "--model",
      model,
      "--prompt-tokens",
      "1,450,7483",
      "--max-tokens",
      "3",
      "--temperature",
      "0",
      "--json",
    ],
    dir,
  );
  expect(out.prompt_tokens).toBe(3);
  expect(out.tokens).toHaveLength(3);
});

test("with no --model the binary runs its embedded aria-nano, as the checkout does", () => {
  const home = join(dir, "home");
  const args = [
    "run",
    "--prompt",
    "The jury said",
    "--max-tokens",
    "8",
    "--temperature",
    "0",
    "--json",
  ];
  const fromBinary = runJson([exe, ...args], dir, { ARIA_HOME: home });
  expect(readdirSync(join(home, "models"))).toEqual([
    expect.stringMatching(/^aria-nano\.[0-9a-f]{16}\.gguf$/),
  ]);
  const again = runJson([exe, ...args], dir, { ARIA_HOME: home }); // reuses the copy
  const fromCheckout = runJson([process.execPath, join(ROOT, "src", "main.ts"), ...args], ROOT);
  expect(fromBinary.tokens).toEqual(fromCheckout.tokens);
  expect(again.tokens).toEqual(fromCheckout.tokens);
});

test("aria serve with no --model serves aria-nano and the dashboard from the binary", async () => {
  const proc = Bun.spawn([exe, "serve", "--port", "0", "--threads", "1"], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ARIA_HOME: join(dir, "home2") },
  });
  try {
    const reader = proc.stdout.getReader();
    let out = "";
    while (!/listening on (\S+)/.test(out)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`aria serve exited: ${out}`);
      out += new TextDecoder().decode(value);
    }
    const url = /listening on (\S+)/.exec(out)![1]!;
    const models = await (await fetch(`${url}/v1/models`)).json() as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(["aria-nano"]);
    const res = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "aria-nano",
        prompt: "The jury said",
        max_tokens: 5,
        temperature: 0,
      }),
    });
    expect(res.status).toBe(200);
    const body = await res.json() as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(5);
    // the dashboard and its static files come from inside the executable
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<h1>Overview</h1>");
    for (const name of ["htmx.min.js", "app.css", "dashboard.js"]) {
      const asset = await fetch(`${url}/static/${name}`);
      expect(asset.status).toBe(200);
      expect(await asset.text()).toBe(await Bun.file(join(ROOT, "static", name)).text());
    }
  } finally {
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  }
});
