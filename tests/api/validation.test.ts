/** Each request field's validation through the real app: 400 with the field as `param`. */
import { describe, expect, test } from "bun:test";
import { chat, makeApp, post } from "../helpers/api.ts";
import { JSON_OBJECT_GRAMMAR, jsonSchemaToGrammar } from "../../src/grammar/index.ts";

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
  test("unknown fields are ignored; nulls are absent; empty tools and a text format are no-ops", async () => {
    const { app, backend } = makeApp();
    const res = await app.request(
      "/v1/chat/completions",
      post(chat({ tools: [], response_format: { type: "text" }, temperature: null, foo: 1 })),
    );
    expect(res.status).toBe(200);
    expect(backend.requests[0]!.sampling.temperature).toBe(1);
    expect(backend.requests[0]!.grammar).toBeUndefined();
  });
});

describe("output constraints", () => {
  const tool = { type: "function", function: { name: "f", parameters: { type: "object" } } };
  const refusals: [string, Record<string, unknown>, string, string | null, RegExp][] = [
    [
      "a strict tool whose parameters cannot be enforced",
      {
        tools: [{
          type: "function",
          function: {
            name: "f",
            strict: true,
            parameters: { type: "object", properties: { a: { type: "string", pattern: "x" } } },
          },
        }],
        tool_choice: "required",
      },
      "tools",
      "unsupported_parameter",
      /tool "f".*pattern/,
    ],
    [
      "a named tool_choice that names no tool",
      { tools: [tool], tool_choice: { type: "function", function: { name: "g" } } },
      "tool_choice",
      "unsupported_parameter",
      /no tool is named "g"/,
    ],
    [
      "tool_choice with response_format",
      { tools: [tool], tool_choice: "required", response_format: { type: "json_object" } },
      "response_format",
      "unsupported_parameter",
      /Cannot combine "tool_choice" with "response_format"/,
    ],
    [
      "tool_choice",
      { tool_choice: "required" },
      "tool_choice",
      "unsupported_parameter",
      /"tool_choice"/,
    ],
    [
      "an unsupported schema keyword",
      {
        response_format: {
          type: "json_schema",
          json_schema: { name: "x", schema: { type: "string", pattern: "a+" } },
        },
      },
      "response_format",
      "unsupported_parameter",
      /keywords at #: pattern/,
    ],
    [
      "a bad grammar",
      { grammar: 'root ::= "a' },
      "grammar",
      "invalid_grammar",
      /unterminated string/,
    ],
    ["a grammar without root", { grammar: 'x ::= "a"' }, "grammar", "invalid_grammar", /no "root"/],
    [
      "two constraints",
      { grammar: 'root ::= "a"', response_format: { type: "json_object" } },
      "response_format",
      "unsupported_parameter",
      /Cannot combine "grammar" with "response_format"/,
    ],
    [
      "an unknown format type",
      { response_format: { type: "xml" } },
      "response_format.type",
      null,
      /./,
    ],
  ];
  for (const [name, extra, param, code, message] of refusals) {
    test(`chat: ${name} is a 400 naming ${param}`, async () => {
      const { app, backend } = makeApp();
      const res = await app.request("/v1/chat/completions", post(chat(extra)));
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.error).toMatchObject({ type: "invalid_request_error", param, code });
      expect(body.error.message).toMatch(message);
      expect(backend.requests.length).toBe(0);
    });
  }

  test("response_format json_schema reaches the backend as a grammar", async () => {
    const { app, backend } = makeApp();
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };
    const res = await app.request(
      "/v1/chat/completions",
      post(
        chat({
          response_format: {
            type: "json_schema",
            json_schema: { name: "r", schema, strict: true },
          },
        }),
      ),
    );
    expect(res.status).toBe(200);
    expect(backend.requests[0]!.grammar).toBe(jsonSchemaToGrammar(schema));
  });

  test("json_object, llama-server grammar and json_schema fields reach the backend", async () => {
    const { app, backend } = makeApp();
    await app.request(
      "/v1/chat/completions",
      post(chat({ response_format: { type: "json_object" } })),
    );
    await app.request(
      "/v1/completions",
      post({ model: "fake-model", prompt: "x", grammar: 'root ::= "y"' }),
    );
    await app.request(
      "/v1/completions",
      post({ model: "fake-model", prompt: "x", json_schema: { type: "integer" } }),
    );
    expect(backend.requests.map((r) => r.grammar)).toEqual([
      JSON_OBJECT_GRAMMAR,
      'root ::= "y"',
      jsonSchemaToGrammar({ type: "integer" }),
    ]);
  });
});
