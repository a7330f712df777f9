import { describe, expect, test } from "bun:test";
import type { GgufFile } from "../model/gguf-reader.ts";
import { GgufValueType } from "../model/gguf-format.ts";
import { testVocabSource } from "../../tests/tokenizer/fixtures.ts";
import { toyBpeSource, toySpmSource } from "../../tests/tokenizer/toy.ts";
import { createVocab, TOKEN_TYPE, vocabSourceFromGguf } from "./vocab.ts";

describe("createVocab()", () => {
  test("createVocab() applies llama.cpp's SentencePiece defaults", () => {
    const v = createVocab(toySpmSource({ "▁a": -1 }));
    expect({
      kind: v.kind,
      bos: v.bosId,
      eos: v.eosId,
      unk: v.unkId,
      addBos: v.addBos,
      addEos: v.addEos,
      addSpacePrefix: v.addSpacePrefix,
      eog: [...v.eogIds],
    }).toEqual({
      kind: "spm",
      bos: 1,
      eos: 2,
      unk: 0,
      addBos: true,
      addEos: false,
      addSpacePrefix: true,
      eog: [2],
    });
  });

  test("createVocab() applies llama.cpp's BPE defaults (bos = eos = 11)", () => {
    const v = createVocab({ ...toyBpeSource([], []), pre: "default" });
    expect({
      bos: v.bosId,
      eos: v.eosId,
      addBos: v.addBos,
      space: v.addSpacePrefix,
      ignoreMerges: v.ignoreMerges,
      pre: v.pre,
    }).toEqual({
      bos: 11,
      eos: 11,
      addBos: false,
      space: false,
      ignoreMerges: false,
      pre: "default",
    });
  });

  test("createVocab() uses the Llama-3 split when pre is absent and says so in preName", () => {
    const v = createVocab({ ...toyBpeSource([], []), pre: undefined });
    expect({ pre: v.pre, preName: v.preName, ignoreMerges: v.ignoreMerges, addBos: v.addBos })
      .toEqual({ pre: "llama3", preName: undefined, ignoreMerges: true, addBos: true });
  });

  test("createVocab() honours preOverride (DEFAULT, for bitnet.cpp parity)", () => {
    const v = createVocab({ ...toyBpeSource([], []), pre: undefined }, { preOverride: "default" });
    expect({ pre: v.pre, ignoreMerges: v.ignoreMerges }).toEqual({
      pre: "default",
      ignoreMerges: false,
    });
  });

  test("createVocab() maps pre names to splitters", () => {
    const pre = (name: string) => createVocab({ ...toyBpeSource([], []), pre: name }).pre;
    expect(
      ["llama3", "llama-bpe", "falcon3", "falcon_e", "qwen2", "gpt-2", "default"].map(pre),
    ).toEqual(["llama3", "llama3", "llama3", "llama3", "qwen2", "gpt2", "default"]);
  });

  test("createVocab() throws RangeError on unusable metadata", () => {
    const bpe = toyBpeSource([], []);
    expect(() => createVocab({ ...bpe, pre: "qwen9" })).toThrow(RangeError);
    expect(() => createVocab({ ...bpe, model: "t5" })).toThrow(RangeError);
    expect(() => createVocab({ model: "gpt2", tokens: [] })).toThrow(RangeError);
    expect(() => createVocab({ ...bpe, scores: [0] })).toThrow(RangeError);
    expect(() => createVocab({ ...bpe, tokenTypes: [1, 1] })).toThrow(RangeError);
  });

  test("createVocab() names empty tokens and lets the later of two equal texts win", () => {
    const v = createVocab({ model: "llama", tokens: ["<unk>", "", "x", "x"] });
    expect({ t1: v.tokens[1], x: v.tokenToId.get("x") }).toEqual({ t1: "[EMPTY_1]", x: 3 });
  });

  test("createVocab() drops out-of-range special ids", () => {
    const v = createVocab({ model: "llama", tokens: ["a", "b"], bosId: 7, eosId: -1 });
    expect({ bos: v.bosId, eos: v.eosId }).toEqual({ bos: undefined, eos: undefined });
  });

  test("createVocab() puts end-of-turn texts in the EOG set and makes them CONTROL", () => {
    const src = toyBpeSource(["<|eot_id|>", "<|im_end|>"], [], { specials: ["<s>", "</s>"] });
    const v = createVocab(src);
    const eot = v.tokenToId.get("<|eot_id|>")!;
    const imEnd = v.tokenToId.get("<|im_end|>")!;
    expect<unknown>({
      eot: v.eotId,
      eog: [...v.eogIds].sort((a, b) => a - b),
      types: [v.types[eot], v.types[imEnd]],
    }).toEqual({
      eot,
      eog: [eot, imEnd, v.eosId].sort((a, b) => a! - b!),
      types: [TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL],
    });
  });

  test("createVocab() orders special ids longest text first", () => {
    const v = createVocab(toyBpeSource([], [], { specials: ["<a>", "<abc>", "<ab>"] }));
    expect(v.specialIds.map((id) => v.tokens[id])).toEqual(["<abc>", "<ab>", "<a>"]);
  });

  test("createVocab() reads the Llama-3 metadata (bos, eos, eot, EOG set)", () => {
    const v = createVocab(testVocabSource("llama3"));
    expect({
      n: v.tokens.length,
      bos: v.bosId,
      eos: v.eosId,
      eot: v.eotId,
      pad: v.padId,
      eog: [...v.eogIds].sort(),
      pre: v.pre,
      nSpecial: v.specialIds.length,
    }).toEqual({
      n: 128256,
      bos: 128000,
      eos: 128001,
      eot: 128009,
      pad: 128001,
      eog: [128001, 128009],
      pre: "llama3",
      nSpecial: 256,
    });
  });
});

