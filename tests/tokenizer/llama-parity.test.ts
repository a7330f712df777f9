/**
 * @module Live parity with llama.cpp: vocab-only GGUF files carrying the metadata that
 * scripts/make-model.ts writes (tests/tokenizer/fixtures.ts) for the real Llama-2
 * (SentencePiece) and Llama-3 (gpt2, with and without `tokenizer.ggml.pre`) vocabularies;
 * llama.cpp tokenizes the corpus and a seeded fuzz set, and our tokenizer, built from the same
 * file through parseGguf + vocabSourceFromGguf, must give the same ids. (scripts/
 * make-tokenizer-vectors.ts does the same on full make-model files.) Skipped when the oracle
 * cannot be built.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGguf } from "../../src/model/gguf-reader.ts";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";
import { hasLlamaOracle, llamaTokenizeMany } from "../helpers/llama-oracle.ts";
import { CORPUS } from "./corpus.ts";
import { type TestVocabName, writeVocabOnlyGguf } from "./fixtures.ts";

const ORACLE = hasLlamaOracle();

/** `oracle`: the vocabulary llama.cpp tokenizes when it differs from ours (it does not know
 * "falcon_e", which bitnet.cpp and ik_llama.cpp treat as "falcon3"). */
const VOCABS: readonly { name: string; vocab: TestVocabName; oracle?: TestVocabName }[] = [
  { name: "llama2 (spm)", vocab: "llama2" },
  { name: "llama3 (gpt2, pre llama-bpe)", vocab: "llama3" },
  { name: "llama3 (gpt2, no pre, DEFAULT split)", vocab: "llama3-no-pre" },
  {
    name: "llama3 (gpt2, pre falcon_e vs llama.cpp falcon3)",
    vocab: "llama3-falcon-e",
    oracle: "llama3-falcon3",
  },
  { name: "llama3 (gpt2, pre qwen2)", vocab: "llama3-qwen2" },
];

/** Code point ranges for fuzzing: ASCII, controls, Latin, marks, Greek, punctuation, CJK,
 * Hangul, private use, specials, emoji, all astral planes (many unassigned), Arabic, Devanagari. */
const RANGES: readonly (readonly [number, number])[] = [
  [0x20, 0x7f],
  [0x00, 0x20],
  [0x80, 0x250],
  [0x300, 0x370],
  [0x370, 0x400],
  [0x2000, 0x2070],
  [0x3000, 0x3100],
  [0x4e00, 0x4f00],
  [0xac00, 0xad00],
  [0xe000, 0xe010],
  [0xfff0, 0x10000],
  [0x1f300, 0x1f700],
  [0x10000, 0x110000],
  [0x600, 0x700],
  [0x900, 0x980],
];

/** A seeded mix of corpus snippets, corpus characters and random code points. */
function fuzzTexts(count: number, seed: number): string[] {
  const extra = [" ", "  ", "\n", "\r\n", "\t", "'s", "'LL", "123", "<|eot_id|>", "<s>"];
  const alphabet = [...new Set([...CORPUS.join("")]), ...extra];
  let state = seed;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state % n;
  };
  const randomCodePoint = (): string => {
    const [lo, hi] = RANGES[next(2) === 0 ? 0 : next(RANGES.length)]!;
    const cp = lo + next(hi - lo);
    return cp >= 0xd800 && cp < 0xe000 ? "A" : String.fromCodePoint(cp);
  };
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = "";
    for (let j = next(24); j > 0; j--) {
      const k = next(8);
      s += k === 0
        ? CORPUS[next(CORPUS.length)]!.slice(0, 8)
        : k < 4
        ? randomCodePoint()
        : alphabet[next(alphabet.length)]!;
    }
    texts.push(s);
  }
  return texts;
}

describe.skipIf(!ORACLE)("tokenizer parity with llama.cpp", () => {
  let dir = "";
  const prepared = new Map<string, { path: string; tokenizer: Tokenizer }>();
  const prepare = (v: (typeof VOCABS)[number]) => {
    let p = prepared.get(v.name);
    if (p === undefined) {
      if (dir === "") dir = mkdtempSync(join(tmpdir(), "aria-tok-parity-"));
      const path = writeVocabOnlyGguf(v.vocab, join(dir, `${v.vocab}.gguf`));
      const oraclePath = v.oracle === undefined
        ? path
        : writeVocabOnlyGguf(v.oracle, join(dir, `${v.oracle}.gguf`));
      const source = vocabSourceFromGguf(parseGguf(new Uint8Array(readFileSync(path))));
      // No `pre`: llama.cpp uses DEFAULT, our default is Llama-3; ask for DEFAULT here.
      const noPre = v.vocab === "llama3-no-pre";
      p = {
        path: oraclePath,
        tokenizer: createTokenizer(source, noPre ? { preOverride: "default" } : {}),
      };
      prepared.set(v.name, p);
    }
    return p;
  };
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  const texts = [...CORPUS, ...fuzzTexts(2000, 7)];
  for (const v of VOCABS) {
    // Its own test, so the slow part (reading 128k tokens and 280k merges) has its own time.
    test(`vocabSourceFromGguf() reads the ${v.name} vocabulary from a GGUF file`, () => {
      expect(prepare(v).tokenizer.nVocab).toBeGreaterThan(30000);
    });
    for (const addBos of [true, false]) {
      for (const parseSpecial of [false, true]) {
        test(`encode() matches llama_tokenize for ${v.name}, addBos ${addBos}, parseSpecial ${parseSpecial}`, () => {
          const { path, tokenizer } = prepare(v);
          const want = llamaTokenizeMany(path, texts, { addBos, parseSpecial });
          const got = texts.map((t) => tokenizer.encode(t, { addBos, parseSpecial }));
          expect(texts.map((t, i) => [t, got[i]])).toEqual(texts.map((t, i) => [t, want[i]]));
        });
      }
    }
  }

  test("encode() matches llama_tokenize on long texts", () => {
    const long = [
      CORPUS.join(" ").repeat(20),
      "The quick brown fox jumps over the lazy dog. ".repeat(500),
      "x".repeat(5000) + " " + "1234567890".repeat(300),
    ];
    for (const v of VOCABS) {
      const { path, tokenizer } = prepare(v);
      const want = llamaTokenizeMany(path, long, { addBos: true });
      const got = long.map((t) => tokenizer.encode(t));
      expect(got).toEqual(want);
    }
  });
});
