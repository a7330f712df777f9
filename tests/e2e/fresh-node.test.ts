/**
 * A fresh node as a new user starts it (`aria serve` with no model, a new data dir), then its
 * dashboard pages and a consent edit. Regression tests for three defects no earlier test reached
 * (issue 17): the Energy page answered 500 on every fresh node (it read the policy record that
 * serve writes at first start as an inference record), the Ledger page showed that record as
 * "undefined: undefined prompt …", and saving the policy from the dashboard threw after applying
 * it (a renamed function), so the page said "not saved" and the ledger missed the change.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;

let dataDir = "";
let proc: ReturnType<typeof Bun.spawn>;
let url = "";
let stderr: Promise<string>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "aria-fresh-"));
  proc = Bun.spawn([BUN, "src/main.ts", "serve", "--port", "0", "--data-dir", dataDir], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ARIA_HOME: dataDir },
  });
  stderr = new Response(proc.stderr as ReadableStream<Uint8Array>).text();
  url = await listeningUrl(proc);
}, 120_000);

afterAll(() => {
  proc?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The text of an HTML-escaped element (hono's `html` escapes these five). */
function unescapeHtml(s: string): string {
  return s.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

/** The server's JSON log lines so far are read when the process has ended (afterAll order). */
async function errorLines(): Promise<string[]> {
  proc.kill();
  await proc.exited;
  return (await stderr).split("\n").filter((l) => l.includes('"level":"error"'));
}

describe("a fresh node's dashboard", () => {
  test("the Energy page loads (the first-start policy record is not an inference)", async () => {
    const res = await fetch(`${url}/energy`);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain("undefined");
  });

  test("the Ledger page names the policy record as a policy change", async () => {
    const res = await fetch(`${url}/ledger`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain("consent policy changed");
    expect(page).not.toContain("undefined");
  });

  test("saving the policy from the dashboard says saved and records the change", async () => {
    const page = await (await fetch(`${url}/consent`)).text();
    const shown = /<pre id="policy-current"[^>]*>([\s\S]*?)<\/pre>/.exec(page)?.[1];
    if (shown === undefined) throw new Error("the consent page shows no policy");
    const current = JSON.parse(unescapeHtml(shown)) as Record<string, unknown>;
    const edited = { ...current, maxThreads: 1 };
    // the page's same-origin token, as the dashboard's script sends it (issue 19, hole 4)
    const token = /<meta name="aria-csrf" content="([0-9a-f]{64})">/.exec(page)?.[1] ?? "";
    const res = await fetch(`${url}/consent`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "hx-request": "true",
        "x-aria-csrf": token,
      },
      body: new URLSearchParams({ policy: JSON.stringify(edited) }),
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("Policy saved.");
    // recorded at once, not on the file watcher's next poll: two policy records now
    const ledger = await (await fetch(`${url}/ledger`)).text();
    expect(ledger.match(/consent policy changed/g)?.length).toBe(2);
  });

  test("the server logged no error", async () => {
    expect(await errorLines()).toEqual([]);
  });
});