describe("vocabSourceFromGguf()", () => {
  const file = (kv: [string, { type: number; value: unknown; itemType?: number }][]): GgufFile =>
    ({ version: 3, alignment: 32, kv: new Map(kv), tensors: [], dataOffset: 0 }) as GgufFile;
  const strings = (value: string[]) => ({
    type: GgufValueType.ARRAY,
    itemType: GgufValueType.STRING,
    value,
  });

  test("vocabSourceFromGguf() reads the tokenizer.ggml keys", () => {
    const src = vocabSourceFromGguf(file([
      ["tokenizer.ggml.model", { type: GgufValueType.STRING, value: "gpt2" }],
      ["tokenizer.ggml.tokens", strings(["a", "b", "ab"])],
      ["tokenizer.ggml.merges", strings(["a b"])],
      ["tokenizer.ggml.bos_token_id", { type: GgufValueType.UINT32, value: 2 }],
      ["tokenizer.ggml.add_bos_token", { type: GgufValueType.BOOL, value: false }],
    ]));
    expect(src).toEqual({
      model: "gpt2",
      pre: undefined,
      tokens: ["a", "b", "ab"],
      scores: undefined,
      tokenTypes: undefined,
      merges: ["a b"],
      bosId: 2,
      eosId: undefined,
      eotId: undefined,
      eomId: undefined,
      unkId: undefined,
      padId: undefined,
      addBos: false,
      addEos: undefined,
      addSpacePrefix: undefined,
    });
  });

  test("vocabSourceFromGguf() throws GgufFormatError when the model or tokens are missing", () => {
    let error: unknown;
    try {
      vocabSourceFromGguf(file([["tokenizer.ggml.tokens", strings(["a"])]]));
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toMatchObject({ name: "GgufFormatError", code: "GGUF_FORMAT" });
    expect(() =>
      vocabSourceFromGguf(file([["tokenizer.ggml.model", {
        type: GgufValueType.STRING,
        value: "llama",
      }]]))
    ).toThrow(SyntaxError);
  });
});
