/**
 * @module Detokenization (formats.md §7.2 step 6, §7.3 step 5; llama.cpp `token_to_piece`):
 * ids -> bytes -> text, in one go or streamed. Each token renders as bytes:
 * - NORMAL: gpt2 vocabularies map GPT-2's alphabet back to bytes; SentencePiece turns "▁" into
 *   a space.
 * - BYTE (SentencePiece "<0xHH>"): that one byte.
 * - CONTROL and UNKNOWN: their text only when `renderSpecial` is set, else nothing.
 * - USER_DEFINED: their text, always. UNUSED and UNDEFINED: nothing.
 *
 * SentencePiece with `add_space_prefix`: the encoder puts a space in front of every raw
 * fragment that starts the text or follows a special token, so the decoder (with
 * `stripSpacePrefix`, on by default for such vocabularies) removes one leading space from the
 * first token after the start or after a CONTROL/UNKNOWN/USER_DEFINED token. That makes
 * `decode(encode(s)) === s`. llama.cpp's `llama_detokenize` strips only at the very start (and
 * not after BOS) and can also "clean up" spaces before punctuation; neither is done here. A
 * generation loop that streams a continuation of a prompt should pass
 * `stripSpacePrefix: false`, since its first token is not the start of a text.
 *
 * Bytes become text through the WHATWG UTF-8 decoder: a token may end in the middle of a
 * character, so the stream decoder holds incomplete sequences back and only ever emits whole
 * characters (invalid bytes become U+FFFD). Because that decoder is streaming-consistent, the
 * concatenated stream output equals `decode(ids)`. Pure: no I/O.
 */
import { bpeTextToBytes } from "./bpe.ts";
import { SPM_SPACE } from "./spm.ts";
import { utf8Encode } from "./_unicode.ts";
import { TOKEN_TYPE, type Vocab } from "./vocab.ts";

/** Options for decoding. */
export interface DecodeOptions {
  /** Render CONTROL and UNKNOWN tokens as their text (default false: they render as nothing). */
  readonly renderSpecial?: boolean | undefined;
  /** Drop the space the SentencePiece encoder added (default: the vocabulary's add_space_prefix). */
  readonly stripSpacePrefix?: boolean | undefined;
}

/** An incremental decoder: feed ids one at a time, get text that is safe to show. */
export interface StreamDecoder {
  /**
   * Adds one token.
   *
   * @param id a token id
   * @returns the text completed by this token ("" if it only started a character)
   * @throws {RangeError} if the id is not in the vocabulary
   */
  push(id: number): string;
  /**
   * Ends the stream.
   *
   * @returns what was held back (U+FFFD for a character that never completed), then resets
   */
  flush(): string;
}

/** Decoding over one vocabulary. Create with {@link createDetokenizer}. */
export interface Detokenizer {
  /**
   * The bytes a token renders as.
   *
   * @param id a token id
   * @param renderSpecial whether CONTROL/UNKNOWN tokens render as their text
   * @returns the bytes (shared; do not modify)
   * @throws {RangeError} if the id is not in the vocabulary
   */
  tokenBytes(id: number, renderSpecial: boolean): Uint8Array;
  /**
   * Decodes ids to text.
   *
   * @param ids token ids
   * @param options rendering options
   * @returns the text
   * @throws {RangeError} if an id is not in the vocabulary
   */
  decode(ids: ArrayLike<number>, options?: Readonly<DecodeOptions>): string;
  /**
   * Starts a streaming decode.
   *
   * @param options rendering options, as for `decode`
   * @returns a fresh decoder
   */
  createStreamDecoder(options?: Readonly<DecodeOptions>): StreamDecoder;
}

const EMPTY = new Uint8Array(0);
// ignoreBOM: a leading U+FEFF in the text is content, not a byte-order mark to drop.
const UTF8_OPTIONS = { ignoreBOM: true } as const;

