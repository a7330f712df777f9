/**
 * @module Byte-level BPE ("gpt2" vocabularies, formats.md §7.2), matching llama.cpp's
 * `llm_tokenizer_bpe_session`: pre-tokenize a raw fragment, map each piece's UTF-8 bytes to
 * GPT-2's printable alphabet, emit the piece whole if `ignoreMerges` and it is a token, else
 * merge adjacent symbols lowest-rank first (ties: leftmost) with a priority queue, and emit the
 * id of each final symbol (or, for a symbol that is not a token, the ids of its single-byte
 * ASCII tokens, as llama.cpp does).
 *
 * Speed: symbols are integer ids, not strings. Every string that can take part in a merge (each
 * merge's halves and result, each single byte) gets an id: its token id when it is a token,
 * else a "virtual" id past the vocabulary. A merge is then a Map lookup on the id pair, and
 * results are cached per piece. Pure: no I/O; the cache is private state.
 */
import { preTokenize } from "./pre-tokenize.ts";
import { utf8Encode } from "./_unicode.ts";
import type { Vocab } from "./vocab.ts";
import { memoizeEncoder } from "./_memo.ts";

/**
 * GPT-2's bytes-to-unicode table: byte b is written as the code point `BYTE_TO_CHAR[b]`.
 * Bytes 0x21-0x7E, 0xA1-0xAC and 0xAE-0xFF map to themselves; the other 68 bytes, in order,
 * to U+0100, U+0101, ... (space -> U+0120 "Ġ", LF -> U+010A "Ċ").
 */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

function buildByteToChar(): string[] {
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    out[b] = String.fromCharCode(printable ? b : 0x100 + extra++);
  }
  return out;
}

/** Inverse of {@link BYTE_TO_CHAR}: code point -> byte, or -1. Covers U+0000..U+0143. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1);
  for (let b = 0; b < 256; b++) t[BYTE_TO_CHAR[b]!.charCodeAt(0)] = b;
  return t;
})();

/**
 * Maps bytes to GPT-2's alphabet.
 *
 * @param bytes raw bytes (usually UTF-8 text)
 * @returns the mapped string, one code point per byte
 */
export function bytesToBpeText(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

/**
 * Maps a string in GPT-2's alphabet back to bytes. A code point outside the alphabet (never
 * produced by the mapping) is kept as its own UTF-8 bytes.
 *
 * @param text a token text from a gpt2 vocabulary
 * @returns the raw bytes
 */
export function bpeTextToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp]! : -1;
    if (b >= 0) out.push(b);
    else for (const u of utf8Encode(ch)) out.push(u);
  }
  return Uint8Array.from(out);
}

const TWO_POW_32 = 4294967296;

/** A byte-level BPE encoder over one vocabulary. Create with {@link createBpe}. */
export interface Bpe {
  /**
   * Tokenizes one raw fragment (no special-token handling) and appends the ids to `out`.
   *
   * @param text raw text, well-formed UTF-16
   * @param out the array to append to
   */
  encodeFragment(text: string, out: number[]): void;
  /**
   * Tokenizes one pre-tokenized piece (no splitting) and appends the ids to `out`.
   *
   * @param piece one piece as produced by the pre-tokenizer
   * @param out the array to append to
   */
  encodePiece(piece: string, out: number[]): void;
}

/**
 * Builds the BPE encoder for a gpt2 vocabulary: merge ranks keyed by symbol-id pairs, the byte
 * symbols, and the whole-piece lookup used when `ignoreMerges` is set.
 *
 * @param vocab a vocabulary of kind "bpe"
 * @returns the encoder
 * @throws {RangeError} if the vocabulary is not a BPE one
 */
