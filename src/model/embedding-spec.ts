/**
 * @module What makes a GGUF file an embedding model, and what its pooling needs (docs/models.md
 * "BitNet embedding models"): llama.cpp's `<arch>.pooling_type` (enum llama_pooling_type: 0 none,
 * 1 mean, 2 cls, 3 last, 4 rank) and the final norm the pooled hidden states go through
 * (`output_norm.weight`, eps `<arch>.attention.layer_norm_rms_epsilon`). Pure.
 */
import { GgufFormatError } from "./gguf-error.ts";
import { findTensor, type GgufFile, kvNumber, kvString, tensorData } from "./gguf-reader.ts";
import { dequantizeRow } from "./quants.ts";

/** Pooling of the final hidden states into one vector per input. */
export type Pooling = "mean" | "cls" | "last";

/** An embedding model's pooling and final norm. */
export interface EmbeddingSpec {
  readonly pooling: Pooling;
  /** `output_norm.weight` as f32 (n_embd). */
  readonly outputNorm: Float32Array;
  /** RMS norm epsilon. */
  readonly eps: number;
}

const POOLINGS: Readonly<Record<number, Pooling>> = { 1: "mean", 2: "cls", 3: "last" };

/**
 * The embedding facts of a file.
 *
 * @param file the parsed file.
 * @param bytes its bytes (for output_norm's data).
 * @returns the spec, or undefined when the file has no `<arch>.pooling_type` (a causal LM).
 * @throws {GgufFormatError} for pooling "none" (per-token vectors) or "rank" (a reranker), which
 *   /v1/embeddings cannot answer, an unknown pooling value, or a missing output norm.
 */
export function embeddingSpecOf(file: GgufFile, bytes: Uint8Array): EmbeddingSpec | undefined {
  const arch = kvString(file, "general.architecture") ?? "";
  const key = `${arch}.pooling_type`;
  const id = kvNumber(file, key);
  if (id === undefined) return undefined;
  const pooling = POOLINGS[id];
  if (pooling === undefined) {
    const what = id === 0
      ? "none (one vector per token)"
      : id === 4
      ? "rank (a reranker)"
      : `${id}`;
    throw new GgufFormatError(
      `Cannot use the file as an embedding model: ${key} is ${what}; mean (1), cls (2) or last (3) are supported`,
      0,
    );
  }
  const info = findTensor(file, "output_norm.weight");
  if (info === undefined) {
    throw new GgufFormatError(
      'Cannot use the file as an embedding model: no "output_norm.weight"',
      0,
    );
  }
  const n = info.dims.reduce((a, b) => a * b, 1);
  const outputNorm = dequantizeRow(info.type, tensorData(file, bytes, info), { n });
  const eps = kvNumber(file, `${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-6;
  return { pooling, outputNorm, eps };
}
