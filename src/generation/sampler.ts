/**
 * @module The sampler used for generation: the pipeline documented in sampler-ref.ts (logit
 * bias, repetition / frequency / presence penalties, greedy or temperature with top-k, min-p,
 * top-p) plus per-token logprobs, made cheap enough to run once per token over a 128k
 * vocabulary: no sort of the whole vocabulary (a heap selects top-k, a threshold pass finds the
 * min-p survivors, only the survivors are sorted), scratch buffers reused across calls, and the
 * logits copied only when a bias or penalty actually applies. Must pick the same token as
 * `sampleTokenRef` for the same rng. Pure: randomness comes in as an `Rng`, and the logits (a
 * zero-copy view of the engine's buffer) are only read.
 *
 * Logprobs are the log-softmax of the model's raw logits: before bias, penalties, temperature
 * and truncation. They describe the model's distribution, as OpenAI's do (and llama.cpp's server
 * by default), so they do not change with the sampling settings.
 */
import { portableExp, portableLog } from "./portable-math.ts";
import type { Rng } from "./rng.ts";
import { DEFAULT_SAMPLER_OPTIONS, type SamplerOptions } from "./sampler-ref.ts";

export { DEFAULT_SAMPLER_OPTIONS, type SamplerOptions } from "./sampler-ref.ts";

/** Most top alternatives per token (OpenAI's `top_logprobs` limit). */
export const MAX_TOP_LOGPROBS = 20;

/** A token and its log-probability. */
export interface TokenLogprob {
  token: number;
  logprob: number;
}

/** The log-probability of a chosen token and the most likely alternatives. */
export interface TokenLogprobs extends TokenLogprob {
  /** The `n` most likely tokens, most likely first (ties: lower id first). */
  topLogprobs: TokenLogprob[];
}

