import { describe, expect, test } from "bun:test";
import { GgmlType } from "./gguf-format.ts";
import { createPrng, fillNormalish, fillTernary } from "./prng.ts";
import {
  bf16ToF32,
  dequantizeRow,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  packI2S,
  packTq1_0,
  packTq2_0,
  quantizeBf16,
  quantizeF16,
  quantizeQ6_K,
  quantizeQ8_0,
  quantizeRow,
} from "./quants.ts";

/** Ternary pattern -1, 0, 1, -1, … (code = i % 3) used by the hand-computed byte tests. */
function cyclic(n: number): Int8Array {
  return Int8Array.from({ length: n }, (_, i) => (i % 3) - 1);
}

/** Awkward ternary content: random blocks, an all-zero block, all -1, all +1. */
function awkwardTernary(): Int8Array {
  const t = fillTernary(new Int8Array(256 * 5), createPrng(7));
  t.fill(0, 256, 512);
  t.fill(-1, 512, 768);
  t.fill(1, 768, 1024);
  return t;
}

describe("f32ToF16()", () => {
  test("f32ToF16() gives the known bit patterns, ties to even", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65519, 0x7bff], // below the tie: rounds down
      [65520, 0x7c00], // tie between 65504 (odd) and 65536 (even = overflow): inf
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 (even) and 2^-24: zero
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal units: even
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // tie: even mantissa 0
      [1 + 3 * 2 ** -11, 0x3c02], // tie: even mantissa 2
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [1e6, 0x7c00],
    ];
    expect(cases.map(([x]) => f32ToF16(x))).toEqual(cases.map(([, h]) => h));
  });

  test("f32ToF16() keeps NaN a NaN", () => {
    const h = f32ToF16(NaN);
    expect([h & 0x7c00, (h & 0x3ff) !== 0]).toEqual([0x7c00, true]);
    expect(f16ToF32(h)).toBeNaN();
  });

  test("f16ToF32() and f32ToF16() round-trip every non-NaN half", () => {
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (!isNaN && f32ToF16(f16ToF32(h)) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });
});

describe("f32ToBf16()", () => {
  test("f32ToBf16() rounds to nearest even and keeps NaN", () => {
    expect([f32ToBf16(1), f32ToBf16(1 + 2 ** -8), f32ToBf16(1 + 3 * 2 ** -8), f32ToBf16(-2)])
      .toEqual([
        0x3f80,
        0x3f80,
        0x3f82,
        0xc000,
      ]);
    expect(bf16ToF32(f32ToBf16(NaN))).toBeNaN();
    expect(bf16ToF32(0x3f80)).toBe(1);
  });
});

describe("packTq2_0()", () => {
  test("packTq2_0() writes the hand-computed bytes for the cyclic pattern", () => {
    const b = packTq2_0(cyclic(256), 0.5);
    expect(b.length).toBe(66);
    // byte 0: elements 0, 32, 64, 96 -> codes 0, 2, 1, 0 -> 0b00_01_10_00
    expect([b[0], b[1], b[2], b[3], b[32], b[64], b[65]]).toEqual([
      0x18,
      0x61,
      0x86,
      0x18,
      0x86,
      0x00,
      0x38,
    ]);
  });

  test("packTq2_0() gives an all-zero block d = 0 when given one scale", () => {
    const b = packTq2_0(new Int8Array(256), 0.5);
    expect([b[64], b[65], b[0]]).toEqual([0, 0, 0x55]);
  });

  test("packTq2_0() rejects a bad length or value", () => {
    expect(() => packTq2_0(new Int8Array(255), 1)).toThrow(RangeError);
    expect(() => packTq2_0(new Int8Array(256).fill(2), 1)).toThrow(RangeError);
  });
});

