/**
 * @module Synthetic BitNet models: the presets, the exact tensor list and metadata of each
 * architecture (formats.md §5a `bitnet`, §5b `bitnet-b1.58`, §5c `llama`), the conversion of
 * an HF `tokenizer.json` into GGUF vocabulary arrays (§7), and the seeded weight values.
 * scripts/make-model.ts reads the tokenizer files and streams the tensors to disk; everything
 * it decides comes from here. Pure: no I/O.
 */

import { GgmlType } from "./gguf-format.ts";
import { arr, bool, f32, str, u32 } from "./gguf-writer.ts";
import type { GgufValue } from "./gguf-format.ts";
import { GgufValueType } from "./gguf-format.ts";
import { createPrng, fillNormalish, fillTernary, hashString, type Prng } from "./prng.ts";
import { f16ToF32, f32ToF16 } from "./quants.ts";

/** Architectures the generator writes. */
export type SyntheticArch = "bitnet" | "bitnet-b1.58" | "llama" | "qwen3";

/** Ternary tensor formats the generator writes. */
export type TernaryFormat = "tq1_0" | "tq2_0" | "i2_s";

/** Float formats for token_embd / output. */
export type EmbeddingFormat = "f32" | "f16" | "bf16" | "q8_0" | "q6_k";

/** Hyper-parameters of a preset. */
export interface SyntheticPreset {
  readonly nEmbd: number;
  readonly nFf: number;
  readonly nLayer: number;
  readonly nHead: number;
  /** KV heads for `bitnet-b1.58` and `llama` (GQA). */
  readonly nHeadKv: number;
  /** KV heads for `bitnet` (1bitLLM models are multi-head: = nHead). */
  readonly nHeadKvBitnet: number;
  readonly nCtx: number;
  /** Added tokens appended to the Llama-2 vocabulary (1bitLLM large: vocab 32002). */
  readonly extraSpmTokens: readonly string[];
  readonly defaultArch: SyntheticArch;
  /** Vocabulary whatever the arch (2b-4t is Llama-3 sized even as `bitnet`); default: by arch. */
  readonly vocab?: "llama2" | "llama3";
  /** Head size when it is not nEmbd / nHead (Qwen3: 128 whatever the width). */
  readonly headDim?: number;
  /** RoPE base; default 10000 for `bitnet`, 500000 otherwise. */
  readonly ropeBase?: number;
}

const TINY: SyntheticPreset = {
  nEmbd: 256,
  nFf: 768,
  nLayer: 2,
  nHead: 4,
  nHeadKv: 2,
  nHeadKvBitnet: 4,
  nCtx: 512,
  extraSpmTokens: [],
  defaultArch: "bitnet-b1.58",
};

