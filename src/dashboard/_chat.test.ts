import { describe, expect, test } from "bun:test";
import { chatBody } from "./_chat.ts";

describe("chatBody", () => {
  test("accepts the playground's body; maxTokens may come as the form's string", () => {
    expect(chatBody.parse({ model: "m", message: "hi", maxTokens: "64" })).toEqual({
      model: "m",
      message: "hi",
      maxTokens: 64,
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
      ]
    ) {
      expect(chatBody.safeParse(bad).success).toBe(false);
    }
  });
});
