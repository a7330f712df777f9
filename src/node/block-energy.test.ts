import { describe, expect, test } from "bun:test";
import { fixedIdentity, makePolicyChange, makeRecord } from "../../tests/helpers/ledger.ts";
import { GENESIS_BLOCK, sealBlock, signRecord, ZERO_HASH } from "../ledger/index.ts";
import type { Hex32 } from "../ledger/index.ts";
import { blockAttester, blockEnergyRecords, checkBlockAttestation } from "./block-energy.ts";

const alice = fixedIdentity(1);
const bob = fixedIdentity(2);
const T = 1_700_000_100_000;
const signed = (n: number, energyMj: number, energySource: "measured" | "estimated") =>
  signRecord(makeRecord(alice, n, { energyMj, energySource }), alice).signed;
// 12 tokens each (5 prompt + 7 completion)
const block = sealBlock(GENESIS_BLOCK.header, [
  signed(1, 120, "measured"),
  signed(2, 240, "estimated"),
  signed(3, 0, "estimated"),
  makePolicyChange(alice, ZERO_HASH, "b".repeat(64) as Hex32),
], { identity: alice, timestampMs: T });

describe("blockEnergyRecords()", () => {
  test("maps measured, estimated and no-figure records and skips policy changes", () => {
    expect(blockEnergyRecords(block).map((r) => [r.tokens, r.energy.source, r.energy.mj]))
      .toEqual([
        [12, "measured: rapl", 120],
        [12, "estimated: cpu-time × W/core", 240],
        [12, "unavailable", null],
      ]);
  });
});

describe("block attestation", () => {
  test("the producer's attestation sums the records and checks offline", () => {
    const att = blockAttester(alice)(block);
    expect(att.attestation).toMatchObject({
      blockHeight: 1,
      tokens: 36,
      energyMj: 360,
      measuredMj: 120,
      estimatedMj: 240,
      unmeasuredTokens: 12,
      ujPerToken: 15000, // 360 mJ over 24 tokens with a figure
      rating: null,
    });
    const stored = JSON.parse(JSON.stringify(att));
    expect(checkBlockAttestation(block, stored)).toEqual({ ok: true, value: att });
  });
  test.each([
    ["another signer", () => blockAttester(bob)(block), /not signed by the block's producer/],
    [
      "a changed figure",
      () => {
        const a = blockAttester(alice)(block);
        return { ...a, attestation: { ...a.attestation, energyMj: 1 } };
      },
      /signature is invalid/,
    ],
    [
      "another block's attestation",
      () =>
        blockAttester(alice)(
          sealBlock(GENESIS_BLOCK.header, [signed(9, 5, "measured")], {
            identity: alice,
            timestampMs: T,
          }),
        ),
      /figures differ/,
    ],
    ["a malformed value", () => ({ signer: 1 }), /malformed/],
  ])("refuses %s", (_name, make, reason) => {
    const r = checkBlockAttestation(block, make());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
