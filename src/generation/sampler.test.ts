import { describe, expect, test } from "bun:test";
import { createRng } from "./rng.ts";
import { argmax, createSampler } from "./sampler.ts";

const LOGITS = Float32Array.from([1, 3, 2, 3, -1]);

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
  test("sample() is greedy at temperature 0", () => {
    expect(createSampler({ temperature: 0 }, createRng(1)).sample(LOGITS)).toBe(1);
  });
});
