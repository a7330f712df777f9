/**
 * @module The tokenizer vocabulary: everything a GGUF file says about its tokenizer (keys
 * `tokenizer.ggml.*`, formats.md §7), checked and completed with llama.cpp's defaults
 * (FORK `src/llama-vocab.cpp`, `llama_vocab::impl::load`). `createVocab(source)` takes a plain
 * {@link VocabSource} so that tests can build one from any data; `vocabSourceFromGguf(file)`
 * is the adapter from a parsed GGUF file. Pure: no I/O.
 *
 * Decisions that differ from llama.cpp, on purpose:
 * - A gpt2 vocabulary without `tokenizer.ggml.pre` (the official BitNet-b1.58-2B-4T file,
 *   formats.md §6) gets the Llama-3 pre-tokenizer, because that is what the model was trained
 *   with. llama.cpp and bitnet.cpp fall back to DEFAULT there; pass `preOverride: "default"`
 *   for bit-parity with them.
 * - The end-of-generation set is built from token texts as llama.cpp does, plus the eos, eot
 *   and eom ids; tokens in it that are not CONTROL are made CONTROL (llama.cpp does the same).
 */
import {
  type GgufFile,
  GgufFormatError,
  kvBool,
  kvNumber,
  kvNumbers,
  kvString,
  kvStrings,
} from "../model/gguf-reader.ts";
import type { PreTokenizer } from "./pre-tokenize.ts";

