import { describe, expect, test } from "bun:test";
import { fixedIdentity, inferenceOf, makeChain, makeSigned } from "../../tests/helpers/ledger.ts";
import { hashHeader, hashRecord } from "./entry.ts";
import { buildReceipt, verifyReceipt } from "./receipt.ts";

const alice = fixedIdentity(1);

describe("verifyReceipt()", () => {
  test("verifyReceipt() accepts an unsealed receipt", () => {
    const signed = makeSigned(alice, 1);
    expect(verifyReceipt(buildReceipt(signed))).toEqual({
      ok: true,
      value: { recordHash: hashRecord(signed.record), signer: alice.nodeId },
    });
  });
  test("verifyReceipt() accepts a sealed receipt for every record of a block", () => {
    const block = makeChain(alice, [5])[1]!;
    for (const r of block.records) {
      const check = verifyReceipt(JSON.parse(JSON.stringify(buildReceipt(inferenceOf(r), block))));
      expect(check.ok && check.value.block).toEqual({
        height: 1,
        hash: hashHeader(block.header),
        producer: alice.nodeId,
      });
    }
  });
  test("verifyReceipt() fails when any part is altered", () => {
    const block = makeChain(alice, [3])[1]!;
    const good = buildReceipt(inferenceOf(block.records[1]), block);
    const alter = (f: (r: typeof good) => void) => {
      const copy = structuredClone(good);
      f(copy);
      const r = verifyReceipt(copy);
      return r.ok ? "accepted" : r.error;
    };
    expect(alter((r) => r.record.record.completionTokens++))
      .toBe("the record hash does not match the record");
    expect(alter((r) => (r.recordHash = hashRecord(block.records[0]!.record))))
      .toBe("the record hash does not match the record");
    expect(alter((r) => (r.record.signature = block.records[0]!.signature)))
      .toBe("the record signature is invalid");
    expect(alter((r) => r.block!.header.totalTokens++))
      .toBe("the block hash does not match the block header");
    expect(alter((r) => (r.block!.proof.leafIndex = 0)))
      .toBe("the Merkle inclusion proof does not lead to the block's root");
    expect(alter((r) => (r.block!.proof.treeSize = 4)))
      .toBe("the proof's tree size is not the block's record count");
    expect(alter((r) => (r.block!.signature = block.records[0]!.signature)))
      .toBe("the block signature is invalid");
    expect(alter((r) => ((r as { kind: string }).kind = "x"))).toMatch(
      /^malformed receipt at "kind"/,
    );
  });
  test("buildReceipt() refuses a block that does not hold the record", () => {
    const block = makeChain(alice, [1])[1]!;
    expect(() => buildReceipt(makeSigned(alice, 50), block)).toThrow(RangeError);
  });
});
