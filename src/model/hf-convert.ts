/**
 * @module Hugging Face BitNet b1.58 checkpoints -> a ternary GGUF (formats.md §4, §5a-c,
 * docs/models.md "aria model convert"): config.json -> hyper-parameters, the tensor plan, the
 * data of each tensor, and the metadata (tokenizer.json -> GGUF vocabulary through synthetic.ts).
 * Architectures written: `bitnet` (1bitLLM, SiLU), `bitnet-b1.58` (ReLU², the 2B-4T lineage, the
 * name bitnet.cpp uses, so other engines run it with ReLU²) and `llama` (LlamaForCausalLM with
 * BitLinear layers, e.g. HF1BitLLM/Llama3-8B-1.58-100B-tokens: no sub-norms, its own lm_head,
 * Q/K rows permuted for adjacent-pair RoPE as llama.cpp's converter does). Two weight layouts are
 * read:
 * - master weights (F32 / F16 / BF16 `*.weight`): absmean-ternarized here, exactly as training
 *   does (convert.ts);
 * - packed weights (U8 `*.weight` of shape [out/4, in] plus `*.weight_scale`): 2-bit fields
 *   unpacked (field k of packed row p = output row k·out/4 + p, value = field − 1) and the scale
 *   read by the checkpoint's convention: `autobitlinear` (2B-4T) multiplies by weight_scale,
 *   `bitlinear` (Falcon3, Llama3-8B-1.58) divides by it.
 * A projection whose rows do not fit the requested ternary type is stored as Q4_0 or F16 with the
 * same ternary values (ternary-fallback.ts); the file then carries `aria.fallback_activation`.
 * Pure: the caller (model/convert-files.ts) reads the files and writes the output.
 */
import { absmeanTernarize, ggufNameForHf } from "./convert.ts";
import {
  GgmlType,
  type GgufValue,
  GgufValueType,
  tensorByteSize,
  typeName,
} from "./gguf-format.ts";
import { arr, bool, f32, str, u32 } from "./gguf-writer.ts";
import { bf16ToF32, f16ToF32, packI2S, packTq1_0, packTq2_0, quantizeF16 } from "./quants.ts";
import { vocabFromTokenizerJson } from "./synthetic.ts";
import { packTernaryQ4_0, ternaryF16, ternaryStorage } from "./ternary-fallback.ts";
import { AriaError } from "../shared/errors.ts";

/** A checkpoint that cannot be converted: the message says why and what to do. */
export class ConvertError extends AriaError {
  /** @param message what is wrong. */
  constructor(message: string) {
    super("CONVERT", message);
  }
}

/** Ternary output types. */
export type ConvertType = "tq2_0" | "tq1_0" | "i2_s";

const TYPE_INFO: Readonly<Record<ConvertType, { ggml: number; fileType: number; row: number }>> = {
  tq2_0: { ggml: GgmlType.TQ2_0, fileType: 37, row: 256 },
  tq1_0: { ggml: GgmlType.TQ1_0, fileType: 36, row: 256 },
  i2_s: { ggml: GgmlType.I2_S, fileType: 40, row: 128 },
};

/** GGUF architectures the converter writes. */
export type ConvertArch = "bitnet" | "bitnet-b1.58" | "llama";

/** Hyper-parameters read from config.json. */
export interface HfHparams {
  /** The GGUF architecture written (docs/models.md "aria model convert"). */
  readonly arch: ConvertArch;
  /** Per-head size: config.json `head_dim`, else hidden_size / num_attention_heads. */
  readonly headDim: number;
  readonly nVocab: number;
  readonly nEmbd: number;
  readonly nFf: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly nCtx: number;
  readonly eps: number;
  readonly ropeBase: number;
  readonly activation: "silu" | "relu2";
  readonly tied: boolean;
  /** How a packed checkpoint's weight_scale applies: multiply (autobitlinear) or divide. */
  readonly scaleMode: "multiply" | "divide";
  readonly bosId?: number;
  readonly eosId?: number;
}

