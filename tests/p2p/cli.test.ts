/**
 * `aria keys show` and `aria peers` as a user runs them (child processes).
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const ROOT = join(import.meta.dir, "..", "..");
const procs = new ProcessGroup();
afterAll(() => procs.close());

function aria(...args: string[]) {
  const r = Bun.spawnSync([process.execPath, "src/main.ts", ...args], {
    cwd: ROOT,
    stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

test("aria keys show: makes the key once, prints the same id after", () => {
  const dir = join(procs.home, "keys");
  const first = aria("keys", "show", "--data-dir", dir, "--json");
  expect(first.code).toBe(0);
  const { nodeId, keyFile } = JSON.parse(first.out);
  expect(nodeId).toMatch(/^[0-9a-f]{64}$/);
  expect(existsSync(keyFile)).toBe(true);
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  const again = aria("keys", "show", "--data-dir", dir);
  expect(again.out).toBe(`node id  ${nodeId}\nkey file ${keyFile}\n`);
  expect(aria("keys", "rotate").code).toBe(2);
});

test("aria peers: the table of a running node; clear errors otherwise", async () => {
  const a = await procs.serve("a", ["--backend", "simulation", "--p2p-port", "0"]);
  const b = await procs.serve("b", ["--backend", "simulation", "--peers", a.ws]);
  await until(async () => (await peers(b)).peers.length === 1, "b to connect to a");
  const json = aria("peers", "--url", b.api, "--json");
  expect(json.code).toBe(0);
  expect(JSON.parse(json.out).peers.map((p: { id: string }) => p.id)).toEqual([a.id]);
  const text = aria("peers", "--url", b.api);
  expect(text.out).toContain(`node ${b.id}`);
  expect(text.out).toContain(a.id.slice(0, 16));
  const gone = aria("peers", "--url", "http://127.0.0.1:9");
  expect(gone.code).toBe(1);
  expect(gone.err).toContain("Cannot reach http://127.0.0.1:9");
}, 30_000);
