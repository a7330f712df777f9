import { describe, expect, test } from "bun:test";
import { chatLogprobs, textLogprobs } from "./_logprobs.ts";

const pieces = ["", "ab", "c", "\xe9"];
const bytesOf = (t: number) => new TextEncoder().encode(pieces[t]!);
const lps = [
  {
    token: 1,
    logprob: -0.5,
    topLogprobs: [{ token: 1, logprob: -0.5 }, { token: 2, logprob: -1 }],
  },
  { token: 2, logprob: -0.25, topLogprobs: [] },
];

describe("logprobs shapes", () => {
  test("chat: token text, bytes, top_logprobs", () => {
    expect(chatLogprobs(lps, bytesOf)).toEqual([
      {
        token: "ab",
        bytes: [97, 98],
        logprob: -0.5,
        top_logprobs: [
          { token: "ab", bytes: [97, 98], logprob: -0.5 },
          { token: "c", bytes: [99], logprob: -1 },
        ],
      },
      { token: "c", bytes: [99], logprob: -0.25, top_logprobs: [] },
    ]);
  });
  test("legacy: tokens, token_logprobs, top_logprobs maps, text_offset from offset", () => {
    expect(textLogprobs(lps, bytesOf, 3)).toEqual({
      tokens: ["ab", "c"],
      token_logprobs: [-0.5, -0.25],
      top_logprobs: [{ ab: -0.5, c: -1 }, {}],
      text_offset: [3, 5],
    });
  });
  test("no tokenBytes: empty token texts", () => {
    expect(chatLogprobs(lps, undefined)[0]!.token).toBe("");
  });
});
