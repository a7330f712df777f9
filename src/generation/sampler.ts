/**
 * @module Token sampling over a logits vector: greedy, temperature, top-k, top-p, min-p.
 * Pure: randomness comes in as an `Rng`, and the logits are only read.
 */
import type { Rng } from "./rng.ts";

/** Sampling settings (llama.cpp / OpenAI names in camelCase). */
export interface SamplerOptions {
  /** 0 = greedy (argmax). Default 0.8 when sampling is wanted; callers choose. */
  temperature: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set whose probability reaches p (1 = off). */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top probability (0 = off). */
  minP?: number;
}

/**
 * Index of the largest value (the first one on ties, as llama.cpp's greedy sampler).
 *
 * @param logits the scores.
 * @returns the argmax.
 */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/**
 * Picks the next token.
 *
 * @param logits the model's scores for the next token (not modified).
 * @param options temperature and truncation settings.
 * @param rng uniform [0, 1) source; only used when temperature > 0.
 * @returns the chosen token id.
 */
export function sampleToken(
  logits: ArrayLike<number>,
  options: Readonly<SamplerOptions>,
  rng: Rng,
): number {
  if (!(options.temperature > 0)) return argmax(logits);
  const topK = options.topK && options.topK > 0
    ? Math.min(options.topK, logits.length)
    : logits.length;
  // candidates sorted by logit, descending; a partial selection would be faster for small k
  const ids = Array.from({ length: logits.length }, (_, i) => i);
  ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
  let n = topK;
  const maxLogit = logits[ids[0]!]!;
  const probs = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    probs[i] = Math.exp((logits[ids[i]!]! - maxLogit) / options.temperature);
    sum += probs[i]!;
  }
  for (let i = 0; i < n; i++) probs[i]! /= sum;
  const minP = options.minP ?? 0;
  if (minP > 0) {
    const floor = probs[0]! * minP;
    let keep = 1;
    while (keep < n && probs[keep]! >= floor) keep++;
    n = keep;
  }
  const topP = options.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < n) {
      acc += probs[keep]!;
      keep++;
      if (acc >= topP) break;
    }
    n = keep;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += probs[i]!;
  let r = rng() * total;
  for (let i = 0; i < n; i++) {
    r -= probs[i]!;
    if (r < 0) return ids[i]!;
  }
  return ids[n - 1]!;
}
