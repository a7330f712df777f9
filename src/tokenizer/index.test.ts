import { describe, expect, test } from "bun:test";
import { testTokenizer, testVocabSource } from "../../tests/tokenizer/fixtures.ts";
import { toySpmSource } from "../../tests/tokenizer/toy.ts";
import { createTokenizer, createVocab } from "./index.ts";

describe("createTokenizer()", () => {
  // Known answers from llama.cpp (see tests/vectors/tokenizer-golden.json).
  test("encode() gives llama.cpp's ids for Llama-3 (BOS added by default)", () => {
    const t = testTokenizer("llama3");
    expect([t.encode("Hello world"), t.encode("Hello world", { addBos: false })]).toEqual([
      [128000, 9906, 1917],
      [9906, 1917],
    ]);
  });

  test("encode() gives llama.cpp's ids for the Llama-2 SentencePiece vocabulary", () => {
    expect(testTokenizer("llama2").encode("Hello world")).toEqual([1, 22557, 1526]);
  });

  test("encode() parses special tokens only when asked", () => {
    const t = testTokenizer("llama3");
    expect([
      t.encode("<|eot_id|>", { parseSpecial: true }),
      t.encode("<|eot_id|>", { addBos: false }),
    ]).toEqual([[128000, 128009], [27, 91, 68, 354, 851, 91, 29]]);
  });

  test("encode() appends EOS when asked", () => {
    const t = testTokenizer("llama3");
    expect(t.encode("Hi", { addEos: true, addBos: false })).toEqual([13347, 128001]);
  });

  test("encode() of the empty string is BOS alone, or nothing", () => {
    const t = testTokenizer("llama2");
    expect([t.encode(""), t.encode("", { addBos: false })]).toEqual([[1], []]);
  });

  test("encode() reads a lone surrogate as U+FFFD", () => {
    const t = testTokenizer("llama3");
    expect(t.encode("a \ud800 b")).toEqual(t.encode("a \ufffd b"));
  });

  test("the Llama-2 space prefix goes on each fragment after a special token", () => {
    const t = testTokenizer("llama2");
    // "<s>" text then " x": both fragments start a text run, so both get "▁".
    expect(t.encode("<s>x", { parseSpecial: true, addBos: false })).toEqual([
      1,
      ...t.encode("x", { addBos: false }),
    ]);
  });

  test("ids, isEog() and tokenPiece() describe the vocabulary", () => {
    const t = testTokenizer("llama3");
    expect({
      n: t.nVocab,
      bos: t.bosId,
      eos: t.eosId,
      eot: t.eotId,
      eom: t.eomId,
      eog: [128001, 128009, 9906].map((id) => t.isEog(id)),
      pieces: [9906, 1917, 128009, 220].map((id) => t.tokenPiece(id)),
    }).toEqual({
      n: 128256,
      bos: 128000,
      eos: 128001,
      eot: 128009,
      eom: undefined,
      eog: [true, true, false],
      pieces: ["Hello", " world", "<|eot_id|>", " "],
    });
  });

  test("createTokenizer() accepts a built Vocab as well as metadata", () => {
    const vocab = createVocab(toySpmSource({ "▁a": -1 }));
    expect<(number | undefined)[]>(createTokenizer(vocab).encode("a")).toEqual([
      1,
      vocab.tokenToId.get("▁a"),
    ]);
  });

  test("createTokenizer() with preOverride splits a pre-less gpt2 file like llama.cpp", () => {
    const source = testVocabSource("llama3-no-pre");
    const llama3 = createTokenizer(source);
    const byDefault = createTokenizer(source, { preOverride: "default" });
    expect([llama3.vocab.pre, byDefault.vocab.pre]).toEqual(["llama3", "default"]);
    // DEFAULT cuts the apostrophe off as punctuation; Llama-3 keeps the contraction whole.
    expect(llama3.encode("I'm")).not.toEqual(byDefault.encode("I'm"));
  });
});
