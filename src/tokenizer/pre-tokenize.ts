/**
 * @module Pre-tokenizers for byte-level BPE: split a raw text fragment into the pieces that
 * BPE merges run inside. Each splitter reproduces llama.cpp (FORK `src/unicode.cpp`) exactly,
 * including where its hand-written splitters differ from a textbook regex engine (the
 * White_Space set; unassigned code points count as "other", like punctuation), so that token
 * ids match llama.cpp bit for bit:
 *
 * - `llama3`: `unicode_regex_split_custom_llama3`, i.e. the Llama-3 tokenizer.json regex
 *   `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
 * - `qwen2`: LLAMA_VOCAB_PRE_TYPE_QWEN2, the Llama-3 regex with `\p{N}` in place of `\p{N}{1,3}`
 *   (llama.cpp runs it through its generic regex path; tests/tokenizer/llama-parity.test.ts
 *   checks that this splitter gives the same ids).
 * - `gpt2`: `unicode_regex_split_custom_gpt2`, the GPT-2 regex
 *   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`.
 * - `default`: llama.cpp's DEFAULT set, four regexes applied in turn, each one cutting every
 *   piece of the previous step into matched and unmatched runs:
 *   `[\p{P}\$\+<=>\^~\|]+`, the GPT-2 regex, `\p{N}+`, `[0-9][0-9][0-9]`.
 *
 * Pure: no I/O. Pieces are returned as substrings of the input, in order, and concatenate back
 * to it exactly.
 */
import {
  codePointFlags,
  FLAG_DEFINED,
  FLAG_LETTER,
  FLAG_NUMBER,
  FLAG_WHITESPACE,
  toCodePoints,
} from "./_unicode.ts";

/** The pre-tokenizers this module implements. */
export type PreTokenizer = "llama3" | "qwen2" | "gpt2" | "default";

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const APOSTROPHE = 0x27;

/** ASCII lower-casing is all the contraction rule needs: its targets are s t r e v m l d. */
function lowerAscii(cp: number): number {
  return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
}

/**
 * Length in code points of a contraction (`'s 't 're 've 'm 'll 'd`) starting at `pos`, or 0.
 * `lower` folds case (Llama-3's `(?i:...)`); GPT-2's rule is case-sensitive.
 */
function contractionLength(cps: Uint32Array, pos: number, lower: boolean): number {
  const n = cps.length;
  if (cps[pos] !== APOSTROPHE || pos + 1 >= n) return 0;
  const a = lower ? lowerAscii(cps[pos + 1]!) : cps[pos + 1]!;
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (pos + 2 >= n) return 0;
  const b = lower ? lowerAscii(cps[pos + 2]!) : cps[pos + 2]!;
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) {
    return 3; // re ve ll
  }
  return 0;
}

/**
 * Splits text with the Llama-3 pre-tokenizer (llama.cpp `unicode_regex_split_custom_llama3`).
 *
 * @param text one raw fragment (special tokens already removed)
 * @returns the pieces, in order; their concatenation is `text`
 * @example
 * ```ts
 * splitLlama3("I'm 1234567!") // ["I", "'m", " ", "123", "456", "7", "!"]
 * ```
 */
export function splitLlama3(text: string): string[] {
  return splitLlama3Like(text, 3);
}

/**
 * Splits text with the Qwen-2 pre-tokenizer (llama.cpp LLAMA_VOCAB_PRE_TYPE_QWEN2, used by Qwen2,
 * Qwen2.5 and Qwen3 vocabularies): the Llama-3 regex with single digits (`\p{N}` for `\p{N}{1,3}`).
 *
 * @param text one raw fragment (special tokens already removed)
 * @returns the pieces, in order; their concatenation is `text`
 * @example
 * ```ts
 * splitQwen2("I'm 1234!") // ["I", "'m", " ", "1", "2", "3", "4", "!"]
 * ```
 */
export function splitQwen2(text: string): string[] {
  return splitLlama3Like(text, 1);
}

