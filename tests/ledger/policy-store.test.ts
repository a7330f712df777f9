/**
 * The store's side of policy changes: recording with de-duplication and an unbroken sequence,
 * no block from policy changes alone, export/import of version 2 files, the per-block
 * attestation hook, and two processes writing one ledger at once (a server appending and
 * sealing while `aria consent set` records a change).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixedIdentity, makeChain, makeSigned } from "../helpers/ledger.ts";
import {
  hashHeader,
  type Hex32,
  isPolicyChange,
  type PolicyChangeRecord,
} from "../../src/ledger/entry.ts";
import { openLedger } from "../../src/ledger/store.ts";
import { AriaError } from "../../src/shared/errors.ts";

const alice = fixedIdentity(1);
const clock = { nowMs: () => 1_700_000_500_000 };
const H = (c: string) => c.repeat(64) as Hex32;

const dirs: string[] = [];
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "aria-ledger-policy-"));
  dirs.push(dir);
  return join(dir, "ledger.sqlite");
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("recordPolicyChange()", () => {
  test("records each change once, linked to the previous one, and seals nothing", () => {
    using store = openLedger(":memory:", { identity: alice, clock, sealEvery: 1 });
    const first = store.recordPolicyChange(H("b"), 10);
    expect(first?.record).toMatchObject({ oldHash: H("0"), newHash: H("b"), timestampMs: 10 });
    expect(store.recordPolicyChange(H("b"), 11)).toBeUndefined(); // already recorded
    expect(store.recordPolicyChange(H("c"), 12)?.record.oldHash).toBe(H("b"));
    expect(store.lastPolicyHash()).toBe(H("c"));
    expect(store.seal()).toBeUndefined(); // Proof of Useful Work: no inference, no block
    expect(store.pending()).toHaveLength(2);
    expect(store.verify().ok).toBe(true);
  });
  test("the next inference seals the pending changes into a version 2 block", () => {
    using store = openLedger(":memory:", { identity: alice, clock, sealEvery: 2 });
    store.recordPolicyChange(H("b"), 10);
    store.recordPolicyChange(H("c"), 11);
    const { block } = store.append(makeSigned(alice, 1));
    expect(block?.header).toMatchObject({ version: 2, recordCount: 3, inferenceCount: 1 });
    const r = store.verify();
    expect(r.ok && r.value.totalTokens).toBe(12);
  });
  test("refuses a malformed hash and a store without identity, writing nothing", () => {
    using store = openLedger(":memory:", { identity: alice, clock });
    expect(() => store.recordPolicyChange("not-hex", 1)).toThrow(AriaError);
    expect(store.pending()).toHaveLength(0);
    using readOnly = openLedger(":memory:", { clock });
    expect(() => readOnly.recordPolicyChange(H("b"), 1)).toThrow(/without a node identity/);
  });
  test("export and import keep policy changes, sealed and pending (file version 2)", () => {
    using a = openLedger(":memory:", { identity: alice, clock, sealEvery: 2 });
    a.recordPolicyChange(H("b"), 10);
    a.append(makeSigned(alice, 1));
    a.recordPolicyChange(H("c"), 20);
    const lines = a.exportLines();
    expect(JSON.parse(lines[0]!).version).toBe(2);
    using b = openLedger(":memory:", { clock });
    const r = b.importLines(lines);
    const head = a.verify();
    expect(head.ok && r.headHash).toBe(head.ok ? head.value.headHash : "");
    expect(b.pending().map((p) => p.signed)).toEqual(a.pending().map((p) => p.signed));
    expect(b.lastPolicyHash()).toBe(H("c"));
  });
  test("a version 1 ledger still exports as version 1", () => {
    using a = openLedger(":memory:", { identity: alice, clock, sealEvery: 1 });
    a.append(makeSigned(alice, 1));
    expect(JSON.parse(a.exportLines()[0]!).version).toBe(1);
  });
  test("attestBlock's value is stored with the block in the sealing transaction", () => {
    using store = openLedger(":memory:", {
      identity: alice,
      clock,
      sealEvery: 1,
      attestBlock: (b) => ({ height: b.header.height, n: b.records.length }),
    });
    store.append(makeSigned(alice, 1));
    expect(store.blockAttestation(1)).toEqual({ height: 1, n: 1 });
    expect(store.blockAttestation(2)).toBeUndefined();
  });
});

describe("two processes on one ledger", () => {
  test("a writer sealing blocks and another recording changes keep one valid chain", async () => {
    const path = tempPath();
    openLedger(path, { identity: alice, clock }).close(); // migrate before the child starts
    const child = Bun.spawn(
      ["bun", join(import.meta.dir, "_append-loop.ts"), path, "0"],
      { stdout: "pipe", stderr: "inherit" },
    );
    const reader = child.stdout.getReader();
    await reader.read(); // the child has committed at least one append
    const store = openLedger(path, { identity: alice, clock, sealEvery: 3 });
    const hashes = ["b", "c", "d", "e", "f", "b", "c", "d", "e", "f"].map(H);
    for (const [i, h] of hashes.entries()) store.recordPolicyChange(h, 1_700_000_000_000 + i);
    child.kill(9);
    await child.exited;
    const r = store.verify();
    expect(r.ok).toBe(true);
    const changes = [
      ...store.blocks().flatMap((b) => b.records),
      ...store.pending().map((p) => p.signed),
    ].map((s) => s.record).filter(isPolicyChange) as PolicyChangeRecord[];
    expect(changes.map((c) => c.newHash)).toEqual(hashes);
    expect(changes.slice(1).every((c, i) => c.oldHash === changes[i]!.newHash)).toBe(true);
    store.close();
  });
});

describe("peer chains in the store", () => {
  test("savePeerHeaders keeps only signed headers; rejectPeer keeps what verified", () => {
    using store = openLedger(":memory:", { clock });
    const chain = makeChain(alice, [1, 1]);
    store.savePeerHeaders(alice.nodeId, chain.slice(1), {
      height: 2,
      headHash: hashHeader(chain[2]!.header),
      totalTokens: 24,
      updatedMs: 1,
    });
    expect(store.peerHeader(alice.nodeId, 2)).toEqual({
      header: chain[2]!.header,
      signature: chain[2]!.signature,
    });
    store.setPeerBodiesHeight(alice.nodeId, 2);
    store.setPeerBodiesHeight(alice.nodeId, 1); // never lowered
    store.rejectPeer(alice.nodeId, "a reason", 2);
    expect(store.peerChains()).toEqual([{
      peer: alice.nodeId,
      height: 2,
      headHash: hashHeader(chain[2]!.header),
      totalTokens: 24,
      rejectedReason: "a reason",
      bodiesHeight: 2,
      updatedMs: 2,
    }]);
  });
});
