/**
 * @module Scalar conversions (f16, bf16), ternary packers (TQ1_0, TQ2_0, I2_S), float
 * quantizers (F16, BF16, Q8_0, Q6_K) and one reference dequantizer for every tensor type ARIA
 * reads. These are the readable oracles the native kernels are tested against, and what the
 * model generator writes with. Pure: no I/O. Block layouts are in
 * `docs/formats.md` §1.6, §2 and §3.1; each packer repeats its byte mapping.
 */

import { GgmlType, typeName, typeTraits } from "./gguf-format.ts";

const F32_SCRATCH = new Float32Array(1);
const U32_SCRATCH = new Uint32Array(F32_SCRATCH.buffer);

/**
 * Convert an f32 value to IEEE binary16 bits, rounding to nearest, ties to even (exact).
 * Overflow gives ±inf, NaN stays a (quiet) NaN, tiny values become subnormals or ±0.
 *
 * @param x value (rounded to f32 first).
 * @returns The 16-bit pattern.
 * @example
 * ```ts
 * f32ToF16(65504) === 0x7bff; f32ToF16(1) === 0x3c00;
 * ```
 */
export function f32ToF16(x: number): number {
  F32_SCRATCH[0] = x;
  return f32BitsToF16(U32_SCRATCH[0]!);
}

function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant === 0 ? 0 : 0x200 | (mant >>> 13));
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal (2^-25): rounds to ±0
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h; // h may carry into 0x400, the smallest normal: still correct
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // carry may reach inf: correct
  return sign | h;
}

let f16Table: Float32Array | undefined;

