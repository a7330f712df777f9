/**
 * @module Step-by-step comparison of ARIA with llama.cpp on one model and prompt (used by
 * tests/oracle/parity.test.ts and by benchmarks that report the measured differences), and the
 * logit comparison and prompt logits the forward and converter tests share.
 */
import { openModel } from "../../src/engine/index.ts";
import { llamaGreedy } from "./llama-oracle.ts";

/** Prompts as token ids valid in the Llama-2 (32000) and Llama-3 (128256) vocabularies. */
export const PROMPTS = [
  [1, 450, 7483, 310, 3444, 338],
  [1, 15043, 29892, 920, 526, 366, 2599],
  [1, 2],
  [1, 1724, 338, 278, 6593, 310, 2834, 29973, 13, 13, 29902],
];
/** Greedy steps compared per prompt. */
export const STEPS = 16;

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

function topTwoMargin(x: Float32Array): number {
  let a = -Infinity;
  let b = -Infinity;
  for (const v of x) {
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) b = v;
  }
  return a - b;
}

/** One step of the comparison. */
export interface StepComparison {
  maxDiff: number;
  relative: number;
  margin: number;
  agree: boolean;
}

/**
 * Greedy-decodes `prompt` with llama.cpp for STEPS steps, feeds ARIA the same tokens, and compares
 * the logits of every step.
 */
export async function compareWithLlama(path: string, prompt: number[]): Promise<StepComparison[]> {
  const oracle = llamaGreedy(path, prompt, STEPS, { threads: 2 });
  using model = await openModel(path);
  using ctx = model.createContext({ nCtx: 128, nThreads: 2 });
  const steps: StepComparison[] = [];
  ctx.decode(prompt);
  for (let i = 0; i < STEPS; i++) {
    const ours = ctx.logits(0);
    const theirs = oracle.logits[i]!;
    let maxDiff = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < theirs.length; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours[j]! - theirs[j]!));
      lo = Math.min(lo, theirs[j]!);
      hi = Math.max(hi, theirs[j]!);
    }
    steps.push({
      maxDiff,
      relative: maxDiff / (hi - lo),
      margin: topTwoMargin(theirs),
      agree: argmax(ours) === oracle.tokens[i],
    });
    ctx.decode([oracle.tokens[i]!]);
  }
  return steps;
}

/** Largest |a − b| relative to the range of `ref`, and whether the argmaxes agree. */
export function compareLogits(
  ref: Float32Array,
  got: Float32Array,
): { relative: number; sameArgmax: boolean } {
  let diff = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let a = 0;
  let b = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
    lo = Math.min(lo, ref[i]!);
    hi = Math.max(hi, ref[i]!);
    if (ref[i]! > ref[a]!) a = i;
    if (got[i]! > got[b]!) b = i;
  }
  return { relative: diff / (hi - lo), sameArgmax: a === b };
}

/** ARIA's logits for every position of `prompt` (one batch, 2 threads). */
export async function ariaPromptLogits(path: string, prompt: number[]): Promise<Float32Array[]> {
  using model = await openModel(path);
  using ctx = model.createContext({ nCtx: 64, nThreads: 2 });
  ctx.decode(prompt, { logits: "all" });
  return prompt.map((_, i) => ctx.logits(i).slice());
}
