/**
 * @module The tokenizer folder's public face: `createTokenizer(source)` turns GGUF tokenizer
 * metadata into an encoder/decoder that gives the same ids as llama.cpp (`llama_tokenize`)
 * for SentencePiece ("llama") and byte-level BPE ("gpt2") vocabularies. Encoding is: special
 * token pre-pass (special.ts) -> BOS -> each raw fragment through BPE (bpe.ts) or SentencePiece
 * (spm.ts) -> EOS. Pure: no I/O.
 */
import { createBpe } from "./bpe.ts";
import {
  createDetokenizer,
  type DecodeOptions,
  type Detokenizer,
  type StreamDecoder,
} from "./decode.ts";
import { splitSpecial } from "./special.ts";
import { createSpm } from "./spm.ts";
import { createVocab, type Vocab, type VocabOptions, type VocabSource } from "./vocab.ts";

export type { DecodeOptions, StreamDecoder } from "./decode.ts";
export type { PreTokenizer } from "./pre-tokenize.ts";
export {
  createVocab,
  TOKEN_TYPE,
  type Vocab,
  type VocabOptions,
  type VocabSource,
  vocabSourceFromGguf,
} from "./vocab.ts";

/** Options for {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend BOS (default: the vocabulary's add_bos flag). Ignored when the vocabulary has no BOS. */
  readonly addBos?: boolean | undefined;
  /** Append EOS (default: the vocabulary's add_eos flag). Ignored when the vocabulary has no EOS. */
  readonly addEos?: boolean | undefined;
  /**
   * Recognise CONTROL/UNKNOWN token texts such as "<|eot_id|>" in the input (default false).
   * Leave it off for text that comes from users; turn it on for rendered chat templates.
   */
  readonly parseSpecial?: boolean | undefined;
}

/** Text <-> token ids for one vocabulary. */
export interface Tokenizer {
  /** The vocabulary, with defaults applied. */
  readonly vocab: Vocab;
  /** Number of tokens. */
  readonly nVocab: number;
  /** Beginning-of-sequence id, if any. */
  readonly bosId: number | undefined;
  /** End-of-sequence id, if any. */
  readonly eosId: number | undefined;
  /** End-of-turn id, if any. */
  readonly eotId: number | undefined;
  /** End-of-message id, if any. */
  readonly eomId: number | undefined;
  /** Unknown-token id, if any. */
  readonly unkId: number | undefined;
  /** Padding id, if any. */
  readonly padId: number | undefined;
  /**
   * Encodes text to ids.
   *
   * @param text any string (lone surrogates are read as U+FFFD)
   * @param options BOS/EOS and special-token parsing
   * @returns the ids
   */
  encode(text: string, options?: Readonly<EncodeOptions>): number[];
  /**
   * Decodes ids to text (CONTROL tokens render as nothing unless `renderSpecial`).
   *
   * @param ids token ids
   * @param options rendering options
   * @returns the text
   * @throws {RangeError} if an id is out of range
   */
  decode(ids: ArrayLike<number>, options?: Readonly<DecodeOptions>): string;
  /**
   * The text of one token as it would be shown, special tokens included (bytes that are not
   * complete UTF-8 on their own show as U+FFFD).
   *
   * @param id a token id
   * @returns the text
   * @throws {RangeError} if the id is out of range
   */
  tokenPiece(id: number): string;
  /**
   * The bytes a token adds to generated text (CONTROL/UNKNOWN tokens: none; no space-prefix
   * stripping), which may be part of a UTF-8 character: what a grammar constraint matches.
   *
   * @param id a token id
   * @returns the bytes (shared; do not modify)
   * @throws {RangeError} if the id is out of range
   */
  tokenBytes(id: number): Uint8Array;
  /**
   * The bytes of one token's text with special tokens rendered (may be a partial UTF-8
   * sequence): OpenAI's logprob `bytes`, llama-server's token pieces.
   *
   * @param id a token id
   * @returns the bytes (a copy)
   * @throws {RangeError} if the id is out of range
   */
  tokenPieceBytes(id: number): Uint8Array;
  /**
   * Starts a streaming decode that emits only complete UTF-8 characters.
   *
   * @param options rendering options, as for `decode`
   * @returns a fresh stream decoder
   */
  createStreamDecoder(options?: Readonly<DecodeOptions>): StreamDecoder;
  /**
   * Whether a token ends generation (eos, eot, eom and the end-of-turn texts llama.cpp knows).
   *
   * @param id a token id
   * @returns true for end-of-generation tokens
   */
  isEog(id: number): boolean;
}

