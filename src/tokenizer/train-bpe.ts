/**
 * @module Byte-level BPE training (the "gpt2" vocabulary kind, formats.md §7.2): count the
 * pre-tokenized words of a corpus, start from the 256 bytes, and repeatedly merge the most
 * frequent adjacent pair until the vocabulary has the requested size. The result is what a
 * GGUF stores (`tokenizer.ggml.tokens` in GPT-2's byte alphabet, `tokenizer.ggml.merges` in
 * rank order), so llama.cpp and {@link createBpe} encode with it exactly as training split.
 *
 * Pair counts are kept incrementally: a merge only revisits the words that contain the pair
 * (an index pair -> words), so training a few thousand merges over a million words takes
 * seconds. Ties between equally frequent pairs go to the pair whose merged text sorts first
 * (then its left half), so the output depends only on the corpus and the size. Pure: no I/O.
 */
import { BYTE_TO_CHAR } from "./bpe.ts";
import { preTokenize, type PreTokenizer } from "./pre-tokenize.ts";
import { utf8Encode } from "./_unicode.ts";

/** Options of {@link trainBpe}. */
export interface TrainBpeOptions {
  /** Number of non-special tokens wanted: 256 byte tokens plus `vocabSize - 256` merges. */
  readonly vocabSize: number;
  /** Pre-tokenizer whose pieces merges never cross (the GGUF's `tokenizer.ggml.pre`). */
  readonly preTokenizer: PreTokenizer;
  /** Pairs seen fewer times than this are never merged (default 2). */
  readonly minFrequency?: number;
}

/** A trained vocabulary: token texts in GPT-2's byte alphabet and merges "left right". */
export interface TrainedBpe {
  /** The 256 single bytes first (in byte order), then one token per merge. */
  readonly tokens: string[];
  /** Merges in rank order; merge i created token 256 + i. */
  readonly merges: string[];
}

/**
 * Count pre-tokenized pieces over many texts; feed the counts to {@link trainBpe}.
 *
 * @param texts the corpus, in any number of parts.
 * @param preTokenizer the pre-tokenizer of the vocabulary being trained.
 * @returns Piece (in GPT-2's byte alphabet) -> occurrences.
 */
export function countPieces(
  texts: Iterable<string>,
  preTokenizer: PreTokenizer,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of preTokenize(preTokenizer, text)) {
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
    }
  }
  const mapped = new Map<string, number>();
  for (const [piece, n] of counts) {
    let s = "";
    for (const b of utf8Encode(piece)) s += BYTE_TO_CHAR[b];
    mapped.set(s, (mapped.get(s) ?? 0) + n);
  }
  return mapped;
}

/**
 * Train merges on piece counts (see {@link countPieces}).
 *
 * @param pieces piece in GPT-2's byte alphabet -> occurrences.
 * @param options target size and minimum pair frequency.
 * @returns Tokens and merges; fewer merges than asked when no pair is frequent enough.
 * @throws {RangeError} When `vocabSize` is below 256.
 */
export function trainBpeFromCounts(
  pieces: ReadonlyMap<string, number>,
  options: Readonly<Omit<TrainBpeOptions, "preTokenizer">>,
): TrainedBpe {
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < 256) {
    throw new RangeError(`vocabSize must be an integer >= 256, got ${options.vocabSize}`);
  }
  const minFrequency = options.minFrequency ?? 2;
  const tokens = BYTE_TO_CHAR.slice();
  const merges: string[] = [];
  const charToId = new Map(tokens.map((t, i) => [t, i]));

  // Each distinct piece becomes a word: its symbol ids and its count.
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, n] of pieces) {
    const syms: number[] = [];
    for (const ch of piece) {
      const id = charToId.get(ch);
      if (id === undefined) throw new RangeError(`piece ${JSON.stringify(piece)} is not byte text`);
      syms.push(id);
    }
    words.push(syms);
    freq.push(n);
  }

  // Pair key = left * 2^20 + right (ids stay far below 2^20).
  const SHIFT = 1 << 20;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: number): void => {
    const syms = words[w]!;
    for (let i = 0; i + 1 < syms.length; i++) {
      const key = syms[i]! * SHIFT + syms[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freq[w]!);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, set = new Set());
        set.add(w);
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);

  while (tokens.length < options.vocabSize) {
    let best = -1;
    let bestCount = 0;
    let bestText = "";
    for (const [key, n] of pairCount) {
      if (n < minFrequency || n < bestCount) continue;
      const text = tokens[Math.floor(key / SHIFT)]! + tokens[key % SHIFT]!;
      if (
        n > bestCount || text < bestText ||
        (text === bestText && key < best)
      ) {
        best = key;
        bestCount = n;
        bestText = text;
      }
    }
    if (best < 0) break;
    const left = Math.floor(best / SHIFT);
    const right = best % SHIFT;
    const id = tokens.length;
    tokens.push(bestText);
    merges.push(`${tokens[left]} ${tokens[right]}`);
    for (const w of pairWords.get(best) ?? []) {
      const syms = words[w]!;
      addPairs(w, -1);
      const out: number[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === left && syms[i + 1] === right) {
          out.push(id);
          i++;
        } else out.push(syms[i]!);
      }
      words[w] = out;
      addPairs(w, 1);
    }
    pairWords.delete(best);
    pairCount.delete(best);
    // Drop emptied pairs so the scan stays proportional to live pairs.
    if (merges.length % 64 === 0) {
      for (const [key, n] of pairCount) if (n <= 0) pairCount.delete(key);
    }
  }
  return { tokens, merges };
}

/**
 * Train a byte-level BPE vocabulary on texts.
 *
 * @param texts the corpus.
 * @param options target size, pre-tokenizer, minimum pair frequency.
 * @returns Tokens and merges.
 * @example
 * ```ts
 * const { tokens, merges } = trainBpe(["low lower lowest"], { vocabSize: 260, preTokenizer: "gpt2" });
 * ```
 */
export function trainBpe(texts: Iterable<string>, options: Readonly<TrainBpeOptions>): TrainedBpe {
  return trainBpeFromCounts(countPieces(texts, options.preTokenizer), options);
}
