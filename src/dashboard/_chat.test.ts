import { describe, expect, test } from "bun:test";
import { JSON_OBJECT_GRAMMAR, parseGrammar } from "../grammar/index.ts";
import { chatBody, chatGrammar } from "./_chat.ts";

describe("chatBody", () => {
  test("accepts the playground's body; maxTokens may come as the form's string", () => {
    expect(chatBody.parse({ model: "m", message: "hi", maxTokens: "64" })).toEqual({
      model: "m",
      message: "hi",
      maxTokens: 64,
      format: "text",
      schema: "",
    });
  });

  test("refuses empty messages, fractional or out-of-range token counts, missing models", () => {
    for (
      const bad of [
        { model: "m", message: "", maxTokens: 1 },
        { model: "m", message: "x", maxTokens: "1.5" },
        { model: "m", message: "x", maxTokens: 5000 },
        { model: "m", message: "x", maxTokens: "abc" },
        { message: "x", maxTokens: 1 },
        { model: "m", message: "x".repeat(32_769), maxTokens: 1 },
        { model: "m", message: "x", maxTokens: 1, format: "xml" },
        { model: "m", message: "x", maxTokens: 1, schema: "x".repeat(128 * 1024 + 1) },
      ]
    ) {
      expect(chatBody.safeParse(bad).success).toBe(false);
    }
  });
});

describe("chatGrammar()", () => {
  test("chatGrammar() gives no grammar for text, the JSON-object grammar for json", () => {
    expect(chatGrammar("text", "ignored")).toEqual({ ok: true, grammar: undefined });
    expect(chatGrammar("json", "")).toEqual({ ok: true, grammar: JSON_OBJECT_GRAMMAR });
  });

  test("chatGrammar() converts a pasted schema to a grammar that compiles", () => {
    const r = chatGrammar(
      "schema",
      '{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.grammar).toContain("root");
    expect(() => parseGrammar(r.grammar!)).not.toThrow();
  });

  test("chatGrammar() says why a schema cannot be used: none, not JSON, not an object, unsupported", () => {
    const cases: [string, string][] = [
      ["  ", "Paste a JSON schema"],
      ["{type: object}", "is not valid JSON"],
      ["[1, 2]", "must be a JSON object"],
      ['"string"', "must be a JSON object"],
      ['{"type":"string","pattern":"^a+$"}', "cannot be used: Unsupported JSON Schema keywords"],
    ];
    for (const [text, reason] of cases) {
      const r = chatGrammar("schema", text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain(reason);
    }
  });
});