function need(c: Record<string, unknown>, key: string): number {
  const v = c[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new ConvertError(`Cannot convert: config.json "${key}" is ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Reads config.json of a BitNet checkpoint: BitnetForCausalLM (1bitLLM), BitNetForCausalLM
 * (microsoft/bitnet-b1.58-2B-4T) or a LlamaForCausalLM with `quantization_config.quant_method`
 * "bitnet" (HF1BitLLM/Llama3-8B-1.58-100B-tokens).
 *
 * @param json the parsed config.json.
 * @returns The hyper-parameters.
 * @throws {ConvertError} For another architecture, a missing or bad value, an activation other
 * than silu / relu2, a quantization_config transformers would refuse or ARIA cannot run
 * (use_rms_norm), or rope scaling.
 */
export function hparamsFromConfig(json: unknown): HfHparams {
  if (typeof json !== "object" || json === null) {
    throw new ConvertError("Cannot convert: config.json is not a JSON object");
  }
  const c = json as Record<string, unknown>;
  const q = (c["quantization_config"] ?? {}) as Record<string, unknown>;
  const family = checkpointFamily(c, q);
  const act = c["hidden_act"] ?? "silu";
  if (act !== "silu" && act !== "relu2") {
    throw new ConvertError(`Cannot convert: hidden_act "${String(act)}" (expected silu or relu2)`);
  }
  if (family === "llama" && act !== "silu") {
    throw new ConvertError(`Cannot convert: a LlamaForCausalLM with hidden_act "${act}"`);
  }
  const nHead = need(c, "num_attention_heads");
  const nEmbd = need(c, "hidden_size");
  const headDim = typeof c["head_dim"] === "number" ? need(c, "head_dim") : nEmbd / nHead;
  const hp: HfHparams = {
    arch: family === "llama" ? "llama" : act === "relu2" ? "bitnet-b1.58" : "bitnet",
    headDim,
    nVocab: need(c, "vocab_size"),
    nEmbd,
    nFf: need(c, "intermediate_size"),
    nLayer: need(c, "num_hidden_layers"),
    nHead,
    nHeadKv: typeof c["num_key_value_heads"] === "number" ? c["num_key_value_heads"] : nHead,
    nCtx: need(c, "max_position_embeddings"),
    eps: typeof c["rms_norm_eps"] === "number" ? c["rms_norm_eps"] : 1e-5,
    ropeBase: ropeTheta(c),
    activation: act,
    tied: c["tie_word_embeddings"] !== false,
    scaleMode: scaleModeOf(q),
  };
  const bos = c["bos_token_id"];
  const eos = c["eos_token_id"];
  return {
    ...hp,
    ...(typeof bos === "number" ? { bosId: bos } : {}),
    ...(typeof eos === "number" ? { eosId: eos } : {}),
  };
}

/** Which kind of checkpoint config.json describes; refuses what is not a BitNet checkpoint. */
function checkpointFamily(
  c: Record<string, unknown>,
  q: Record<string, unknown>,
): "bitnet" | "llama" {
  const archs = Array.isArray(c["architectures"]) ? c["architectures"] as unknown[] : [];
  if (archs.some((a) => typeof a === "string" && /^bitnetforcausallm$/i.test(a))) return "bitnet";
  if (archs.includes("LlamaForCausalLM") && q["quant_method"] === "bitnet") return "llama";
  throw new ConvertError(
    `Cannot convert architecture ${JSON.stringify(archs)}: aria model convert reads BitNet ` +
      "checkpoints (BitnetForCausalLM, BitNetForCausalLM, or LlamaForCausalLM with " +
      'quantization_config.quant_method "bitnet"); for Falcon3 1.58-bit use the published GGUF ' +
      "(aria model pull falcon3-1b)",
  );
}

/**
 * How a packed weight_scale applies, as transformers decides it (integrations/bitnet.py):
 * `linear_class` "autobitlinear" builds AutoBitLinear, which multiplies the output by
 * weight_scale; anything else builds BitLinear, which divides by it, and BitNetQuantConfig's
 * default linear_class is "bitlinear". So only an explicit "autobitlinear" multiplies.
 */
function scaleModeOf(q: Record<string, unknown>): "multiply" | "divide" {
  const lc = q["linear_class"] ?? "bitlinear";
  if (lc !== "bitlinear" && lc !== "autobitlinear") {
    throw new ConvertError(
      `Cannot convert: quantization_config.linear_class "${
        String(lc)
      }" (expected bitlinear or autobitlinear)`,
    );
  }
  // use_rms_norm: AutoBitLinear normalizes its input before quantizing it, a step no GGUF
  // architecture has; refused rather than converted into a model that computes something else
  if (q["use_rms_norm"] === true) {
    throw new ConvertError(
      "Cannot convert: quantization_config.use_rms_norm true is not supported",
    );
  }
  return lc === "autobitlinear" ? "multiply" : "divide";
}

