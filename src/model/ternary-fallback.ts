/**
 * @module Where a ternary projection goes when its rows do not fit the chosen ternary type
 * (TQ1_0 / TQ2_0 need row lengths that are multiples of 256, I2_S of 128; bitnet_b1_58-3B has
 * 3200 and 8640): the fallback rule and the two fallback encoders.
 *
 * Rule (the same first step as llama.cpp's llama-quantize, which turns TQ1_0 / TQ2_0 tensors with
 * unfitting rows into Q4_0): rows that are multiples of 32 become Q4_0, any other row length
 * becomes F16. Both hold the ternary values exactly; only the scale is rounded:
 * - Q4_0 (18 bytes per 32, 4.5 bits per weight): an element is (nibble − 8)·d with an f16 d per
 *   block. Ternary t is stored as nibble 8 + k·t with one k in 1..7 for the whole tensor and
 *   d = f16(γ/k), so every weight is t·(k·d). k is the one that brings k·d closest to γ: the
 *   relative error is at most f16's half ulp (2⁻¹¹ ≈ 4.9e-4) and usually far less (the best of
 *   seven roundings; {@link q4_0TernaryScale} returns it). Every block carries the same d.
 * - F16 (16 bits per weight): t·f16(γ), relative error at most 2⁻¹¹, like a TQ block's f16 d.
 * The engine quantizes the input of such a tensor to one int8 row per token, as BitLinear does
 * (docs/engine.md, "Fallback projections"). Pure: no I/O.
 */
import { GgmlType } from "./gguf-format.ts";
import { f16ToF32, f32ToF16, quantizeF16 } from "./quants.ts";

/** Elements per Q4_0 block. */
export const QK4_0 = 32;

/**
 * The type a ternary projection is stored in, and why when it is not the requested one.
 *
 * @param nIn the row length (the projection's input width, GGUF ne[0]).
 * @param type the requested ternary ggml type.
 * @param block the requested type's row multiple (256 for TQ1_0 / TQ2_0, 128 for I2_S).
 * @returns The type, and a reason when it fell back.
 */
export function ternaryStorage(
  nIn: number,
  type: number,
  block: number,
): { type: number; reason?: string } {
  if (nIn % block === 0) return { type };
  const reason = `rows of ${nIn} are not a multiple of ${block}`;
  return { type: nIn % QK4_0 === 0 ? GgmlType.Q4_0 : GgmlType.F16, reason };
}

/**
 * The Q4_0 level k and block scale d that represent γ best: k·d with d = f16(γ/k), k in 1..7.
 *
 * @param gamma the tensor scale (> 0, finite).
 * @returns k, the f16 bits of d, and the relative error |k·d − γ| / γ.
 * @throws {RangeError} When no k gives a finite, nonzero d (γ outside f16's range).
 * @example
 * ```ts
 * q4_0TernaryScale(1).k === 1; // 1 is exact in f16
 * ```
 */
export function q4_0TernaryScale(gamma: number): { k: number; d: number; error: number } {
  let best: { k: number; d: number; error: number } | undefined;
  for (let k = 1; k <= 7; k++) {
    const d = f32ToF16(gamma / k);
    const v = k * f16ToF32(d);
    if (!Number.isFinite(v) || v === 0) continue;
    const error = Math.abs(v - gamma) / gamma;
    if (best === undefined || error < best.error) best = { k, d, error };
  }
  if (best === undefined || !(gamma > 0)) {
    throw new RangeError(
      `Cannot store the ternary scale ${gamma} in Q4_0: it is outside f16's range`,
    );
  }
  return best;
}

/**
 * Packs ternary values × γ as Q4_0: per 32 elements, f16 d then 16 bytes whose low nibble is
 * element j and high nibble element j + 16; nibble = 8 + k·t (see the module comment).
 *
 * @param t ternary values of the whole tensor, length a multiple of 32.
 * @param gamma the tensor scale.
 * @returns 18 bytes per 32 values.
 * @throws {RangeError} On a bad length, a value outside {−1, 0, 1}, or an unrepresentable γ.
 */
export function packTernaryQ4_0(t: Int8Array, gamma: number): Uint8Array {
  if (t.length % QK4_0 !== 0) {
    throw new RangeError(`Cannot pack Q4_0: length ${t.length} is not a multiple of ${QK4_0}`);
  }
  const { k, d } = q4_0TernaryScale(gamma);
  const out = new Uint8Array((t.length / QK4_0) * 18);
  const nibble = (i: number): number => {
    const v = t[i]!;
    if (v !== -1 && v !== 0 && v !== 1) {
      throw new RangeError(`Cannot pack Q4_0: element ${i} is ${v}, not -1, 0 or 1`);
    }
    return 8 + k * v;
  };
  for (let b = 0; b < t.length / QK4_0; b++) {
    const o = 18 * b;
    out[o] = d & 0xff;
    out[o + 1] = d >> 8;
    for (let j = 0; j < 16; j++) {
      out[o + 2 + j] = nibble(QK4_0 * b + j) | (nibble(QK4_0 * b + j + 16) << 4);
    }
  }
  return out;
}

/**
 * Ternary values × γ as F16: t·f16(γ).
 *
 * @param t ternary values.
 * @param gamma the tensor scale.
 * @returns 2 bytes per value.
 */
export function ternaryF16(t: Int8Array, gamma: number): Uint8Array {
  const x = new Float32Array(t.length);
  for (let i = 0; i < t.length; i++) x[i] = t[i]! * gamma;
  return quantizeF16(x);
}
