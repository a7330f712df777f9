import { describe, expect, test } from "bun:test";
import { fixedIdentity, makeRecord } from "../../tests/helpers/ledger.ts";
import { GENESIS_HEADER } from "./chain.ts";
import { hashRecord } from "./entry.ts";
import {
  sealBlock,
  signRecord,
  verifyEd25519,
  verifyHeaderSignature,
  verifyRecordSignature,
} from "./sign.ts";
import { verifySignature } from "../identity/identity.ts";

const alice = fixedIdentity(1);
const bob = fixedIdentity(2);

describe("signRecord()", () => {
  test("signRecord() signs so that verifyRecordSignature() accepts only the signer", () => {
    const { signed, hash } = signRecord(makeRecord(alice, 1), alice);
    expect(hash).toBe(hashRecord(signed.record));
    expect(verifyRecordSignature(hash, alice.nodeId, signed.signature)).toBe(true);
    expect(verifyRecordSignature(hash, bob.nodeId, signed.signature)).toBe(false);
    expect(verifyRecordSignature(hash, alice.nodeId, "00")).toBe(false);
  });
  test("signRecord() is deterministic (ed25519, no randomness)", () => {
    const a = signRecord(makeRecord(alice, 1), alice).signed.signature;
    expect(signRecord(makeRecord(alice, 1), alice).signed.signature).toBe(a);
  });
  test("signRecord() refuses a record that names another signer", () => {
    expect(() => signRecord(makeRecord(alice, 1), bob)).toThrow(TypeError);
  });
});

describe("sealBlock()", () => {
  test("sealBlock() links to the parent, counts the records and weighs their tokens", () => {
    const records = [1, 2].map((n) => signRecord(makeRecord(alice, n), alice).signed);
    const block = sealBlock(GENESIS_HEADER, records, { identity: bob, timestampMs: 5 });
    expect(block.header.height).toBe(1);
    expect(block.header.recordCount).toBe(2);
    expect(block.header.totalTokens).toBe(24);
    // never older than its records, even with a clock that stepped back
    expect(block.header.timestampMs).toBe(records[1]!.record.timestampMs);
    expect(verifyHeaderSignature(block.header, block.signature)).toBe(true);
    expect(verifyHeaderSignature({ ...block.header, totalTokens: 25 }, block.signature))
      .toBe(false);
  });
});

describe("verifyEd25519()", () => {
  test("verifyEd25519() agrees with noble's verifySignature (the oracle)", () => {
    const msg = new TextEncoder().encode("aria");
    const sig = alice.sign(msg);
    const flipped = Uint8Array.from(sig);
    flipped[10]! ^= 1;
    const highS = Uint8Array.from(sig);
    highS[63]! |= 0xf0; // S >= L: non-canonical, must be rejected by both
    const cases: [string, Uint8Array, Uint8Array][] = [
      [alice.nodeId, msg, sig],
      [bob.nodeId, msg, sig],
      [alice.nodeId, new TextEncoder().encode("arib"), sig],
      [alice.nodeId, msg, flipped],
      [alice.nodeId, msg, highS],
      [alice.nodeId, msg, sig.subarray(0, 63)],
      ["f".repeat(64), msg, sig], // not a curve point
      ["xyz", msg, sig],
    ];
    for (const [id, m, s] of cases) {
      expect(verifyEd25519(id, m, s)).toBe(verifySignature(id, m, s));
    }
    expect(verifyEd25519(alice.nodeId, msg, sig)).toBe(true);
  });
});