/**
 * The RoPE base: `rope_theta` (transformers v4), else `rope_parameters.rope_theta` (v5), else
 * 10000. Rope scaling (`rope_scaling`, or `rope_parameters.rope_type` other than "default") is
 * refused: the converter writes no scaling keys.
 */
function ropeTheta(c: Record<string, unknown>): number {
  const rp = (c["rope_parameters"] ?? {}) as Record<string, unknown>;
  const scaling = (c["rope_scaling"] ?? null) as Record<string, unknown> | null;
  const type = rp["rope_type"] ?? scaling?.["rope_type"] ?? scaling?.["type"] ?? "default";
  if (type !== "default") {
    throw new ConvertError(`Cannot convert: rope scaling "${String(type)}" is not supported`);
  }
  const theta = c["rope_theta"] ?? rp["rope_theta"] ?? 10000;
  if (typeof theta !== "number" || !(theta > 0) || !Number.isFinite(theta)) {
    throw new ConvertError(`Cannot convert: rope_theta is ${JSON.stringify(theta)}`);
  }
  return theta;
}

/** A tensor as the checkpoint stores it. */
export interface HfTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** One tensor of the output, and where it comes from. */
export interface ConvertItem {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: number;
  /** Checkpoint tensor name. */
  readonly hf: string;
  readonly role: "embedding" | "norm" | "ternary";
  /** Why a ternary tensor is stored in a fallback type (ternary-fallback.ts), if it is. */
  readonly fallback?: string;
  /** `llama` Q / K: permute the rows of each of this many heads for adjacent-pair RoPE. */
  readonly permuteHeads?: number;
}

/**
 * Lists the output tensors in file order (formats.md §5a), checking every checkpoint tensor
 * is used and every needed one is there.
 *
 * @param hp hyper-parameters.
 * @param names checkpoint tensor names.
 * @param type ternary output type.
 * @returns The plan.
 * @throws {ConvertError} For a missing tensor, an unknown tensor, or heads that do not divide the
 * hidden size. A row length the ternary type cannot store (TQ needs multiples of 256, I2_S of
 * 128: bitnet_b1_58-3B's 3200 / 8640) is not an error: that tensor falls back to Q4_0 or F16.
 */
