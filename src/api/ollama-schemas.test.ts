import { describe, expect, test } from "bun:test";
import {
  numCtxProblem,
  OLLAMA_DEFAULTS,
  ollamaChatBody,
  ollamaChatRequest,
  ollamaGenerateBody,
  ollamaGenerateRequest,
  ollamaShowBody,
  servedModelId,
} from "./ollama-schemas.ts";

describe("servedModelId", () => {
  test("the id itself or with Ollama's default tag; nothing else", () => {
    expect(servedModelId("aria-nano", ["aria-nano"])).toBe("aria-nano");
    expect(servedModelId("aria-nano:latest", ["aria-nano"])).toBe("aria-nano");
    expect(servedModelId("aria-nano:q4", ["aria-nano"])).toBeUndefined();
    expect(servedModelId("x:latest", ["x:latest"])).toBe("x:latest");
    expect(servedModelId(":latest", [""])).toBe("");
    expect(servedModelId("other", ["aria-nano"])).toBeUndefined();
  });
});

describe("ollama bodies", () => {
  const chat = { model: "m", messages: [{ role: "user", content: "hi" }] };

  test("Ollama's defaults when no option is sent; options map to the sampler's names", () => {
    const r = ollamaChatRequest("c", "m", ollamaChatBody.parse(chat));
    expect(r.sampling).toEqual({ ...OLLAMA_DEFAULTS });
    expect(r.maxTokens).toBeUndefined();
    const o = ollamaChatBody.parse({
      ...chat,
      options: {
        temperature: 0,
        top_k: 5,
        top_p: 0.5,
        min_p: 0.1,
        seed: 7,
        num_predict: 9,
        stop: ["\n"],
        repeat_penalty: 1,
        repeat_last_n: 0,
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        num_thread: 4,
      },
    });
    const s = ollamaChatRequest("c", "m", o);
    expect(s).toMatchObject({
      maxTokens: 9,
      seed: 7,
      stop: ["\n"],
      sampling: {
        temperature: 0,
        topK: 5,
        topP: 0.5,
        minP: 0.1,
        repeatPenalty: 1,
        repeatLastN: 0,
        presencePenalty: 0.5,
        frequencyPenalty: -0.5,
      },
    });
  });

  test("num_predict -1 and -2 mean no limit", () => {
    for (const n of [-1, -2]) {
      const b = ollamaChatBody.parse({ ...chat, options: { num_predict: n } });
      expect(ollamaChatRequest("c", "m", b).maxTokens).toBeUndefined();
    }
    expect(ollamaChatBody.safeParse({ ...chat, options: { num_predict: -3 } }).success).toBe(false);
  });

  test("what the sampler would reject, and unknown output options, are refused by name", () => {
    for (
      const options of [
        { top_p: 0 },
        { repeat_penalty: 0 },
        { top_k: 2147483648 },
        { temperature: -1 },
        { mirostat: 2 },
        { tfs_z: 1 },
      ]
    ) {
      const r = ollamaChatBody.safeParse({ ...chat, options });
      expect(r.success).toBe(false);
    }
    const named = ollamaChatBody.safeParse({ ...chat, options: { mirostat: 2, typical_p: 1 } });
    expect(named.error?.issues[0]?.message).toBe(
      "options not supported by ARIA: mirostat, typical_p",
    );
    for (
      const extra of [{ format: "yaml" }, {
        tools: [{ type: "function", function: { name: "a b" } }],
      }, {
        images: ["x"],
      }, { think: true }]
    ) {
      expect(ollamaChatBody.safeParse({ ...chat, ...extra }).success).toBe(false);
    }
    expect(ollamaGenerateBody.safeParse({ model: "m", prompt: "x", context: [1] }).success).toBe(
      false,
    );
  });

  test("generate: raw is the prompt as it is; otherwise one templated user turn", () => {
    const raw = ollamaGenerateRequest(
      "g",
      "m",
      ollamaGenerateBody.parse({ model: "m", prompt: "abc", raw: true }),
    );
    expect(raw.input).toEqual({ kind: "text", prompt: "abc" });
    const templated = ollamaGenerateRequest(
      "g",
      "m",
      ollamaGenerateBody.parse({ model: "m", prompt: "abc", system: "be brief" }),
    );
    expect(templated.input).toEqual({
      kind: "chat",
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: "abc" }],
    });
  });

  test("format: json or a schema becomes the request's grammar; a bad schema is refused", () => {
    const none = ollamaChatRequest("c", "m", ollamaChatBody.parse(chat));
    expect(none.grammar).toBeUndefined();
    const json = ollamaChatRequest("c", "m", ollamaChatBody.parse({ ...chat, format: "json" }));
    expect(json.grammar).toContain("root");
    const schema = { type: "object", properties: { a: { type: "integer" } }, required: ["a"] };
    const typed = ollamaChatRequest("c", "m", ollamaChatBody.parse({ ...chat, format: schema }));
    expect(typed.grammar).not.toBe(json.grammar);
    const bad = ollamaChatBody.parse({
      ...chat,
      format: { type: "object", patternProperties: {} },
    });
    expect(() => ollamaChatRequest("c", "m", bad)).toThrow(/patternProperties/);
  });

  test("show takes model or the older name", () => {
    expect(ollamaShowBody.parse({ model: "a" }).model).toBe("a");
    expect(ollamaShowBody.parse({ name: "b" }).model).toBe("b");
    expect(ollamaShowBody.safeParse({}).success).toBe(false);
  });

  test("num_ctx may be smaller than the served context, never larger", () => {
    expect(numCtxProblem(undefined, 256)).toBeUndefined();
    expect(numCtxProblem({ num_ctx: 256 }, 256)).toBeUndefined();
    expect(numCtxProblem({ num_ctx: 257 }, 256)).toContain("--ctx 257");
  });
});