/** The presets: tiny and small for tests, large = 1bitLLM bitnet_b1_58-large, 2b-4t = BitNet 2B-4T. */
export const PRESETS: Readonly<Record<string, SyntheticPreset>> = {
  tiny: TINY,
  /** tiny with 1bitLLM-large's 32002-token vocabulary (bitnet): 32002 is not a multiple of 16, so
   * an output head in the x16 layout ends in a partial group (tests/native/repack.test.ts). */
  "tiny-vocab32002": { ...TINY, extraSpmTokens: ["<pad>", "<mask>"], defaultArch: "bitnet" },
  small: {
    nEmbd: 512,
    nFf: 1536,
    nLayer: 4,
    nHead: 8,
    nHeadKv: 4,
    nHeadKvBitnet: 8,
    nCtx: 1024,
    extraSpmTokens: [],
    defaultArch: "bitnet-b1.58",
  },
  large: {
    nEmbd: 1536,
    nFf: 4096,
    nLayer: 24,
    nHead: 16,
    nHeadKv: 16,
    nHeadKvBitnet: 16,
    nCtx: 2048,
    extraSpmTokens: ["<pad>", "<mask>"],
    defaultArch: "bitnet",
  },
  "2b-4t": {
    nEmbd: 2560,
    nFf: 6912,
    nLayer: 30,
    nHead: 20,
    nHeadKv: 5,
    nHeadKvBitnet: 5,
    nCtx: 4096,
    extraSpmTokens: [],
    defaultArch: "bitnet-b1.58",
    vocab: "llama3",
  },
  /** The per-layer shapes of Qwen3-0.6B (hidden 1024, 16 query / 8 KV heads of 128, FFN 3072,
   * RMS eps 1e-6, θ 1e6), with 2 blocks and the Llama-2 vocabulary to keep tests fast (the real
   * 28 blocks and 151,936-token vocabulary change no code path). */
  /** microsoft/bitnet-embedding-0.6b's shapes (its converter doc: Qwen3Model, hidden 1024, 16 / 8
   * heads of 128, FFN 3072, θ 1e6, eps 1e-6, 32768 positions), 2 blocks and the Llama-2
   * vocabulary as for qwen3-0.6b-2l; write it with `--embedding-model` (norms, pooling). */
  "bitnet-embedding-0.6b-2l": {
    nEmbd: 1024,
    nFf: 3072,
    nLayer: 2,
    nHead: 16,
    nHeadKv: 8,
    nHeadKvBitnet: 8,
    nCtx: 32768,
    extraSpmTokens: [],
    defaultArch: "qwen3",
    vocab: "llama2",
    headDim: 128,
    ropeBase: 1000000,
  },
  "qwen3-0.6b-2l": {
    nEmbd: 1024,
    nFf: 3072,
    nLayer: 2,
    nHead: 16,
    nHeadKv: 8,
    nHeadKvBitnet: 8,
    nCtx: 40960,
    extraSpmTokens: [],
    defaultArch: "qwen3",
    vocab: "llama2",
    headDim: 128,
    ropeBase: 1000000,
  },
};

/** ggml type id of each ternary format, and the `general.file_type` it implies (bitnet.cpp table). */
export const TERNARY_FORMATS: Readonly<Record<TernaryFormat, { type: number; fileType: number }>> =
  {
    tq1_0: { type: GgmlType.TQ1_0, fileType: 36 },
    tq2_0: { type: GgmlType.TQ2_0, fileType: 37 },
    i2_s: { type: GgmlType.I2_S, fileType: 40 },
  };

/** ggml type id of each embedding format. */
export const EMBEDDING_FORMATS: Readonly<Record<EmbeddingFormat, number>> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  bf16: GgmlType.BF16,
  q8_0: GgmlType.Q8_0,
  q6_k: GgmlType.Q6_K,
};

/** What kind of values a tensor holds (decides how it is synthesized). */
export type TensorRole = "embedding" | "norm" | "ternary";

/** One tensor of the plan. */
export interface PlannedTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  readonly role: TensorRole;
}

/** Options of {@link planTensors}. */
export interface PlanOptions {
  readonly arch: SyntheticArch;
  readonly ternary: TernaryFormat;
  readonly embedding: EmbeddingFormat;
  readonly nVocab: number;
  /** Write a separate output.weight for an arch that is otherwise tied (qwen3 8B-style). */
  readonly untiedOutput?: boolean;
  /**
   * qwen3 only: the seven per-projection input norms of Microsoft's BitNet embedding models
   * (`blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}_norm_in.weight`), and
   * every norm in F16, as their converter writes them (docs/models.md "BitNet embedding models").
   */
  readonly projectionNorms?: boolean;
}

/**
 * List every tensor of a model in file order, with its exact GGUF name, shape (ne[0] first)
 * and type: sub-norms for `bitnet*`, a separate `output.weight` for `llama` only.
 *
 * @param preset hyper-parameters.
 * @param options architecture, formats and vocabulary size.
 * @returns The tensors.
 */
