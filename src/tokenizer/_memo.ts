/**
 * @module A bounded memo for the tokenizers' piece encoders (BPE pieces, SentencePiece runs):
 * natural text repeats the same words, so their ids are computed once. Pure.
 */

/** Memo bound: past it the memo is cleared (text is rarely that varied). */
const MAX_ENTRIES = 1 << 16;
/** Pieces longer than this are not memoized (long whitespace runs, base64 blobs). */
const MAX_PIECE_LENGTH = 64;

/**
 * Wraps an encoder that appends the ids of one piece to `out` with a bounded memo.
 *
 * @param encode the encoder.
 * @returns an encoder with the same contract.
 */
export function memoizeEncoder(
  encode: (piece: string, out: number[]) => void,
): (piece: string, out: number[]) => void {
  let memo = new Map<string, number[]>();
  return (piece, out) => {
    if (piece.length > MAX_PIECE_LENGTH) {
      encode(piece, out);
      return;
    }
    let ids = memo.get(piece);
    if (ids === undefined) {
      ids = [];
      encode(piece, ids);
      if (memo.size >= MAX_ENTRIES) memo = new Map();
      memo.set(piece, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  };
}