/** The Llama-3 splitter with digit runs cut every `maxDigits` code points (3 Llama-3, 1 Qwen-2). */
function splitLlama3Like(text: string, maxDigits: number): string[] {
  const { cps, offsets } = toCodePoints(text);
  const n = cps.length;
  const out: string[] = [];
  const cpAt = (p: number): number => (p < n ? cps[p]! : -1);
  const flagsAt = (p: number): number => (p < n ? codePointFlags(cps[p]!) : 0);
  let prevEnd = 0;
  const addPiece = (end: number): number => {
    const len = end - prevEnd;
    if (len > 0) out.push(text.slice(offsets[prevEnd], offsets[end]));
    prevEnd = end;
    return len;
  };

  let pos = 0;
  while (pos < n) {
    const cp = cps[pos]!;
    const flags = codePointFlags(cp);

    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    const c = contractionLength(cps, pos, true);
    if (c > 0) {
      pos += addPiece(pos + c);
      continue;
    }

    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(cp === CR || cp === LF || (flags & FLAG_NUMBER) !== 0)) {
      if ((flags & FLAG_LETTER) !== 0 || (flagsAt(pos + 1) & FLAG_LETTER) !== 0) {
        pos++;
        while ((flagsAt(pos) & FLAG_LETTER) !== 0) pos++;
        addPiece(pos);
        continue;
      }
    }

    // \p{N}{1,3} (Llama-3) or \p{N} (Qwen-2)
    if ((flags & FLAG_NUMBER) !== 0) {
      let ini = pos;
      while ((flagsAt(pos) & FLAG_NUMBER) !== 0) {
        if (++pos - ini >= maxDigits) {
          addPiece(pos);
          ini = pos;
        }
      }
      addPiece(pos);
      continue;
    }

    // <space>?[^\s\p{L}\p{N}]+[\r\n]*
    // llama.cpp tests "defined" on the first code point itself here (`flags.as_uint()`), and
    // on each following one inside the loop; kept as is for parity.
    let flags2 = cp === SPACE ? flagsAt(pos + 1) : flags;
    const OTHER = FLAG_WHITESPACE | FLAG_LETTER | FLAG_NUMBER;
    if ((flags2 & OTHER) === 0 && flags !== 0) {
      if (cp === SPACE) pos++;
      while ((flags2 & OTHER) === 0 && flags2 !== 0) flags2 = flagsAt(++pos);
      let cp2 = cpAt(pos);
      while (cp2 === CR || cp2 === LF) cp2 = cpAt(++pos);
      addPiece(pos);
      continue;
    }

    let nWhitespace = 0;
    let lastEndCrLf = 0;
    while ((flagsAt(pos + nWhitespace) & FLAG_WHITESPACE) !== 0) {
      const cp2 = cps[pos + nWhitespace];
      if (cp2 === CR || cp2 === LF) lastEndCrLf = pos + nWhitespace + 1;
      nWhitespace++;
    }

    // \s*[\r\n]+
    if (lastEndCrLf > 0) {
      pos = lastEndCrLf;
      addPiece(pos);
      continue;
    }

    // \s+(?!\S)
    if (nWhitespace > 1 && pos + nWhitespace < n) {
      pos += nWhitespace - 1;
      addPiece(pos);
      continue;
    }

    // \s+
    if (nWhitespace > 0) {
      pos += nWhitespace;
      addPiece(pos);
      continue;
    }

    // no match: a lone code point (not reached in practice: every code point is defined)
    addPiece(++pos);
  }
  return out;
}

/**
 * Splits text with the GPT-2 pre-tokenizer (llama.cpp `unicode_regex_split_custom_gpt2`).
 *
 * @param text one raw fragment (special tokens already removed)
 * @returns the pieces, in order; their concatenation is `text`
 * @example
 * ```ts
 * splitGpt2("Hello  world") // ["Hello", " ", " world"]
 * ```
 */