export function planTensors(
  preset: SyntheticPreset,
  options: Readonly<PlanOptions>,
): PlannedTensor[] {
  const { nEmbd, nFf } = preset;
  const headDim = headDimOf(preset);
  const nEmbdKv = headDim * kvHeads(preset, options.arch);
  const nQ = headDim * preset.nHead;
  const tq = TERNARY_FORMATS[options.ternary].type;
  const emb = EMBEDDING_FORMATS[options.embedding];
  const subNorms = options.arch !== "llama" && options.arch !== "qwen3";
  const qkNorms = options.arch === "qwen3";
  const out: PlannedTensor[] = [
    { name: "token_embd.weight", dims: [nEmbd, options.nVocab], type: emb, role: "embedding" },
  ];
  const projNorms = options.projectionNorms === true;
  if (projNorms && options.arch !== "qwen3") {
    throw new RangeError(
      `Cannot plan tensors: projection norms need arch qwen3, not ${options.arch}`,
    );
  }
  const normType = projNorms ? GgmlType.F16 : GgmlType.F32;
  const norm = (name: string, n: number) =>
    out.push({ name, dims: [n], type: normType, role: "norm" });
  const normIn = (name: string, n: number) => {
    if (projNorms) norm(name, n);
  };
  const ternary = (name: string, dims: number[]) =>
    out.push({ name, dims, type: tq, role: "ternary" });
  for (let l = 0; l < preset.nLayer; l++) {
    const p = `blk.${l}.`;
    norm(`${p}attn_norm.weight`, nEmbd);
    ternary(`${p}attn_q.weight`, [nEmbd, nQ]);
    ternary(`${p}attn_k.weight`, [nEmbd, nEmbdKv]);
    ternary(`${p}attn_v.weight`, [nEmbd, nEmbdKv]);
    if (qkNorms) {
      norm(`${p}attn_q_norm.weight`, headDim);
      norm(`${p}attn_k_norm.weight`, headDim);
    }
    normIn(`${p}attn_q_norm_in.weight`, nEmbd);
    normIn(`${p}attn_k_norm_in.weight`, nEmbd);
    normIn(`${p}attn_v_norm_in.weight`, nEmbd);
    normIn(`${p}attn_output_norm_in.weight`, nQ);
    if (subNorms) norm(`${p}attn_sub_norm.weight`, nQ);
    ternary(`${p}attn_output.weight`, [nQ, nEmbd]);
    norm(`${p}ffn_norm.weight`, nEmbd);
    ternary(`${p}ffn_gate.weight`, [nEmbd, nFf]);
    ternary(`${p}ffn_up.weight`, [nEmbd, nFf]);
    normIn(`${p}ffn_gate_norm_in.weight`, nEmbd);
    normIn(`${p}ffn_up_norm_in.weight`, nEmbd);
    normIn(`${p}ffn_down_norm_in.weight`, nFf);
    if (subNorms) norm(`${p}ffn_sub_norm.weight`, nFf);
    ternary(`${p}ffn_down.weight`, [nFf, nEmbd]);
  }
  norm("output_norm.weight", nEmbd);
  if (options.arch === "llama" || options.untiedOutput === true) {
    out.push({
      name: "output.weight",
      dims: [nEmbd, options.nVocab],
      type: emb,
      role: "embedding",
    });
  }
  return out;
}

function headDimOf(preset: SyntheticPreset): number {
  return preset.headDim ?? preset.nEmbd / preset.nHead;
}

function kvHeads(preset: SyntheticPreset, arch: SyntheticArch): number {
  return arch === "bitnet" ? preset.nHeadKvBitnet : preset.nHeadKv;
}

/** A vocabulary in GGUF form (formats.md §7). */
export interface SyntheticVocab {
  /** `tokenizer.ggml.model`: "llama" (SentencePiece) or "gpt2" (byte-level BPE). */
  readonly model: "llama" | "gpt2";
  readonly tokens: readonly string[];
  readonly scores: readonly number[];
  /** 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. */
  readonly tokenTypes: readonly number[];
  /** BPE merges "left right" (gpt2 only). */
  readonly merges: readonly string[];
}