describe("packTq1_0()", () => {
  test("packTq1_0() writes the hand-computed bytes for the cyclic pattern", () => {
    const b = packTq1_0(cyclic(256), 0.5);
    expect(b.length).toBe(54);
    // qs[0]: elements 0,32,64,96,128 -> codes 0,2,1,0,2 -> v = 65 -> ceil(65*256/243) = 69
    // qs[1]: codes 1,0,2,1,0 -> v = 102 -> 108; qs[32]: elements 160..224 step 16 -> 1,2,0,1,2 -> 140 -> 148
    // qh[0]: elements 240,244,248,252 -> 0,1,2,0 -> 15*3 = 45 -> 48
    expect([b[0], b[1], b[32], b[48], b[52], b[53]]).toEqual([69, 108, 148, 48, 0x00, 0x38]);
  });

  test("packTq1_0() rejects a bad length", () => {
    expect(() => packTq1_0(new Int8Array(100), 1)).toThrow(RangeError);
  });
});

describe("packI2S()", () => {
  test("packI2S() writes the hand-computed bytes, the f32 scale at n/4 and a zero tail", () => {
    const b = packI2S(cyclic(128), 0.25);
    expect(b.length).toBe(64);
    // byte 0: elements 0,32,64,96 -> codes 0,2,1,0 in bits 7-6,5-4,3-2,1-0 -> 0x24
    expect(Array.from(b.subarray(0, 2))).toEqual([0x24, 0x49]);
    expect(Array.from(b.subarray(32, 36))).toEqual([0x00, 0x00, 0x80, 0x3e]);
    expect(b.subarray(36).every((x) => x === 0)).toBe(true);
  });

  test("packI2S() rejects a length that is not whole 128-element blocks", () => {
    expect(() => packI2S(new Int8Array(64), 1)).toThrow(RangeError);
  });
});

