import { describe, expect, test } from "bun:test";
import { CORPUS } from "../../tests/tokenizer/corpus.ts";
import { testTokenizer } from "../../tests/tokenizer/fixtures.ts";
import { toyBpeSource, toySpmSource } from "../../tests/tokenizer/toy.ts";
import { createDetokenizer } from "./decode.ts";
import { createVocab, TOKEN_TYPE } from "./vocab.ts";

const NAMES = ["llama2", "llama3", "llama3-no-pre"] as const;

/** Feeds ids one at a time; returns every chunk the stream decoder emitted, flush last. */
function streamChunks(d: ReturnType<typeof createDetokenizer>, ids: number[]): string[] {
  const s = d.createStreamDecoder();
  return [...ids.map((id) => s.push(id)), s.flush()];
}

describe("createDetokenizer()", () => {
  test("decode() inverts encode() on the whole corpus for every vocabulary", () => {
    for (const name of NAMES) {
      const t = testTokenizer(name);
      expect(CORPUS.map((s) => t.decode(t.encode(s)))).toEqual([...CORPUS]);
    }
  });

  test("decode() with renderSpecial inverts encode() with parseSpecial", () => {
    for (const name of NAMES) {
      const t = testTokenizer(name);
      const ids = CORPUS.map((s) => t.encode(s, { addBos: false, parseSpecial: true }));
      expect(ids.map((i) => t.decode(i, { renderSpecial: true }))).toEqual([...CORPUS]);
    }
  });

  test("decode() drops control tokens unless renderSpecial", () => {
    const t = testTokenizer("llama3");
    const ids = t.encode("Hi<|eot_id|>", { parseSpecial: true });
    expect([t.decode(ids), t.decode(ids, { renderSpecial: true })]).toEqual([
      "Hi",
      "<|begin_of_text|>Hi<|eot_id|>",
    ]);
  });

  test("decode() keeps the SentencePiece space when stripSpacePrefix is false", () => {
    const t = testTokenizer("llama2");
    expect(t.decode(t.encode("Hello"), { stripSpacePrefix: false })).toBe(" Hello");
  });

  test("decode() renders SentencePiece byte tokens and USER_DEFINED tokens", () => {
    const spm = createVocab(toySpmSource({ "▁a": -1 }));
    const d = createDetokenizer(spm);
    const byte = (b: number) => 3 + b;
    expect(d.decode([spm.tokenToId.get("▁a")!, byte(0xc3), byte(0xa9)])).toBe("aé");
    const bpe = createVocab(toyBpeSource([], [], { userDefined: ["[U]"] }));
    expect(bpe.types[256]).toBe(TOKEN_TYPE.USER_DEFINED);
    expect(createDetokenizer(bpe).decode([0x41, 256])).toBe("A[U]");
  });

  test("decode() keeps a leading U+FEFF", () => {
    const t = testTokenizer("llama3");
    expect(t.decode(t.encode("\ufeffx"))).toBe("\ufeffx");
  });

  test("tokenBytes() throws RangeError for an id outside the vocabulary", () => {
    const d = createDetokenizer(createVocab(toySpmSource({})));
    expect(() => d.tokenBytes(100000, false)).toThrow(RangeError);
    expect(() => d.tokenBytes(-1, false)).toThrow(RangeError);
  });
});

describe("createStreamDecoder()", () => {
  test("push() holds bytes back until they form a whole character", () => {
    const d = createDetokenizer(createVocab(toySpmSource({})));
    // 😀 = F0 9F 98 80 as four byte tokens (id = 3 + byte).
    expect(streamChunks(d, [0xf0, 0x9f, 0x98, 0x80].map((b) => 3 + b))).toEqual([
      "",
      "",
      "",
      "😀",
      "",
    ]);
  });

  test("flush() writes U+FFFD for a character that never completed", () => {
    const d = createDetokenizer(createVocab(toySpmSource({})));
    expect(streamChunks(d, [3 + 0x61, 3 + 0xe2, 3 + 0x82])).toEqual(["a", "", "", "\ufffd"]);
  });

  test("the stream never emits a broken character and adds up to decode()", () => {
    for (const name of NAMES) {
      const t = testTokenizer(name);
      for (const s of CORPUS) {
        const ids = t.encode(s);
        const chunks = streamChunks(createDetokenizer(t.vocab), ids);
        // A broken character would show as U+FFFD (the corpus has one on purpose) or as a
        // lone surrogate.
        const broken = chunks.filter((c) =>
          !c.isWellFormed() || (c.includes("\ufffd") && !s.includes("\ufffd"))
        );
        expect({ s, broken, joined: chunks.join("") }).toEqual({
          s,
          broken: [],
          joined: t.decode(ids),
        });
      }
    }
  });

  test("the stream splits multi-token characters (emoji ZWJ sequence) only at character ends", () => {
    const t = testTokenizer("llama3");
    const ids = t.encode("👨‍👩‍👧‍👦", { addBos: false });
    const chunks = streamChunks(createDetokenizer(t.vocab), ids).filter((c) => c !== "");
    expect(ids.length).toBeGreaterThan(chunks.length); // some tokens ended mid-character
    expect(chunks.join("")).toBe("👨‍👩‍👧‍👦");
  });
});
