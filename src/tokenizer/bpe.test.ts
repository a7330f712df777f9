import { describe, expect, test } from "bun:test";
import { toyBpeSource, toySpmSource } from "../../tests/tokenizer/toy.ts";
import { bpeTextToBytes, BYTE_TO_CHAR, bytesToBpeText, createBpe } from "./bpe.ts";
import { createVocab } from "./vocab.ts";

describe("BYTE_TO_CHAR", () => {
  test("BYTE_TO_CHAR maps 256 bytes to 256 distinct printable code points", () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect([BYTE_TO_CHAR[0x20], BYTE_TO_CHAR[0x0a], BYTE_TO_CHAR[0x41], BYTE_TO_CHAR[0xad]])
      .toEqual(["Ġ", "Ċ", "A", "\u0143"]);
  });

  test("bytesToBpeText() and bpeTextToBytes() are inverse on every byte", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect([...bpeTextToBytes(bytesToBpeText(all))]).toEqual([...all]);
  });
});

/** Encodes one piece with a toy vocabulary and returns the token texts. */
function pieces(
  extra: string[],
  merges: string[],
  piece: string,
  pre = "default",
): string[] {
  const vocab = createVocab(toyBpeSource(extra, merges, { pre }));
  const out: number[] = [];
  createBpe(vocab).encodePiece(piece, out);
  return out.map((i) => vocab.tokens[i]!);
}

describe("createBpe()", () => {
  test("encodePiece() applies merges lowest rank first", () => {
    const merges = ["l l", "h e", "he ll", "hell o"];
    expect(pieces(["ll", "he", "hell", "hello"], merges, "hello")).toEqual(["hello"]);
    expect(pieces(["bc", "ab"], ["b c", "a b"], "abc")).toEqual(["a", "bc"]);
    expect(pieces(["bc", "ab"], ["a b", "b c"], "abc")).toEqual(["ab", "c"]);
  });

  test("encodePiece() breaks rank ties leftmost first", () => {
    expect(pieces(["aa"], ["a a"], "aaa")).toEqual(["aa", "a"]);
    expect(pieces(["aa"], ["a a"], "aaaa")).toEqual(["aa", "aa"]);
  });

  test("encodePiece() works on the byte alphabet (space is Ġ)", () => {
    expect(pieces(["Ġw", "Ġwo"], ["Ġ w", "Ġw o"], " wo")).toEqual(["Ġwo"]);
  });

  test("encodePiece() emits a whole-piece token without merging when ignoreMerges", () => {
    expect(pieces(["abc", "ab"], ["a b"], "abc", "llama-bpe")).toEqual(["abc"]);
    expect(pieces(["abc", "ab"], ["a b"], "abc", "default")).toEqual(["ab", "c"]);
  });

  test("encodePiece() falls back to single-byte tokens for a merge result that is no token", () => {
    // "x y" merges to "xy", which is not in the vocabulary: llama.cpp emits x and y.
    expect(pieces([], ["x y"], "xy")).toEqual(["x", "y"]);
  });

  test("encodeFragment() pre-tokenizes before merging", () => {
    // "bĠ" would form if merges ran across the piece boundary "ab" | " ab".
    const vocab = createVocab(toyBpeSource(["bĠ", "ab"], ["b Ġ", "a b"], { pre: "default" }));
    const out: number[] = [];
    createBpe(vocab).encodeFragment("ab ab", out);
    expect(out.map((i) => vocab.tokens[i])).toEqual(["ab", "Ġ", "ab"]);
  });

  test("createBpe() throws RangeError for a SentencePiece vocabulary", () => {
    expect(() => createBpe(createVocab(toySpmSource({})))).toThrow(RangeError);
  });
});
