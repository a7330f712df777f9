/**
 * @module A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32)
 * for synthetic models and tests: same seed, same stream, on every platform, because it uses
 * only 32-bit integer arithmetic. Not for anything secret. Pure: the state lives in the
 * returned object; nothing global.
 */

/** A seeded stream of pseudo-random numbers. */
export interface Prng {
  /** Next unsigned 32-bit integer. */
  nextU32(): number;
  /** Next float in [0, 1) with 32 random bits. */
  nextFloat(): number;
}

/**
 * Hash a string to 32 bits (FNV-1a over UTF-16 code units), to derive per-tensor seeds.
 *
 * @param s text.
 * @returns An unsigned 32-bit hash.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Create a xoshiro128** generator whose 128-bit state is filled by splitmix32 from `seed`.
 *
 * @param seed any number; only its low 32 bits are used.
 * @param stream optional second 32-bit word mixed into the seed (e.g. a name hash).
 * @returns The generator.
 * @example
 * ```ts
 * const rng = createPrng(42);
 * rng.nextU32(); // same value on every run
 * ```
 */
export function createPrng(seed: number, stream = 0): Prng {
  let sm = (seed ^ Math.imul(stream, 0x9e3779b9)) >>> 0;
  const splitmix = (): number => {
    sm = (sm + 0x9e3779b9) | 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const nextU32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  return { nextU32, nextFloat: () => nextU32() / 4294967296 };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * Fill `t` with ternary values: each byte of a 32-bit draw gives one value,
 * floor(byte·3/256) − 1, so P(−1) = 86/256 and P(0) = P(+1) = 85/256.
 *
 * @param t destination.
 * @param rng generator.
 * @returns `t`.
 */
export function fillTernary(t: Int8Array, rng: Prng): Int8Array {
  const n = t.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const r = rng.nextU32();
    t[i] = ((r & 255) * 3 >> 8) - 1;
    t[i + 1] = (((r >>> 8) & 255) * 3 >> 8) - 1;
    t[i + 2] = (((r >>> 16) & 255) * 3 >> 8) - 1;
    t[i + 3] = ((r >>> 24) * 3 >> 8) - 1;
  }
  for (; i < n; i++) t[i] = ((rng.nextU32() & 255) * 3 >> 8) - 1;
  return t;
}

// Sum of 4 uniform bytes: mean 510, variance 4 * (256² - 1) / 12.
const BYTE_SUM_STD = Math.sqrt((4 * (256 * 256 - 1)) / 12);

/**
 * Fill `x` with roughly normal values (Irwin–Hall: the sum of the four bytes of one 32-bit
 * draw, centred and scaled): exact integer arithmetic, so deterministic everywhere, and bounded
 * to about ±3.45 std.
 *
 * @param x destination.
 * @param rng generator.
 * @param options mean (default 0) and standard deviation (default 1).
 * @returns `x`.
 */
export function fillNormalish(
  x: Float32Array,
  rng: Prng,
  options: Readonly<{ mean?: number; std?: number }> = {},
): Float32Array {
  const mean = options.mean ?? 0;
  const k = (options.std ?? 1) / BYTE_SUM_STD;
  for (let i = 0; i < x.length; i++) {
    const r = rng.nextU32();
    const s = (r & 255) + ((r >>> 8) & 255) + ((r >>> 16) & 255) + (r >>> 24);
    x[i] = mean + (s - 510) * k;
  }
  return x;
}