export function planConversion(
  hp: HfHparams,
  names: readonly string[],
  type: ConvertType,
): ConvertItem[] {
  const byGguf = new Map<string, string>();
  for (const n of names) {
    if (n.endsWith(".weight_scale") || /rotary_emb\.inv_freq$/.test(n)) continue;
    const g = ggufNameForHf(n);
    if (g === undefined) throw new ConvertError(`Cannot convert: unknown checkpoint tensor "${n}"`);
    byGguf.set(g, n);
  }
  if (!Number.isInteger(hp.headDim) || hp.headDim % 2 !== 0 || hp.nHead % hp.nHeadKv !== 0) {
    throw new ConvertError(
      `Cannot convert: head size ${hp.headDim} (hidden_size ${hp.nEmbd}, num_attention_heads ` +
        `${hp.nHead}, head_dim) and num_key_value_heads ${hp.nHeadKv} do not make whole heads`,
    );
  }
  const qDim = hp.headDim * hp.nHead;
  const kv = hp.headDim * hp.nHeadKv;
  const llama = hp.arch === "llama";
  const info = TYPE_INFO[type];
  const out: ConvertItem[] = [];
  const add = (name: string, dims: number[], role: ConvertItem["role"], permuteHeads = 0) => {
    const hf = byGguf.get(name);
    if (hf === undefined) throw new ConvertError(`Cannot convert: the checkpoint lacks ${name}`);
    byGguf.delete(name);
    if (role !== "ternary") {
      out.push({ name, dims, type: role === "norm" ? GgmlType.F32 : GgmlType.F16, hf, role });
      return;
    }
    // rows that do not fit the ternary type fall back to Q4_0 or F16 (ternary-fallback.ts);
    // F16 holds any row length, so no shape is refused here
    const s = ternaryStorage(dims[0]!, info.ggml, info.row);
    out.push({
      name,
      dims,
      type: s.type,
      hf,
      role,
      ...(s.reason === undefined ? {} : { fallback: `${s.reason} (${type.toUpperCase()})` }),
      ...(permuteHeads > 0 ? { permuteHeads } : {}),
    });
  };
  add("token_embd.weight", [hp.nEmbd, hp.nVocab], "embedding");
  for (let l = 0; l < hp.nLayer; l++) {
    const p = `blk.${l}.`;
    add(`${p}attn_norm.weight`, [hp.nEmbd], "norm");
    add(`${p}attn_q.weight`, [hp.nEmbd, qDim], "ternary", llama ? hp.nHead : 0);
    add(`${p}attn_k.weight`, [hp.nEmbd, kv], "ternary", llama ? hp.nHeadKv : 0);
    add(`${p}attn_v.weight`, [hp.nEmbd, kv], "ternary");
    if (!llama) add(`${p}attn_sub_norm.weight`, [qDim], "norm");
    add(`${p}attn_output.weight`, [qDim, hp.nEmbd], "ternary");
    add(`${p}ffn_norm.weight`, [hp.nEmbd], "norm");
    add(`${p}ffn_gate.weight`, [hp.nEmbd, hp.nFf], "ternary");
    add(`${p}ffn_up.weight`, [hp.nEmbd, hp.nFf], "ternary");
    if (!llama) add(`${p}ffn_sub_norm.weight`, [hp.nFf], "norm");
    add(`${p}ffn_down.weight`, [hp.nFf, hp.nEmbd], "ternary");
  }
  add("output_norm.weight", [hp.nEmbd], "norm");
  if (!hp.tied && hp.arch === "bitnet") {
    // the `bitnet` architecture always ties the head (llama.cpp and ARIA ignore output.weight)
    throw new ConvertError(
      "Cannot convert: the checkpoint has its own lm_head (tie_word_embeddings false), and the " +
        "bitnet GGUF architecture always uses token_embd as the output head",
    );
  }
  // bitnet-b1.58 and llama read output.weight when the file has it (an untied head)
  if (!hp.tied) add("output.weight", [hp.nEmbd, hp.nVocab], "embedding");
  byGguf.delete("output.weight"); // a tied checkpoint may still store lm_head: the same values
  if (byGguf.size > 0) {
    throw new ConvertError(`Cannot convert: unused checkpoint tensors ${[...byGguf.values()]}`);
  }
  return out;
}

/**
 * A float tensor's values (F32, F16, BF16).
 *
 * @param t the tensor.
 * @param name for messages.
 * @returns The values.
 * @throws {ConvertError} For another dtype.
 */
export function floatValues(t: HfTensor, name: string): Float32Array {
  const v = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const n = t.shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(n);
  if (t.dtype === "F32") { for (let i = 0; i < n; i++) out[i] = v.getFloat32(4 * i, true); }
  else if (t.dtype === "BF16") {
    for (let i = 0; i < n; i++) out[i] = bf16ToF32(v.getUint16(2 * i, true));
  } else if (t.dtype === "F16") {
    for (let i = 0; i < n; i++) out[i] = f16ToF32(v.getUint16(2 * i, true));
  } else throw new ConvertError(`Cannot convert "${name}": dtype ${t.dtype} is not a float type`);
  return out;
}

/**
 * Unpacks HF's packed ternary weights: U8 of shape [out/4, in]; the 2-bit field at bits 2k of
 * packed row p is output row k·(out/4) + p, value field − 1.
 *
 * @param bytes the packed tensor.
 * @param packedRows out/4.
 * @param cols in.
 * @returns Ternary values, row-major [out, in].
 * @throws {ConvertError} For a field of 3 (not a ternary code).
 */
