import { describe, expect, test } from "bun:test";
import { toyBpeSource, toySpmSource } from "../../tests/tokenizer/toy.ts";
import { splitSpecial } from "./special.ts";
import { createVocab } from "./vocab.ts";

const vocab = createVocab(
  toyBpeSource([], [], {
    specials: ["<s>", "</s>", "<|eot|>", "<|eot_id|>"],
    userDefined: ["[U]"],
  }),
);
const id = (t: string): number => vocab.tokenToId.get(t)!;

describe("splitSpecial()", () => {
  test("splitSpecial() cuts the text at control tokens when parsing is on", () => {
    expect(splitSpecial(vocab, "x<s>y</s>", true)).toEqual(["x", id("<s>"), "y", id("</s>")]);
    expect(splitSpecial(vocab, "<s><s>", true)).toEqual([id("<s>"), id("<s>")]);
  });

  test("splitSpecial() tries longer token texts first", () => {
    expect(splitSpecial(vocab, "a<|eot_id|>b<|eot|>", true)).toEqual([
      "a",
      id("<|eot_id|>"),
      "b",
      id("<|eot|>"),
    ]);
  });

  test("splitSpecial() leaves control tokens as text when parsing is off", () => {
    expect(splitSpecial(vocab, "x<s>y<|eot_id|>", false)).toEqual(["x<s>y<|eot_id|>"]);
  });

  test("splitSpecial() always matches USER_DEFINED tokens", () => {
    expect(splitSpecial(vocab, "a[U]b", false)).toEqual(["a", id("[U]"), "b"]);
  });

  test("splitSpecial() matches UNKNOWN tokens only when parsing is on", () => {
    const spm = createVocab(toySpmSource({}));
    expect([splitSpecial(spm, "a<unk>", true), splitSpecial(spm, "a<unk>", false)]).toEqual([
      ["a", 0],
      ["a<unk>"],
    ]);
  });

  test("splitSpecial() returns no fragments for the empty string", () => {
    expect(splitSpecial(vocab, "", true)).toEqual([]);
  });
});