export function splitGpt2(text: string): string[] {
  const { cps, offsets } = toCodePoints(text);
  const n = cps.length;
  const out: string[] = [];
  const flagsAt = (p: number): number => (p < n ? codePointFlags(cps[p]!) : 0);
  let prevEnd = 0;
  const addPiece = (end: number): number => {
    const len = end - prevEnd;
    if (len > 0) out.push(text.slice(offsets[prevEnd], offsets[end]));
    prevEnd = end;
    return len;
  };

  let pos = 0;
  while (pos < n) {
    const cp = cps[pos]!;
    const flags = codePointFlags(cp);

    // 's|'t|'re|'ve|'m|'ll|'d
    const c = contractionLength(cps, pos, false);
    if (c > 0) {
      pos += addPiece(pos + c);
      continue;
    }

    let flags2 = cp === SPACE ? flagsAt(pos + 1) : flags;
    // <space>?\p{L}+
    if ((flags2 & FLAG_LETTER) !== 0) {
      if (cp === SPACE) pos++;
      while ((flags2 & FLAG_LETTER) !== 0) flags2 = flagsAt(++pos);
      addPiece(pos);
      continue;
    }
    // <space>?\p{N}+
    if ((flags2 & FLAG_NUMBER) !== 0) {
      if (cp === SPACE) pos++;
      while ((flags2 & FLAG_NUMBER) !== 0) flags2 = flagsAt(++pos);
      addPiece(pos);
      continue;
    }
    // <space>?[^\s\p{L}\p{N}]+
    const OTHER = FLAG_WHITESPACE | FLAG_LETTER | FLAG_NUMBER;
    if ((flags2 & OTHER) === 0 && (flags2 & FLAG_DEFINED) !== 0) {
      if (cp === SPACE) pos++;
      while ((flags2 & OTHER) === 0 && flags2 !== 0) flags2 = flagsAt(++pos);
      addPiece(pos);
      continue;
    }

    let nWhitespace = 0;
    while ((flagsAt(pos + nWhitespace) & FLAG_WHITESPACE) !== 0) nWhitespace++;

    // \s+(?!\S)
    if (nWhitespace > 1 && pos + nWhitespace < n) {
      pos += nWhitespace - 1;
      addPiece(pos);
      continue;
    }
    // \s+
    if (nWhitespace > 0) {
      pos += nWhitespace;
      addPiece(pos);
      continue;
    }
    // no match
    addPiece(++pos);
  }
  return out;
}

/**
 * Cuts `text` into the runs that `re` matches and the runs between them, as llama.cpp's
 * `unicode_regex_split_stl` does.
 */
function partition(text: string, re: RegExp, out: string[]): void {
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
}

// llama.cpp's std::regex path gives `\p{P}` etc. their Unicode meaning, like JS's `u` flag.
const RE_PUNCTUATION_RUN = /[\p{P}$+<=>^~|]+/gu;
const RE_NUMBER_RUN = /\p{N}+/gu;
const RE_THREE_DIGITS = /[0-9][0-9][0-9]/g;

/**
 * Splits text with llama.cpp's DEFAULT pre-tokenizer (what a gpt2 vocabulary gets from
 * llama.cpp when `tokenizer.ggml.pre` is "default" or absent).
 *
 * @param text one raw fragment (special tokens already removed)
 * @returns the pieces, in order; their concatenation is `text`
 * @example
 * ```ts
 * splitDefault("x 1234") // ["x", " ", "123", "4"]
 * ```
 */
export function splitDefault(text: string): string[] {
  let pieces: string[] = [];
  partition(text, RE_PUNCTUATION_RUN, pieces);
  let next: string[] = [];
  for (const p of pieces) for (const q of splitGpt2(p)) next.push(q);
  pieces = next;
  next = [];
  for (const p of pieces) partition(p, RE_NUMBER_RUN, next);
  pieces = next;
  next = [];
  for (const p of pieces) partition(p, RE_THREE_DIGITS, next);
  return next;
}

/**
 * Splits text with the named pre-tokenizer.
 *
 * @param kind which pre-tokenizer
 * @param text one raw fragment
 * @returns the pieces, in order; their concatenation is `text`
 */
export function preTokenize(kind: PreTokenizer, text: string): string[] {
  switch (kind) {
    case "llama3":
      return splitLlama3(text);
    case "qwen2":
      return splitQwen2(text);
    case "gpt2":
      return splitGpt2(text);
    case "default":
      return splitDefault(text);
  }
}
