/**
 * @module Sampler cost per token over a Llama-3-sized vocabulary (128256 logits), one core.
 * The budget (STYLE.md "Settled facts") is 2% of a decode step; a decode step of a 2B ternary
 * model is ~20-50 ms, so the sampler must stay well under 400 µs.
 *
 * Logits: seeded, shaped like a language model's: normal with standard deviation 2.5 around 0,
 * plus a head of 50 tokens lifted by 6..12 (so top-p / min-p keep a few dozen candidates at
 * T = 0.8, as with real text). 16 different logit vectors are cycled so that no branch predictor
 * or cache learns one. What is timed: `sampler.sample(logits)` (with `sampler.accept` of the
 * result, as generate() does), and `tokenLogprobs(logits, token, 20)` separately. Reported: the
 * median and p90 of per-call times over `--reps` calls after a warm-up, in microseconds, and
 * the median as a share of a 20 ms decode step.
 *
 * Usage: bun benchmarks/generation/sampler.bench.ts [--reps 2000] [--json]
 */
import { parseArgs } from "node:util";
import { createRng } from "../../src/generation/rng.ts";
import { sampleTokenRef } from "../../src/generation/sampler-ref.ts";
import { createSampler, type SamplerOptions, tokenLogprobs } from "../../src/generation/sampler.ts";

const N_VOCAB = 128256;
const DECODE_STEP_MS = 20;

function fakeLogits(seed: number): Float32Array {
  const rng = createRng(seed);
  const l = new Float32Array(N_VOCAB);
  for (let i = 0; i < N_VOCAB; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const a = 2 * Math.PI * rng();
    l[i] = 2.5 * r * Math.cos(a);
    if (i + 1 < N_VOCAB) l[i + 1] = 2.5 * r * Math.sin(a);
  }
  for (let j = 0; j < 50; j++) l[Math.floor(rng() * N_VOCAB)]! += 6 + 6 * rng();
  return l;
}

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { reps: { type: "string" }, json: { type: "boolean" } },
});
const reps = Number(values.reps ?? 2000);
const LOGITS = Array.from({ length: 16 }, (_, i) => fakeLogits(i + 1));

function time(fn: (l: Float32Array) => void, n: number): { medianUs: number; p90Us: number } {
  for (let i = 0; i < Math.min(200, n); i++) fn(LOGITS[i % LOGITS.length]!);
  const us: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = LOGITS[i % LOGITS.length]!;
    const t0 = Bun.nanoseconds();
    fn(l);
    us.push((Bun.nanoseconds() - t0) / 1e3);
  }
  us.sort((a, b) => a - b);
  return { medianUs: us[Math.floor(n / 2)]!, p90Us: us[Math.floor(n * 0.9)]! };
}

const CASES: Array<[string, SamplerOptions]> = [
  ["greedy", { temperature: 0 }],
  ["aria run defaults (T 0.8, top-k 40, top-p 0.95, min-p 0.05)", {
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    minP: 0.05,
  }],
  ["min-p 0.05 alone (T 0.8)", { temperature: 0.8, minP: 0.05 }],
  ["top-p 0.9 alone (T 0.8)", { temperature: 0.8, topP: 0.9 }],
  ["full distribution (T 1)", { temperature: 1 }],
  ["defaults + penalties (repeat 1.1/64, frequency 0.5, presence 0.5) + 3 biases", {
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    minP: 0.05,
    repeatPenalty: 1.1,
    repeatLastN: 64,
    frequencyPenalty: 0.5,
    presencePenalty: 0.5,
    logitBias: new Map([[1, -100], [2, 5], [3, 1]]),
  }],
];

const rows: Array<Record<string, string | number>> = [];
for (const [name, options] of CASES) {
  const sampler = createSampler(options, createRng(7));
  sampler.acceptPrompt(Array.from({ length: 64 }, (_, i) => i * 97));
  const r = time((l) => sampler.accept(sampler.sample(l)), reps);
  rows.push({ case: name, ...r });
}
rows.push({
  case: "tokenLogprobs, 20 alternatives",
  ...time((l) => tokenLogprobs(l, 0, 20), reps),
});
const refRng = createRng(7);
rows.push({
  case: "sampleTokenRef (plain oracle, sorts the vocabulary), defaults",
  ...time(
    (l) => sampleTokenRef(l, { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 }, refRng),
    Math.min(reps, 50),
  ),
});

for (const row of rows) {
  row.shareOf20msStep = `${((Number(row.medianUs) / 1000 / DECODE_STEP_MS) * 100).toFixed(2)}%`;
}
if (values.json) {
  console.log(JSON.stringify({ nVocab: N_VOCAB, reps, bun: Bun.version, rows }));
} else {
  console.log(`sampler cost, n_vocab ${N_VOCAB}, ${reps} calls each, Bun ${Bun.version}`);
  for (const r of rows) {
    console.log(
      `${String(r.case).padEnd(80)} median ${Number(r.medianUs).toFixed(1).padStart(7)} µs` +
        `  p90 ${Number(r.p90Us).toFixed(1).padStart(7)} µs  (${r.shareOf20msStep} of 20 ms)`,
    );
  }
}
