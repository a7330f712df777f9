import { describe, expect, test } from "bun:test";
import { fixedIdentity, makeChain, makeSigned } from "../../tests/helpers/ledger.ts";
import { GENESIS_BLOCK, GENESIS_HASH, verifyChain, verifyHeaders } from "./chain.ts";
import { type Block, hashHeader, hashRecord, type Hex32, type SignedRecord } from "./entry.ts";
import { merkleRoot } from "./merkle.ts";
import { leavesOf, sealBlock, signHeader } from "./sign.ts";

const alice = fixedIdentity(1);
const mallory = fixedIdentity(2);

function fault(blocks: Block[]) {
  const r = verifyChain(blocks);
  if (r.ok) throw new Error("expected the chain to fail");
  return r.error;
}

describe("verifyChain()", () => {
  test("verifyChain() accepts genesis alone and reports its hash as the head", () => {
    const r = verifyChain([GENESIS_BLOCK]);
    expect(r.ok && r.value.headHash).toBe(GENESIS_HASH);
  });
  test("verifyChain() accepts a signed chain and sums its weight", () => {
    const chain = makeChain(alice, [1, 3, 2]);
    const r = verifyChain(chain);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect({ height: r.value.height, records: r.value.recordCount, tokens: r.value.totalTokens })
      .toEqual({ height: 3, records: 6, tokens: 72 });
    expect(r.value.headHash).toBe(hashHeader(chain[3]!.header));
  });
  test("verifyChain() names the record whose field was changed", () => {
    const chain = makeChain(alice, [2, 2]);
    const b = chain[2]!;
    const records = [...b.records];
    records[1] = { ...records[1]!, record: { ...records[1]!.record, completionTokens: 70 } };
    chain[2] = { ...b, records };
    expect(fault(chain)).toEqual({
      height: 2,
      recordIndex: 1,
      reason: "the signer's signature is invalid",
    });
  });
  test("verifyChain() rejects a block whose link was changed", () => {
    const chain = makeChain(alice, [1, 1]);
    const b = chain[2]!;
    chain[2] = { ...b, header: { ...b.header, prevHash: "1".repeat(64) as Hex32 } };
    expect(fault(chain)).toEqual({
      height: 2,
      reason: "previous hash does not match the previous block",
    });
  });
  test("verifyChain() catches a block rewritten with all later hashes recomputed", () => {
    // Mallory replaces block 1's record with her own and recomputes every root and link; she
    // can sign her own record and the blocks with her key, but alice's blocks then carry
    // mallory's signature where alice's was (or alice's signature over the old hashes).
    const chain = makeChain(alice, [1, 1, 1]);
    const forged: SignedRecord[] = [makeSigned(mallory, 99)];
    const rewritten: Block[] = [GENESIS_BLOCK];
    for (let i = 1; i < chain.length; i++) {
      const records = i === 1 ? forged : chain[i]!.records;
      const header = {
        ...chain[i]!.header,
        prevHash: hashHeader(rewritten[i - 1]!.header),
        merkleRoot: merkleRoot(leavesOf(records)),
      };
      rewritten.push({ header, signature: chain[i]!.signature, records }); // alice's old signature
    }
    expect(fault(rewritten)).toEqual({ height: 1, reason: "the producer's signature is invalid" });
    // The same with the headers re-signed by mallory passes only as mallory's chain, and the
    // head hash differs from alice's, so a peer holding alice's head detects the rewrite.
    const resigned: Block[] = [GENESIS_BLOCK];
    for (let i = 1; i < rewritten.length; i++) {
      const header = {
        ...rewritten[i]!.header,
        prevHash: hashHeader(resigned[i - 1]!.header),
        producer: mallory.nodeId as string as Hex32,
      };
      resigned.push({ ...signHeader(header, mallory), records: rewritten[i]!.records });
    }
    const r = verifyChain(resigned);
    expect(r.ok && r.value.headHash).not.toBe(hashHeader(chain[3]!.header));
    expect(r.ok && r.value.headHash).toBe(hashHeader(resigned[3]!.header));
  });
  test("verifyChain() rejects a changed genesis", () => {
    const chain = makeChain(alice, [1]);
    chain[0] = { ...GENESIS_BLOCK, header: { ...GENESIS_BLOCK.header, timestampMs: 1 } };
    expect(fault(chain)).toEqual({ height: 0, reason: "the first block is not the genesis block" });
    expect(fault([])).toEqual({ height: 0, reason: "the chain is empty" });
  });
  test("verifyChain() rejects a forged record signature", () => {
    const chain = makeChain(alice, [1]);
    const b = chain[1]!;
    const r0 = b.records[0]!;
    const forgedSig = r0.signature.slice(0, 127) + (r0.signature.endsWith("0") ? "1" : "0");
    const records = [{ ...r0, signature: forgedSig }];
    const header = { ...b.header, merkleRoot: merkleRoot(leavesOf(records)) };
    chain[1] = { ...signHeader(header, alice), records };
    expect(fault(chain)).toEqual({
      height: 1,
      recordIndex: 0,
      reason: "the signer's signature is invalid",
    });
  });
  test("verifyChain() rejects an empty block, a wrong count, a wrong weight, a replay", () => {
    const chain = makeChain(alice, [1]);
    const empty = { ...chain[1]!.header, recordCount: 0, totalTokens: 0 };
    expect(fault([GENESIS_BLOCK, { ...signHeader(empty, alice), records: [] }]).reason)
      .toBe("the block holds no records");
    const heavy = { ...chain[1]!.header, totalTokens: 13 };
    expect(fault([GENESIS_BLOCK, { ...signHeader(heavy, alice), records: chain[1]!.records }]))
      .toEqual({ height: 1, reason: "total tokens is 13, records hold 12" });
    const replay = sealBlock(chain[1]!.header, chain[1]!.records, {
      identity: alice,
      timestampMs: 1_700_000_200_000,
    });
    expect(fault([...chain, replay])).toEqual({
      height: 2,
      recordIndex: 0,
      reason: `record ${
        hashRecord(chain[1]!.records[0]!.record)
      } already appears earlier in the chain`,
    });
  });
  test("sealBlock() refuses to seal no records", () => {
    expect(() => sealBlock(GENESIS_BLOCK.header, [], { identity: alice, timestampMs: 0 }))
      .toThrow(RangeError);
  });
});

