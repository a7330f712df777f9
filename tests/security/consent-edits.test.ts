/**
 * Issue 19, hole 8: consent changes from any source are recorded in the ledger when they take
 * effect, in order, none lost: three dashboard edits within a second are three records, three
 * `aria consent set` runs within a second while the node runs are three more (the node's watcher
 * adds no duplicate), each record linking to the one before.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Node, ProcessGroup } from "../helpers/p2p-procs.ts";
import { LEDGER_FILE, openLedger } from "../../src/ledger/index.ts";
import { readPolicy } from "../../src/consent/index.ts";
import { loadOrCreateIdentity } from "../../src/identity/index.ts";

const procs = new ProcessGroup();
let a: Node;
let dataDir = "";
beforeAll(async () => {
  a = await procs.serve("a", ["--backend", "simulation", "--p2p-port", "0"]);
  dataDir = join(procs.home, "a");
}, 60_000);
afterAll(() => procs.close());

/** The policy changes in the node's ledger, oldest first: [oldHash, newHash]. */
function changes(): [string, string][] {
  using store = openLedger(join(dataDir, LEDGER_FILE), { clock: { nowMs: () => 0 } });
  const all = [
    ...store.blocks().flatMap((b) => b.records.map((r) => r.record)),
    ...store.pending().map((p) => p.signed.record),
  ];
  return all.flatMap((r) => ("newHash" in r ? [[r.oldHash, r.newHash] as [string, string]] : []));
}

const unescape = (s: string) =>
  s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

describe("consent edits are recorded as they take effect (issue 19, hole 8)", () => {
  test("three dashboard edits within a second: three records, in order, linked", async () => {
    const before = changes();
    const page = await (await fetch(`${a.api}/consent`)).text();
    const token = /<meta name="aria-csrf" content="([0-9a-f]{64})">/.exec(page)![1]!;
    const shown = /<pre id="policy-current"[^>]*>([\s\S]*?)<\/pre>/.exec(page)![1]!;
    const current = JSON.parse(unescape(shown)) as Record<string, unknown>;
    const t0 = performance.now();
    for (const maxThreads of [1, 2, 3]) {
      const res = await fetch(`${a.api}/consent`, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "hx-request": "true",
          "x-aria-csrf": token,
        },
        body: new URLSearchParams({ policy: JSON.stringify({ ...current, maxThreads }) }),
      });
      expect(await res.text()).toContain("Policy saved.");
    }
    expect(performance.now() - t0).toBeLessThan(1000);
    await Bun.sleep(300); // the node's watcher sees the same file: it must add nothing
    const after = changes().slice(before.length);
    expect(after).toHaveLength(3);
    for (let i = 1; i < after.length; i++) expect(after[i]![0]).toBe(after[i - 1]![1]);
    expect(after[0]![0]).toBe(before.at(-1)![1]);
    const finalHash = readPolicy(dataDir, loadOrCreateIdentity(dataDir))!.policyHash;
    expect(after.at(-1)![1]).toBe(finalHash);
  }, 30_000);

  test(
    "three `aria consent set` runs while the node runs: three records, no duplicate",
    async () => {
      const before = changes();
      for (const n of ["4", "5", "6"]) {
        const p = Bun.spawnSync(
          [
            process.execPath,
            "src/main.ts",
            "consent",
            "set",
            "max-threads",
            n,
            "--data-dir",
            dataDir,
          ],
          { cwd: join(import.meta.dir, "..", ".."), stdout: "pipe", stderr: "pipe" },
        );
        expect(p.exitCode).toBe(0);
      }
      await Bun.sleep(1500); // the watch reloads it into the running node (and records nothing new)
      const after = changes().slice(before.length);
      expect(after).toHaveLength(3);
      for (let i = 1; i < after.length; i++) expect(after[i]![0]).toBe(after[i - 1]![1]);
      // the running node enforces the last one
      const page = await (await fetch(`${a.api}/consent`)).text();
      expect(unescape(page)).toContain('"maxThreads": 6');
    },
    60_000,
  );
});
