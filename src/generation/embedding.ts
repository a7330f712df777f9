/**
 * @module Embeddings from final hidden states, as llama.cpp computes them for a pooled model
 * (docs/models.md "BitNet embedding models"): each hidden state goes through the output RMS norm
 * (llama.cpp's `result_norm`), the rows are pooled (mean of all, the first = cls, or the last),
 * and the vector is L2-normalized (llama.cpp `common_embd_normalize` with norm 2, what
 * `llama-embedding --embd-normalize 2` and the BitNet embedding models' cards use). Matryoshka
 * truncation keeps the first `dimensions` values and normalizes again. Pure.
 */

/** Pooling of the final hidden states. */
export type EmbeddingPooling = "mean" | "cls" | "last";

/** The model facts pooling needs. */
export interface EmbeddingNorm {
  readonly pooling: EmbeddingPooling;
  /** output_norm.weight (n_embd). */
  readonly outputNorm: Float32Array;
  readonly eps: number;
}

/**
 * RMS norm of one row with a weight, in the engine's float order (native/src/forward.c rmsnorm:
 * the sum of squares in double, then float steps).
 */
export function rmsNormRow(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
  const mean = Math.fround(ss / x.length);
  const scale = Math.fround(1 / Math.fround(Math.sqrt(Math.fround(mean + Math.fround(eps)))));
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.fround(x[i]! * scale) * w[i]!;
  return out;
}

/**
 * One embedding from the hidden states of an input's tokens.
 *
 * @param hidden n rows of n_embd floats, row-major: the last block's output for each token.
 * @param spec pooling and final norm.
 * @returns the pooled, L2-normalized vector (n_embd).
 * @throws {RangeError} when hidden is empty or not whole rows.
 */
export function poolEmbedding(hidden: Float32Array, spec: EmbeddingNorm): Float32Array {
  const e = spec.outputNorm.length;
  const n = hidden.length / e;
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Cannot pool ${hidden.length} floats into rows of ${e}`);
  }
  const row = (i: number) =>
    rmsNormRow(hidden.subarray(i * e, (i + 1) * e), spec.outputNorm, spec.eps);
  if (spec.pooling === "cls") return normalizeL2(row(0));
  if (spec.pooling === "last") return normalizeL2(row(n - 1));
  const sum = new Float64Array(e);
  for (let i = 0; i < n; i++) {
    const r = row(i);
    for (let j = 0; j < e; j++) sum[j]! += r[j]!;
  }
  const mean = new Float32Array(e);
  for (let j = 0; j < e; j++) mean[j] = sum[j]! / n;
  return normalizeL2(mean);
}

/** v / ||v||₂ (a zero vector stays zero), as llama.cpp's common_embd_normalize(…, 2). */
export function normalizeL2(v: Float32Array): Float32Array {
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i]! * v[i]!;
  const norm = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * norm;
  return out;
}

/**
 * Matryoshka truncation: the first `dimensions` values, normalized again.
 *
 * @throws {RangeError} for dimensions outside 1..v.length.
 */
export function truncateEmbedding(v: Float32Array, dimensions: number): Float32Array {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > v.length) {
    throw new RangeError(`Cannot truncate ${v.length} values to ${dimensions}`);
  }
  return dimensions === v.length ? v : normalizeL2(v.subarray(0, dimensions));
}