/**
 * Builds a tokenizer from GGUF tokenizer metadata (or an already built {@link Vocab}).
 *
 * @param source the metadata, e.g. from `vocabSourceFromGguf(file)`
 * @param options optional pre-tokenizer override (only used when `source` is metadata)
 * @returns the tokenizer
 * @throws {RangeError} if the metadata is unusable (see {@link createVocab})
 * @example
 * ```ts
 * const tok = createTokenizer(vocabSourceFromGguf(parseGguf(bytes)));
 * tok.encode("Hello world"); // [128000, 9906, 1917]
 * ```
 */
export function createTokenizer(
  source: VocabSource | Vocab,
  options: Readonly<VocabOptions> = {},
): Tokenizer {
  const vocab = "kind" in source ? source : createVocab(source, options);
  const encodeFragment = vocab.kind === "bpe"
    ? createBpe(vocab).encodeFragment
    : createSpm(vocab).encodeFragment;
  const detokenizer: Detokenizer = createDetokenizer(vocab);
  const spacePrefix = vocab.kind === "spm" && vocab.addSpacePrefix;
  const pieceDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

  const encode = (text: string, options: Readonly<EncodeOptions> = {}): number[] => {
    const input = text.isWellFormed() ? text : text.toWellFormed();
    const out: number[] = [];
    const addBos = options.addBos ?? vocab.addBos;
    const addEos = options.addEos ?? vocab.addEos;
    if (addBos && vocab.bosId !== undefined) out.push(vocab.bosId);
    let afterSpecial = true; // SentencePiece: the first fragment gets the space prefix too
    for (const fragment of splitSpecial(vocab, input, options.parseSpecial ?? false)) {
      if (typeof fragment === "number") {
        out.push(fragment);
        afterSpecial = true;
        continue;
      }
      encodeFragment(spacePrefix && afterSpecial ? " " + fragment : fragment, out);
      afterSpecial = false;
    }
    if (addEos && vocab.eosId !== undefined) out.push(vocab.eosId);
    return out;
  };

  return {
    vocab,
    nVocab: vocab.tokens.length,
    bosId: vocab.bosId,
    eosId: vocab.eosId,
    eotId: vocab.eotId,
    eomId: vocab.eomId,
    unkId: vocab.unkId,
    padId: vocab.padId,
    encode,
    decode: detokenizer.decode,
    createStreamDecoder: detokenizer.createStreamDecoder,
    tokenPiece(id: number): string {
      return pieceDecoder.decode(detokenizer.tokenBytes(id, true));
    },
    tokenBytes(id: number): Uint8Array {
      return detokenizer.tokenBytes(id, false);
    },
    tokenPieceBytes(id: number): Uint8Array {
      return detokenizer.tokenBytes(id, true).slice(); // a copy: the detokenizer caches its own
    },
    isEog(id: number): boolean {
      return vocab.eogIds.has(id);
    },
  };
}
export {
  type ChatMessage,
  chatModelInfoFromGguf,
  type ChatTemplateChoice,
  type ChatTool,
  chooseChatTemplate,
  encodeChat,
  isToolAwareTemplate,
} from "./chat-template.ts";
export { TOOL_CALL_CLOSE, TOOL_CALL_OPEN, toolCallText } from "./_tool-prompt.ts";