function f16Lookup(): Float32Array {
  if (f16Table !== undefined) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24;
    else if (exp === 31) table[h] = mant === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

/**
 * Convert IEEE binary16 bits to a number (exact).
 *
 * @param h 16-bit pattern.
 * @returns The value.
 */
export function f16ToF32(h: number): number {
  return f16Lookup()[h & 0xffff]!;
}

/**
 * Convert an f32 value to bfloat16 bits (top 16 bits), rounding to nearest even; NaN stays
 * a quiet NaN.
 *
 * @param x value (rounded to f32 first).
 * @returns The 16-bit pattern.
 */
export function f32ToBf16(x: number): number {
  F32_SCRATCH[0] = x;
  return f32BitsToBf16(U32_SCRATCH[0]!);
}

function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Convert bfloat16 bits to a number (exact: shift into the top of an f32).
 *
 * @param h 16-bit pattern.
 * @returns The value.
 */
export function bf16ToF32(h: number): number {
  U32_SCRATCH[0] = (h & 0xffff) << 16;
  return F32_SCRATCH[0]!;
}

function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

function assertBlocks(n: number, block: number, what: string): void {
  if (n % block !== 0) {
    throw new RangeError(`Cannot ${what}: length ${n} is not a multiple of ${block}`);
  }
}

function ternaryCode(t: Int8Array, i: number): number {
  const c = t[i]! + 1;
  if (c < 0 || c > 2) throw new RangeError(`Cannot pack ternary value ${t[i]} at index ${i}`);
  return c;
}

/** Block scale d for block b: given per block, or `scale` if the block has a nonzero, else 0. */
function blockScale(t: Int8Array, b: number, scales: Float32Array | number): number {
  if (typeof scales !== "number") {
    if (scales.length * 256 < t.length) throw new RangeError("Cannot pack: too few block scales");
    return scales[b]!;
  }
  for (let i = b * 256; i < b * 256 + 256; i++) if (t[i] !== 0) return scales;
  return 0; // the reference quantizer gives an all-zero block d = 0 (absmax)
}

function putU16(out: Uint8Array, o: number, h: number): void {
  out[o] = h & 0xff;
  out[o + 1] = h >>> 8;
}

/**
 * Pack ternary values into TQ2_0 (66 bytes per 256): `qs[64]`, then f16 `d` at byte 64.
 * Code c = t + 1 (-1, 0, 1 -> 0, 1, 2). Half h covers elements 128h..128h+127; byte 32h + m
 * holds elements 128h+m, +32, +64, +96 in bits 0-1, 2-3, 4-5, 6-7.
 *
 * @param t ternary values, length a multiple of 256.
 * @param blockScales one d per block, or one number used for every block that has a nonzero
 * value (all-zero blocks get d = 0, as the reference quantizer does).
 * @returns The packed bytes.
 * @throws {RangeError} On a bad length or a value outside {-1, 0, 1}.
 */
export function packTq2_0(t: Int8Array, blockScales: Float32Array | number): Uint8Array {
  assertBlocks(t.length, 256, "pack TQ2_0");
  const nBlocks = t.length / 256;
  const out = new Uint8Array(nBlocks * 66);
  for (let b = 0; b < nBlocks; b++) {
    const x = b * 256;
    const o = b * 66;
    for (let h = 0; h < 2; h++) {
      for (let m = 0; m < 32; m++) {
        const e = x + 128 * h + m;
        out[o + 32 * h + m] = ternaryCode(t, e) | (ternaryCode(t, e + 32) << 2) |
          (ternaryCode(t, e + 64) << 4) | (ternaryCode(t, e + 96) << 6);
      }
    }
    putU16(out, o + 64, f32ToF16(blockScale(t, b, blockScales)));
  }
  return out;
}

/** Base-3 fixed point: v in 0..242 -> ceil(v * 256 / 243), so trit n = ((b * 3^n) & 255) * 3 >> 8. */
function fixedPointTrits(v: number): number {
  return Math.floor((v * 256 + 242) / 243);
}

/**
 * Pack ternary values into TQ1_0 (54 bytes per 256): `qs[48]` (5 trits per byte), `qh[4]`
 * (4 trits + a zero pad trit), f16 `d` at byte 52. A byte stores v = c0·81 + c1·27 + c2·9 +
 * c3·3 + c4 (c0 first = most significant) as ceil(v·256/243). qs[m] (m < 32) holds elements
 * m, m+32, m+64, m+96, m+128; qs[32+m] (m < 16) holds 160+m, 176+m, 192+m, 208+m, 224+m;
 * qh[j] holds 240+j, 244+j, 248+j, 252+j.
 *
 * @param t ternary values, length a multiple of 256.
 * @param blockScales as for {@link packTq2_0}.
 * @returns The packed bytes.
 * @throws {RangeError} On a bad length or a value outside {-1, 0, 1}.
 */
export function packTq1_0(t: Int8Array, blockScales: Float32Array | number): Uint8Array {
  assertBlocks(t.length, 256, "pack TQ1_0");
  const nBlocks = t.length / 256;
  const out = new Uint8Array(nBlocks * 54);
  for (let b = 0; b < nBlocks; b++) {
    const x = b * 256;
    const o = b * 54;
    for (let m = 0; m < 32; m++) {
      let v = 0;
      for (let n = 0; n < 5; n++) v = v * 3 + ternaryCode(t, x + m + 32 * n);
      out[o + m] = fixedPointTrits(v);
    }
    for (let m = 0; m < 16; m++) {
      let v = 0;
      for (let n = 0; n < 5; n++) v = v * 3 + ternaryCode(t, x + 160 + m + 16 * n);
      out[o + 32 + m] = fixedPointTrits(v);
    }
    for (let j = 0; j < 4; j++) {
      let v = 0;
      for (let n = 0; n < 4; n++) v = v * 3 + ternaryCode(t, x + 240 + j + 4 * n);
      out[o + 48 + j] = fixedPointTrits(v * 3);
    }
    putU16(out, o + 52, f32ToF16(blockScale(t, b, blockScales)));
  }
  return out;
}

/**
 * The two I2_S code layouts bitnet.cpp writes under the same type id (docs/models.md, "I2_S
 * layouts"): `"x86"` blocks of 128 elements = 32 bytes (the published files, and every x86 build),
 * `"arm"` blocks of 64 elements = 16 bytes (files quantized by an ARM NEON build since Nov 2025).
 * In a block of `g` bytes, byte b holds elements b, b+g, b+2g, b+3g in bits 7-6, 5-4, 3-2, 1-0.
 */
export type I2sLayout = "x86" | "arm";

/** Bytes per I2_S block (the interleave group) of each layout. */
export const I2S_GROUP_BYTES: Readonly<Record<I2sLayout, number>> = { x86: 32, arm: 16 };

/**
 * Pack a whole tensor into I2_S (bitnet.cpp): n/4 code bytes in blocks of 4·g elements = g
 * bytes (g = 32 for the x86 layout, 16 for the ARM one), byte b of a block holding elements
 * b, b+g, b+2g, b+3g in bits 7-6, 5-4, 3-2, 1-0 (most significant first; codes -1, 0, 1 -> 0, 1,
 * 2), then the f32 tensor scale at byte n/4, then 28 zero bytes: n/4 + 32 bytes in all.
 *
 * @param t ternary values of the whole tensor, length a multiple of 128.
 * @param scale the tensor scale (dequantized weight = t · scale).
 * @param layout the code layout; default x86 (the on-disk contract of published files).
 * @returns The packed bytes.
 * @throws {RangeError} On a bad length or a value outside {-1, 0, 1}.
 */
export function packI2S(t: Int8Array, scale: number, layout: I2sLayout = "x86"): Uint8Array {
  assertBlocks(t.length, 128, "pack I2_S");
  const g = I2S_GROUP_BYTES[layout];
  const out = new Uint8Array(t.length / 4 + 32);
  for (let x = 0; x < t.length; x += 4 * g) {
    const o = x / 4;
    for (let b = 0; b < g; b++) {
      out[o + b] = (ternaryCode(t, x + b) << 6) | (ternaryCode(t, x + b + g) << 4) |
        (ternaryCode(t, x + b + 2 * g) << 2) | ternaryCode(t, x + b + 3 * g);
    }
  }
  new DataView(out.buffer).setFloat32(t.length / 4, scale, true);
  return out;
}

/**
 * Rewrite the n/4 code bytes of an I2_S tensor from one layout to the other (the scale and
 * tail, if present, are copied unchanged). The same permutation as native/src/model.c
 * `i2s_arm_to_x86`.
 *
 * @param data the tensor bytes (at least n/4).
 * @param n elements, a multiple of 128.
 * @param from the layout of `data`.
 * @param to the layout wanted.
 * @returns A new buffer of data.length bytes.
 * @throws {RangeError} On a bad length.
 */
export function relayoutI2S(
  data: Uint8Array,
  n: number,
  from: I2sLayout,
  to: I2sLayout,
): Uint8Array {
  assertBlocks(n, 128, "relayout I2_S");
  if (data.length < n / 4) throw new RangeError(`Cannot relayout I2_S: ${data.length} bytes`);
  const out = Uint8Array.from(data);
  if (from === to) return out;
  const gf = I2S_GROUP_BYTES[from];
  const gt = I2S_GROUP_BYTES[to];
  out.fill(0, 0, n / 4);
  for (let e = 0; e < n; e++) {
    const bf = Math.floor(e / (4 * gf));
    const jf = e % (4 * gf);
    const code = (data[bf * gf + (jf % gf)]! >> (6 - 2 * Math.floor(jf / gf))) & 3;
    const bt = Math.floor(e / (4 * gt));
    const jt = e % (4 * gt);
    out[bt * gt + (jt % gt)]! |= code << (6 - 2 * Math.floor(jt / gt));
  }
  return out;
}

/**
 * Encode f32 values as F16 (little-endian u16 each).
 *
 * @param x values.
 * @returns 2·n bytes.
 */
export function quantizeF16(x: Float32Array): Uint8Array {
  const out = new Uint16Array(x.length);
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) {
    const b = bits[i]!;
    const abs = b & 0x7fffffff;
    if (abs >= 0x38800000 && abs < 0x477ff000) {
      // normal f16 range: round the 13 dropped bits to nearest even, rebias 127 -> 15
      out[i] = ((b >>> 16) & 0x8000) | (((abs + 0xfff + ((abs >>> 13) & 1)) >>> 13) - (112 << 10));
    } else {
      out[i] = f32BitsToF16(b);
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * Encode f32 values as BF16 (little-endian u16 each), round to nearest even.
 *
 * @param x values.
 * @returns 2·n bytes.
 */
export function quantizeBf16(x: Float32Array): Uint8Array {
  const out = new Uint16Array(x.length);
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) out[i] = f32BitsToBf16(bits[i]!);
  return new Uint8Array(out.buffer);
}

/**
 * Quantize to Q8_0 (34 bytes per 32): f16 d = absmax/127, then 32 int8
 * q = round_half_away(x/d) (llama.cpp `quantize_row_q8_0_ref`).
 *
 * @param x values, length a multiple of 32.
 * @returns The packed bytes.
 * @throws {RangeError} On a bad length.
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  assertBlocks(x.length, 32, "quantize Q8_0");
  const out = new Uint8Array((x.length / 32) * 34);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b * 32 + i]!));
    const d = amax / 127;
    const id = d === 0 ? 0 : 1 / d;
    putU16(out, b * 34, f32ToF16(d));
    for (let i = 0; i < 32; i++) {
      out[b * 34 + 2 + i] = Math.max(-127, Math.min(127, roundHalfAway(x[b * 32 + i]! * id))) &
        0xff;
    }
  }
  return out;
}

/**
 * Where element e (0..255) of a Q6_K block lives: half h = e >> 7, quarter q = (e & 127) >> 5,
 * l = e & 31. Low nibble: ql[64h + l + 32·(q & 1)], low or high half for q < 2 or q >= 2.
 * High 2 bits: qh[32h + l] at bit 2q. Sub-scale: scales[8h + ((e & 127) >> 4)], i.e. one per
 * 16 consecutive elements. Tables: QL byte, QL shift, QH byte (from block start), QH shift, scale.
 */
const Q6K_QL = new Uint8Array(256);
const Q6K_QL_SHIFT = new Uint8Array(256);
const Q6K_QH = new Uint8Array(256);
const Q6K_QH_SHIFT = new Uint8Array(256);
const Q6K_SCALE = new Uint8Array(256);
for (let e = 0; e < 256; e++) {
  const h = e >> 7;
  const quarter = (e & 127) >> 5;
  const l = e & 31;
  Q6K_QL[e] = 64 * h + l + (quarter & 1) * 32;
  Q6K_QL_SHIFT[e] = quarter >> 1 ? 4 : 0;
  Q6K_QH[e] = 128 + 32 * h + l;
  Q6K_QH_SHIFT[e] = 2 * quarter;
  Q6K_SCALE[e] = 8 * h + ((e & 127) >> 4);
}

/**
 * Quantize to Q6_K (210 bytes per 256) with a simple scheme (not llama.cpp's search): each
 * run of 16 consecutive elements gets sub-scale s = absmax/31; the block's f16 d = max(s)/127;
 * int8 sub-scale sc = ceil(s/d) (rounding up, so the step d·sc ≥ s and nothing clips);
 * q = clamp(round(x / (d·sc)), -32, 31), stored as q + 32 in the ql/qh/scales/d layout of
 * formats.md §1.6. Error per element ≤ half a step ≤ (s + d)/2.
 *
 * @param x values, length a multiple of 256.
 * @returns The packed bytes.
 * @throws {RangeError} On a bad length.
 */
export function quantizeQ6_K(x: Float32Array): Uint8Array {
  assertBlocks(x.length, 256, "quantize Q6_K");
  const out = new Uint8Array((x.length / 256) * 210);
  const sub = new Float64Array(16);
  for (let b = 0; b < x.length / 256; b++) {
    const xb = b * 256;
    const o = b * 210;
    let smax = 0;
    for (let j = 0; j < 16; j++) {
      let amax = 0;
      for (let i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(x[xb + 16 * j + i]!));
      sub[j] = amax / 31;
      smax = Math.max(smax, sub[j]!);
    }
    const dBits = f32ToF16(smax / 127);
    const d = f16ToF32(dBits);
    putU16(out, o + 208, dBits);
    for (let j = 0; j < 16; j++) {
      out[o + 192 + j] = d === 0 ? 0 : Math.min(127, Math.ceil(sub[j]! / d)); // ceil: no clipping
    }
    for (let e = 0; e < 256; e++) {
      const ql = o + Q6K_QL[e]!;
      const qh = o + Q6K_QH[e]!;
      const step = d * out[o + 192 + Q6K_SCALE[e]!]!;
      const q = step === 0 ? 0 : Math.max(-32, Math.min(31, roundHalfAway(x[xb + e]! / step)));
      const u = q + 32;
      out[ql] = out[ql]! | ((u & 15) << Q6K_QL_SHIFT[e]!);
      out[qh] = out[qh]! | ((u >> 4) << Q6K_QH_SHIFT[e]!);
    }
  }
  return out;
}

/**
 * Encode f32 values in a float type ARIA writes for embeddings: F32, F16, BF16, Q8_0, Q6_K.
 *
 * @param type ggml type id.
 * @param x values (length a multiple of the type's block size).
 * @returns The encoded bytes.
 * @throws {RangeError} On an unsupported type or a bad length.
 */
export function quantizeRow(type: number, x: Float32Array): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(x.slice().buffer);
    case GgmlType.F16:
      return quantizeF16(x);
    case GgmlType.BF16:
      return quantizeBf16(x);
    case GgmlType.Q8_0:
      return quantizeQ8_0(x);
    case GgmlType.Q6_K:
      return quantizeQ6_K(x);
  }
  throw new RangeError(`Cannot quantize to ${typeName(type)}: unsupported type`);
}

