import { describe, expect, test } from "bun:test";
import { GgmlType } from "./gguf-format.ts";
import { dequantizeRow, f16ToF32, f32ToF16 } from "./quants.ts";
import {
  packTernaryQ4_0,
  q4_0TernaryScale,
  ternaryF16,
  ternaryStorage,
} from "./ternary-fallback.ts";

describe("ternaryStorage()", () => {
  test("keeps the type when rows fit, else Q4_0 for rows of 32, else F16, with the reason", () => {
    expect(ternaryStorage(2560, GgmlType.TQ2_0, 256)).toEqual({ type: GgmlType.TQ2_0 });
    expect(ternaryStorage(3200, GgmlType.I2_S, 128)).toEqual({ type: GgmlType.I2_S });
    expect(ternaryStorage(3200, GgmlType.TQ1_0, 256)).toEqual({
      type: GgmlType.Q4_0,
      reason: "rows of 3200 are not a multiple of 256",
    });
    expect(ternaryStorage(8640, GgmlType.I2_S, 128).type).toBe(GgmlType.Q4_0);
    expect(ternaryStorage(100, GgmlType.I2_S, 128).type).toBe(GgmlType.F16);
  });
});

describe("q4_0TernaryScale()", () => {
  test("picks the k in 1..7 whose k·f16(γ/k) is closest to γ, never worse than k = 1", () => {
    expect(q4_0TernaryScale(1)).toEqual({ k: 1, d: f32ToF16(1), error: 0 });
    // 0.1 is not an f16; some k does better than f16(0.1)'s own rounding
    const one = Math.abs(f16ToF32(f32ToF16(0.1)) - 0.1) / 0.1;
    const best = q4_0TernaryScale(0.1);
    expect(best.error).toBeLessThanOrEqual(one);
    expect(Math.abs(best.k * f16ToF32(best.d) - 0.1) / 0.1).toBe(best.error);
    // measured over 1000 scales between 0.001 and 1: always within f16's half ulp, mostly far less
    let worst = 0;
    for (let i = 1; i <= 1000; i++) worst = Math.max(worst, q4_0TernaryScale(i / 1000).error);
    expect(worst).toBeLessThan(2 ** -11);
  });
  test("refuses a scale f16 cannot hold", () => {
    expect(() => q4_0TernaryScale(1e9)).toThrow(RangeError);
    expect(() => q4_0TernaryScale(0)).toThrow(/outside f16's range/);
  });
});

describe("packTernaryQ4_0()", () => {
  test("writes d then nibbles 8 + k·t, element j low and j + 16 high", () => {
    const t = new Int8Array(32);
    t[0] = 1;
    t[16] = -1;
    t[31] = 1;
    const out = packTernaryQ4_0(t, 1); // k = 1, d = 1.0
    expect(out).toHaveLength(18);
    expect(out[0]! | (out[1]! << 8)).toBe(0x3c00);
    expect(out[2]).toBe(9 | (7 << 4));
    expect(out[17]).toBe(8 | (9 << 4));
    expect(out[3]).toBe(8 | (8 << 4));
  });
  test("dequantizes to t times one scale close to γ", () => {
    const t = Int8Array.from({ length: 96 }, (_, i) => (i % 3) - 1);
    const gamma = 0.0371;
    const got = dequantizeRow(GgmlType.Q4_0, packTernaryQ4_0(t, gamma));
    const { k, d, error } = q4_0TernaryScale(gamma);
    const scale = k * f16ToF32(d);
    expect(error).toBeLessThan(2 ** -11);
    for (let i = 0; i < t.length; i++) expect(got[i]).toBe(t[i]! * scale);
  });
  test("rejects a bad length or value", () => {
    expect(() => packTernaryQ4_0(new Int8Array(31), 1)).toThrow(/multiple of 32/);
    expect(() => packTernaryQ4_0(new Int8Array(32).fill(2), 1)).toThrow(/not -1, 0 or 1/);
  });
});

describe("ternaryF16()", () => {
  test("stores t·f16(γ)", () => {
    const t = Int8Array.of(1, 0, -1);
    const got = dequantizeRow(GgmlType.F16, ternaryF16(t, 0.1));
    const s = f16ToF32(f32ToF16(0.1));
    expect([...got]).toEqual([s, 0, -s]);
  });
});
