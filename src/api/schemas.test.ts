import { describe, expect, test } from "bun:test";
import {
  chatCompletionBody,
  completionBody,
  DEFAULT_COMPLETIONS_MAX_TOKENS,
  DEFAULT_TOP_K,
  toChatRequest,
  toTextRequest,
} from "./schemas.ts";

const user = [{ role: "user", content: "Hi" }];

describe("schemas", () => {
  test("chat conversion: parts joined, developer -> system, null content, defaults", () => {
    const b = chatCompletionBody.parse({
      model: "m",
      messages: [
        { role: "developer", content: "Be brief" },
        { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
        { role: "assistant", content: null },
      ],
      unknown_field: 1,
    });
    const { request, wire } = toChatRequest("chatcmpl-1", b);
    expect(request).toEqual({
      id: "chatcmpl-1",
      model: "m",
      input: {
        kind: "chat",
        messages: [
          { role: "system", content: "Be brief" },
          { role: "user", content: "ab" },
          { role: "assistant", content: "" },
        ],
      },
      sampling: { temperature: 1, topP: 1, topK: DEFAULT_TOP_K },
      stop: [],
    });
    expect(wire).toEqual({ stream: false, includeUsage: false });
  });
  test("chat conversion: every sampling field, max_completion_tokens wins, logprobs", () => {
    const b = chatCompletionBody.parse({
      model: "m",
      messages: user,
      max_tokens: 5,
      max_completion_tokens: 7,
      temperature: 0,
      top_p: 0.9,
      top_k: 0,
      min_p: 0.05,
      repeat_penalty: 1.1,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logit_bias: { "42": -100, "7": 3 },
      seed: 9,
      stop: "\n",
      user: "u",
      logprobs: true,
      top_logprobs: 3,
      stream: true,
      stream_options: { include_usage: true },
      n: 1,
    });
    const { request, wire } = toChatRequest("x", b);
    expect(request.maxTokens).toBe(7);
    expect(request.sampling).toEqual({
      temperature: 0,
      topP: 0.9,
      topK: 0,
      minP: 0.05,
      repeatPenalty: 1.1,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      logitBias: new Map([[42, -100], [7, 3]]),
    });
    expect([request.seed, request.stop, request.user, request.logprobs]).toEqual([
      9,
      ["\n"],
      "u",
      3,
    ]);
    expect(wire).toEqual({ stream: true, includeUsage: true });
  });
  test("nulls count as absent; logprobs without top_logprobs = 0", () => {
    const b = chatCompletionBody.parse({
      model: "m",
      messages: user,
      temperature: null,
      stop: null,
      logprobs: true,
    });
    const { request } = toChatRequest("x", b);
    expect(request.sampling.temperature).toBe(1);
    expect(request.logprobs).toBe(0);
    expect(request.maxTokens).toBeUndefined();
  });
  test("completions: prompt string or [string], default max_tokens 16, legacy logprobs", () => {
    const a = toTextRequest("c", completionBody.parse({ model: "m", prompt: "p" })).request;
    expect(a.input).toEqual({ kind: "text", prompt: "p" });
    expect(a.maxTokens).toBe(DEFAULT_COMPLETIONS_MAX_TOKENS);
    expect(a.logprobs).toBeUndefined();
    const b = toTextRequest(
      "c",
      completionBody.parse({ model: "m", prompt: ["q"], logprobs: 2, stop: ["a", ""] }),
    ).request;
    expect([b.input, b.logprobs, b.stop]).toEqual([{ kind: "text", prompt: "q" }, 2, ["a"]]);
  });
  test("rejections name the field", () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ n: 2 }, "n"],
      [{ temperature: 2.5 }, "temperature"],
      [{ top_logprobs: 2 }, "top_logprobs"],
      [{ logit_bias: { a: 1 } }, "logit_bias.a"],
      [{ stop: ["a", "b", "c", "d", "e"] }, "stop"],
      [{ messages: [] }, "messages"],
    ];
    for (const [extra, path] of bad) {
      const r = chatCompletionBody.safeParse({ model: "m", messages: user, ...extra });
      expect(r.error?.issues[0]?.path.join(".")).toBe(path);
    }
    const r = completionBody.safeParse({ model: "m", prompt: ["a", "b"] });
    expect(r.error?.issues[0]?.path.join(".")).toBe("prompt");
  });
});
