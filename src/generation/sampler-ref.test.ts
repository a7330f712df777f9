import { describe, expect, test } from "bun:test";
import { createRng } from "./rng.ts";
import { applyPenaltiesRef, type PenaltyHistory, sampleTokenRef } from "./sampler-ref.ts";

describe("applyPenaltiesRef()", () => {
  test("applyPenaltiesRef() follows the llama.cpp and OpenAI formulas", () => {
    const logits = [2, -2, 1, 0.5, 3];
    const history: PenaltyHistory = { recent: [0, 1, 1], counts: new Map([[2, 3], [3, 1]]) };
    const got = applyPenaltiesRef(logits, {
      temperature: 1,
      repeatPenalty: 2,
      frequencyPenalty: 0.5,
      presencePenalty: 0.25,
      logitBias: new Map([[4, -1]]),
    }, history);
    const expected = [
      2 / 2, // positive: divided
      -2 * 2, // negative: multiplied (once, although it appears twice)
      1 - 3 * 0.5 - 0.25,
      0.5 - 1 * 0.5 - 0.25,
      3 - 1, // bias
    ];
    for (let i = 0; i < expected.length; i++) expect(got[i]!).toBeCloseTo(expected[i]!, 6);
  });
});

describe("sampleTokenRef()", () => {
  test("sampleTokenRef() is greedy at temperature 0 and stays inside top-k otherwise", () => {
    const logits = [1, 3, 2, 3, -1];
    expect(sampleTokenRef(logits, { temperature: 0 }, createRng(0))).toBe(1);
    const rng = createRng(1);
    for (let i = 0; i < 200; i++) {
      expect([1, 3]).toContain(sampleTokenRef(logits, { temperature: 2, topK: 2 }, rng));
    }
  });
});
