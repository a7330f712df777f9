/**
 * @module Test vocabularies: the Llama-2 (SentencePiece) and Llama-3 (byte-level BPE)
 * tokenizers shipped by the @lenml packages, turned into GGUF metadata exactly as
 * scripts/make-model.ts writes it (`vocabFromTokenizerJson` + `buildMetadata`) and read back
 * through `vocabSourceFromGguf`. So a test sees the same vocabulary as a GGUF made by
 * make-model.ts, without writing a file; `writeVocabOnlyGguf` writes that metadata as a GGUF
 * with no tensors, which llama.cpp loads with `vocab_only` (the oracle's tokenize command).
 * Built once per process. Shell: reads node_modules, writes files.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { GgufValue } from "../../src/model/gguf-format.ts";
import type { GgufFile } from "../../src/model/gguf-reader.ts";
import { encodeGgufHeader } from "../../src/model/gguf-writer.ts";
import { buildMetadata, PRESETS, vocabFromTokenizerJson } from "../../src/model/synthetic.ts";
import { createTokenizer, type Tokenizer, type VocabSource } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";

/** The test vocabularies. */
export type TestVocabName =
  | "llama2"
  | "llama3"
  | "llama3-no-pre"
  | "llama3-falcon3"
  | "llama3-falcon-e"
  | "llama3-qwen2";

/** `tokenizer.ggml.pre` of the Llama-3 test vocabularies that name one explicitly. */
const PRE_OF: Partial<Record<TestVocabName, string>> = {
  "llama3-falcon3": "falcon3",
  "llama3-falcon-e": "falcon_e",
  "llama3-qwen2": "qwen2",
};

const metadata = new Map<TestVocabName, [string, GgufValue][]>();
const sources = new Map<TestVocabName, VocabSource>();
const tokenizers = new Map<string, Tokenizer>();

/**
 * The GGUF metadata make-model.ts writes for a test vocabulary (`llama2`: `--arch bitnet`;
 * `llama3`: `--arch llama`; `llama3-no-pre`: `--arch llama --no-pre`). The Llama-3 files use
 * "llama" because upstream llama.cpp does not know "bitnet-b1.58"; the tokenizer keys are the
 * same.
 */
export function testVocabMetadata(name: TestVocabName): [string, GgufValue][] {
  let kv = metadata.get(name);
  if (kv !== undefined) return kv;
  const which = name === "llama2" ? "llama2" : "llama3";
  const dir = `@lenml/tokenizer-${which}/models`;
  const json = JSON.parse(
    readFileSync(new URL(import.meta.resolve(`${dir}/tokenizer.json`)), "utf8"),
  ) as unknown;
  const vocab = vocabFromTokenizerJson(json);
  kv = buildMetadata(PRESETS["tiny"]!, vocab, {
    arch: which === "llama2" ? "bitnet" : "llama",
    ternary: "tq2_0",
    name: "aria-tokenizer-test",
    noPre: name === "llama3-no-pre",
    ...(PRE_OF[name] !== undefined ? { pre: PRE_OF[name] } : {}),
  });
  metadata.set(name, kv);
  return kv;
}

/** Writes a test vocabulary as a GGUF file without tensors; returns `path`. */
export function writeVocabOnlyGguf(name: TestVocabName, path: string): string {
  writeFileSync(path, encodeGgufHeader(testVocabMetadata(name), []).header);
  return path;
}

/** GGUF tokenizer metadata for a test vocabulary, read through `vocabSourceFromGguf`. */
export function testVocabSource(name: TestVocabName): VocabSource {
  let source = sources.get(name);
  if (source !== undefined) return source;
  const kv = testVocabMetadata(name);
  const file: GgufFile = {
    version: 3,
    alignment: 32,
    kv: new Map(kv),
    tensors: [],
    dataOffset: 0,
  };
  source = vocabSourceFromGguf(file);
  sources.set(name, source);
  return source;
}

/**
 * A tokenizer over a test vocabulary. `llama3-no-pre` gets DEFAULT, llama.cpp's choice for a
 * file without `tokenizer.ggml.pre`, unless `pre` says otherwise.
 */
export function testTokenizer(
  name: TestVocabName,
  pre: "llama3" | "default" | undefined = name === "llama3-no-pre" ? "default" : undefined,
): Tokenizer {
  const key = `${name}/${pre ?? ""}`;
  let tokenizer = tokenizers.get(key);
  if (tokenizer === undefined) {
    tokenizer = createTokenizer(
      testVocabSource(name),
      pre === undefined ? {} : { preOverride: pre },
    );
    tokenizers.set(key, tokenizer);
  }
  return tokenizer;
}
