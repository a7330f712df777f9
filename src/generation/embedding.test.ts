import { describe, expect, test } from "bun:test";
import { normalizeL2, poolEmbedding, rmsNormRow, truncateEmbedding } from "./embedding.ts";

const E = 4;
const W = new Float32Array([1, 2, 0.5, -1]);
/** three rows of four */
const HIDDEN = new Float32Array([1, 0, 0, 0, 0, 2, 0, 0, 3, 4, 0, 1]);

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

describe("embedding pooling", () => {
  test("rmsNormRow: x / rms(x) * w", () => {
    const out = rmsNormRow(new Float32Array([3, 4, 0, 0]), W, 0);
    const rms = Math.sqrt((9 + 16) / 4);
    expect(Array.from(out)).toEqual([3 / rms, 8 / rms, 0, -0].map(Math.fround));
  });
  test("last and cls pool one row after the final norm, then L2", () => {
    const spec = { outputNorm: W, eps: 1e-6 };
    const last = poolEmbedding(HIDDEN, { ...spec, pooling: "last" });
    const cls = poolEmbedding(HIDDEN, { ...spec, pooling: "cls" });
    expect(norm(last)).toBeCloseTo(1, 6);
    const lastRow = normalizeL2(rmsNormRow(HIDDEN.subarray(8, 12), W, 1e-6));
    expect(Array.from(last)).toEqual(Array.from(lastRow));
    const clsRow = normalizeL2(rmsNormRow(HIDDEN.subarray(0, 4), W, 1e-6));
    expect(Array.from(cls)).toEqual(Array.from(clsRow));
    expect(Array.from(cls)).not.toEqual(Array.from(last));
  });
  test("mean averages the normed rows", () => {
    const mean = poolEmbedding(HIDDEN, { outputNorm: W, eps: 1e-6, pooling: "mean" });
    const rows = [0, 1, 2].map((i) => rmsNormRow(HIDDEN.subarray(i * E, (i + 1) * E), W, 1e-6));
    const avg = new Float32Array(E).map((_, j) => rows.reduce((s, r) => s + r[j]!, 0) / 3);
    const want = normalizeL2(avg);
    for (let j = 0; j < E; j++) expect(mean[j]!).toBeCloseTo(want[j]!, 6);
  });
  test("a zero vector stays zero; bad shapes are refused", () => {
    expect(Array.from(normalizeL2(new Float32Array(3)))).toEqual([0, 0, 0]);
    expect(() => poolEmbedding(new Float32Array(5), { outputNorm: W, eps: 0, pooling: "last" }))
      .toThrow(RangeError);
    expect(() => poolEmbedding(new Float32Array(0), { outputNorm: W, eps: 0, pooling: "last" }))
      .toThrow(RangeError);
  });
  test("truncation keeps a prefix and normalizes it again", () => {
    const v = normalizeL2(new Float32Array([3, 4, 12, 0]));
    const t = truncateEmbedding(v, 2);
    expect(Array.from(t).map((x) => +x.toFixed(6))).toEqual([0.6, 0.8]);
    expect(truncateEmbedding(v, 4)).toBe(v);
    expect(() => truncateEmbedding(v, 0)).toThrow(RangeError);
    expect(() => truncateEmbedding(v, 5)).toThrow(RangeError);
  });
});
