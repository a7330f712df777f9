/** `aria ledger verify` against fraud proofs (issue 20): records named in a valid proof. */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixedIdentity } from "../helpers/ledger.ts";
import { fraudProofAgainst, makeV2Signed } from "../helpers/fraud.ts";
import { runLedger } from "../../src/cli/ledger.ts";
import { parseLedgerCommand } from "../../src/cli/ledger-args.ts";
import { hashRecord, LEDGER_FILE, openLedger, type SignedRecord } from "../../src/ledger/index.ts";
import { fraudProofId } from "../../src/p2p/fraud-proof.ts";

const cheater = fixedIdentity(1);
const auditor = fixedIdentity(2);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data dir whose ledger seals 2 records per block: 5 records, 2 blocks + 1 pending. */
function dataDir(): { dir: string; signed: SignedRecord[] } {
  const dir = mkdtempSync(join(tmpdir(), "aria-fraud-cli-"));
  dirs.push(dir);
  using store = openLedger(join(dir, LEDGER_FILE), {
    identity: cheater,
    clock: { nowMs: () => 1_700_000_500_000 },
    sealEvery: 2,
  });
  const signed = Array.from({ length: 5 }, (_, n) => makeV2Signed(cheater, n));
  for (const s of signed) store.append(s);
  return { dir, signed };
}

function run(args: string[]): { code: number; out: string[] } {
  const cmd = parseLedgerCommand(args);
  if (cmd.verb !== "ledger") throw new Error("expected a ledger command");
  const out: string[] = [];
  return { code: runLedger(cmd, { out: (l) => out.push(l) }), out };
}

describe("aria ledger verify and fraud proofs", () => {
  test("a chain holding a record named in a fraud proof (--fraud-proof FILE) is BAD", () => {
    const { dir, signed } = dataDir();
    const proof = fraudProofAgainst(signed[2]!, auditor);
    const file = join(dir, "proof.json");
    writeFileSync(file, JSON.stringify(proof));
    const ok = run(["verify", "--data-dir", dir, "--json"]);
    expect(ok.code).toBe(0);
    // 4 sealed records of 3 prompt + 3 output tokens, all open to audit
    expect(JSON.parse(ok.out[0]!)).toMatchObject({ ok: true, weight: 24 });
    const bad = run(["verify", "--data-dir", dir, "--fraud-proof", file, "--json"]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out[0]!)).toMatchObject({
      ok: false,
      weight: 18, // the disproved record weighs nothing
      fraud: [{
        height: 2,
        recordHash: hashRecord(signed[2]!.record),
        proofId: fraudProofId(proof.claim),
        accused: cheater.nodeId,
      }],
    });
    const text = run(["verify", "--data-dir", dir, "--fraud-proof", file]);
    expect(text.out[0]).toContain("Ledger BAD: 1 record(s) named in valid fraud proofs");
    expect(text.out[0]).toContain("block 2");
  });

  test("the data dir's fraud-proofs/ count too; a proof naming a pending record does not", () => {
    const { dir, signed } = dataDir();
    mkdirSync(join(dir, "fraud-proofs"));
    const pending = fraudProofAgainst(signed[4]!, auditor);
    writeFileSync(
      join(dir, "fraud-proofs", `${fraudProofId(pending.claim)}.json`),
      JSON.stringify(pending),
    );
    expect(run(["verify", "--data-dir", dir]).code).toBe(0);
    const sealed = fraudProofAgainst(signed[0]!, auditor);
    writeFileSync(
      join(dir, "fraud-proofs", `${fraudProofId(sealed.claim)}.json`),
      JSON.stringify(sealed),
    );
    const bad = run(["verify", "--data-dir", dir]);
    expect(bad.code).toBe(1);
    expect(bad.out[0]).toContain("block 1");
  });

  test("a proof that does not check (tampered) is refused, naming the file", () => {
    const { dir, signed } = dataDir();
    const proof = fraudProofAgainst(signed[0]!, auditor);
    const file = join(dir, "forged.json");
    writeFileSync(file, JSON.stringify({ ...proof, signature: "0".repeat(128) }));
    expect(() => run(["verify", "--data-dir", dir, "--fraud-proof", file])).toThrow(
      /forged\.json.*signature is invalid/,
    );
  });
});
