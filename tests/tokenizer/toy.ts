/**
 * @module Small hand-made vocabularies for unit tests, so each rule can be checked on a case
 * small enough to work out by hand.
 */
import { BYTE_TO_CHAR } from "../../src/tokenizer/bpe.ts";
import { TOKEN_TYPE, type VocabSource } from "../../src/tokenizer/vocab.ts";

/**
 * A gpt2 vocabulary: the 256 byte symbols (ids 0-255), then `extra` normal tokens, then
 * `specials` CONTROL tokens.
 */
export function toyBpeSource(
  extra: readonly string[],
  merges: readonly string[],
  options: { pre?: string; specials?: readonly string[]; userDefined?: readonly string[] } = {},
): VocabSource {
  const specials = options.specials ?? [];
  const user = options.userDefined ?? [];
  const tokens = [...BYTE_TO_CHAR, ...extra, ...specials, ...user];
  const tokenTypes = tokens.map((_, i) =>
    i < 256 + extra.length
      ? TOKEN_TYPE.NORMAL
      : i < 256 + extra.length + specials.length
      ? TOKEN_TYPE.CONTROL
      : TOKEN_TYPE.USER_DEFINED
  );
  return {
    model: "gpt2",
    pre: options.pre ?? "llama-bpe",
    tokens,
    tokenTypes,
    merges,
    bosId: specials.length > 0 ? 256 + extra.length : undefined,
    eosId: specials.length > 1 ? 257 + extra.length : undefined,
  };
}

const HEX = "0123456789ABCDEF";

/**
 * A SentencePiece vocabulary: `<unk>` 0, `<s>` 1, `</s>` 2, byte tokens `<0x00>`..`<0xFF>`
 * (3-258), then the given pieces with their scores.
 */
export function toySpmSource(
  pieces: Readonly<Record<string, number>>,
  options: { withoutBytes?: readonly number[] } = {},
): VocabSource {
  const tokens = ["<unk>", "<s>", "</s>"];
  const tokenTypes: number[] = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  const scores = [0, 0, 0];
  for (let b = 0; b < 256; b++) {
    // A removed byte token keeps its id (as an unused placeholder) so ids stay fixed.
    const removed = options.withoutBytes?.includes(b) ?? false;
    tokens.push(removed ? `[unused${b}]` : `<0x${HEX[b >> 4]}${HEX[b & 15]}>`);
    tokenTypes.push(removed ? TOKEN_TYPE.UNUSED : TOKEN_TYPE.BYTE);
    scores.push(0);
  }
  for (const [piece, score] of Object.entries(pieces)) {
    tokens.push(piece);
    tokenTypes.push(TOKEN_TYPE.NORMAL);
    scores.push(score);
  }
  return { model: "llama", tokens, tokenTypes, scores };
}
