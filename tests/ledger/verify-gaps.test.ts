/**
 * Issue 19, hole 6: `aria ledger verify` names a record whose stored JSON is malformed, a record
 * in a block that does not exist and a pending record signed by an unrelated key (no stack
 * trace); the node never seals a record it did not sign; export -> import keeps the energy
 * attestations (lossless).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fixedIdentity, makeSigned } from "../helpers/ledger.ts";
import { runLedger } from "../../src/cli/ledger.ts";
import { parseLedgerCommand } from "../../src/cli/ledger-args.ts";
import { blockAttester } from "../../src/node/block-energy.ts";
import { LEDGER_FILE, openLedger } from "../../src/ledger/index.ts";

const alice = fixedIdentity(1);
const mallory = fixedIdentity(9);
const clock = { nowMs: () => 1_700_000_500_000 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(args: string[]): { code: number; out: string } {
  const cmd = parseLedgerCommand(args);
  if (cmd.verb !== "ledger") throw new Error("expected a ledger command");
  const out: string[] = [];
  return { code: runLedger(cmd, { out: (l) => out.push(l) }), out: out.join("\n") };
}

/** alice's ledger: 2 sealed blocks with energy attestations and one pending record. */
function ledgerDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "aria-ledger-gaps-"));
  dirs.push(dir);
  using store = openLedger(join(dir, LEDGER_FILE), {
    identity: alice,
    clock,
    sealEvery: 2,
    attestBlock: blockAttester(alice),
  });
  for (let n = 0; n < 5; n++) store.append(makeSigned(alice, n));
  return dir;
}

function tamper(dir: string, sql: string, ...args: (string | number)[]): void {
  const db = new Database(join(dir, LEDGER_FILE));
  db.query(sql).run(...args);
  db.close();
}

describe("ledger verify names what it cannot use (issue 19, hole 6)", () => {
  test("malformed stored JSON: the record is named, no stack trace", () => {
    const dir = ledgerDir();
    tamper(dir, "UPDATE records SET signed_json = '{not json' WHERE seq = 2");
    const r = run(["verify", "--data-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /Ledger BAD: .*record [0-9a-f]{64} \(row 2\): its stored JSON is malformed/,
    );
    expect(r.out).not.toContain("    at ");
  });

  test("a row pointing to a block that does not exist is named", () => {
    const dir = ledgerDir();
    tamper(dir, "UPDATE records SET block_height = 99, leaf_index = 0 WHERE seq = 5");
    const r = run(["verify", "--data-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/record [0-9a-f]{64} \(row 5\) points to block 99, which does not exist/);
  });

  test("a pending record signed by an unrelated key is named, and never sealed", () => {
    const dir = ledgerDir();
    // mallory writes a validly signed record claiming a million tokens into alice's file
    const forged = makeSigned(mallory, 1_000_000);
    {
      using store = openLedger(join(dir, LEDGER_FILE), { clock });
      store.append(forged);
    }
    const r = run(["verify", "--data-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `signed by ${mallory.nodeId}, not by this ledger's node ${alice.nodeId}`,
    );
    // alice's node keeps working: it seals its own records and leaves mallory's pending
    using store = openLedger(join(dir, LEDGER_FILE), { identity: alice, clock, sealEvery: 2 });
    store.append(makeSigned(alice, 7));
    store.append(makeSigned(alice, 8));
    for (const b of store.blocks()) {
      for (const rec of b.records) expect(rec.record.signer as string).not.toBe(mallory.nodeId);
    }
    expect(store.pending().map((p) => p.signed.record.signer as string)).toContain(mallory.nodeId);
  });

  test("export -> import is lossless, energy attestations included", () => {
    const dir = ledgerDir();
    const file = join(dir, "export.jsonl");
    expect(run(["export", file, "--data-dir", dir]).code).toBe(0);
    const other = mkdtempSync(join(tmpdir(), "aria-ledger-gaps-"));
    dirs.push(other);
    expect(run(["import", file, "--data-dir", other]).code).toBe(0);
    const before = JSON.parse(run(["verify", "--data-dir", dir, "--json"]).out);
    const after = JSON.parse(run(["verify", "--data-dir", other, "--json"]).out);
    expect(before.energyAttested).toBe(2);
    expect(after).toEqual(before);
    using a = openLedger(join(dir, LEDGER_FILE), { clock });
    using b = openLedger(join(other, LEDGER_FILE), { clock });
    for (const h of [1, 2]) expect(b.blockAttestation(h)).toEqual(a.blockAttestation(h));
    expect(b.exportLines()).toEqual(a.exportLines());
  });
});
