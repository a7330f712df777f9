import { describe, expect, test } from "bun:test";
import { createPrng, fillNormalish, fillTernary, hashString } from "./prng.ts";

describe("createPrng()", () => {
  test("createPrng() gives the pinned stream for seed 1", () => {
    const rng = createPrng(1);
    expect([rng.nextU32(), rng.nextU32()]).toEqual([2442144158, 3238099751]);
  });

  test("createPrng() streams differ by seed and by stream word", () => {
    const first = (seed: number, stream?: number) => createPrng(seed, stream).nextU32();
    expect(new Set([first(1), first(2), first(1, 5), first(1, 6)]).size).toBe(4);
  });

  test("nextFloat() stays in [0, 1)", () => {
    const rng = createPrng(3);
    let lo = 1, hi = 0;
    for (let i = 0; i < 10000; i++) {
      const x = rng.nextFloat();
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    expect(lo >= 0 && hi < 1 && hi > 0.99 && lo < 0.01).toBe(true);
  });
});

describe("hashString()", () => {
  test("hashString() is FNV-1a", () => {
    expect([hashString(""), hashString("a")]).toEqual([0x811c9dc5, 0xe40c292c]);
  });
});

describe("fillTernary()", () => {
  test("fillTernary() gives -1, 0, 1 about a third each", () => {
    const t = fillTernary(new Int8Array(30001), createPrng(4));
    const counts = [0, 0, 0];
    for (const v of t) counts[v + 1]!++;
    expect(counts.every((c) => Math.abs(c / t.length - 1 / 3) < 0.02)).toBe(true);
  });
});

describe("fillNormalish()", () => {
  test("fillNormalish() has the requested mean and standard deviation", () => {
    const x = fillNormalish(new Float32Array(100000), createPrng(5), { mean: 1, std: 0.05 });
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    expect([Math.abs(mean - 1) < 0.002, Math.abs(std - 0.05) < 0.002]).toEqual([true, true]);
  });
});
