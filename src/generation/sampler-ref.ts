/**
 * @module The plain sampler: the oracle that the fast sampler in sampler.ts is tested against
 * (STYLE.md B0: write the readable version first and keep it). It copies and sorts the whole
 * vocabulary on every call, so it is far too slow for generation; it exists to pin down the
 * semantics in the simplest code. Pure: randomness comes in as an `Rng`, the logits are only read.
 *
 * The pipeline (the fast sampler follows it exactly):
 * 1. logit bias: l[t] += bias[t];
 * 2. repetition penalty (llama.cpp): each distinct token among the last `repeatLastN` tokens of
 *    the context (prompt and generated) has l /= penalty if l > 0, else l *= penalty;
 * 3. frequency and presence penalties (OpenAI): l[t] -= count[t] * frequency +
 *    (count[t] > 0) * presence, where count[t] is how often t was generated (prompt excluded);
 * 4. temperature <= 0: the argmax (first index on ties);
 * 5. otherwise the candidates sorted by logit (descending, ties by lower id) get weights
 *    w = exp((l - lmax) / T) (portableExp: the same bits on every engine); then top-k keeps the
 *    k first, min-p keeps w >= minP (the best has w = 1), top-p keeps the shortest prefix whose weight reaches topP of the kept total, and
 *    one `rng()` draw picks among the kept candidates in proportion to w.
 */
import { portableExp } from "./portable-math.ts";
import type { Rng } from "./rng.ts";

/**
 * Version of the sampling pipeline, named in ledger records (docs/ledger.md, record version 2):
 * the steps above, with the portable exp and log of portable-math.ts, the fast sampler's
 * candidate walk and the rng of rng.ts. Bump it when a change could pick another token for the same logits,
 * settings and seed.
 */
export const SAMPLER_VERSION = 1;

/** Sampling settings (llama.cpp / OpenAI names in camelCase). */
export interface SamplerOptions {
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set whose probability reaches p (1 = off). */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top probability (0 = off). */
  minP?: number;
  /** Repetition penalty over the last `repeatLastN` context tokens (1 = off; llama.cpp). */
  repeatPenalty?: number;
  /** Window of the repetition penalty in tokens (default 64; 0 = off; -1 = the whole context). */
  repeatLastN?: number;
  /** Subtracted once per earlier occurrence in the generated tokens (0 = off; OpenAI). */
  frequencyPenalty?: number;
  /** Subtracted once if the token was generated before (0 = off; OpenAI). */
  presencePenalty?: number;
  /** Added to the logit of a token id (-100 effectively bans it, +100 forces it). */
  logitBias?: ReadonlyMap<number, number>;
}

/** Defaults of the optional settings: every knob off except the llama.cpp repeat window. */
export const DEFAULT_SAMPLER_OPTIONS: Readonly<Required<SamplerOptions>> = {
  temperature: 0,
  topK: 0,
  topP: 1,
  minP: 0,
  repeatPenalty: 1,
  // llama.cpp's default window
  repeatLastN: 64,
  frequencyPenalty: 0,
  presencePenalty: 0,
  logitBias: new Map(),
};

/** What the penalties look at. */
export interface PenaltyHistory {
  /** The last `repeatLastN` tokens of the context (prompt and generated), oldest first. */
  recent: readonly number[];
  /** How often each token was generated (prompt tokens are not counted). */
  counts: ReadonlyMap<number, number>;
}

const NO_HISTORY: PenaltyHistory = { recent: [], counts: new Map() };

/**
 * Steps 1-3: bias and penalties, on a copy.
 *
 * @param logits the model's scores (not modified).
 * @param options the settings.
 * @param history recent and generated tokens.
 * @returns the adjusted logits (a new Float32Array).
 */
export function applyPenaltiesRef(
  logits: ArrayLike<number>,
  options: Readonly<SamplerOptions>,
  history: Readonly<PenaltyHistory> = NO_HISTORY,
): Float32Array {
  const l = Float32Array.from(logits);
  for (const [id, bias] of options.logitBias ?? []) {
    if (id >= 0 && id < l.length) l[id]! += bias;
  }
  const penalty = options.repeatPenalty ?? 1;
  if (penalty !== 1) {
    for (const id of new Set(history.recent)) {
      const v = l[id]!;
      l[id] = v > 0 ? v / penalty : v * penalty;
    }
  }
  const frequency = options.frequencyPenalty ?? 0;
  const presence = options.presencePenalty ?? 0;
  for (const [id, count] of history.counts) {
    if (count > 0) l[id]! -= count * frequency + presence;
  }
  return l;
}

/**
 * Picks the next token by the pipeline in the module comment, sorting the whole vocabulary.
 *
 * @param logits the model's scores for the next token (not modified).
 * @param options the settings.
 * @param rng uniform [0, 1) source; called once when temperature > 0, never otherwise.
 * @param history recent and generated tokens, for the penalties.
 * @returns the chosen token id.
 */
export function sampleTokenRef(
  logits: ArrayLike<number>,
  options: Readonly<SamplerOptions>,
  rng: Rng,
  history: Readonly<PenaltyHistory> = NO_HISTORY,
): number {
  const l = applyPenaltiesRef(logits, options, history);
  const temperature = options.temperature;
  const ids = Array.from({ length: l.length }, (_, i) => i);
  ids.sort((a, b) => l[b]! - l[a]! || a - b);
  if (!(temperature > 0)) return ids[0]!;
  const topK = options.topK ?? 0;
  let n = topK > 0 ? Math.min(topK, l.length) : l.length;
  const w = ids.slice(0, n).map((id) => portableExp((l[id]! - l[ids[0]!]!) / temperature));
  const minP = options.minP ?? 0;
  let keep = 1;
  while (keep < n && w[keep]! >= minP) keep++;
  n = keep;
  const topP = options.topP ?? 1;
  if (topP < 1) {
    let total = 0;
    for (let i = 0; i < n; i++) total += w[i]!;
    let acc = 0;
    keep = 0;
    while (keep < n) {
      acc += w[keep++]!;
      if (acc >= topP * total) break;
    }
    n = keep;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i]!;
  let r = rng() * total;
  for (let i = 0; i < n; i++) {
    r -= w[i]!;
    if (r < 0) return ids[i]!;
  }
  return ids[n - 1]!;
}