export function unpackBitnetU8(bytes: Uint8Array, packedRows: number, cols: number): Int8Array {
  const out = new Int8Array(4 * packedRows * cols);
  for (let p = 0; p < packedRows; p++) {
    for (let j = 0; j < cols; j++) {
      const b = bytes[p * cols + j]!;
      for (let k = 0; k < 4; k++) {
        const field = (b >> (2 * k)) & 3;
        if (field === 3) {
          throw new ConvertError(`Cannot convert: packed weight byte ${b} holds code 3`);
        }
        out[(k * packedRows + p) * cols + j] = field - 1;
      }
    }
  }
  return out;
}

/**
 * Packs ternary values with one scale into a ternary GGUF type.
 *
 * @param type output type.
 * @param values ternary values of the whole tensor.
 * @param scale γ (dequantized weight = t·γ).
 * @returns The tensor data.
 */
export function packTernary(type: ConvertType, values: Int8Array, scale: number): Uint8Array {
  if (type === "tq2_0") return packTq2_0(values, scale);
  if (type === "tq1_0") return packTq1_0(values, scale);
  return packI2S(values, scale);
}

/**
 * The ternary values and scale of one projection, from either layout.
 *
 * @param w the `.weight` tensor (float master or packed U8).
 * @param scale the `.weight_scale` tensor (packed layout only).
 * @param hp for the scale convention.
 * @param name for messages.
 * @returns Values [out, in] and γ.
 * @throws {ConvertError} For a packed weight without a scale, or bad shapes.
 */
export function ternaryOf(
  w: HfTensor,
  scale: HfTensor | undefined,
  hp: HfHparams,
  name: string,
): { values: Int8Array; gamma: number } {
  if (w.dtype !== "U8") return absmeanTernarize(floatValues(w, name));
  if (scale === undefined) {
    throw new ConvertError(`Cannot convert "${name}": packed U8 weight without its weight_scale`);
  }
  const [rows, cols] = w.shape as [number, number];
  const s = floatValues(scale, `${name}_scale`)[0];
  if (w.shape.length !== 2 || s === undefined || !(s > 0)) {
    throw new ConvertError(`Cannot convert "${name}": bad packed shape or weight_scale`);
  }
  const gamma = hp.scaleMode === "multiply" ? s : 1 / s;
  return { values: unpackBitnetU8(w.bytes, rows, cols), gamma };
}

/**
 * The data of one output tensor.
 *
 * @param item the planned tensor.
 * @param read returns a checkpoint tensor by name (undefined if absent).
 * @param hp hyper-parameters.
 * @param type ternary output type.
 * @returns Exactly the tensor's GGUF byte size.
 * @throws {ConvertError} When the checkpoint tensor's element count does not match the plan.
 */
export function convertTensor(
  item: ConvertItem,
  read: (name: string) => HfTensor | undefined,
  hp: HfHparams,
  type: ConvertType,
): Uint8Array {
  const w = read(item.hf)!;
  let data: Uint8Array;
  if (item.role === "ternary") {
    const t = ternaryOf(w, read(`${item.hf}_scale`), hp, item.hf);
    checkCount(t.values.length, item);
    const gamma = t.gamma;
    const values = item.permuteHeads === undefined
      ? t.values
      : permuteRopeRows(t.values, item.permuteHeads, item.dims[0]!);
    data = packFallback(item, values, gamma) ?? packTernary(type, values, gamma);
  } else {
    const x = floatValues(w, item.hf);
    checkCount(x.length, item);
    data = item.type === GgmlType.F16 ? quantizeF16(x) : new Uint8Array(x.buffer);
  }
  return data;
}

/**
 * Reorders the rows of a Q or K projection from HF's rotate-half RoPE pairing (row i with
 * i + d/2 within each head of d rows) to GGUF `llama`'s adjacent pairing (rows 2i, 2i+1), as
 * llama.cpp's converter `permute` does: HF row h·d + s·d/2 + i becomes row h·d + 2i + s.
 *
 * @param values row-major [nHeads·d, cols].
 * @param nHeads heads in the matrix.
 * @param cols row length.
 * @returns The permuted copy.
 */
export function permuteRopeRows(values: Int8Array, nHeads: number, cols: number): Int8Array {
  const rows = values.length / cols;
  const d = rows / nHeads;
  const out = new Int8Array(values.length);
  for (let h = 0; h < nHeads; h++) {
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < d / 2; i++) {
        const from = (h * d + s * (d / 2) + i) * cols;
        out.set(values.subarray(from, from + cols), (h * d + 2 * i + s) * cols);
      }
    }
  }
  return out;
}

