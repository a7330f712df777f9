import { describe, expect, test } from "bun:test";
import { createRng } from "./rng.ts";
import { argmax, sampleToken } from "./sampler.ts";

const LOGITS = Float32Array.from([1, 3, 2, 3, -1]);

describe("argmax()", () => {
  test("returns the first index of the largest value", () => {
    expect(argmax(LOGITS)).toBe(1);
  });
});

describe("createRng()", () => {
  test("repeats its sequence for a seed and differs across seeds", () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe("sampleToken()", () => {
  test("is greedy at temperature 0", () => {
    expect(sampleToken(LOGITS, { temperature: 0 }, createRng(1))).toBe(1);
  });

  test("reproduces a seeded run", () => {
    const run = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 50 }, () => sampleToken(LOGITS, { temperature: 1 }, rng));
    };
    expect(run(5)).toEqual(run(5));
  });

  test("top-k 1 is greedy; top-k 2 never picks outside the two best", () => {
    const rng = createRng(3);
    for (let i = 0; i < 200; i++) {
      expect(sampleToken(LOGITS, { temperature: 1, topK: 1 }, rng)).toBe(1);
      expect([1, 3]).toContain(sampleToken(LOGITS, { temperature: 5, topK: 2 }, rng));
    }
  });

  test("follows the softmax distribution at temperature 1", () => {
    const rng = createRng(9);
    const counts = new Array<number>(LOGITS.length).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(LOGITS, { temperature: 1 }, rng)]!++;
    const z = Array.from(LOGITS).reduce((s, x) => s + Math.exp(x), 0);
    for (let i = 0; i < LOGITS.length; i++) {
      expect(Math.abs(counts[i]! / n - Math.exp(LOGITS[i]!) / z)).toBeLessThan(0.015);
    }
  });

  test("min-p and top-p cut the tail", () => {
    const rng = createRng(11);
    for (let i = 0; i < 300; i++) {
      // p ∝ e^3, e^3, e^2, e^1, e^-1: min-p 0.5 keeps the two e^3 tokens only
      expect([1, 3]).toContain(sampleToken(LOGITS, { temperature: 1, minP: 0.5 }, rng));
      // the two best hold ~0.66 of the mass: top-p 0.6 keeps exactly them
      expect([1, 3]).toContain(sampleToken(LOGITS, { temperature: 1, topP: 0.6 }, rng));
    }
  });
});
