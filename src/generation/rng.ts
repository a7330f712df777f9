/**
 * @module A small seeded pseudo-random generator (xoshiro128**, seeded by splitmix32) so that
 * sampling is reproducible: the same seed gives the same numbers on every machine. Pure.
 */

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Creates a seeded generator.
 *
 * @param seed any integer (only the low 32 bits are used).
 * @returns a function returning uniform numbers in [0, 1) with 32 bits of resolution.
 * @example
 * ```ts
 * const rng = createRng(42);
 * rng(); // same value on every run
 * ```
 */
export function createRng(seed: number): Rng {
  const sm = splitmix32(seed);
  const s = new Uint32Array([sm(), sm(), sm(), sm()]);
  return () => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
