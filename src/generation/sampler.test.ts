import { describe, expect, test } from "bun:test";
import { createRng } from "./rng.ts";
import { type PenaltyHistory, type SamplerOptions, sampleTokenRef } from "./sampler-ref.ts";
import { argmax, createSampler, tokenLogprobs } from "./sampler.ts";

const LOGITS = Float32Array.from([1, 3, 2, 3, -1]);

/** Seeded logits shaped like a model's: noise plus a few lifted tokens. */
function randomLogits(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const l = Float32Array.from({ length: n }, () => 4 * (rng() + rng() + rng() - 1.5));
  for (let j = 0; j < 5; j++) l[Math.floor(rng() * n)]! += 4 + 4 * rng();
  return l;
}

/** Frequencies of `n` draws. */
function histogram(options: SamplerOptions, logits: Float32Array, n: number, seed: number) {
  const sampler = createSampler(options, createRng(seed));
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampler.sample(logits)]!++;
  return counts.map((c) => c / n);
}

function softmax(logits: ArrayLike<number>, temperature = 1): number[] {
  const xs = Array.from(logits, (x) => x / temperature);
  const max = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

describe("argmax()", () => {
  test("argmax() returns the first index of the largest value", () => {
    expect(argmax(LOGITS)).toBe(1);
  });
});

describe("createRng()", () => {
  test("createRng() repeats its sequence for a seed and differs across seeds", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe("createSampler()", () => {
  test("sample() is greedy at temperature 0, first index on ties, without using the rng", () => {
    let calls = 0;
    const sampler = createSampler({ temperature: 0 }, () => (calls++, 0.5));
    expect(sampler.sample(LOGITS)).toBe(1);
    expect(calls).toBe(0);
  });

  test("sample() reproduces a seeded run and changes with the seed", () => {
    const logits = randomLogits(1000, 1);
    const run = (seed: number) => {
      const s = createSampler({ temperature: 1, topK: 50 }, createRng(seed));
      return Array.from({ length: 50 }, () => s.sample(logits));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(6)).not.toEqual(run(5));
  });

  // The fast sampler must pick exactly what the plain oracle picks for the same rng, in every
  // configuration whose candidates are sorted (top-k, min-p, top-p).
  const EXACT: SamplerOptions[] = [
    { temperature: 0 },
    { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 },
    { temperature: 1.3, topK: 7 },
    { temperature: 0.7, minP: 0.02 },
    { temperature: 1, minP: 0.3, topP: 0.5 },
    { temperature: 1.5, topP: 0.9 },
    { temperature: 1, topK: 1999 }, // a heap of nearly the whole vocabulary
    {
      temperature: 0.9,
      topK: 20,
      repeatPenalty: 1.3,
      repeatLastN: 8,
      frequencyPenalty: 0.7,
      presencePenalty: 0.4,
      logitBias: new Map([[3, 5], [10, -100]]),
    },
  ];
  for (const options of EXACT) {
    test(`sample() matches sampleTokenRef() for ${JSON.stringify(options)}`, () => {
      const fast = createSampler(options, createRng(3));
      const refRng = createRng(3);
      const prompt = [1, 2, 3, 4, 5, 3];
      fast.acceptPrompt(prompt);
      const context = [...prompt];
      const counts = new Map<number, number>();
      for (let step = 0; step < 40; step++) {
        const logits = randomLogits(2000, 100 + step);
        const window = options.repeatLastN ?? 64;
        const history: PenaltyHistory = {
          recent: window === 0 ? [] : context.slice(window < 0 ? 0 : -window),
          counts,
        };
        const expected = sampleTokenRef(logits, options, refRng, history);
        const got = fast.sample(logits);
        expect(got).toBe(expected);
        fast.accept(got);
        context.push(got);
        counts.set(got, (counts.get(got) ?? 0) + 1);
      }
    });
  }

  test("sample() follows softmax(l / T) with no truncation (20000 draws, within 0.012)", () => {
    for (const temperature of [1, 0.5, 2]) {
      const freq = histogram({ temperature }, LOGITS, 20000, 9);
      const p = softmax(LOGITS, temperature);
      for (let i = 0; i < p.length; i++) expect(Math.abs(freq[i]! - p[i]!)).toBeLessThan(0.012);
    }
  });

  test("sample() with top-k keeps the k best; top-p the nucleus; min-p the near-best", () => {
    // p ∝ e^3, e^3, e^2, e^1, e^-1 = .39, .39, .14, .05, .01
    const only = (options: SamplerOptions, allowed: number[]) => {
      const freq = histogram(options, LOGITS, 3000, 11);
      freq.forEach((f, id) => {
        if (!allowed.includes(id)) expect(f).toBe(0);
        else expect(f).toBeGreaterThan(0);
      });
    };
    only({ temperature: 1, topK: 1 }, [1]);
    only({ temperature: 5, topK: 2 }, [1, 3]);
    only({ temperature: 1, topP: 0.6 }, [1, 3]);
    only({ temperature: 1, topP: 0.9 }, [1, 3, 2]);
    only({ temperature: 1, minP: 0.5 }, [1, 3]);
    only({ temperature: 1, minP: 0.3 }, [1, 3, 2]);
    // kept tokens keep their relative odds: top-k 3 renormalises .39/.39/.14
    const freq = histogram({ temperature: 1, topK: 3 }, LOGITS, 20000, 12);
    const p = softmax([3, 3, 2]);
    expect(Math.abs(freq[2]! - p[2]!)).toBeLessThan(0.012);
  });

  test("sample() with logit bias -100 bans a token and +100 forces one", () => {
    const banned = histogram({ temperature: 1, logitBias: new Map([[1, -100]]) }, LOGITS, 5000, 1);
    expect(banned[1]).toBe(0);
    expect(banned[3]).toBeGreaterThan(0.5);
    const forced = histogram({ temperature: 1, logitBias: new Map([[4, 100]]) }, LOGITS, 2000, 2);
    expect(forced[4]).toBe(1);
    expect(
      createSampler({ temperature: 0, logitBias: new Map([[4, 100]]) }, createRng(0))
        .sample(LOGITS),
    ).toBe(4);
  });

  test("sample() applies the repetition penalty to recent tokens only", () => {
    const logits = Float32Array.from([2, 1.9, -1, 0]);
    const s = createSampler({ temperature: 0, repeatPenalty: 1.1, repeatLastN: 2 }, createRng(0));
    s.acceptPrompt([0]);
    expect(s.sample(logits)).toBe(1); // 2 / 1.1 < 1.9
    s.accept(2);
    s.accept(3); // token 0 has left the 2-token window
    expect(s.sample(logits)).toBe(0);
  });

  test("sample() counts only generated tokens for frequency and presence penalties", () => {
    const logits = Float32Array.from([2, 1.5]);
    const s = createSampler({ temperature: 0, frequencyPenalty: 0.3 }, createRng(0));
    s.acceptPrompt([0, 0, 0, 0]);
    expect(s.sample(logits)).toBe(0);
    s.accept(0);
    expect(s.sample(logits)).toBe(0); // 2 - 0.3 > 1.5
    s.accept(0);
    expect(s.sample(logits)).toBe(1); // 2 - 0.6 < 1.5
  });

  test("createSampler() throws RangeError for settings out of range", () => {
    const bad: SamplerOptions[] = [
      { temperature: -1 },
      { temperature: 1, topK: 1.5 },
      { temperature: 1, topP: 0 },
      { temperature: 1, minP: 2 },
      { temperature: 1, repeatPenalty: 0 },
      { temperature: 1, repeatLastN: -2 },
      { temperature: 1, frequencyPenalty: NaN },
    ];
    for (const options of bad) {
      expect(() => createSampler(options, createRng(0))).toThrow(RangeError);
    }
  });
});

describe("Sampler.sampleAllowed()", () => {
  // settings the walk decides (top-k, min-p, greedy, with penalties and bias) and the ones it
  // hands back to masking (top-p alone, no truncation)
  const SETTINGS: SamplerOptions[] = [
    { temperature: 0 },
    { temperature: 1, topK: 40 },
    { temperature: 0.8, topK: 40, topP: 0.9, minP: 0.05 },
    { temperature: 0.7, minP: 0.1 },
    { temperature: 1.3, minP: 0.01, topP: 0.5 },
    { temperature: 1, topK: 3 },
    { temperature: 1, topK: 1500 },
    { temperature: 1, topP: 0.9 },
    { temperature: 1 },
    {
      temperature: 0.9,
      topK: 20,
      repeatPenalty: 1.3,
      frequencyPenalty: 0.5,
      presencePenalty: 0.2,
      logitBias: new Map([[7, 5], [8, -100]]),
    },
  ];
  // the allowed sets: everything, dense, sparse, a handful, one token, one token far down
  const DENSITIES = [1, 0.5, 0.1, 0.01, 0.002, 0];

  test(
    "sampleAllowed() and sampleListed() pick what masking then sampling picks, over 10 settings x 6 densities x 6 seeds",
    () => {
      const n = 3000; // above the walk's 1024 candidates: its give-up path runs too
      let decided = 0;
      let handedBack = 0;
      let listed = 0;
      for (const [si, options] of SETTINGS.entries()) {
        for (const density of DENSITIES) {
          for (let seed = 1; seed <= 6; seed++) {
            const walker = createSampler(options, createRng(seed));
            const masker = createSampler(options, createRng(seed));
            const lister = createSampler(options, createRng(seed));
            const pick = createRng(1000 * si + seed);
            walker.acceptPrompt([7, 9, 11]);
            masker.acceptPrompt([7, 9, 11]);
            lister.acceptPrompt([7, 9, 11]);
            // several steps: the rng streams and penalty counts must stay in step
            for (let step = 0; step < 4; step++) {
              const logits = randomLogits(n, 31 * seed + step);
              // ties, as quantized logits have
              if (step % 2 === 1) {
                for (let i = 0; i < n; i++) logits[i] = Math.round(logits[i]! * 2) / 2;
              }
              const allowed = new Set<number>();
              for (let i = 0; i < n; i++) if (pick() < density) allowed.add(i);
              if (allowed.size === 0) allowed.add(n - 1 - Math.floor(pick() * 10));
              const masked = logits.map((x, i) => (allowed.has(i) ? x : -Infinity));
              const walked = walker.sampleAllowed(logits, (t) => allowed.has(t));
              if (walked === null) handedBack++;
              else decided++;
              // where half the vocabulary is allowed, top-k (up to 40), min-p with a near floor and
              // greedy never need the mask (min-p 0.01 at T 1.3 keeps over 1024 tokens: it may)
              const walkable = si <= 3 || si === 5 || si === 9;
              if (walkable && density >= 0.5) {
                expect({ si, density, null: walked === null }).toEqual({
                  si,
                  density,
                  null: false,
                });
              }
              const got = walked ?? walker.sample(masked);
              const want = masker.sample(masked);
              // the allowed list in no particular order (a trie's), as the constraint writes it
              const list = Int32Array.from(
                [...allowed].sort((a, b) => ((a * 7919) % n) - ((b * 7919) % n)),
              );
              const fromList = lister.sampleListed(logits, list, list.length);
              if (fromList !== null) listed++;
              // the list decides every setting but top-p alone and no truncation (top-k longer
              // than the list included: masking pads it with refused tokens of weight 0)
              expect({ si, decided: fromList !== null }).toEqual({
                si,
                decided: si !== 7 && si !== 8,
              });
              expect({
                options: si,
                density,
                seed,
                step,
                listed: fromList ?? lister.sample(masked),
              })
                .toEqual({ options: si, density, seed, step, listed: want });
              expect({ options: si, density, seed, step, token: got }).toEqual({
                options: si,
                density,
                seed,
                step,
                token: want,
              });
              expect(allowed.has(got)).toBe(true);
              walker.accept(got);
              masker.accept(want);
              lister.accept(want);
            }
          }
        }
      }
      // every path ran
      expect(handedBack).toBeGreaterThan(0);
      expect(decided).toBeGreaterThan(0);
      expect(listed).toBeGreaterThan(0);
    },
    60_000,
  );

  test("sampleAllowed() checks only the best candidates when the best is allowed", () => {
    const logits = randomLogits(128_000, 5);
    const sampler = createSampler({ temperature: 0.8, topK: 40 }, createRng(1));
    let checks = 0;
    const token = sampler.sampleAllowed(logits, () => (checks++, true));
    expect(token).not.toBeNull();
    expect(checks).toBe(40);
    checks = 0;
    const greedy = createSampler({ temperature: 0 }, createRng(1));
    expect(greedy.sampleAllowed(logits, () => (checks++, true))).toBe(argmax(logits));
    expect(checks).toBe(1);
  });

  test("sampleAllowed() hands back (null, no rng used) when no candidate is allowed", () => {
    const logits = randomLogits(5000, 6);
    let calls = 0;
    const rng = () => (calls++, 0.5);
    const sampler = createSampler({ temperature: 1, topK: 40 }, rng);
    expect(sampler.sampleAllowed(logits, () => false)).toBeNull();
    expect(calls).toBe(0);
  });
});

describe("tokenLogprobs()", () => {
  test("tokenLogprobs() gives log-softmax of the raw logits, sorted alternatives", () => {
    const logits = randomLogits(5000, 4);
    const lp = tokenLogprobs(logits, 17, 20);
    const p = softmax(logits);
    expect(lp.token).toBe(17);
    expect(lp.logprob).toBeCloseTo(Math.log(p[17]!), 9);
    expect(lp.topLogprobs).toHaveLength(20);
    const order = Array.from(p.keys()).sort((a, b) => p[b]! - p[a]! || a - b).slice(0, 20);
    expect(lp.topLogprobs.map((t) => t.token)).toEqual(order);
    let mass = 0;
    for (let i = 0; i < 20; i++) {
      const t = lp.topLogprobs[i]!;
      expect(t.logprob).toBeCloseTo(Math.log(p[t.token]!), 9);
      if (i > 0) expect(t.logprob).toBeLessThanOrEqual(lp.topLogprobs[i - 1]!.logprob);
      mass += Math.exp(t.logprob);
    }
    expect(mass).toBeLessThanOrEqual(1);
  });

  test("tokenLogprobs() breaks ties by lower id and allows 0 alternatives", () => {
    expect(tokenLogprobs(LOGITS, 0, 2).topLogprobs.map((t) => t.token)).toEqual([1, 3]);
    expect(tokenLogprobs(LOGITS, 0, 0).topLogprobs).toEqual([]);
    expect(() => tokenLogprobs(LOGITS, 0, 21)).toThrow(RangeError);
  });
});