describe("dequantizeRow()", () => {
  test("dequantizeRow() inverts the three ternary packers exactly", () => {
    const t = awkwardTernary();
    const scale = 0.01171875; // f16-exact
    const expected = Array.from(t, (v) => v * scale);
    const perBlock = new Float32Array(5).fill(scale);
    expect(Array.from(dequantizeRow(GgmlType.TQ2_0, packTq2_0(t, scale)))).toEqual(expected);
    expect(Array.from(dequantizeRow(GgmlType.TQ1_0, packTq1_0(t, perBlock)))).toEqual(expected);
    expect(Array.from(dequantizeRow(GgmlType.I2_S, packI2S(t, scale)))).toEqual(expected);
    const row = packI2S(t, scale).subarray(64, 128); // the second 256-element row, codes only
    expect(Array.from(dequantizeRow(GgmlType.I2_S, row, { i2sScale: scale }))).toEqual(
      expected.slice(256, 512),
    );
  });

  test("dequantizeRow() round-trips F32 exactly and F16 / BF16 within half an ulp", () => {
    const x = fillNormalish(new Float32Array(512), createPrng(3), { std: 100 });
    x[0] = 0;
    x[1] = 1e-7;
    x[2] = -65504;
    expect(dequantizeRow(GgmlType.F32, quantizeRow(GgmlType.F32, x))).toEqual(x);
    expectClose(
      dequantizeRow(GgmlType.F16, quantizeF16(x)),
      x,
      (v) => Math.max(Math.abs(v) * 2 ** -11, 2 ** -25),
    );
    expectClose(dequantizeRow(GgmlType.BF16, quantizeBf16(x)), x, (v) => Math.abs(v) * 2 ** -8);
  });

  test("dequantizeRow() round-trips Q8_0 within half a step per block", () => {
    const x = fillNormalish(new Float32Array(32 * 6), createPrng(4));
    x.fill(0, 32, 64); // all-zero block
    x[70] = 50; // outlier
    const y = dequantizeRow(GgmlType.Q8_0, quantizeQ8_0(x));
    for (let b = 0; b < 6; b++) {
      const amax = Math.max(...x.subarray(32 * b, 32 * b + 32).map(Math.abs));
      expectClose(
        y.subarray(32 * b, 32 * b + 32),
        x.subarray(32 * b, 32 * b + 32),
        () => amax / 127 * 0.51 + 1e-3 * amax,
      );
    }
  });

  test("dequantizeRow() round-trips Q6_K within one step of each 16-element sub-block", () => {
    const x = fillNormalish(new Float32Array(256 * 4), createPrng(5));
    x.fill(0, 256, 512); // all-zero block
    x.fill(3, 600, 616); // constant sub-block
    x[800] = -40; // outlier
    const y = dequantizeRow(GgmlType.Q6_K, quantizeQ6_K(x));
    for (let s = 0; s < x.length / 16; s++) {
      const sub = x.subarray(16 * s, 16 * s + 16);
      const block = x.subarray(256 * (s >> 4), 256 * (s >> 4) + 256);
      const step = Math.max(...sub.map(Math.abs)) / 31 +
        Math.max(...block.map(Math.abs)) / 31 / 127 * 1.01;
      expectClose(y.subarray(16 * s, 16 * s + 16), sub, () => step / 2 + 1e-6);
    }
  });

  test("dequantizeRow() decodes a hand-built Q4_0 block", () => {
    const b = new Uint8Array(18);
    b[1] = 0x3c; // d = 1
    for (let j = 0; j < 16; j++) b[2 + j] = j | ((15 - j) << 4);
    const expected = [
      ...Array.from({ length: 16 }, (_, j) => j - 8),
      ...Array.from({ length: 16 }, (_, j) => 7 - j),
    ];
    expect(Array.from(dequantizeRow(GgmlType.Q4_0, b))).toEqual(expected);
  });

  test("dequantizeRow() decodes a hand-built Q4_K block", () => {
    const b = new Uint8Array(144);
    b.set([0x00, 0x3c, 0x00, 0x38]); // d = 1, dmin = 0.5
    b.set([1, 2, 3, 4, 0, 0, 0, 0, 0x15, 0x26, 0x37, 0x48], 4); // (scale, min): (1,0)(2,0)(3,0)(4,0)(5,1)(6,2)(7,3)(8,4)
    b.fill(0x21, 16); // low nibble 1, high nibble 2
    const y = dequantizeRow(GgmlType.Q4_K, b);
    const perSub = [1, 4, 3, 8, 4.5, 11, 5.5, 14];
    expect([0, 32, 64, 96, 128, 160, 192, 224].map((e) => y[e])).toEqual(perSub);
    expect(y[255]).toBe(14);
  });

  test("dequantizeRow() writes into out and honours n", () => {
    const out = new Float32Array(300).fill(9);
    dequantizeRow(GgmlType.TQ2_0, packTq2_0(cyclic(512), 1), { n: 256, out });
    expect([out[0], out[1], out[254], out[256]]).toEqual([-1, 0, 1, 9]);
  });

  test("dequantizeRow() rejects short input and unsupported types", () => {
    expect(() => dequantizeRow(GgmlType.TQ2_0, new Uint8Array(65), { n: 256 })).toThrow(RangeError);
    expect(() => dequantizeRow(GgmlType.Q5_K, new Uint8Array(176))).toThrow(RangeError);
    expect(() => dequantizeRow(GgmlType.F16, new Uint8Array(8), { out: new Float32Array(2) }))
      .toThrow(RangeError);
  });
});

function expectClose(
  actual: Float32Array,
  expected: Float32Array,
  tolerance: (v: number) => number,
): void {
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    if (!(Math.abs(actual[i]! - e) <= tolerance(e))) bad.push(`${i}: ${actual[i]} vs ${e}`);
  }
  expect(bad).toEqual([]);
}

describe("quantizeF16()", () => {
  test("quantizeF16() matches f32ToF16() on every f16 boundary and tie", () => {
    const values: number[] = [];
    for (let h = 0; h < 0x7c00; h += 7) {
      const lo = f16ToF32(h);
      const hi = f16ToF32(h + 1);
      values.push(
        lo,
        -lo,
        (lo + hi) / 2,
        -(lo + hi) / 2,
        lo + (hi - lo) * 0.499,
        lo + (hi - lo) * 0.501,
      );
    }
    values.push(65504, 65519, 65520, 1e9, 2 ** -14, 2 ** -14 * (1 - 2 ** -12), Infinity, NaN);
    const x = Float32Array.from(values);
    const fast = new Uint16Array(quantizeF16(x).buffer);
    expect(Array.from(fast)).toEqual(Array.from(x, (v) => f32ToF16(v)));
  });
});