/** Values of `tokenizer.ggml.token_type` (llama.cpp `llama_token_type`). */
export const TOKEN_TYPE = {
  UNDEFINED: 0,
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** Token texts that end generation (llama.cpp's EOG auto-detection list). */
export const EOG_TOKEN_TEXTS: readonly string[] = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
  "<|endoftext|>",
  "<|eom_id|>",
  "<EOT>",
  "_<EOT>",
  "<|end_of_text|>",
];

/** Candidate texts for the end-of-turn token when the file names none, best first. */
const EOT_TOKEN_TEXTS: readonly string[] = [
  "<|eot_id|>",
  "<|im_end|>",
  "<|end|>",
  "<end_of_turn>",
  "<EOT>",
];

/** Names of `tokenizer.ggml.pre` that select the Llama-3 split (llama.cpp's LLAMA3 group). */
const LLAMA3_PRE_NAMES: readonly string[] = [
  "llama3",
  "llama-v3",
  "llama-bpe",
  "falcon3",
  // Falcon-E (tiiuae/Falcon-E-*-GGUF): bitnet.cpp's converter writes "falcon_e" and bitnet.cpp /
  // ik_llama.cpp map it to the Falcon-3 (= Llama-3) split; upstream llama.cpp does not know the
  // name, so tests/tokenizer/llama-parity.test.ts compares it with llama.cpp's "falcon3".
  "falcon_e",
  "falcon-h1",
  "pixtral",
  "midm-2.0",
  "lfm2",
];

/** Names of `tokenizer.ggml.pre` that select the Qwen-2 split (llama.cpp's QWEN2 group). */
const QWEN2_PRE_NAMES: readonly string[] = ["qwen2", "deepseek-r1-qwen"];

/** Names of `tokenizer.ggml.pre` that select the plain GPT-2 regex (llama.cpp's GPT2 group). */
const GPT2_PRE_NAMES: readonly string[] = [
  "gpt-2",
  "phi-2",
  "jina-es",
  "jina-de",
  "gigachat",
  "jina-v2-es",
  "jina-v2-de",
  "a.x-4.0",
  "mellum",
];

/**
 * The tokenizer description as found in GGUF metadata, before defaults are applied. Field
 * names follow the `tokenizer.ggml.*` keys; absent keys are left undefined.
 */
export interface VocabSource {
  /** `tokenizer.ggml.model`: "llama" (SentencePiece) or "gpt2" (byte-level BPE). */
  readonly model: string;
  /** `tokenizer.ggml.pre`: pre-tokenizer name (gpt2 only). */
  readonly pre?: string | undefined;
  /** `tokenizer.ggml.tokens`: token texts, index = id. */
  readonly tokens: readonly string[];
  /** `tokenizer.ggml.scores`: one per token (SentencePiece merge priority). */
  readonly scores?: ArrayLike<number> | undefined;
  /** `tokenizer.ggml.token_type`: one `TOKEN_TYPE` value per token. */
  readonly tokenTypes?: ArrayLike<number> | undefined;
  /** `tokenizer.ggml.merges`: "left right" strings, rank = index (gpt2 only). */
  readonly merges?: readonly string[] | undefined;
  /** `tokenizer.ggml.bos_token_id`. */
  readonly bosId?: number | undefined;
  /** `tokenizer.ggml.eos_token_id`. */
  readonly eosId?: number | undefined;
  /** `tokenizer.ggml.eot_token_id`. */
  readonly eotId?: number | undefined;
  /** `tokenizer.ggml.eom_token_id`. */
  readonly eomId?: number | undefined;
  /** `tokenizer.ggml.unknown_token_id`. */
  readonly unkId?: number | undefined;
  /** `tokenizer.ggml.padding_token_id`. */
  readonly padId?: number | undefined;
  /** `tokenizer.ggml.add_bos_token`. */
  readonly addBos?: boolean | undefined;
  /** `tokenizer.ggml.add_eos_token`. */
  readonly addEos?: boolean | undefined;
  /** `tokenizer.ggml.add_space_prefix` (SentencePiece). */
  readonly addSpacePrefix?: boolean | undefined;
}

/** Options for {@link createVocab}. */
export interface VocabOptions {
  /** Use this pre-tokenizer whatever `pre` says (e.g. "default" for bitnet.cpp parity). */
  readonly preOverride?: PreTokenizer | undefined;
}

/** A checked vocabulary with llama.cpp's defaults applied. Ids that do not exist are undefined. */
export interface Vocab {
  /** "spm" for SentencePiece ("llama"), "bpe" for byte-level BPE ("gpt2"). */
  readonly kind: "spm" | "bpe";
  /** The pre-tokenizer used by BPE ("llama3" for SPM, where it is unused). */
  readonly pre: PreTokenizer;
  /** The `tokenizer.ggml.pre` string as found, or undefined when the key was absent. */
  readonly preName: string | undefined;
  /** Token texts; empty ones are replaced by "[EMPTY_<id>]" as in llama.cpp. */
  readonly tokens: readonly string[];
  /** Scores, one per token (0 when the file has none). */
  readonly scores: Float32Array;
  /** Token types (`TOKEN_TYPE`), after the EOG tokens were forced to CONTROL. */
  readonly types: Uint8Array;
  /** Text to id; when a text occurs twice the later id wins, as in llama.cpp. */
  readonly tokenToId: ReadonlyMap<string, number>;
  /** Merge strings (BPE), rank = index. */
  readonly merges: readonly string[];
  /** Beginning-of-sequence id. */
  readonly bosId: number | undefined;
  /** End-of-sequence id. */
  readonly eosId: number | undefined;
  /** End-of-turn id (from the file, else found by text). */
  readonly eotId: number | undefined;
  /** End-of-message id (from the file, else the token "<|eom_id|>"). */
  readonly eomId: number | undefined;
  /** Unknown-token id. */
  readonly unkId: number | undefined;
  /** Padding id. */
  readonly padId: number | undefined;
  /** Whether encode prepends BOS by default. */
  readonly addBos: boolean;
  /** Whether encode appends EOS by default. */
  readonly addEos: boolean;
  /** SentencePiece: prefix each raw fragment that starts the text or follows a special token with " ". */
  readonly addSpacePrefix: boolean;
  /** BPE: a pre-tokenized piece that is itself a token is emitted without merging (LLAMA3). */
  readonly ignoreMerges: boolean;
  /** Tokens that end generation. */
  readonly eogIds: ReadonlySet<number>;
  /** CONTROL, USER_DEFINED and UNKNOWN ids, longest text first (the special-token pre-pass order). */
  readonly specialIds: readonly number[];
}

function checkId(id: number | undefined, n: number): number | undefined {
  if (id === undefined) return undefined;
  if (!Number.isInteger(id) || id < 0 || id >= n) {
    // llama.cpp logs and drops an out-of-range special id; a negative id means "none".
    return undefined;
  }
  return id;
}

function choosePre(
  kind: "spm" | "bpe",
  pre: string | undefined,
  override: PreTokenizer | undefined,
): PreTokenizer {
  if (override !== undefined) return override;
  if (kind === "spm") return "llama3";
  // Absent `pre` (the official 2B-4T file): the Llama-3 split, see the module comment.
  if (pre === undefined || pre === "") return "llama3";
  if (LLAMA3_PRE_NAMES.includes(pre)) return "llama3";
  if (QWEN2_PRE_NAMES.includes(pre)) return "qwen2";
  if (GPT2_PRE_NAMES.includes(pre)) return "gpt2";
  if (pre === "default") return "default";
  throw new RangeError(`Cannot build the tokenizer: unknown pre-tokenizer "${pre}"`);
}

/**
 * Builds a {@link Vocab} from GGUF tokenizer metadata, applying llama.cpp's defaults: SPM bos 1,
 * eos 2, unk 0, add_bos true, add_space_prefix true; BPE bos = eos = 11 (GPT-2 legacy),
 * add_space_prefix false, add_bos true for the Llama-3 pre-tokenizer.
 *
 * @param source the metadata
 * @param options optional pre-tokenizer override
 * @returns the vocabulary
 * @throws {RangeError} if the model is not "llama" or "gpt2", the pre-tokenizer is unknown,
 *   `tokens` is empty, or `scores`/`tokenTypes` do not have one entry per token
 * @example
 * ```ts
 * const vocab = createVocab({ model: "gpt2", pre: "llama-bpe", tokens, merges });
 * ```
 */
export function createVocab(source: VocabSource, options: Readonly<VocabOptions> = {}): Vocab {
  let kind: "spm" | "bpe";
  if (source.model === "llama") kind = "spm";
  else if (source.model === "gpt2") kind = "bpe";
  else {
    throw new RangeError(
      `Cannot build the tokenizer: unsupported tokenizer model "${source.model}"`,
    );
  }
  const n = source.tokens.length;
  if (n === 0) throw new RangeError("Cannot build the tokenizer: the token list is empty");
  if (source.scores !== undefined && source.scores.length !== n) {
    throw new RangeError(
      `Cannot build the tokenizer: ${source.scores.length} scores for ${n} tokens`,
    );
  }
  if (source.tokenTypes !== undefined && source.tokenTypes.length !== n) {
    throw new RangeError(
      `Cannot build the tokenizer: ${source.tokenTypes.length} token types for ${n} tokens`,
    );
  }

  const tokens: string[] = new Array<string>(n);
  const scores = new Float32Array(n);
  const types = new Uint8Array(n);
  const tokenToId = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const text = source.tokens[i]!;
    tokens[i] = text === "" ? `[EMPTY_${i}]` : text;
    scores[i] = source.scores?.[i] ?? 0;
    const t = source.tokenTypes?.[i] ?? TOKEN_TYPE.NORMAL;
    types[i] = t >= 0 && t <= 6 ? t : TOKEN_TYPE.UNDEFINED;
    tokenToId.set(tokens[i]!, i);
  }

  const pre = choosePre(kind, source.pre, options.preOverride);
  const spm = kind === "spm";
  const bosId = checkId(source.bosId ?? (spm ? 1 : 11), n);
  const eosId = checkId(source.eosId ?? (spm ? 2 : 11), n);
  const unkId = checkId(source.unkId ?? (spm ? 0 : undefined), n);
  const padId = checkId(source.padId, n);
  let eotId = checkId(source.eotId, n);
  if (eotId === undefined) {
    for (const text of EOT_TOKEN_TEXTS) {
      const id = tokenToId.get(text);
      if (id !== undefined) {
        eotId = id;
        break;
      }
    }
  }
  const eomId = checkId(source.eomId, n) ?? tokenToId.get("<|eom_id|>");

  const eogIds = new Set<number>();
  for (const text of EOG_TOKEN_TEXTS) {
    const id = tokenToId.get(text);
    if (id !== undefined) eogIds.add(id);
  }
  for (const id of [eosId, eotId, eomId]) if (id !== undefined) eogIds.add(id);
  for (const id of eogIds) {
    // llama.cpp: "control-looking token ... was not control-type; its type will be overridden".
    if (types[id] !== TOKEN_TYPE.CONTROL && EOG_TOKEN_TEXTS.includes(tokens[id]!)) {
      types[id] = TOKEN_TYPE.CONTROL;
    }
  }

  const specialIds: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = types[i];
    if (t === TOKEN_TYPE.CONTROL || t === TOKEN_TYPE.USER_DEFINED || t === TOKEN_TYPE.UNKNOWN) {
      specialIds.push(i);
    }
  }
  // Longest UTF-8 text first; equal lengths by id so the order is deterministic (llama.cpp's
  // std::sort leaves it unspecified).
  const encoder = new TextEncoder();
  const byteLength = new Map<number, number>();
  for (const id of specialIds) byteLength.set(id, encoder.encode(tokens[id]!).length);
  specialIds.sort((a, b) => byteLength.get(b)! - byteLength.get(a)! || a - b);

  const isLlama3 = kind === "bpe" && pre === "llama3";
  return {
    kind,
    pre,
    preName: source.pre,
    tokens,
    scores,
    types,
    tokenToId,
    merges: source.merges ?? [],
    bosId,
    eosId,
    eotId,
    eomId,
    unkId,
    padId,
    addBos: source.addBos ?? (spm || isLlama3),
    addEos: source.addEos ?? false,
    // llama.cpp forces add_space_prefix off for BPE before reading the key; only SPM uses it.
    addSpacePrefix: spm && (source.addSpacePrefix ?? true),
    ignoreMerges: isLlama3,
    eogIds,
    specialIds,
  };
}

