import { describe, expect, test } from "bun:test";
import { fixedIdentity } from "../../tests/helpers/ledger.ts";
import type { Hex32, SignedRecord } from "./entry.ts";
import { hashRecord } from "./entry.ts";
import { GENESIS_BLOCK, GENESIS_HEADER } from "./chain.ts";
import { buildRecord } from "./provenance.ts";
import { sealBlock, signRecord } from "./sign.ts";
import { chainWeight } from "./weight.ts";

const alice = fixedIdentity(1);
const base = {
  identity: alice,
  clock: { nowMs: () => 1_700_000_000_000 },
  modelSha256: "ab".repeat(32) as Hex32,
  nLayers: 4,
};

function record(prompt: number, completion: number, v2: boolean, id: string): SignedRecord {
  const replay = {
    contract: 2,
    sampler: 1,
    head: "float" as const,
    kvType: "f32" as const,
    sampling: {
      temperature: 0,
      topK: 0,
      topP: 1,
      minP: 0,
      repeatPenalty: 1,
      repeatLastN: 64,
      frequencyPenalty: 0,
      presencePenalty: 0,
      logitBias: new Map<number, number>(),
    },
    seed: 1,
    promptIds: Array.from({ length: prompt }, (_, i) => i),
    continued: 0,
    outputIds: Array.from({ length: completion }, (_, i) => i),
  };
  const input = {
    request: { id, model: "m", input: { kind: "text" as const, prompt: id } },
    result: {
      usage: { promptTokens: prompt, completionTokens: completion },
      timings: { queueMs: 0, promptMs: 0, decodeMs: 0 },
      ...(v2 ? { replay } : {}),
    },
    output: "x",
  };
  return signRecord(buildRecord(input, base), alice).signed;
}

describe("chainWeight()", () => {
  const a = record(5, 7, true, "a");
  const b = record(100, 900, false, "b");
  const c = record(3, 4, true, "c");
  const block1 = sealBlock(GENESIS_HEADER, [a, b], { identity: alice, timestampMs: 1 });
  const block2 = sealBlock(block1.header, [c], { identity: alice, timestampMs: 2 });
  test("only auditable (version 2) records weigh; claims are counted apart", () => {
    expect(chainWeight([GENESIS_BLOCK, block1, block2])).toEqual({
      weight: 12 + 7,
      claimedTokens: 12 + 1000 + 7,
      auditableRecords: 2,
      unauditableRecords: 1,
      disproved: [],
    });
  });
  test("a record named by a valid fraud proof weighs nothing and is reported", () => {
    const bad = hashRecord(c.record);
    const w = chainWeight([GENESIS_BLOCK, block1, block2], { disproved: (h) => h === bad });
    expect(w.weight).toBe(12);
    expect(w.disproved).toEqual([{ height: 2, recordIndex: 0, recordHash: bad }]);
  });
  test("a version 2 record cannot claim more tokens than its replay facts bind", () => {
    expect(() => signRecord({ ...a.record, promptTokens: 5000 }, alice)).toThrow(/token counts/);
  });
});
