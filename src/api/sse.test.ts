import { describe, expect, test } from "bun:test";
import { SSE_DONE, sseData } from "./sse.ts";

describe("sse", () => {
  test("one data line per payload, newlines escaped by JSON", () => {
    expect(sseData({ a: "x\ny" })).toBe('data: {"a":"x\\ny"}\n\n');
    expect(SSE_DONE).toBe("data: [DONE]\n\n");
  });
});
