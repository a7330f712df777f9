/**
 * @module Live parity with llama.cpp: GGUF files made by scripts/make-model.ts carry the real
 * Llama-2 (SentencePiece) and Llama-3 (gpt2, with and without `tokenizer.ggml.pre`)
 * vocabularies; llama.cpp tokenizes the corpus and a seeded fuzz set, and our tokenizer, built
 * from the same file through parseGguf + vocabSourceFromGguf, must give the same ids. The
 * Llama-3 files use `--arch llama` because upstream llama.cpp does not know "bitnet-b1.58";
 * the tokenizer metadata is the same. Skipped when the oracle cannot be built.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeModel } from "../../scripts/make-model.ts";
import { parseGguf } from "../../src/model/gguf-reader.ts";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";
import { hasLlamaOracle, llamaTokenizeMany } from "../helpers/llama-oracle.ts";
import { CORPUS } from "./corpus.ts";

const ORACLE = hasLlamaOracle();

const VOCABS = [
  { name: "llama2 (spm)", arch: "bitnet", noPre: false },
  { name: "llama3 (gpt2, pre llama-bpe)", arch: "llama", noPre: false },
  { name: "llama3 (gpt2, no pre, DEFAULT split)", arch: "llama", noPre: true },
] as const;

/** A seeded mix of corpus snippets and awkward code points. */
function fuzzTexts(count: number, seed: number): string[] {
  const extra = [
    " ",
    "  ",
    "\n",
    "\r",
    "\t",
    "'",
    "s",
    "1",
    "<",
    ">",
    "|",
    "_",
    "\u00a0",
    "\u0085",
  ];
  const alphabet = [...new Set([...CORPUS.join("")]), ...extra];
  let state = seed;
  const next = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state % n;
  };
  const texts: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = "";
    for (let j = next(24); j > 0; j--) {
      s += next(7) === 0
        ? CORPUS[next(CORPUS.length)]!.slice(0, 8)
        : alphabet[next(alphabet.length)]!;
    }
    texts.push(s);
  }
  return texts;
}

describe.skipIf(!ORACLE)("tokenizer parity with llama.cpp", () => {
  let dir = "";
  const prepared = new Map<string, Promise<{ path: string; tokenizer: Tokenizer }>>();
  // Made on first use inside a test (hooks have a shorter time limit than tests).
  const prepare = (v: (typeof VOCABS)[number]) => {
    let p = prepared.get(v.name);
    if (p === undefined) {
      if (dir === "") dir = mkdtempSync(join(tmpdir(), "aria-tok-parity-"));
      p = (async () => {
        const path = await makeModel({
          preset: "tiny",
          type: "tq2_0",
          arch: v.arch,
          noPre: v.noPre,
          out: join(dir, `${v.arch}-${v.noPre}.gguf`),
        });
        const source = vocabSourceFromGguf(parseGguf(new Uint8Array(readFileSync(path))));
        // No `pre`: llama.cpp uses DEFAULT, our default is Llama-3; ask for DEFAULT here.
        const tokenizer = createTokenizer(source, v.noPre ? { preOverride: "default" } : {});
        return { path, tokenizer };
      })();
      prepared.set(v.name, p);
    }
    return p;
  };
  afterAll(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  const texts = [...CORPUS, ...fuzzTexts(1500, 7)];
  for (const v of VOCABS) {
    for (const addBos of [true, false]) {
      for (const parseSpecial of [false, true]) {
        test(`encode() matches llama_tokenize for ${v.name}, addBos ${addBos}, parseSpecial ${parseSpecial}`, async () => {
          const { path, tokenizer } = await prepare(v);
          const want = llamaTokenizeMany(path, texts, { addBos, parseSpecial });
          const got = texts.map((t) => tokenizer.encode(t, { addBos, parseSpecial }));
          expect(texts.map((t, i) => [t, got[i]])).toEqual(texts.map((t, i) => [t, want[i]]));
        });
      }
    }
  }

  test("encode() matches llama_tokenize on long texts (whole-fragment SentencePiece heap)", async () => {
    const long = [
      CORPUS.join(" ").repeat(20),
      "The quick brown fox jumps over the lazy dog. ".repeat(500),
      "x".repeat(5000) + " " + "1234567890".repeat(300),
    ];
    for (const v of VOCABS) {
      const { path, tokenizer } = await prepare(v);
      const want = llamaTokenizeMany(path, long, { addBos: true });
      const got = long.map((t) => tokenizer.encode(t));
      expect(got).toEqual(want);
    }
  });
});