/** Options of {@link dequantizeRow}. */
export interface DequantizeOptions {
  /** Element count; default: inferred from the byte length (I2_S: see dequantizeRow). */
  readonly n?: number;
  /** Destination, at least n long; default: a new array. */
  readonly out?: Float32Array;
  /** I2_S only: the tensor scale, when `bytes` is a row without the scale tail. */
  readonly i2sScale?: number;
}

/**
 * Dequantize a row (or a whole tensor) to f32: F32, F16, BF16, Q4_0, Q4_K, Q6_K, Q8_0, TQ1_0,
 * TQ2_0, I2_S. For I2_S without `i2sScale`, `bytes` is a whole tensor (n/4 codes + 32-byte
 * tail) and the scale is read at byte n/4; with it, `bytes` holds codes only (n = 4·length).
 *
 * @param type ggml type id.
 * @param bytes the encoded data.
 * @param options element count, destination, I2_S scale.
 * @returns `out` (or a new array) holding n values.
 * @throws {RangeError} On an unsupported type, or when bytes or out are too short.
 */
export function dequantizeRow(
  type: number,
  bytes: Uint8Array,
  options: DequantizeOptions = {},
): Float32Array {
  const n = options.n ?? inferCount(type, bytes, options.i2sScale);
  const traits = typeTraits(type);
  if (traits === undefined || !DEQUANTIZERS.has(type)) {
    throw new RangeError(`Cannot dequantize ${typeName(type)}: unsupported type`);
  }
  assertBlocks(n, traits.blockSize, `dequantize ${traits.name}`);
  const need = type === GgmlType.I2_S
    ? n / 4 + (options.i2sScale === undefined ? 4 : 0)
    : (n / traits.blockSize) * traits.blockBytes;
  if (bytes.length < need) {
    throw new RangeError(`Cannot dequantize ${traits.name}: ${bytes.length} bytes, need ${need}`);
  }
  const out = options.out ?? new Float32Array(n);
  if (out.length < n) throw new RangeError(`Cannot dequantize: out holds ${out.length}, need ${n}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  DEQUANTIZERS.get(type)!(view, n, out, options.i2sScale);
  return out;
}

function inferCount(type: number, bytes: Uint8Array, i2sScale: number | undefined): number {
  if (type === GgmlType.I2_S) {
    return i2sScale === undefined ? (bytes.length - 32) * 4 : bytes.length * 4;
  }
  const traits = typeTraits(type);
  if (traits === undefined) {
    throw new RangeError(`Cannot dequantize ${typeName(type)}: unsupported type`);
  }
  return Math.floor(bytes.length / traits.blockBytes) * traits.blockSize;
}

type Dequantizer = (v: DataView, n: number, out: Float32Array, i2sScale?: number) => void;

const DEQUANTIZERS: ReadonlyMap<number, Dequantizer> = new Map<number, Dequantizer>([
  [GgmlType.F32, (v, n, out) => {
    for (let i = 0; i < n; i++) out[i] = v.getFloat32(4 * i, true);
  }],
  [GgmlType.F16, (v, n, out) => {
    const t = f16Lookup();
    for (let i = 0; i < n; i++) out[i] = t[v.getUint16(2 * i, true)]!;
  }],
  [GgmlType.BF16, (v, n, out) => {
    for (let i = 0; i < n; i++) out[i] = bf16ToF32(v.getUint16(2 * i, true));
  }],
  [GgmlType.Q8_0, (v, n, out) => {
    for (let b = 0; b < n / 32; b++) {
      const d = f16ToF32(v.getUint16(34 * b, true));
      for (let i = 0; i < 32; i++) out[32 * b + i] = d * v.getInt8(34 * b + 2 + i);
    }
  }],
  [GgmlType.Q4_0, (v, n, out) => {
    for (let b = 0; b < n / 32; b++) {
      const d = f16ToF32(v.getUint16(18 * b, true));
      for (let j = 0; j < 16; j++) {
        const q = v.getUint8(18 * b + 2 + j);
        out[32 * b + j] = ((q & 15) - 8) * d;
        out[32 * b + j + 16] = ((q >> 4) - 8) * d;
      }
    }
  }],
  [GgmlType.Q4_K, dequantizeQ4K],
  [GgmlType.Q6_K, (v, n, out) => {
    for (let b = 0; b < n / 256; b++) {
      const o = 210 * b;
      const d = f16ToF32(v.getUint16(o + 208, true));
      for (let e = 0; e < 256; e++) {
        const q = ((v.getUint8(o + Q6K_QL[e]!) >> Q6K_QL_SHIFT[e]!) & 15) |
          (((v.getUint8(o + Q6K_QH[e]!) >> Q6K_QH_SHIFT[e]!) & 3) << 4);
        out[256 * b + e] = d * v.getInt8(o + 192 + Q6K_SCALE[e]!) * (q - 32);
      }
    }
  }],
  [GgmlType.TQ2_0, (v, n, out) => {
    for (let b = 0; b < n / 256; b++) {
      const d = f16ToF32(v.getUint16(66 * b + 64, true));
      for (let h = 0; h < 2; h++) {
        for (let m = 0; m < 32; m++) {
          const q = v.getUint8(66 * b + 32 * h + m);
          for (let k = 0; k < 4; k++) {
            out[256 * b + 128 * h + 32 * k + m] = (((q >> (2 * k)) & 3) - 1) * d;
          }
        }
      }
    }
  }],
  [GgmlType.TQ1_0, dequantizeTq1],
  [GgmlType.I2_S, (v, n, out, i2sScale) => {
    const scale = i2sScale ?? v.getFloat32(n / 4, true);
    for (let x = 0; x < n; x += 128) {
      for (let b = 0; b < 32; b++) {
        const q = v.getUint8(x / 4 + b);
        for (let k = 0; k < 4; k++) {
          const c = (q >> (6 - 2 * k)) & 3;
          out[x + 32 * k + b] = c === 3 ? 0 : (c - 1) * scale; // code 3 is never written; read as 0
        }
      }
    }
  }],
]);

const POW3 = [1, 3, 9, 27, 81];

function dequantizeTq1(v: DataView, n: number, out: Float32Array): void {
  const trit = (byte: number, k: number) => ((((byte * POW3[k]!) & 255) * 3) >> 8) - 1;
  for (let b = 0; b < n / 256; b++) {
    const o = 54 * b;
    const x = 256 * b;
    const d = f16ToF32(v.getUint16(o + 52, true));
    for (let m = 0; m < 32; m++) {
      const q = v.getUint8(o + m);
      for (let k = 0; k < 5; k++) out[x + m + 32 * k] = trit(q, k) * d;
    }
    for (let m = 0; m < 16; m++) {
      const q = v.getUint8(o + 32 + m);
      for (let k = 0; k < 5; k++) out[x + 160 + m + 16 * k] = trit(q, k) * d;
    }
    for (let j = 0; j < 4; j++) {
      const q = v.getUint8(o + 48 + j);
      for (let k = 0; k < 4; k++) out[x + 240 + j + 4 * k] = trit(q, k) * d;
    }
  }
}

function dequantizeQ4K(v: DataView, n: number, out: Float32Array): void {
  for (let b = 0; b < n / 256; b++) {
    const o = 144 * b;
    const d = f16ToF32(v.getUint16(o, true));
    const dmin = f16ToF32(v.getUint16(o + 2, true));
    const s = (j: number) => v.getUint8(o + 4 + j);
    const scaleMin = (j: number): [number, number] =>
      j < 4 ? [s(j) & 63, s(j + 4) & 63] : [
        (s(j + 4) & 15) | ((s(j - 4) >> 6) << 4),
        (s(j + 4) >> 4) | ((s(j) >> 6) << 4),
      ];
    for (let c = 0; c < 4; c++) {
      const [sc1, m1] = scaleMin(2 * c);
      const [sc2, m2] = scaleMin(2 * c + 1);
      for (let l = 0; l < 32; l++) {
        const q = v.getUint8(o + 16 + 32 * c + l);
        out[256 * b + 64 * c + l] = d * sc1 * (q & 15) - dmin * m1;
        out[256 * b + 64 * c + 32 + l] = d * sc2 * (q >> 4) - dmin * m2;
      }
    }
  }
}