/** A stateful sampler: remembers the context for the penalties and reuses its buffers. */
export interface Sampler {
  /**
   * Picks the next token (does not record it: call `accept`).
   *
   * @param logits the model's scores for the next token (only read; may be a zero-copy view).
   * @returns the chosen token id.
   */
  sample(logits: Float32Array): number;
  /**
   * Picks the next token among those `allows` accepts, without masking the vocabulary: the
   * candidates are walked best first (the order `sample` ranks them in) and only they are
   * checked. Exactly the token `sample` would pick from the logits with every refused token
   * at -Infinity, with the same use of the rng (proved against masking in sampler.test.ts).
   *
   * @param logits the model's scores (only read).
   * @param allows whether a token may come next.
   * @returns the token, or null when the walk cannot decide cheaply (top-p alone or no
   *   truncation needs the whole allowed mass; too few allowed among the best candidates; a
   *   non-finite candidate): then mask the logits and call `sample`. The rng is not used on null.
   */
  sampleAllowed(logits: Float32Array, allows: (token: number) => boolean): number | null;
  /**
   * Picks the next token among `ids[0..n)` (the allowed list, when the caller has it): exactly
   * the token `sample` would pick from the logits with every other token at -Infinity, with the
   * same use of the rng, in O(n log n) instead of passes over the vocabulary.
   *
   * When masking then sampling would pick a refused token (a rounding corner: the draw passes
   * every weight), the token returned is what src/generation/step.ts then takes: the first listed
   * token with the largest raw logit.
   *
   * @returns the token, or null when it cannot decide this way (top-p alone or no truncation; a
   *   listed logit that is not finite; more than 4096 listed): then mask the logits and call
   *   `sample`. The rng is not used on null.
   */
  sampleListed(logits: Float32Array, ids: Int32Array, n: number): number | null;
  /** Records a generated token (repetition window and frequency/presence counts). */
  accept(token: number): void;
  /** Records prompt tokens: they enter the repetition window but are not counted as generated. */
  acceptPrompt(tokens: ArrayLike<number>): void;
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

/** Reusable buffers for top-k selection. */
interface Selection {
  ids: Int32Array;
  values: Float32Array;
}

function createSelection(capacity: number): Selection {
  return { ids: new Int32Array(capacity), values: new Float32Array(capacity) };
}

function ensure(sel: Selection, capacity: number): Selection {
  if (sel.ids.length >= capacity) return sel;
  const grown = createSelection(Math.max(capacity, sel.ids.length * 2));
  grown.ids.set(sel.ids);
  grown.values.set(sel.values);
  return grown;
}

// heap order: a ranks below b when its value is smaller, or equal with a larger id
function below(sel: Selection, a: number, b: number): boolean {
  const va = sel.values[a]!;
  const vb = sel.values[b]!;
  return va < vb || (va === vb && sel.ids[a]! > sel.ids[b]!);
}

function swap(sel: Selection, a: number, b: number): void {
  const id = sel.ids[a]!;
  sel.ids[a] = sel.ids[b]!;
  sel.ids[b] = id;
  const v = sel.values[a]!;
  sel.values[a] = sel.values[b]!;
  sel.values[b] = v;
}

function siftDown(sel: Selection, at: number, n: number): void {
  for (;;) {
    const l = 2 * at + 1;
    if (l >= n) return;
    const c = l + 1 < n && below(sel, l + 1, l) ? l + 1 : l;
    if (!below(sel, c, at)) return;
    swap(sel, c, at);
    at = c;
  }
}

// The hot loop of selectTopK, kept tiny so that it compiles like argmax. Equal values do not
// count: their id is larger than every id already in the heap, so they rank below.
function nextAbove(values: ArrayLike<number>, from: number, floor: number): number {
  const n = values.length;
  for (let i = from; i < n; i++) if (values[i]! > floor) return i;
  return n;
}

/**
 * Selects the k largest values with a min-heap (one pass, O(n log k)) and sorts them.
 *
 * @param values the scores.
 * @param k how many to keep (<= values.length).
 * @param sel buffers of capacity >= k; receive the ids and values, largest first, ties by id.
 */
function selectTopK(values: ArrayLike<number>, k: number, sel: Selection): void {
  const n = values.length;
  let size = 0;
  let i = 0;
  for (; i < n && size < k; i++, size++) {
    sel.ids[size] = i;
    sel.values[size] = values[i]!;
    for (let c = size; c > 0;) {
      const p = (c - 1) >> 1;
      if (!below(sel, c, p)) break;
      swap(sel, c, p);
      c = p;
    }
  }
  for (
    i = nextAbove(values, i, sel.values[0]!);
    i < n;
    i = nextAbove(values, i + 1, sel.values[0]!)
  ) {
    sel.ids[0] = i;
    sel.values[0] = values[i]!;
    siftDown(sel, 0, k);
  }
  // heap sort with a min-heap leaves the largest first
  for (let end = size - 1; end > 0; end--) {
    swap(sel, 0, end);
    siftDown(sel, 0, end);
  }
}

/**
 * Log-probabilities of the raw logits: the chosen token's and the `n` best.
 *
 * @param logits the model's scores (only read).
 * @param token the chosen token.
 * @param n how many alternatives (0..MAX_TOP_LOGPROBS).
 * @returns the logprobs; `exp` of the alternatives sums to at most 1.
 * @throws {RangeError} if n is outside 0..MAX_TOP_LOGPROBS.
 */
export function tokenLogprobs(logits: Float32Array, token: number, n: number): TokenLogprobs {
  if (!Number.isInteger(n) || n < 0 || n > MAX_TOP_LOGPROBS) {
    throw new RangeError(`Cannot report ${n} top logprobs: expected 0..${MAX_TOP_LOGPROBS}`);
  }
  const k = Math.min(n, logits.length);
  const sel = createSelection(Math.max(k, 1));
  selectTopK(logits, Math.max(k, 1), sel);
  const max = sel.values[0]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += expNeg(max - logits[i]!);
  const logZ = max + portableLog(sum);
  const topLogprobs: TokenLogprob[] = [];
  for (let i = 0; i < k; i++) {
    topLogprobs.push({ token: sel.ids[i]!, logprob: sel.values[i]! - logZ });
  }
  return { token, logprob: logits[token]! - logZ, topLogprobs };
}

/**
 * Creates a sampler.
 *
 * @param options the settings (see `SamplerOptions`; unset knobs are off).
 * @param rng uniform [0, 1) source, called once per sampled token when temperature > 0.
 * @returns the sampler.
 * @throws {RangeError} for settings outside their ranges.
 * @example
 * ```ts
 * const sampler = createSampler({ temperature: 0.8, topK: 40, minP: 0.05 }, createRng(42));
 * sampler.acceptPrompt(promptIds);
 * const token = sampler.sample(logits);
 * sampler.accept(token);
 * ```
 */
export function createSampler(options: Readonly<SamplerOptions>, rng: Rng): Sampler {
  const o = { ...DEFAULT_SAMPLER_OPTIONS, ...options };
  assertOptions(o);
  const window = new Window(o.repeatLastN);
  const counts = new Map<number, number>();
  const w: WalkBuffers = {
    sel: createSelection(WALK_FIRST_K),
    out: createSelection(WALK_FIRST_K),
  };
  const { draw, drawAllowed, drawListed } = createDraw(o, rng, w);
  let scratch = new Float32Array(0);

  const adjusted = (logits: Float32Array): Float32Array => {
    const repeat = o.repeatPenalty !== 1 && window.size > 0;
    const counted = (o.frequencyPenalty !== 0 || o.presencePenalty !== 0) && counts.size > 0;
    if (o.logitBias.size === 0 && !repeat && !counted) return logits;
    if (scratch.length !== logits.length) scratch = new Float32Array(logits.length);
    scratch.set(logits);
    for (const [id, bias] of o.logitBias) {
      if (id >= 0 && id < scratch.length) scratch[id]! += bias;
    }
    if (repeat) {
      for (const id of window.distinct()) {
        const v = scratch[id]!;
        scratch[id] = v > 0 ? v / o.repeatPenalty : v * o.repeatPenalty;
      }
    }
    if (counted) {
      for (const [id, count] of counts) {
        scratch[id]! -= count * o.frequencyPenalty + o.presencePenalty;
      }
    }
    return scratch;
  };

  return {
    sample(logits: Float32Array): number {
      const l = adjusted(logits);
      return o.temperature > 0 ? draw(l) : argmax(l);
    },
    sampleAllowed(logits: Float32Array, allows: (token: number) => boolean): number | null {
      const l = adjusted(logits);
      if (o.temperature > 0) return drawAllowed(l, allows);
      // greedy: argmax of the masked logits = the first allowed token best first (ties: lower id)
      const best = argmax(l);
      if (l[best]! > -Infinity && allows(best)) return best;
      return walkCandidates(w, l, 1, () => Infinity, allows) === null ? null : w.out.ids[0]!;
    },
    sampleListed(logits: Float32Array, ids: Int32Array, n: number): number | null {
      const l = adjusted(logits);
      if (o.temperature > 0) {
        const token = drawListed(l, ids, n);
        if (token !== PADDED) return token;
        // masking then sampling picked a refused token (a draw past every weight, by rounding):
        // the caller then takes the first listed token with the largest raw logit
        let best = ids[0]!;
        for (let i = 1; i < n; i++) if (logits[ids[i]!]! > logits[best]!) best = ids[i]!;
        return best;
      }
      return listedCandidates(w, l, ids, n, 1, () => Infinity) === null ? null : w.out.ids[0]!;
    },
    accept(token: number): void {
      window.push(token);
      counts.set(token, (counts.get(token) ?? 0) + 1);
    },
    acceptPrompt(tokens: ArrayLike<number>): void {
      for (let i = 0; i < tokens.length; i++) window.push(tokens[i]!);
    },
  };
}

function assertOptions(o: Readonly<Required<SamplerOptions>>): void {
  const bad = (name: string, value: number, range: string) =>
    new RangeError(`Invalid sampler option ${name} ${value}: expected ${range}`);
  if (!(o.temperature >= 0)) throw bad("temperature", o.temperature, ">= 0");
  if (!Number.isInteger(o.topK) || o.topK < 0) throw bad("topK", o.topK, "an integer >= 0");
  if (!(o.topP > 0 && o.topP <= 1)) throw bad("topP", o.topP, "0 < p <= 1");
  if (!(o.minP >= 0 && o.minP <= 1)) throw bad("minP", o.minP, "0..1");
  if (!(o.repeatPenalty > 0)) throw bad("repeatPenalty", o.repeatPenalty, "> 0");
  if (!Number.isInteger(o.repeatLastN) || o.repeatLastN < -1) {
    throw bad("repeatLastN", o.repeatLastN, "an integer >= -1");
  }
  if (!Number.isFinite(o.frequencyPenalty)) {
    throw bad("frequencyPenalty", o.frequencyPenalty, "finite");
  }
  if (!Number.isFinite(o.presencePenalty)) {
    throw bad("presencePenalty", o.presencePenalty, "finite");
  }
}

/** The last N tokens of the context (N = -1: all of them), and their distinct ids. */
class Window {
  readonly #capacity: number;
  #tokens: number[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#tokens.length;
  }

