/** `aria ledger …` over a temporary data dir: verify, tamper, show, export/import, receipts. */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixedIdentity, makeSigned } from "../helpers/ledger.ts";
import { runLedger } from "../../src/cli/ledger.ts";
import { parseLedgerCommand } from "../../src/cli/ledger-args.ts";
import { hashRecord, LEDGER_FILE, openLedger } from "../../src/ledger/index.ts";

const ROOT = join(import.meta.dir, "..", "..");
const alice = fixedIdentity(1);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function dataDir(records = 5): string {
  const dir = mkdtempSync(join(tmpdir(), "aria-ledger-cli-"));
  dirs.push(dir);
  using store = openLedger(join(dir, LEDGER_FILE), {
    identity: alice,
    clock: { nowMs: () => 1_700_000_500_000 },
    sealEvery: 2,
  });
  for (let n = 0; n < records; n++) store.append(makeSigned(alice, n));
  return dir;
}

function run(args: string[]): { code: number; out: string[] } {
  const cmd = parseLedgerCommand(args);
  if (cmd.verb !== "ledger") throw new Error("expected a ledger command");
  const out: string[] = [];
  return { code: runLedger(cmd, { out: (l) => out.push(l) }), out };
}

describe("aria ledger", () => {
  test("verify passes, then names the tampered block and record and exits 1", () => {
    const dir = dataDir();
    const ok = run(["verify", "--data-dir", dir, "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out[0]!)).toMatchObject({ ok: true, height: 2, records: 4, pending: 1 });
    const db = new Database(join(dir, LEDGER_FILE));
    db.run(
      "UPDATE records SET signed_json = replace(signed_json, '\"promptTokens\":5', '\"promptTokens\":50') WHERE block_height = 2 AND leaf_index = 0",
    );
    db.close();
    const bad = run(["verify", "--data-dir", dir]);
    expect(bad).toEqual({
      code: 1,
      out: ["Ledger BAD: block 2, record 0: the signer's signature is invalid"],
    });
    // The real binary entry point maps it to exit code 1 as well.
    const proc = Bun.spawnSync([
      process.execPath,
      "src/main.ts",
      "ledger",
      "verify",
      "--data-dir",
      dir,
    ], {
      cwd: ROOT,
    });
    expect(proc.exitCode).toBe(1);
    expect(proc.stdout.toString()).toContain("block 2, record 0");
  });
  test("show lists the newest blocks first", () => {
    const dir = dataDir();
    const r = run(["show", "--data-dir", dir, "--json", "--blocks", "1"]);
    const shown = JSON.parse(r.out[0]!);
    expect([shown.height, shown.pending, shown.verified, shown.blocks.length]).toEqual([
      2,
      1,
      true,
      1,
    ]);
    expect(shown.blocks[0].height).toBe(2);
  });
  test("export then import into another data dir gives the same head hash", () => {
    const dir = dataDir();
    const file = join(dir, "chain.jsonl");
    expect(run(["export", file, "--data-dir", dir]).code).toBe(0);
    const other = mkdtempSync(join(tmpdir(), "aria-ledger-cli-"));
    dirs.push(other);
    expect(run(["import", file, "--data-dir", other]).code).toBe(0);
    const a = JSON.parse(run(["verify", "--data-dir", dir, "--json"]).out[0]!);
    const b = JSON.parse(run(["verify", "--data-dir", other, "--json"]).out[0]!);
    expect(b).toEqual(a);
    // a file with one changed byte is refused and leaves the target empty
    const third = mkdtempSync(join(tmpdir(), "aria-ledger-cli-"));
    dirs.push(third);
    const text = readFileSync(file, "utf8").replace('"completionTokens":7', '"completionTokens":9');
    writeFileSync(file, text);
    expect(() => run(["import", file, "--data-dir", third])).toThrow(/does not verify/);
    expect(JSON.parse(run(["verify", "--data-dir", third, "--json"]).out[0]!)).toMatchObject({
      height: 0,
      pending: 0,
    });
  });
  test("receipt prints a receipt that verify-receipt accepts, and rejects an altered one", () => {
    const dir = dataDir();
    const hash = hashRecord(makeSigned(alice, 1).record);
    const receipt = run(["receipt", hash, "--data-dir", dir]).out[0]!;
    const file = join(dir, "receipt.json");
    writeFileSync(file, receipt);
    const ok = run(["verify-receipt", file]);
    expect(ok.code).toBe(0);
    expect(ok.out[1]).toStartWith("Sealed in block 1 ");
    writeFileSync(file, receipt.replace('"outputHash":"', '"outputHash":"0'));
    expect(run(["verify-receipt", file]).code).toBe(1);
    writeFileSync(file, "not json");
    expect(() => run(["verify-receipt", file])).toThrow(/is not JSON/);
  });
  test("a read-only action on a missing ledger says where it looked and creates nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "aria-ledger-cli-"));
    dirs.push(dir);
    expect(() => run(["verify", "--data-dir", dir])).toThrow(/Cannot find a ledger/);
  });
});
