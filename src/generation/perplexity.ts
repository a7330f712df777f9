/**
 * @module Perplexity as llama.cpp's `llama-perplexity` computes it: the tokenized text is cut
 * into consecutive chunks of `nCtx` tokens (a partial last chunk is dropped); each chunk is
 * evaluated from an empty cache with its first token replaced by BOS (when the vocabulary adds
 * one), and only the second half is scored (positions nCtx/2 .. nCtx−2 predict the next
 * token), so every scored token has at least nCtx/2 tokens of context. PPL = exp(mean NLL).
 * Pure: the caller evaluates chunks and passes logits in.
 */

/** One chunk to evaluate. */
export interface PerplexityChunk {
  /** The tokens to decode (first replaced by BOS when there is one). */
  readonly tokens: number[];
  /** Index in `tokens` of the first position whose logits are scored. */
  readonly first: number;
}

/**
 * Cut a token stream into scored chunks.
 *
 * @param tokens the tokenized text.
 * @param nCtx chunk length (≥ 4).
 * @param bos BOS id to put first in every chunk, or undefined to leave chunks as they are.
 * @returns The chunks; empty when the text is shorter than one chunk.
 * @throws {RangeError} When nCtx < 4.
 */
export function perplexityChunks(
  tokens: readonly number[],
  nCtx: number,
  bos: number | undefined,
): PerplexityChunk[] {
  if (!Number.isInteger(nCtx) || nCtx < 4) throw new RangeError(`ctx must be >= 4, got ${nCtx}`);
  const out: PerplexityChunk[] = [];
  for (let s = 0; s + nCtx <= tokens.length; s += nCtx) {
    const chunk = tokens.slice(s, s + nCtx);
    if (bos !== undefined) chunk[0] = bos;
    out.push({ tokens: chunk, first: nCtx >> 1 });
  }
  return out;
}

/**
 * Negative log-likelihood of `target` under `logits` (log-softmax in float64).
 *
 * @param logits one row of logits.
 * @param target the token that came next.
 * @returns −log p(target).
 */
export function tokenNll(logits: ArrayLike<number>, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return Math.log(sum) + max - logits[target]!;
}

/** A running perplexity estimate. */
export class PerplexityAccumulator {
  #nll = 0;
  #nll2 = 0;
  #count = 0;

  /** Add one scored token's NLL. */
  add(nll: number): void {
    this.#nll += nll;
    this.#nll2 += nll * nll;
    this.#count++;
  }

  /** Tokens scored so far. */
  get count(): number {
    return this.#count;
  }

  /** exp(mean NLL); NaN before the first token. */
  get perplexity(): number {
    return Math.exp(this.#nll / this.#count);
  }

  /** Standard error of the perplexity (delta method, as llama-perplexity prints "+/-"). */
  get stderr(): number {
    const n = this.#count;
    if (n < 2) return NaN;
    const mean = this.#nll / n;
    const variance = (this.#nll2 / n - mean * mean) * n / (n - 1);
    return this.perplexity * Math.sqrt(Math.max(variance, 0) / n);
  }
}
