import { describe, expect, test } from "bun:test";
import {
  embeddingInputs,
  embeddingsBody,
  MAX_EMBEDDING_INPUTS,
  ollamaEmbedBody,
  toEmbeddingRequest,
  vectorBase64,
} from "./embeddings-schema.ts";

describe("embeddings schemas", () => {
  test("the four OpenAI input shapes become a list of inputs", () => {
    const parse = (input: unknown) =>
      embeddingInputs(embeddingsBody.parse({ model: "m", input }).input);
    expect(parse("a")).toEqual(["a"]);
    expect(parse(["a", "b"])).toEqual(["a", "b"]);
    expect(parse([1, 2])).toEqual([[1, 2]]);
    expect(parse([[1], [2, 3]])).toEqual([[1], [2, 3]]);
  });
  test("empty inputs, mixed arrays, bad ids, too many inputs, bad encodings are refused", () => {
    const bad = (body: Record<string, unknown>) =>
      expect(embeddingsBody.safeParse({ model: "m", input: "x", ...body }).success).toBe(false);
    for (const input of ["", [], [""], [[]], ["a", 1], [-1], [1.5], [["a"]], null]) bad({ input });
    bad({ input: Array(MAX_EMBEDDING_INPUTS + 1).fill("a") });
    bad({ encoding_format: "int8" });
    bad({ dimensions: 0 });
    expect(ollamaEmbedBody.safeParse({ model: "m", input: [1] }).success).toBe(false);
    expect(ollamaEmbedBody.safeParse({ model: "m", input: "" }).success).toBe(false);
  });
  test("the request carries dimensions and truncate only when given", () => {
    expect(toEmbeddingRequest("embd-1", "m", ["a"], { dimensions: null })).toEqual({
      id: "embd-1",
      model: "m",
      inputs: ["a"],
    });
    expect(toEmbeddingRequest("embd-1", "m", ["a"], { dimensions: 8, truncate: true }))
      .toMatchObject({ dimensions: 8, truncate: true });
  });
  test("base64 is the little-endian float32 bytes", () => {
    const v = new Float32Array([1, -2.5, 0.1]);
    const bytes = Uint8Array.from(atob(vectorBase64(v)), (c) => c.charCodeAt(0));
    const view = new DataView(bytes.buffer);
    expect([0, 1, 2].map((i) => view.getFloat32(i * 4, true))).toEqual(Array.from(v));
  });
});