describe("verifyHeaders()", () => {
  test("verifyHeaders() accepts a peer's headers from genesis or from a trusted anchor", () => {
    const chain = makeChain(alice, [1, 2, 1]);
    const headers = chain.map(({ header, signature }) => ({ header, signature }));
    const r = verifyHeaders(headers);
    expect(r.ok && r.value).toEqual({
      headHash: hashHeader(chain[3]!.header),
      height: 3,
      totalTokens: 48,
    });
    expect(verifyHeaders(headers.slice(2), chain[1]!.header).ok).toBe(true);
  });
  test("verifyHeaders() rejects a gap, a bad signature and a fake genesis", () => {
    const chain = makeChain(alice, [1, 1, 1]);
    const headers = chain.map(({ header, signature }) => ({ header, signature }));
    const gap = [headers[0]!, headers[1]!, headers[3]!];
    expect(verifyHeaders(gap)).toEqual({
      ok: false,
      error: { index: 2, height: 3, reason: "height is 3, expected 2" },
    });
    const badSig = [...headers];
    badSig[2] = { ...badSig[2]!, signature: headers[1]!.signature };
    expect(verifyHeaders(badSig)).toEqual({
      ok: false,
      error: { index: 2, height: 2, reason: "the producer's signature is invalid" },
    });
    const fake = [{ ...headers[0]!, signature: headers[1]!.signature }, ...headers.slice(1)];
    expect(verifyHeaders(fake).ok).toBe(false);
  });
});