/** The data of a fallback tensor, undefined for one stored in the ternary type. */
function packFallback(item: ConvertItem, values: Int8Array, gamma: number): Uint8Array | undefined {
  if (item.fallback === undefined) return undefined;
  if (item.type === GgmlType.F16) return ternaryF16(values, gamma);
  try {
    return packTernaryQ4_0(values, gamma);
  } catch (err: unknown) {
    // converted: a scale outside f16's range becomes a ConvertError naming the tensor
    throw new ConvertError(`Cannot convert "${item.hf}": ${(err as Error).message}`);
  }
}

/**
 * One line per group of fallback tensors (the same name in every block, the same type and
 * reason), for `aria model convert` to print.
 *
 * @param items the plan.
 * @returns Lines like `blk.N.ffn_down.weight ×26 -> Q4_0: rows of 8640 are not a multiple of
 * 128 (I2_S)`; empty when nothing fell back.
 */
export function fallbackSummary(items: readonly ConvertItem[]): string[] {
  const groups = new Map<string, { name: string; target: string; n: number }>();
  for (const t of items) {
    if (t.fallback === undefined) continue;
    const name = t.name.replace(/^blk\.\d+\./, "blk.N.");
    const target = `${typeName(t.type)}: ${t.fallback}`;
    const g = groups.get(`${name} ${target}`) ?? { name, target, n: 0 };
    g.n++;
    groups.set(`${name} ${target}`, g);
  }
  return [...groups.values()].map((g) => `${g.name} ×${g.n} -> ${g.target}`);
}

/**
 * A suggestion when a TQ conversion sent tensors to a fallback type that I2_S would have kept
 * ternary (rows that are multiples of 128 but not 256, e.g. bitnet_b1_58-3B's 3200).
 *
 * @param items the plan.
 * @param type the requested type.
 * @returns The hint, or undefined.
 */
export function fallbackHint(items: readonly ConvertItem[], type: ConvertType): string | undefined {
  if (type === "i2_s") return undefined;
  const n = items.filter((t) => t.fallback !== undefined && t.dims[0]! % 128 === 0).length;
  return n === 0 ? undefined : `--type i2_s would keep ${n} of them ternary (rows of 128)`;
}

function checkCount(n: number, item: ConvertItem): void {
  const want = item.dims.reduce((p, d) => p * d, 1);
  if (n !== want) {
    throw new ConvertError(
      `Cannot convert "${item.hf}": ${n} values, expected ${want} for [${item.dims}]`,
    );
  }
}

/**
 * Total GGUF byte size of the planned tensors' data (without padding).
 *
 * @param items the plan.
 * @returns Bytes.
 */
export function planBytes(items: readonly ConvertItem[]): number {
  return items.reduce((s, t) => s + tensorByteSize(t.type, t.dims), 0);
}

/** Tokenizer inputs of {@link conversionMetadata}. */
export interface TokenizerFiles {
  /** tokenizer.json, parsed. */
  readonly tokenizer: unknown;
  /** tokenizer_config.json, parsed, if present (chat template, add_bos). */
  readonly config?: unknown;
}

function preTokenizerName(tokenizer: unknown): string {
  const text = JSON.stringify((tokenizer as { pre_tokenizer?: unknown })?.pre_tokenizer ?? null);
  // Llama-3's split regex (letters with an optional leading non-letter, 1-3 digits)
  return text.includes("\\\\p{N}{1,3}") ? "llama-bpe" : "gpt-2";
}

/**
 * The GGUF metadata of a converted model: general.*, bitnet.*, tokenizer.*.
 *
 * @param hp hyper-parameters.
 * @param type ternary output type.
 * @param name `general.name`.
 * @param tok tokenizer files.
 * @param hasFallback whether a projection fell back to a non-ternary type: then
 * `aria.fallback_activation = "i8"` tells ARIA to quantize its input like BitLinear does.
 * @returns Key/value pairs in converter order.
 * @throws {ConvertError} When the vocabulary size differs from config.json's vocab_size.
 */
