/**
 * @module SentencePiece ("llama" vocabularies, formats.md §7.3), matching llama.cpp's
 * `llm_tokenizer_spm_session`: spaces become "▁" (U+2581), symbols start as single code
 * points, and the adjacent pair whose concatenation is a token with the highest score is merged
 * first (ties: leftmost), through a priority queue with stale entries skipped. A final symbol
 * that is not a token is written byte by byte as "<0xHH>" tokens (byte fallback); if such a
 * byte token is missing the one-character token for an ASCII byte is tried, then the unknown
 * token (llama.cpp throws there instead).
 *
 * llama.cpp also keeps a "reverse merge" table to re-split final symbols that are not tokens;
 * every merged symbol is a token by construction (a pair is queued only when its text is one),
 * so that path never runs and is left out. Like llama.cpp, any token, CONTROL included, may be
 * formed by merging (e.g. "<s>" typed as text). Adding the space prefix is the caller's job
 * (it depends on where the fragment sits).
 *
 * Speed: when no token has a "▁" after another character (true for Llama-2), no merge can
 * cross the start of a "▁word" run, so the text is encoded run by run with a per-run cache;
 * the result is the same as merging the whole fragment at once. Pure: no I/O; the cache is
 * private state.
 */
import { utf8Encode } from "./_unicode.ts";
import type { Vocab } from "./vocab.ts";
import { memoizeEncoder } from "./_memo.ts";

/** The SentencePiece whitespace marker U+2581 "▁". */
export const SPM_SPACE = "\u2581";

const HEX = "0123456789ABCDEF";

/** A SentencePiece encoder over one vocabulary. Create with {@link createSpm}. */
export interface Spm {
  /**
   * Tokenizes one raw fragment and appends the ids to `out`. Spaces are escaped here; a
   * leading space for `add_space_prefix` must already be in `text`.
   *
   * @param text raw text, well-formed UTF-16
   * @param out the array to append to
   */
  encodeFragment(text: string, out: number[]): void;
}

/**
 * Builds the SentencePiece encoder for a "llama" vocabulary.
 *
 * @param vocab a vocabulary of kind "spm"
 * @returns the encoder
 * @throws {RangeError} if the vocabulary is not a SentencePiece one
 */
export function createSpm(vocab: Vocab): Spm {
  if (vocab.kind !== "spm") {
    throw new RangeError(
      `Cannot build a SentencePiece encoder: the vocabulary kind is "${vocab.kind}"`,
    );
  }
  const byteToken = new Int32Array(256).fill(-1);
  for (let b = 0; b < 256; b++) {
    const id = vocab.tokenToId.get(`<0x${HEX[b >> 4]}${HEX[b & 15]}>`) ??
      (b < 0x80 ? vocab.tokenToId.get(String.fromCharCode(b)) : undefined) ??
      vocab.unkId;
    if (id !== undefined) byteToken[b] = id;
  }

  // Merges stay inside a run "▁...▁x...x" when no token has a "▁" after another character: no
  // pair can then span the start of the next run, so runs are independent and can be encoded
  // (and cached) one at a time with the same result. True for the Llama-2 vocabulary; checked
  // here so a vocabulary without the property takes the whole-fragment path.
  let canSplit = true;
  for (const t of vocab.tokenToId.keys()) {
    if (/[^\u2581]\u2581/u.test(t)) {
      canSplit = false;
      break;
    }
  }

  const mergeRun = (text: string, out: number[]): void => {
    // Symbols: UTF-16 start and length (0 = merged away), linked list.
    const cap = text.length;
    const start = new Int32Array(cap);
    const len = new Int32Array(cap);
    const prev = new Int32Array(cap);
    const next = new Int32Array(cap);
    let n = 0;
    for (let i = 0; i < text.length; n++) {
      const c = text.charCodeAt(i);
      const l = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length ? 2 : 1;
      start[n] = i;
      len[n] = l;
      prev[n] = n - 1;
      i += l;
      next[n] = i < text.length ? n + 1 : -1;
    }
    if (n === 0) return;

    // Queue entries in parallel arrays; `heap` holds entry indices.
    let entScore = new Float64Array(Math.max(16, n));
    let entLeft = new Int32Array(entScore.length);
    let entRight = new Int32Array(entScore.length);
    let entSize = new Int32Array(entScore.length);
    let heap = new Int32Array(entScore.length);
    let nEntries = 0;
    let heapSize = 0;
    // true if entry a must be popped before entry b: higher score, then smaller left.
    const before = (a: number, b: number): boolean =>
      entScore[a]! > entScore[b]! || (entScore[a] === entScore[b] && entLeft[a]! < entLeft[b]!);

    const tryAddPair = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const size = len[left]! + len[right]!;
      const id = vocab.tokenToId.get(text.slice(start[left], start[left]! + size));
      if (id === undefined) return;
      if (nEntries === entScore.length) {
        const grow = <T extends Float64Array | Int32Array>(a: T, make: (k: number) => T): T => {
          const b = make(a.length * 2);
          b.set(a);
          return b;
        };
        entScore = grow(entScore, (k) => new Float64Array(k));
        entLeft = grow(entLeft, (k) => new Int32Array(k));
        entRight = grow(entRight, (k) => new Int32Array(k));
        entSize = grow(entSize, (k) => new Int32Array(k));
        heap = grow(heap, (k) => new Int32Array(k));
      }
      const e = nEntries++;
      entScore[e] = vocab.scores[id]!;
      entLeft[e] = left;
      entRight[e] = right;
      entSize[e] = size;
      let i = heapSize++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!before(e, heap[parent]!)) break;
        heap[i] = heap[parent]!;
        i = parent;
      }
      heap[i] = e;
    };
    const popEntry = (): number => {
      const top = heap[0]!;
      const last = heap[--heapSize]!;
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= heapSize) break;
        if (child + 1 < heapSize && before(heap[child + 1]!, heap[child]!)) child++;
        if (!before(heap[child]!, last)) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
      return top;
    };

    for (let i = 1; i < n; i++) tryAddPair(i - 1, i);
    while (heapSize > 0) {
      const e = popEntry();
      const left = entLeft[e]!;
      const right = entRight[e]!;
      // Stale: one side was merged away, or grew, since the entry was queued.
      if (len[left] === 0 || len[right] === 0 || len[left]! + len[right]! !== entSize[e]) continue;
      len[left] = len[left]! + len[right]!;
      len[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      tryAddPair(prev[left]!, left);
      tryAddPair(left, next[left]!);
    }

    for (let i = 0; i >= 0; i = next[i]!) {
      const piece = text.slice(start[i], start[i]! + len[i]!);
      const id = vocab.tokenToId.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const b of utf8Encode(piece)) {
        const t = byteToken[b]!;
        if (t >= 0) out.push(t);
      }
    }
  };

  const encodeRun = memoizeEncoder(mergeRun);

  return {
    encodeFragment(raw: string, out: number[]): void {
      const text = raw.replaceAll(" ", SPM_SPACE);
      if (!canSplit) {
        mergeRun(text, out);
        return;
      }
      let start = 0;
      for (let i = 1; i < text.length; i++) {
        if (text.charCodeAt(i) === 0x2581 && text.charCodeAt(i - 1) !== 0x2581) {
          encodeRun(text.slice(start, i), out);
          start = i;
        }
      }
      if (start < text.length) encodeRun(text.slice(start), out);
    },
  };
}