export function createBpe(vocab: Vocab): Bpe {
  if (vocab.kind !== "bpe") {
    throw new RangeError(`Cannot build a BPE encoder: the vocabulary kind is "${vocab.kind}"`);
  }
  const nVocab = vocab.tokens.length;
  const virtualTexts: string[] = []; // mapped texts of virtual ids nVocab, nVocab+1, ...
  const virtualIds = new Map<string, number>();
  const symbolId = (text: string): number => {
    const id = vocab.tokenToId.get(text);
    if (id !== undefined) return id;
    let v = virtualIds.get(text);
    if (v === undefined) {
      v = nVocab + virtualTexts.length;
      virtualTexts.push(text);
      virtualIds.set(text, v);
    }
    return v;
  };

  // Initial symbols: one per byte.
  const byteSymbol = new Int32Array(256);
  for (let b = 0; b < 256; b++) byteSymbol[b] = symbolId(BYTE_TO_CHAR[b]!);

  // Ranks. A merge string is split at its first space at index >= 1 (llama.cpp); the first
  // occurrence of a pair keeps its rank. The id of each merge's result is looked up the first
  // time the merge is used (most never are), which keeps building the encoder cheap.
  const merges = vocab.merges;
  const table = createPairTable(merges.length);
  const mergeResult = new Int32Array(merges.length).fill(-1);
  for (let rank = 0; rank < merges.length; rank++) {
    const m = merges[rank]!;
    const sp = m.indexOf(" ", 1);
    if (sp >= 0) table.add(symbolId(m.slice(0, sp)), symbolId(m.slice(sp + 1)), rank);
  }
  const rankOf = table.get;
  const symbolText = (id: number): string =>
    id < nVocab ? vocab.tokens[id]! : virtualTexts[id - nVocab]!;
  const resultOf = (rank: number, left: number, right: number): number => {
    let id = mergeResult[rank]!;
    if (id < 0) {
      id = symbolId(symbolText(left) + symbolText(right));
      mergeResult[rank] = id;
    }
    return id;
  };

  // Scratch buffers, grown on demand.
  let symbols = new Int32Array(64);
  let next = new Int32Array(64);
  let prev = new Int32Array(64);
  let heap = new Float64Array(128);
  let heapSize = 0;

  const heapPush = (key: number): void => {
    if (heapSize === heap.length) {
      const h = new Float64Array(heap.length * 2);
      h.set(heap);
      heap = h;
    }
    let i = heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = heap[parent]!;
      if (pk <= key) break;
      heap[i] = pk;
      i = parent;
    }
    heap[i] = key;
  };
  const heapPop = (): number => {
    const top = heap[0]!;
    const last = heap[--heapSize]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= heapSize) break;
      if (child + 1 < heapSize && heap[child + 1]! < heap[child]!) child++;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  };
  const pushPair = (left: number, right: number): void => {
    const rank = rankOf(symbols[left]!, symbols[right]!);
    // Key = rank * 2^32 + left: smallest rank first, then leftmost (exact in a double).
    if (rank >= 0) heapPush(rank * TWO_POW_32 + left);
  };

  const emitVirtual = (id: number, out: number[]): void => {
    // llama.cpp: a final symbol that is not a token is emitted as the tokens of its
    // single-byte substrings; only ASCII printable bytes can be such tokens.
    for (const b of bpeTextToBytes(virtualTexts[id - nVocab]!)) {
      if (b < 0x21 || b > 0x7e) continue;
      const t = vocab.tokenToId.get(String.fromCharCode(b));
      if (t !== undefined) out.push(t);
    }
  };

  const mergePiece = (piece: string, out: number[]): void => {
    const bytes = utf8Encode(piece);
    if (vocab.ignoreMerges) {
      const whole = vocab.tokenToId.get(bytesToBpeText(bytes));
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    const n = bytes.length;
    if (n > symbols.length) {
      const size = Math.max(n, symbols.length * 2);
      symbols = new Int32Array(size);
      next = new Int32Array(size);
      prev = new Int32Array(size);
    }
    for (let i = 0; i < n; i++) {
      symbols[i] = byteSymbol[bytes[i]!]!;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    heapSize = 0;
    for (let i = 0; i + 1 < n; i++) pushPair(i, i + 1);
    while (heapSize > 0) {
      const key = heapPop();
      const rank = Math.floor(key / TWO_POW_32);
      const left = key - rank * TWO_POW_32;
      if (symbols[left]! < 0) continue; // merged into its left neighbour
      const right = next[left]!;
      if (right < 0) continue;
      // Stale entry: the pair at `left` changed since it was queued.
      if (rankOf(symbols[left]!, symbols[right]!) !== rank) continue;
      symbols[left] = resultOf(rank, symbols[left]!, symbols[right]!);
      symbols[right] = -1;
      const after = next[right]!;
      next[left] = after;
      if (after >= 0) prev[after] = left;
      if (prev[left]! >= 0) pushPair(prev[left]!, left);
      if (after >= 0) pushPair(left, after);
    }
    for (let i = 0; i >= 0; i = next[i]!) {
      const id = symbols[i]!;
      if (id < nVocab) out.push(id);
      else emitVirtual(id, out);
    }
  };

  const encodePiece = memoizeEncoder(mergePiece);

  return {
    encodePiece,
    encodeFragment(text: string, out: number[]): void {
      for (const piece of preTokenize(vocab.pre, text)) encodePiece(piece, out);
    },
  };
}

/** Open-addressing hash table (a, b) -> rank over typed arrays; the first rank added wins. */
function createPairTable(nPairs: number): {
  add(a: number, b: number, rank: number): void;
  get(a: number, b: number): number;
} {
  let bits = 4;
  while (1 << bits < nPairs * 2) bits++;
  const mask = (1 << bits) - 1;
  const shift = 32 - bits;
  const keyA = new Int32Array(mask + 1);
  const keyB = new Int32Array(mask + 1);
  const value = new Int32Array(mask + 1).fill(-1);
  const slot = (a: number, b: number): number =>
    (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> shift;
  return {
    add(a: number, b: number, rank: number): void {
      for (let i = slot(a, b);; i = (i + 1) & mask) {
        if (value[i] === -1) {
          keyA[i] = a;
          keyB[i] = b;
          value[i] = rank;
          return;
        }
        if (keyA[i] === a && keyB[i] === b) return;
      }
    },
    get(a: number, b: number): number {
      for (let i = slot(a, b);; i = (i + 1) & mask) {
        const v = value[i]!;
        if (v === -1 || (keyA[i] === a && keyB[i] === b)) return v;
      }
    },
  };
}