/**
 * Reads the tokenizer metadata of a parsed GGUF file (`tokenizer.ggml.*`, formats.md §7).
 *
 * @param file the parsed file
 * @returns the metadata, ready for {@link createVocab} or `createTokenizer`
 * @throws {GgufFormatError} if `tokenizer.ggml.model` or `tokenizer.ggml.tokens` is missing, or
 *   a key has the wrong type
 * @example
 * ```ts
 * const tokenizer = createTokenizer(vocabSourceFromGguf(parseGguf(bytes)));
 * ```
 */
export function vocabSourceFromGguf(file: GgufFile): VocabSource {
  const model = kvString(file, "tokenizer.ggml.model");
  if (model === undefined) {
    throw new GgufFormatError("Cannot read the tokenizer: tokenizer.ggml.model is missing", -1);
  }
  const tokens = kvStrings(file, "tokenizer.ggml.tokens");
  if (tokens === undefined) {
    throw new GgufFormatError("Cannot read the tokenizer: tokenizer.ggml.tokens is missing", -1);
  }
  const id = (key: string): number | undefined => kvNumber(file, `tokenizer.ggml.${key}`);
  return {
    model,
    pre: kvString(file, "tokenizer.ggml.pre"),
    tokens,
    scores: kvNumbers(file, "tokenizer.ggml.scores"),
    tokenTypes: kvNumbers(file, "tokenizer.ggml.token_type"),
    merges: kvStrings(file, "tokenizer.ggml.merges"),
    bosId: id("bos_token_id"),
    eosId: id("eos_token_id"),
    eotId: id("eot_token_id"),
    eomId: id("eom_token_id"),
    unkId: id("unknown_token_id"),
    padId: id("padding_token_id"),
    addBos: kvBool(file, "tokenizer.ggml.add_bos_token"),
    addEos: kvBool(file, "tokenizer.ggml.add_eos_token"),
    addSpacePrefix: kvBool(file, "tokenizer.ggml.add_space_prefix"),
  };
}
