/**
 * @module Code point classes for the pre-tokenizers, with llama.cpp's semantics (FORK
 * `src/unicode.cpp`): letter = \p{L}, number = \p{N}, whitespace = the Unicode White_Space
 * property (includes U+0085, excludes U+FEFF, unlike JS `\s`). Every code point also has
 * FLAG_DEFINED: llama.cpp's flag set is never empty for a real code point (unassigned ones
 * carry its UNDEFINED bit, so they behave like punctuation); only "past the end" is empty.
 * Pure: no I/O; the lazily filled table is a cache. Private to `tokenizer/`.
 */

/** Flag: the code point is a letter (\p{L}). */
export const FLAG_LETTER = 1;
/** Flag: the code point is a number (\p{N}). */
export const FLAG_NUMBER = 2;
/** Flag: the code point has the White_Space property. */
export const FLAG_WHITESPACE = 4;
/** Flag: a code point is there (not past the end); llama.cpp's `flags.as_uint() != 0`. */
export const FLAG_DEFINED = 8;
/** Internal marker: this table entry has been computed. */
const FLAG_COMPUTED = 0x80;

const MAX_CODE_POINT = 0x10ffff;

// One byte per code point (1.1 MB), filled on first use of each code point: JS regexes with
// the `u` flag know the Unicode tables, so no table is shipped here.
const TABLE = new Uint8Array(MAX_CODE_POINT + 1);

const RE_LETTER = /^\p{L}$/u;
const RE_NUMBER = /^\p{N}$/u;
const RE_WHITESPACE = /^\p{White_Space}$/u;

function computeFlags(cp: number): number {
  const s = String.fromCodePoint(cp);
  let f = FLAG_COMPUTED | FLAG_DEFINED;
  if (RE_LETTER.test(s)) f |= FLAG_LETTER;
  if (RE_NUMBER.test(s)) f |= FLAG_NUMBER;
  if (RE_WHITESPACE.test(s)) f |= FLAG_WHITESPACE;
  return f;
}

for (let cp = 0; cp < 0x80; cp++) TABLE[cp] = computeFlags(cp);

/**
 * The class flags of one code point (`FLAG_*` bits), or 0 for -1 (out of range).
 *
 * @param cp a code point in 0..0x10FFFF, or -1 meaning "past the end of the text"
 * @returns the OR of the matching `FLAG_*` constants
 */
export function codePointFlags(cp: number): number {
  if (cp < 0) return 0;
  let f = TABLE[cp]!;
  if (f === 0) {
    f = computeFlags(cp);
    TABLE[cp] = f;
  }
  return f & ~FLAG_COMPUTED;
}

/** Code points of a string plus the UTF-16 offset where each one starts. */
export interface CodePoints {
  /** One entry per code point. */
  readonly cps: Uint32Array;
  /** `offsets[i]` is the UTF-16 index of code point i; `offsets[cps.length]` = text length. */
  readonly offsets: Uint32Array;
}

/**
 * Splits a JS string into code points, remembering where each starts so that code point
 * ranges can be sliced back out of the string.
 *
 * @param text the text; a lone surrogate is kept as one code point (callers make text
 *   well-formed first)
 * @returns the code points and their UTF-16 offsets
 */
export function toCodePoints(text: string): CodePoints {
  const cps = new Uint32Array(text.length);
  const offsets = new Uint32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    offsets[n] = i;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        cps[n++] = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        continue;
      }
    }
    cps[n++] = c;
  }
  offsets[n] = text.length;
  return { cps: cps.subarray(0, n), offsets: offsets.subarray(0, n + 1) };
}

/**
 * Encodes a string as UTF-8 (lone surrogates become U+FFFD, as TextEncoder does).
 *
 * @param text any string
 * @returns the UTF-8 bytes
 */
export function utf8Encode(text: string): Uint8Array {
  return ENCODER.encode(text);
}

const ENCODER = new TextEncoder();