interface TokenizerJson {
  model: {
    vocab: Record<string, number>;
    merges?: (string | [string, string])[];
    byte_fallback?: boolean;
  };
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

function asTokenizerJson(json: unknown): TokenizerJson {
  const model = (json as { model?: { vocab?: unknown } } | null)?.model;
  if (typeof model?.vocab !== "object" || model.vocab === null) {
    throw new TypeError("Cannot read tokenizer.json: model.vocab is missing");
  }
  return json as TokenizerJson;
}

/**
 * Convert a Hugging Face `tokenizer.json` (BPE model) into GGUF vocabulary arrays.
 * `byte_fallback: true` means a SentencePiece-derived vocabulary (Llama-2) → model "llama":
 * `<unk>` UNKNOWN, other added specials CONTROL, `<0xHH>` BYTE, scores rebuilt as
 * −(rank among normal pieces) because tokenizer.json drops SentencePiece scores but keeps
 * pieces in score order. Otherwise → "gpt2" (Llama-3): vocab pieces NORMAL with score 0, added
 * tokens CONTROL with score −1000 (bitnet.cpp's converter), merges copied. Ids missing from
 * both lists become `[PAD<id>]` UNUSED, as llama.cpp's converter does.
 *
 * @param json the parsed tokenizer.json.
 * @param options extra tokens appended after the last id (CONTROL, score −1000).
 * @returns The vocabulary.
 * @throws {TypeError} When the JSON has no `model.vocab`.
 */
export function vocabFromTokenizerJson(
  json: unknown,
  options: Readonly<{ extraTokens?: readonly string[] }> = {},
): SyntheticVocab {
  const tj = asTokenizerJson(json);
  const spm = tj.model.byte_fallback === true;
  const added = new Map((tj.added_tokens ?? []).map((t) => [t.id, t]));
  let size = 0;
  for (const id of Object.values(tj.model.vocab)) size = Math.max(size, id + 1);
  for (const id of added.keys()) size = Math.max(size, id + 1);
  const tokens: string[] = new Array(size);
  const types = new Array<number>(size).fill(5);
  const scores = new Array<number>(size).fill(0);
  for (const [text, id] of Object.entries(tj.model.vocab)) {
    tokens[id] = text;
    types[id] = spm && /^<0x[0-9A-F]{2}>$/.test(text) ? 6 : 1;
  }
  for (const [id, t] of added) {
    tokens[id] = t.content;
    types[id] = spm && t.content === "<unk>" ? 2 : 3;
  }
  let rank = 0;
  for (let id = 0; id < size; id++) {
    if (tokens[id] === undefined) tokens[id] = `[PAD${id}]`;
    if (spm) scores[id] = types[id] === 1 ? -rank++ : 0;
    else scores[id] = types[id] === 3 ? -1000 : 0;
  }
  for (const extra of options.extraTokens ?? []) {
    tokens.push(extra);
    types.push(3);
    scores.push(-1000);
  }
  const merges = spm
    ? []
    : (tj.model.merges ?? []).map((m) => (typeof m === "string" ? m : m.join(" ")));
  return { model: spm ? "llama" : "gpt2", tokens, scores, tokenTypes: types, merges };
}

/** Options of {@link buildMetadata}. */
export interface MetadataOptions {
  readonly arch: SyntheticArch;
  readonly ternary: TernaryFormat;
  readonly name: string;
  /** Omit `tokenizer.ggml.pre` for gpt2 vocabularies (imitates the official 2B-4T file). */
  readonly noPre?: boolean;
  /** `tokenizer.ggml.pre` for gpt2 vocabularies; default "llama-bpe" (Falcon-E: "falcon_e"). */
  readonly pre?: string;
  /** `tokenizer.chat_template`; default: bitnet.cpp's template for bitnet-b1.58, none otherwise. */
  readonly chatTemplate?: string;
  /** `<arch>.rope.scaling.*` (llama.cpp's keys); default none. */
  readonly ropeScaling?: Readonly<{ type: "linear" | "yarn"; factor: number; nCtxOrig?: number }>;
  /**
   * An embedding model as microsoft/BitNet's `convert-bitnet-embedding-to-gguf.py` writes it:
   * `<arch>.pooling_type` (llama.cpp's enum: 1 mean, 2 cls, 3 last) and
   * `tokenizer.ggml.add_eos_token` true (the token last pooling reads).
   */
  readonly pooling?: 1 | 2 | 3;
}

/** bitnet.cpp's embedded template (formats.md §6), written from its description. */
export const BITNET_CHAT_TEMPLATE =
  "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + '\\n\\nBITNETAssistant: ' + eos_token }}" +
  "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";

/**
 * Build the metadata of a synthetic model in converter order: general.*, `<arch>.*` (u32 /
 * f32, as real converters write them), then tokenizer.* (formats.md §5, §7).
 *
 * @param preset hyper-parameters.
 * @param vocab vocabulary (its size is `<arch>.vocab_size`).
 * @param options architecture, ternary format, name, tokenizer options.
 * @returns The key/value pairs.
 */
export function buildMetadata(
  preset: SyntheticPreset,
  vocab: SyntheticVocab,
  options: Readonly<MetadataOptions>,
): [string, GgufValue][] {
  const a = options.arch;
  const headDim = headDimOf(preset);
  const kv: [string, GgufValue][] = [
    ["general.architecture", str(a)],
    ["general.name", str(options.name)],
    [`${a}.vocab_size`, u32(vocab.tokens.length)],
    [`${a}.context_length`, u32(preset.nCtx)],
    [`${a}.embedding_length`, u32(preset.nEmbd)],
    [`${a}.block_count`, u32(preset.nLayer)],
    [`${a}.feed_forward_length`, u32(preset.nFf)],
    [`${a}.rope.dimension_count`, u32(headDim)],
    [`${a}.attention.head_count`, u32(preset.nHead)],
    [`${a}.attention.head_count_kv`, u32(kvHeads(preset, a))],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(a === "qwen3" ? 1e-6 : 1e-5)],
    [`${a}.rope.freq_base`, f32(preset.ropeBase ?? (a === "bitnet" ? 10000 : 500000))],
    ["general.file_type", u32(TERNARY_FORMATS[options.ternary].fileType)],
    ["general.quantization_version", u32(2)],
  ];
  if (headDim * preset.nHead !== preset.nEmbd) {
    kv.push([`${a}.attention.key_length`, u32(headDim)], [
      `${a}.attention.value_length`,
      u32(headDim),
    ]);
  }
  if (options.pooling !== undefined) kv.push([`${a}.pooling_type`, u32(options.pooling)]);
  const rs = options.ropeScaling;
  if (rs !== undefined) {
    kv.push([`${a}.rope.scaling.type`, str(rs.type)], [`${a}.rope.scaling.factor`, f32(rs.factor)]);
    if (rs.nCtxOrig !== undefined) {
      kv.push([`${a}.rope.scaling.original_context_length`, u32(rs.nCtxOrig)]);
    }
  }
  return kv.concat(tokenizerMetadata(vocab, options));
}

