import { describe, expect, test } from "bun:test";
import { checkRequestLimits } from "./limits.ts";
import { InvalidRequestError } from "../shared/errors.ts";

const limits = { nVocab: 100 };
const greedy = { temperature: 0 };

function paramOf(f: () => unknown): string {
  try {
    f();
  } catch (err: unknown) {
    if (err instanceof InvalidRequestError) return err.param;
    throw err;
  }
  return "";
}

describe("checkRequestLimits", () => {
  test("continueFrom ids outside the vocabulary are refused", () => {
    expect(paramOf(() => checkRequestLimits({ sampling: greedy, continueFrom: [1, 100] }, limits)))
      .toBe("continueFrom");
    expect(paramOf(() => checkRequestLimits({ sampling: greedy, continueFrom: [-1] }, limits)))
      .toBe("continueFrom");
    expect(() => checkRequestLimits({ sampling: greedy, continueFrom: [0, 99] }, limits)).not
      .toThrow();
  });

  test("logit_bias ids outside the vocabulary are refused", () => {
    const sampling = { ...greedy, logitBias: new Map([[999_999, 1]]) };
    expect(paramOf(() => checkRequestLimits({ sampling }, limits))).toBe("logitBias");
  });

  test("sampling values the sampler rejects are refused by name", () => {
    expect(paramOf(() => checkRequestLimits({ sampling: { ...greedy, topP: 0 } }, limits)))
      .toBe("topP");
    expect(paramOf(() => checkRequestLimits({ sampling: { ...greedy, repeatPenalty: 0 } }, limits)))
      .toBe("repeatPenalty");
    expect(paramOf(() => checkRequestLimits({ sampling: { temperature: -1 } }, limits)))
      .toBe("temperature");
    expect(paramOf(() => checkRequestLimits({ sampling: greedy, maxTokens: 1.5 }, limits)))
      .toBe("maxTokens");
    expect(paramOf(() => checkRequestLimits({ sampling: greedy, logprobs: 21 }, limits)))
      .toBe("logprobs");
  });

  test("top_k above the vocabulary is clamped to it", () => {
    const s = checkRequestLimits({ sampling: { ...greedy, topK: 2_147_483_648 } }, limits);
    expect(s.topK).toBe(100);
    expect(checkRequestLimits({ sampling: { ...greedy, topK: 40 } }, limits).topK).toBe(40);
  });
});