/**
 * Builds the decoder for a vocabulary. Token bytes are computed on first use and cached.
 *
 * @param vocab the vocabulary
 * @returns the detokenizer
 * @example
 * ```ts
 * const d = createDetokenizer(vocab);
 * const s = d.createStreamDecoder();
 * let text = "";
 * for (const id of ids) text += s.push(id);
 * text += s.flush(); // === d.decode(ids)
 * ```
 */
export function createDetokenizer(vocab: Vocab): Detokenizer {
  const n = vocab.tokens.length;
  const cache: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(n);
  const spm = vocab.kind === "spm";

  const renderNormal = (id: number): Uint8Array => {
    let bytes = cache[id];
    if (bytes === undefined) {
      const text = vocab.tokens[id]!;
      const type = vocab.types[id];
      if (type === TOKEN_TYPE.NORMAL) {
        bytes = spm ? utf8Encode(text.replaceAll(SPM_SPACE, " ")) : bpeTextToBytes(text);
      } else if (type === TOKEN_TYPE.BYTE && spm) {
        const b = Number.parseInt(text.slice(3, 5), 16);
        bytes = Number.isNaN(b) ? EMPTY : Uint8Array.of(b);
      } else if (isSpecialType(type) || type === TOKEN_TYPE.USER_DEFINED) {
        bytes = utf8Encode(text);
      } else {
        bytes = EMPTY;
      }
      cache[id] = bytes;
    }
    return bytes;
  };

  const tokenBytes = (id: number, renderSpecial: boolean): Uint8Array => {
    if (!Number.isInteger(id) || id < 0 || id >= n) {
      throw new RangeError(`Cannot decode token ${id}: the vocabulary has ${n} tokens`);
    }
    if (!renderSpecial && isSpecialType(vocab.types[id])) return EMPTY;
    return renderNormal(id);
  };

  // The bytes of each token in sequence, with the SentencePiece space prefix removed after
  // the start and after each special token. Shared by `decode` and the stream decoder.
  const createRenderer = (options: Readonly<DecodeOptions>): (id: number) => Uint8Array => {
    const renderSpecial = options.renderSpecial ?? false;
    const strip = options.stripSpacePrefix ?? vocab.addSpacePrefix;
    let atFragmentStart = true;
    return (id: number): Uint8Array => {
      const bytes = tokenBytes(id, renderSpecial);
      const type = vocab.types[id];
      if (isSpecialType(type) || type === TOKEN_TYPE.USER_DEFINED) {
        atFragmentStart = true;
        return bytes;
      }
      const first = atFragmentStart;
      atFragmentStart = false;
      return first && strip && bytes[0] === 0x20 ? bytes.subarray(1) : bytes;
    };
  };

  return {
    tokenBytes,
    createStreamDecoder(options: Readonly<DecodeOptions> = {}): StreamDecoder {
      let render = createRenderer(options);
      let utf8 = new TextDecoder("utf-8", UTF8_OPTIONS);
      return {
        push(id: number): string {
          const bytes = render(id);
          return bytes.length === 0 ? "" : utf8.decode(bytes, { stream: true });
        },
        flush(): string {
          const rest = utf8.decode();
          utf8 = new TextDecoder("utf-8", UTF8_OPTIONS);
          render = createRenderer(options);
          return rest;
        },
      };
    },
    decode(ids: ArrayLike<number>, options: Readonly<DecodeOptions> = {}): string {
      const render = createRenderer(options);
      const parts: Uint8Array[] = [];
      let total = 0;
      for (let i = 0; i < ids.length; i++) {
        const bytes = render(ids[i]!);
        parts.push(bytes);
        total += bytes.length;
      }
      const all = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return new TextDecoder("utf-8", UTF8_OPTIONS).decode(all);
    },
  };
}

function isSpecialType(type: number | undefined): boolean {
  return type === TOKEN_TYPE.CONTROL || type === TOKEN_TYPE.UNKNOWN;
}
