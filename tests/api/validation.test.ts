/** Each request field's validation through the real app: 400 with the field as `param`. */
import { describe, expect, test } from "bun:test";
import { chat, makeApp, post } from "../helpers/api.ts";

const chatCases: [string, Record<string, unknown>][] = [
  ["model", { model: 5 }],
  ["messages", { messages: [] }],
  ["messages.0.role", { messages: [{ role: "wizard", content: "x" }] }],
  ["messages.0.content", {
    messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }],
  }],
  ["max_tokens", { max_tokens: 0 }],
  ["max_completion_tokens", { max_completion_tokens: 1.5 }],
  ["temperature", { temperature: -0.1 }],
  ["top_p", { top_p: 1.1 }],
  ["seed", { seed: "x" }],
  ["stop", { stop: ["a", "b", "c", "d", "e"] }],
  ["stop", { stop: 5 }],
  ["presence_penalty", { presence_penalty: 2.5 }],
  ["frequency_penalty", { frequency_penalty: -3 }],
  ["logit_bias.x", { logit_bias: { x: 1 } }],
  ["logit_bias.5", { logit_bias: { "5": 101 } }],
  ["n", { n: 2 }],
  ["logprobs", { logprobs: 3 }],
  ["top_logprobs", { logprobs: true, top_logprobs: 21 }],
  ["top_logprobs", { top_logprobs: 2 }],
  ["stream", { stream: "yes" }],
  ["stream_options.include_usage", { stream_options: { include_usage: 1 } }],
  ["user", { user: 1 }],
  ["top_k", { top_k: -1 }],
  ["min_p", { min_p: 2 }],
  ["repeat_penalty", { repeat_penalty: -1 }],
  // issue 19, hole 5: the sampler rejects 0 (a division by zero), so the schema does too
  ["repeat_penalty", { repeat_penalty: 0 }],
  ["top_k", { top_k: 2 ** 60 }],
];

describe("validation", () => {
  for (const [param, extra] of chatCases) {
    test(`chat: ${param} ${JSON.stringify(extra).slice(0, 60)}`, async () => {
      const { app, backend } = makeApp();
      const res = await app.request("/v1/chat/completions", post(chat(extra)));
      expect(res.status).toBe(400);
      const { error } = await res.json();
      expect(error.param).toBe(param);
      expect(error.type).toBe("invalid_request_error");
      expect(backend.requests).toHaveLength(0);
    });
  }
  test("n: 2 has a clear message", async () => {
    const { app } = makeApp();
    const res = await app.request("/v1/chat/completions", post(chat({ n: 2 })));
    expect((await res.json()).error.message).toBe('Invalid value for "n": Only n = 1 is supported');
  });
  const textCases: [string, Record<string, unknown>][] = [
    ["prompt", { prompt: ["a", "b"] }],
    ["prompt", { prompt: [1, 2, 3] }],
    ["prompt", {}],
    ["logprobs", { prompt: "x", logprobs: 6 }],
    ["logprobs", { prompt: "x", logprobs: true }],
  ];
  for (const [param, extra] of textCases) {
    test(`completions: ${param} ${JSON.stringify(extra)}`, async () => {
      const { app } = makeApp();
      const res = await app.request("/v1/completions", post({ model: "fake-model", ...extra }));
      expect(res.status).toBe(400);
      expect((await res.json()).error.param).toBe(param);
    });
  }
  test("top_p 0 is the top token alone; a huge top_k reaches the backend (clamped there)", async () => {
    const { app, backend } = makeApp();
    const r1 = await app.request("/v1/chat/completions", post(chat({ top_p: 0 })));
    expect(r1.status).toBe(200);
    expect(backend.requests[0]!.sampling).toMatchObject({ topP: 1, topK: 1 });
    const r2 = await app.request("/v1/chat/completions", post(chat({ top_k: 2147483648 })));
    expect(r2.status).toBe(200);
    expect(backend.requests[1]!.sampling.topK).toBe(2147483648);
  });
  test("unknown fields are ignored; nulls are absent", async () => {
    const { app, backend } = makeApp();
    const res = await app.request(
      "/v1/chat/completions",
      post(chat({ tools: [], response_format: { type: "text" }, temperature: null })),
    );
    expect(res.status).toBe(200);
    expect(backend.requests[0]!.sampling.temperature).toBe(1);
  });
});
