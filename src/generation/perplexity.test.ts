import { describe, expect, test } from "bun:test";
import { PerplexityAccumulator, perplexityChunks, tokenNll } from "./perplexity.ts";

describe("perplexityChunks()", () => {
  test("perplexityChunks() cuts whole chunks, puts BOS first and scores the second half", () => {
    const tokens = Array.from({ length: 21 }, (_, i) => 100 + i);
    const chunks = perplexityChunks(tokens, 8, 1);
    expect(chunks.length).toBe(2); // 5 tokens left over are dropped
    expect(chunks[0]).toEqual({ tokens: [1, 101, 102, 103, 104, 105, 106, 107], first: 4 });
    expect(chunks[1]!.tokens).toEqual([1, 109, 110, 111, 112, 113, 114, 115]);
    expect(perplexityChunks(tokens, 8, undefined)[1]!.tokens[0]).toBe(108);
    expect(perplexityChunks(tokens.slice(0, 7), 8, 1)).toEqual([]);
    expect(() => perplexityChunks(tokens, 2, 1)).toThrow(RangeError);
  });
});

describe("tokenNll() and PerplexityAccumulator", () => {
  test("tokenNll() is −log softmax, stable for large logits", () => {
    expect(tokenNll([0, 0, 0, 0], 2)).toBeCloseTo(Math.log(4), 12);
    expect(tokenNll([1000, 1000 + Math.log(3)], 0)).toBeCloseTo(Math.log(4), 9);
  });

  test("PerplexityAccumulator gives exp(mean NLL) and a standard error", () => {
    const acc = new PerplexityAccumulator();
    expect(acc.perplexity).toBeNaN();
    for (const nll of [1, 2, 3]) acc.add(nll);
    expect(acc.count).toBe(3);
    expect(acc.perplexity).toBeCloseTo(Math.exp(2), 12);
    expect(acc.stderr).toBeCloseTo(Math.exp(2) * Math.sqrt(1 / 3), 12);
  });
});