function tokenizerMetadata(
  vocab: SyntheticVocab,
  options: Readonly<MetadataOptions>,
): [string, GgufValue][] {
  const id = (text: string): number => {
    const i = vocab.tokens.indexOf(text);
    if (i < 0) throw new RangeError(`Cannot build tokenizer metadata: no token "${text}"`);
    return i;
  };
  const kv: [string, GgufValue][] = [["tokenizer.ggml.model", str(vocab.model)]];
  if (vocab.model === "gpt2" && options.noPre !== true) {
    kv.push(["tokenizer.ggml.pre", str(options.pre ?? "llama-bpe")]);
  }
  kv.push(
    ["tokenizer.ggml.tokens", arr(GgufValueType.STRING, vocab.tokens)],
    ["tokenizer.ggml.scores", arr(GgufValueType.FLOAT32, vocab.scores)],
    ["tokenizer.ggml.token_type", arr(GgufValueType.INT32, vocab.tokenTypes)],
  );
  if (vocab.model === "gpt2") {
    kv.push(
      ["tokenizer.ggml.merges", arr(GgufValueType.STRING, vocab.merges)],
      ["tokenizer.ggml.bos_token_id", u32(id("<|begin_of_text|>"))],
      ["tokenizer.ggml.eos_token_id", u32(id("<|end_of_text|>"))],
      ["tokenizer.ggml.eot_token_id", u32(id("<|eot_id|>"))],
      ["tokenizer.ggml.padding_token_id", u32(id("<|end_of_text|>"))],
    );
  } else {
    kv.push(
      ["tokenizer.ggml.bos_token_id", u32(id("<s>"))],
      ["tokenizer.ggml.eos_token_id", u32(id("</s>"))],
      ["tokenizer.ggml.unknown_token_id", u32(id("<unk>"))],
    );
    if (vocab.tokens.includes("<pad>")) {
      kv.push(["tokenizer.ggml.padding_token_id", u32(id("<pad>"))]);
    }
  }
  kv.push(["tokenizer.ggml.add_bos_token", bool(true)], [
    "tokenizer.ggml.add_eos_token",
    bool(options.pooling !== undefined),
  ]);
  const template = options.chatTemplate ??
    (options.arch === "bitnet-b1.58" ? BITNET_CHAT_TEMPLATE : undefined);
  if (template !== undefined) kv.push(["tokenizer.chat_template", str(template)]);
  return kv;
}