  push(token: number): void {
    if (this.#capacity === 0) return;
    this.#tokens.push(token);
    // trim in batches so that a push is amortised O(1)
    if (this.#capacity > 0 && this.#tokens.length >= 2 * this.#capacity) {
      this.#tokens = this.#tokens.slice(-this.#capacity);
    }
  }

  distinct(): Set<number> {
    const from = this.#capacity > 0 ? Math.max(0, this.#tokens.length - this.#capacity) : 0;
    return new Set(this.#tokens.slice(from));
  }
}

// exp(-x) for x >= 0 from a table of exp(-k/32) times a 4th-order Taylor series of the rest
// (|f| <= 1/64, so the relative error is below 1e-11). About twice as fast as Math.exp in
// JavaScriptCore, which matters in the passes over the whole vocabulary. 0 beyond x = 120:
// e^-120 ~ 1e-52, invisible next to the best token's weight of 1. The table comes from
// portableExp and the rest is `+ - * /` in a fixed order, so every engine gets the same bits
// (seeded draws must not depend on the JavaScript engine: docs/ledger.md, record version 2).
const EXP_STEPS = 32;
const EXP_TABLE = Float64Array.from(
  { length: 120 * EXP_STEPS + 1 },
  (_, k) => portableExp(-k / EXP_STEPS),
);

function expNeg(x: number): number {
  if (!(x < 120)) return 0;
  const k = (x * EXP_STEPS + 0.5) | 0;
  const f = k / EXP_STEPS - x;
  return EXP_TABLE[k]! * (1 + f * (1 + f * (0.5 + f * (1 / 6 + f / 24))));
}

// A weight is exp((l - lmax) / T) in float64. The min-p threshold pass works in logit space
// with this margin so that float rounding never drops a token the weight test would keep.
const MIN_P_MARGIN = 1e-3;
// First candidate count tried for top-p alone; grown 4x until the nucleus fits.
const TOP_P_FIRST_K = 64;

// Candidates checked by sampleAllowed before it gives up (the caller then masks the vocabulary):
// 64, then 256 and 1024 best tokens (each a top-k pass over the logits) while at least a quarter
// of those seen are allowed. Why: where the grammar allows few tokens (after `{`, in a key) the
// walk would check a thousand tokens for nothing, and there the mask is cheap (most of the trie
// dies at its first byte); where it allows most (inside a string) the mask is costly and the walk
// settles within the first candidates.
const WALK_FIRST_K = 64;
const WALK_MAX_K = 1024;

/** sampleAllowed's buffers: the unmasked best candidates, and the allowed ones among them. */
interface WalkBuffers {
  sel: Selection;
  out: Selection;
}

/**
 * The best allowed tokens in the sampler's order (value descending, ties by lower id): what
 * ranking the masked logits would give. With `want` > 0, the first `want` allowed tokens; with
 * `floor` (want = 0), every allowed token whose value is >= floor(max allowed value).
 * Results in w.out.ids/values[0..n).
 *
 * @returns n, or null when the candidates walked do not settle it, a candidate is not finite
 *   (-Infinity ties with the masked tokens, NaN has no order) or the vocabulary has too few
 *   allowed tokens for `want` (masking would pad with -Infinity tokens).
 */
function walkCandidates(
  w: WalkBuffers,
  l: Float32Array,
  want: number,
  floorOf: (max: number) => number,
  allows: (token: number) => boolean,
): number | null {
  const v = l.length;
  let n = 0;
  let floor = Infinity;
  let done = 0; // candidates already checked (a larger k keeps the same prefix: a total order)
  for (let k = Math.min(WALK_FIRST_K, v); k <= WALK_MAX_K; k = Math.min(4 * k, v)) {
    w.sel = ensure(w.sel, k);
    selectTopK(l, k, w.sel);
    for (; done < k; done++) {
      const value = w.sel.values[done]!;
      if (!(value > -Infinity)) return null;
      if (want === 0 && n > 0 && value < floor) return n;
      const id = w.sel.ids[done]!;
      if (!allows(id)) continue;
      w.out = ensure(w.out, n + 1);
      w.out.ids[n] = id;
      w.out.values[n++] = value;
      if (n === want) return n;
      if (n === 1) floor = floorOf(value);
    }
    if (k === v) return want === 0 && n > 0 ? n : null;
    if (4 * n < k) return null;
  }
  return null;
}

// The id of a refused token that masking would rank among the top-k (see listedCandidates).
const PADDED = -1;

// Most listed tokens sampleListed sorts (why: beyond, the passes over the vocabulary of masking
// cost less than the sort).
const LIST_MAX = 4096;

/**
 * What walkCandidates finds, from the list of allowed tokens instead of a walk: sorted best
 * first (value descending, ties by lower id), the first `want`, or (want = 0) those >= floor.
 *
 * @returns n, or null for a list too long or a non-finite listed value.
 */
function listedCandidates(
  w: WalkBuffers,
  l: Float32Array,
  ids: Int32Array,
  n: number,
  want: number,
  floorOf: (max: number) => number,
): number | null {
  if (n === 0 || n > LIST_MAX) return null;
  w.sel = ensure(w.sel, n);
  const order = w.sel.ids.subarray(0, n);
  order.set(ids.subarray(0, n));
  for (let i = 0; i < n; i++) if (!Number.isFinite(l[order[i]!]!)) return null;
  order.sort((a, b) => l[b]! - l[a]! || a - b);
  const floor = floorOf(l[order[0]!]!);
  let m = 0;
  w.out = ensure(w.out, Math.max(want, n));
  for (; m < (want > 0 ? Math.min(want, n) : n); m++) {
    const value = l[order[m]!]!;
    if (want === 0 && value < floor) break;
    w.out.ids[m] = order[m]!;
    w.out.values[m] = value;
  }
  // fewer listed than top-k: the masked top-k goes on with refused tokens at -Infinity (weight
  // 0); they are PADDED here, and a draw that lands on one (rounding only) is resolved as a
  // refused pick is (see sampleListed)
  for (; m < want; m++) {
    w.out.ids[m] = PADDED;
    w.out.values[m] = -Infinity;
  }
  return m;
}

/** Steps 5 of the pipeline (temperature > 0), with reusable buffers. */
function createDraw(o: Readonly<Required<SamplerOptions>>, rng: Rng, w: WalkBuffers): {
  draw: (l: Float32Array) => number;
  drawAllowed: (l: Float32Array, allows: (token: number) => boolean) => number | null;
  drawListed: (l: Float32Array, ids: Int32Array, n: number) => number | null;
} {
  // sized for top-k only once a vocabulary is seen: a top_k far above the vocabulary (a client's
  // 2147483648) never allocates more than the vocabulary (issue 19, hole 5)
  let sel = createSelection(TOP_P_FIRST_K);
  let weights = new Float64Array(0);
  let whole = new Float64Array(0); // weights of the whole vocabulary (top-p alone, no truncation)
  let nucleusCut = false; // set when `nucleus` already applied top-p
  const t = o.temperature;

  // candidates sel.ids[0..n) sorted, weights in `weights`; returns how many survive top-k/min-p
  const candidates = (l: Float32Array): number => {
    const v = l.length;
    nucleusCut = false;
    if (o.topK > 0 && o.topK < v) {
      sel = ensure(sel, o.topK);
      selectTopK(l, o.topK, sel);
      return o.topK;
    }
    if (o.minP > 0) {
      const max = l[argmax(l)]!;
      const floor = max + t * portableLog(o.minP) - MIN_P_MARGIN;
      let n = 0;
      for (let i = 0; i < v; i++) {
        if (l[i]! < floor) continue;
        if (n === sel.ids.length) sel = ensure(sel, n + 1);
        sel.ids[n++] = i;
      }
      sel.ids.subarray(0, n).sort((a, b) => l[b]! - l[a]! || a - b);
      for (let i = 0; i < n; i++) sel.values[i] = l[sel.ids[i]!]!;
      return n;
    }
    return nucleus(l);
  };

  // top-p alone (or nothing): the shortest best-first prefix holding topP of the whole mass
  const nucleus = (l: Float32Array): number => {
    const v = l.length;
    const max = l[argmax(l)]!;
    if (whole.length !== v) whole = new Float64Array(v);
    const invT = 1 / t;
    let total = 0;
    for (let i = 0; i < v; i++) total += whole[i] = expNeg((max - l[i]!) * invT);
    if (o.topP >= 1) return -total; // no truncation: drawn in index order below
    nucleusCut = true;
    for (let k = Math.min(TOP_P_FIRST_K, v);; k = Math.min(4 * k, v)) {
      sel = ensure(sel, k);
      selectTopK(l, k, sel);
      let acc = 0;
      for (let i = 0; i < k; i++) {
        acc += portableExp((sel.values[i]! - max) / t);
        if (acc >= o.topP * total) return i + 1;
      }
      if (k === v) return v;
    }
  };

  const fullDraw = (l: Float32Array, total: number): number => {
    let r = rng() * total;
    for (let i = 0; i < l.length; i++) {
      r -= whole[i]!;
      if (r < 0) return i;
    }
    return argmax(l);
  };

  // the candidates of the masked logits, found by walking the unmasked ones best first: top-k
  // keeps the first topK allowed; min-p (alone) keeps the allowed ones above the floor set by the
  // best allowed one, as `candidates` computes it from the masked maximum
  // (`find` is the walk, or the sort of a list of allowed tokens)
  const allowedCandidates = (
    l: Float32Array,
    find: (want: number, floorOf: (max: number) => number) => number | null,
  ): number | null => {
    nucleusCut = false;
    const topK = o.topK > 0 && o.topK < l.length;
    if (!topK && !(o.minP > 0)) return null; // top-p alone or nothing: needs the whole mass
    const n = find(topK ? o.topK : 0, (max) => max + t * portableLog(o.minP) - MIN_P_MARGIN);
    if (n === null) return null;
    sel = ensure(sel, n);
    sel.ids.set(w.out.ids.subarray(0, n));
    sel.values.set(w.out.values.subarray(0, n));
    return n;
  };

  const draw = (l: Float32Array): number => {
    const n = candidates(l);
    return n < 0 ? fullDraw(l, -n) : drawFrom(n);
  };
  const drawAllowed = (l: Float32Array, allows: (token: number) => boolean): number | null => {
    const n = allowedCandidates(l, (want, floorOf) => walkCandidates(w, l, want, floorOf, allows));
    return n === null ? null : drawFrom(n);
  };
  const drawListed = (l: Float32Array, ids: Int32Array, count: number): number | null => {
    const n = allowedCandidates(
      l,
      (want, floorOf) => listedCandidates(w, l, ids, count, want, floorOf),
    );
    return n === null ? null : drawFrom(n);
  };
  return { draw, drawAllowed, drawListed };

  // the draw among candidates sel.ids[0..n): min-p cut, top-p cut, one rng call
  function drawFrom(n: number): number {
    if (weights.length < n) weights = new Float64Array(Math.max(n, 2 * weights.length));
    const top = sel.values[0]!;
    let keep = 0;
    let total = 0;
    for (; keep < n; keep++) {
      const w = portableExp((sel.values[keep]! - top) / t);
      if (keep > 0 && w < o.minP) break;
      weights[keep] = w;
      total += w;
    }
    n = keep;
    if (o.topP < 1 && !nucleusCut) {
      let acc = 0;
      for (keep = 0; keep < n;) {
        acc += weights[keep++]!;
        if (acc >= o.topP * total) break;
      }
      n = keep;
      total = 0;
      for (let i = 0; i < n; i++) total += weights[i]!;
    }
    let r = rng() * total;
    for (let i = 0; i < n; i++) {
      r -= weights[i]!;
      if (r < 0) return sel.ids[i]!;
    }
    return sel.ids[n - 1]!;
  }
}
