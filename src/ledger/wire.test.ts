import { describe, expect, test } from "bun:test";
import { fixedIdentity, makeChain } from "../../tests/helpers/ledger.ts";
import { blockSchema, ledgerMessageSchema } from "./wire.ts";
import { signHeadAttestation } from "./attest.ts";

const chain = makeChain(fixedIdentity(1), [2]);

describe("ledgerMessageSchema", () => {
  test("ledgerMessageSchema parses headers, block requests and blocks", () => {
    const headers = chain.map(({ header, signature }) => ({ header, signature }));
    const msgs = [
      { kind: "ledger.headers", version: 1, headers },
      { kind: "ledger.blocks.request", version: 1, fromHeight: 1, count: 10 },
      { kind: "ledger.blocks", version: 1, blocks: chain },
      {
        kind: "ledger.attestations",
        version: 1,
        attestations: [signHeadAttestation(
          { producer: chain[1]!.header.producer, height: 1, headHash: "e".repeat(64) },
          { witness: fixedIdentity(2), timestampMs: 3 },
        )],
      },
    ];
    for (const m of msgs) {
      expect<unknown>(ledgerMessageSchema.parse(JSON.parse(JSON.stringify(m)))).toEqual(m);
    }
  });
  test("ledgerMessageSchema rejects unknown kinds, extra fields and floats", () => {
    expect(ledgerMessageSchema.safeParse({ kind: "ledger.x", version: 1 }).success).toBe(false);
    const block = JSON.parse(JSON.stringify(chain[1]));
    expect(blockSchema.safeParse(block).success).toBe(true);
    expect(blockSchema.safeParse({ ...block, extra: 1 }).success).toBe(false);
    block.records[0].record.energyMj = 1.5;
    expect(blockSchema.safeParse(block).success).toBe(false);
    const req = { kind: "ledger.blocks.request", version: 1, fromHeight: 0, count: 100000 };
    expect(ledgerMessageSchema.safeParse(req).success).toBe(false);
  });
});