/**
 * The seeded generator of one tensor: its values depend only on the seed and the tensor name,
 * so the same weights come out whatever the file's formats are.
 *
 * @param seed model seed.
 * @param name tensor name.
 * @returns The generator.
 */
export function tensorPrng(seed: number, name: string): Prng {
  return createPrng(seed, hashString(name));
}

/**
 * Synthesize a ternary weight: per-tensor scale γ = (0.5 + u) / sqrt(ne[0]) with u uniform in
 * [0, 1), rounded to an f16 value (so TQ's f16 block scale d = γ and I2_S's f32 scale agree
 * exactly), then codes with ~1/3 each of −1, 0, +1.
 *
 * @param seed model seed.
 * @param tensor name and shape.
 * @returns The ternary values and the scale.
 */
export function synthesizeTernary(
  seed: number,
  tensor: Readonly<{ name: string; dims: readonly number[] }>,
): { values: Int8Array; scale: number } {
  const rng = tensorPrng(seed, tensor.name);
  const nIn = tensor.dims[0] ?? 1;
  const scale = f16ToF32(f32ToF16((0.5 + rng.nextFloat()) / Math.sqrt(nIn)));
  const n = tensor.dims.reduce((p, d) => p * d, 1);
  return { values: fillTernary(new Int8Array(n), rng), scale };
}

/**
 * A chunked filler for a float tensor: norms ≈ 1 ± 0.05, embeddings ≈ N(0, 1). Successive
 * calls continue the same stream, so chunk sizes do not change the values.
 *
 * @param seed model seed.
 * @param tensor name and role.
 * @returns A function that fills its argument with the next values and returns it.
 */
export function floatFiller(
  seed: number,
  tensor: Readonly<{ name: string; role: TensorRole }>,
): (x: Float32Array) => Float32Array {
  const rng = tensorPrng(seed, tensor.name);
  // Embedding / output values are small next to what the layers add to the residual stream (as
  // in trained models): with std 1 the tied head favours the input token and every greedy
  // continuation repeats it, which would hide the layers from the oracle comparisons.
  const opts = tensor.role === "norm" ? { mean: 1, std: 0.05 } : { mean: 0, std: 0.1 };
  return (x) => fillNormalish(x, rng, opts);
}
