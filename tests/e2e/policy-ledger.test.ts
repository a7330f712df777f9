/**
 * Real processes: `aria serve` (simulation backend) records the policy in force in the ledger at
 * start, and `aria consent set` run while the server holds the ledger open records its change in
 * the same file; the ledger verifies afterwards with the changes linked in order.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listeningUrl } from "../helpers/serve-proc.ts";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;
const dir = mkdtempSync(join(tmpdir(), "aria-policy-ledger-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function aria(args: string[]) {
  const r = Bun.spawnSync([BUN, "src/main.ts", ...args, "--data-dir", dir], { cwd: ROOT });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

async function serve(): Promise<ReturnType<typeof Bun.spawn>> {
  const proc = Bun.spawn(
    [BUN, "src/main.ts", "serve", "--backend", "simulation", "--port", "0", "--data-dir", dir],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  await listeningUrl(proc);
  return proc;
}

const policyHash = () => JSON.parse(aria(["consent", "show", "--json"]).out).policyHash;

describe("consent policy changes in the ledger, real processes", () => {
  test("serve records the policy in force; consent set records while serve runs", async () => {
    expect(aria(["consent", "set", "kinds", "completion"]).code).toBe(0);
    rmSync(join(dir, "ledger.sqlite"), { force: true }); // a change the ledger never saw
    rmSync(join(dir, "ledger.sqlite-wal"), { force: true });
    rmSync(join(dir, "ledger.sqlite-shm"), { force: true });
    const atStart = policyHash();
    const proc = await serve();
    let changed = "";
    try {
      const set = aria(["consent", "set", "max-concurrent", "3"]);
      expect(set.code).toBe(0);
      expect(set.err).toMatch(/Recorded in the ledger as record [0-9a-f]{64}/);
      changed = policyHash();
    } finally {
      proc.kill();
      await proc.exited;
    }
    const verified = JSON.parse(aria(["ledger", "verify", "--json"]).out);
    expect(verified).toMatchObject({ ok: true, height: 0, pending: 2 });
    const exported = join(dir, "out.jsonl");
    expect(aria(["ledger", "export", exported]).code).toBe(0);
    const records = (await Bun.file(exported).text()).trim().split("\n").slice(1)
      .map((l) => JSON.parse(l)).filter((l) => l.kind === "pending").map((l) => l.record.record);
    expect(records.map((r) => [r.kind, r.oldHash, r.newHash])).toEqual([
      ["policy-change", "0".repeat(64), atStart],
      ["policy-change", atStart, changed],
    ]);
  }, 30_000);
});