export function conversionMetadata(
  hp: HfHparams,
  type: ConvertType,
  name: string,
  tok: TokenizerFiles,
  hasFallback = false,
): [string, GgufValue][] {
  const a = hp.arch;
  const kv: [string, GgufValue][] = [
    ["general.architecture", str(a)],
    ["general.name", str(name)],
    [`${a}.vocab_size`, u32(hp.nVocab)],
    [`${a}.context_length`, u32(hp.nCtx)],
    [`${a}.embedding_length`, u32(hp.nEmbd)],
    [`${a}.block_count`, u32(hp.nLayer)],
    [`${a}.feed_forward_length`, u32(hp.nFf)],
    [`${a}.rope.dimension_count`, u32(hp.headDim)],
    [`${a}.attention.head_count`, u32(hp.nHead)],
    [`${a}.attention.head_count_kv`, u32(hp.nHeadKv)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(hp.eps)],
    [`${a}.rope.freq_base`, f32(hp.ropeBase)],
  ];
  if (hp.headDim * hp.nHead !== hp.nEmbd) {
    // an explicit head_dim (llama.cpp's keys; read by ARIA's loader as the head size)
    kv.push([`${a}.attention.key_length`, u32(hp.headDim)]);
    kv.push([`${a}.attention.value_length`, u32(hp.headDim)]);
  }
  // explicit for every reader (docs/models.md "Activation"); llama's SiLU is every reader's default
  if (a !== "llama") kv.push([`${a}.hidden_activation`, str(hp.activation)]);
  kv.push(
    ["general.file_type", u32(TYPE_INFO[type].fileType)],
    ["general.quantization_version", u32(2)],
  );
  // docs/engine.md "Fallback projections"; other readers (llama.cpp) ignore the key
  if (hasFallback) kv.push(["aria.fallback_activation", str("i8")]);
  return kv.concat(tokenizerKv(hp, tok));
}

function tokenizerKv(hp: HfHparams, tok: TokenizerFiles): [string, GgufValue][] {
  let vocab;
  try {
    vocab = vocabFromTokenizerJson(tok.tokenizer);
  } catch (err: unknown) {
    // converted: the reader's TypeError becomes a ConvertError naming the file
    throw new ConvertError(`Cannot convert tokenizer.json: ${(err as Error).message}`);
  }
  const tokens = [...vocab.tokens];
  const scores = [...vocab.scores];
  const types = [...vocab.tokenTypes];
  if (tokens.length > hp.nVocab) {
    throw new ConvertError(
      `Cannot convert: tokenizer.json has ${tokens.length} tokens, config.json vocab_size ${hp.nVocab}`,
    );
  }
  // the embedding may have padding rows past the tokenizer (1bitLLM: 32002): unused tokens
  for (let id = tokens.length; id < hp.nVocab; id++) {
    tokens.push(`[PAD${id}]`);
    scores.push(0);
    types.push(5);
  }
  const kv: [string, GgufValue][] = [["tokenizer.ggml.model", str(vocab.model)]];
  if (vocab.model === "gpt2") kv.push(["tokenizer.ggml.pre", str(preTokenizerName(tok.tokenizer))]);
  kv.push(
    ["tokenizer.ggml.tokens", arr(GgufValueType.STRING, tokens)],
    ["tokenizer.ggml.scores", arr(GgufValueType.FLOAT32, scores)],
    ["tokenizer.ggml.token_type", arr(GgufValueType.INT32, types)],
  );
  if (vocab.model === "gpt2") {
    kv.push(["tokenizer.ggml.merges", arr(GgufValueType.STRING, vocab.merges)]);
  }
  if (hp.bosId !== undefined) kv.push(["tokenizer.ggml.bos_token_id", u32(hp.bosId)]);
  if (hp.eosId !== undefined) kv.push(["tokenizer.ggml.eos_token_id", u32(hp.eosId)]);
  const cfg = (tok.config ?? {}) as Record<string, unknown>;
  kv.push(["tokenizer.ggml.add_bos_token", bool(cfg["add_bos_token"] !== false)]);
  kv.push(["tokenizer.ggml.add_eos_token", bool(cfg["add_eos_token"] === true)]);
  if (typeof cfg["chat_template"] === "string") {
    kv.push(["tokenizer.chat_template", str(cfg["chat_template"])]);
  }
  return kv;
}
