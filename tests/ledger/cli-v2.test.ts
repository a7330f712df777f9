/**
 * The command line over encoding version 2: `aria consent set` records each change in the
 * ledger once (also while another handle holds the file open), `aria ledger show` reports the
 * policy, block energy attestations and peers' chains, and `aria ledger verify` names a forged
 * energy attestation and a history that differs from what a peer countersigned.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { fixedIdentity, makeChain, makeSigned } from "../helpers/ledger.ts";
import { main } from "../../src/cli/main.ts";
import { runLedger } from "../../src/cli/ledger.ts";
import { parseLedgerCommand } from "../../src/cli/ledger-args.ts";
import { blockAttester } from "../../src/node/block-energy.ts";
import { loadOrCreateIdentity } from "../../src/identity/index.ts";
import { readPolicy } from "../../src/consent/index.ts";
import {
  hashHeader,
  LEDGER_FILE,
  openLedger,
  signHeadAttestation,
} from "../../src/ledger/index.ts";

const alice = fixedIdentity(1);
const bob = fixedIdentity(2);
const clock = { nowMs: () => 1_700_000_500_000 };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "aria-ledger-v2-"));
  dirs.push(dir);
  return dir;
}
function run(args: string[]): { code: number; out: string[] } {
  const cmd = parseLedgerCommand(args);
  if (cmd.verb !== "ledger") throw new Error("expected a ledger command");
  const out: string[] = [];
  return { code: runLedger(cmd, { out: (l) => out.push(l) }), out };
}
/** A data dir whose ledger holds 4 blocks sealed by alice with energy attestations. */
function attestedDir(): string {
  const dir = tempDir();
  using store = openLedger(join(dir, LEDGER_FILE), {
    identity: alice,
    clock,
    sealEvery: 2,
    attestBlock: blockAttester(alice),
  });
  for (let n = 0; n < 8; n++) store.append(makeSigned(alice, n));
  return dir;
}

describe("aria consent set records in the ledger", () => {
  test("each change is recorded once, linked, and shown; a repeat records nothing", async () => {
    const dir = tempDir();
    // a server's handle holds the ledger open meanwhile (sqlite WAL, two connections)
    using held = openLedger(join(dir, LEDGER_FILE), {
      identity: loadOrCreateIdentity(dir),
      clock,
    });
    expect(await main(["consent", "set", "max-threads", "1", "--data-dir", dir])).toBe(0);
    const first = readPolicy(dir, loadOrCreateIdentity(dir))!.policyHash;
    expect(await main(["consent", "set", "max-threads", "1", "--data-dir", dir])).toBe(0);
    expect(await main(["consent", "set", "max-threads", "3", "--data-dir", dir])).toBe(0);
    const second = readPolicy(dir, loadOrCreateIdentity(dir))!.policyHash;
    const changes = held.pending().map((p) => p.signed.record);
    // first run writes the default policy (recorded), then two real changes
    expect<unknown[]>(changes.map((c) => "newHash" in c && c.newHash).slice(-2)).toEqual([
      first,
      second,
    ]);
    expect(changes).toHaveLength(3);
    expect(held.lastPolicyHash()).toBe(second as never);
    const shown = JSON.parse(run(["show", "--data-dir", dir, "--json"]).out[0]!);
    expect(shown).toMatchObject({ policyHash: second, pendingPolicyChanges: 3, verified: true });
  });
});

describe("aria ledger verify and show, version 2", () => {
  test("block energy attestations are shown and a forged one fails verify", () => {
    const dir = attestedDir();
    const ok = JSON.parse(run(["verify", "--data-dir", dir, "--json"]).out[0]!);
    expect(ok).toMatchObject({ ok: true, height: 4, energyAttested: 4 });
    const shown = JSON.parse(run(["show", "--data-dir", dir, "--json"]).out[0]!);
    expect(shown.blocks[0].energy).toMatchObject({ ok: true, signer: alice.nodeId });
    const db = new Database(join(dir, LEDGER_FILE));
    db.run(
      "UPDATE block_attestations SET json = replace(json, '\"tokens\":24', '\"tokens\":2400') WHERE height = 3",
    );
    db.close();
    expect(run(["verify", "--data-dir", dir])).toEqual({
      code: 1,
      out: ["Ledger BAD: block 3: energy attestation: the signature is invalid"],
    });
    expect(run(["show", "--data-dir", dir]).out.join("\n")).toContain("BAD (the signature");
  });
  test("verify names a history that differs from a head a peer countersigned", () => {
    const dir = tempDir();
    const honest = makeChain(alice, [1, 1, 1]);
    const rewritten = makeChain(alice, [2, 1, 1]); // same producer, other block 1 onwards
    const path = join(dir, LEDGER_FILE);
    {
      using store = openLedger(path, { clock });
      const head = rewritten[3]!.header;
      store.importLines([
        JSON.stringify({
          kind: "aria.ledger.export",
          version: 1,
          height: 3,
          headHash: hashHeader(head),
        }),
        ...rewritten.map((block) => JSON.stringify({ kind: "block", block })),
      ]);
      // what bob countersigned earlier, of the honest chain at height 2
      store.putHeadAttestation(signHeadAttestation(
        { producer: alice.nodeId, height: 2, headHash: hashHeader(honest[2]!.header) },
        { witness: bob, timestampMs: 1 },
      ));
    }
    const r = run(["verify", "--data-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(/history rewritten: block 2 differs from the one witness/);
  });
  test("show --peers lists verified and rejected peer chains", () => {
    const dir = attestedDir();
    {
      using store = openLedger(join(dir, LEDGER_FILE), { clock });
      const chain = makeChain(bob, [1]);
      store.savePeerHeaders(bob.nodeId, [chain[1]!], {
        height: 1,
        headHash: hashHeader(chain[1]!.header),
        totalTokens: 12,
        updatedMs: 5,
      });
      store.rejectPeer("e".repeat(64), "the peer rewrote block 2", 6);
    }
    const text = run(["show", "--peers", "--data-dir", dir]).out.join("\n");
    expect(text).toContain("2 peer chains known");
    expect(text).toMatch(/verified/);
    expect(text).toContain("REJECTED: the peer rewrote block 2");
  });
});
