import { describe, expect, test } from "bun:test";
import { toyBpeSource, toySpmSource } from "../../tests/tokenizer/toy.ts";
import { createSpm } from "./spm.ts";
import { createVocab, type VocabSource } from "./vocab.ts";

function encode(source: VocabSource, text: string): string[] {
  const vocab = createVocab(source);
  const out: number[] = [];
  createSpm(vocab).encodeFragment(text, out);
  return out.map((i) => vocab.tokens[i]!);
}

describe("createSpm()", () => {
  test("encodeFragment() escapes spaces as ▁", () => {
    expect(encode(toySpmSource({ "▁": -5, a: -5, "▁a": -1 }), " a a")).toEqual(["▁a", "▁a"]);
  });

  test("encodeFragment() merges the highest-scoring pair first", () => {
    const src = (ab: number, bc: number) => toySpmSource({ a: -9, b: -9, c: -9, ab, bc });
    expect(encode(src(-1, -2), "abc")).toEqual(["ab", "c"]);
    expect(encode(src(-2, -1), "abc")).toEqual(["a", "bc"]);
  });

  test("encodeFragment() breaks score ties leftmost first", () => {
    expect(encode(toySpmSource({ a: -9, aa: -1 }), "aaa")).toEqual(["aa", "a"]);
  });

  test("encodeFragment() writes unknown characters as <0xHH> byte tokens", () => {
    expect(encode(toySpmSource({ a: -1 }), "aé")).toEqual(["a", "<0xC3>", "<0xA9>"]);
  });

  test("encodeFragment() uses the unknown token when a byte token is missing", () => {
    expect(encode(toySpmSource({}, { withoutBytes: [0xc3] }), "é")).toEqual(["<unk>", "<0xA9>"]);
  });

  test("encodeFragment() merges across ▁ when the vocabulary has such tokens", () => {
    // "a▁b" disables the run-by-run shortcut: the whole fragment is merged at once.
    const src = toySpmSource({ a: -9, b: -9, "▁": -9, "a▁": -2, "a▁b": -1 });
    expect(encode(src, "a b a")).toEqual(["a▁b", "▁", "a"]);
  });

  test("encodeFragment() gives the same ids run by run and in one piece", () => {
    const pieces = { "▁": -9, a: -9, b: -9, "▁a": -3, "▁ab": -1, ab: -2, "▁▁": -4 };
    const text = "ab  ab a  b ab";
    expect(encode(toySpmSource(pieces), text)).toEqual(
      encode(toySpmSource({ ...pieces, "x▁y": -9 }), text),
    );
  });

  test("createSpm() throws RangeError for a BPE vocabulary", () => {
    expect(() => createSpm(createVocab(toyBpeSource([], [])))).toThrow(RangeError);
  });
});
