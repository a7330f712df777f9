/**
 * @module The pure-TypeScript reference forward pass: the oracle the native engine is checked
 * against. It follows docs/engine.md (engine contract v1) step by step and is written to be read,
 * not to be fast.
 *
 * What it does:
 * - Parses a GGUF file (`src/model/gguf-reader.ts`) and dequantizes every weight matrix to f32
 *   once (`src/model/quants.ts`). Ternary matrices (TQ1_0, TQ2_0, I2_S) additionally keep their
 *   ternary values `t ∈ {-1, 0, 1}` and their scales (one per 256-block for TQ1_0/TQ2_0, one per
 *   tensor for I2_S), recovered from the f32 dequantization as `t = w / |d|`.
 * - Quantizes activations exactly as the contract says for the weight type: Q8_K blocks for
 *   TQ1_0/TQ2_0 (`quantizeRowQ8K`), one int8 row for I2_S (`quantizeRowI8`) and for the
 *   converter's fallback projections (`aria.fallback_activation` = "i8": a block matrix of a
 *   non-ternary type, split into ternary values and one tensor scale), none for float types;
 *   then computes the integer dot products first and applies the scales afterwards.
 * - Runs `bitnet` (sub-norms, SiLU or ReLU² per `bitnet.hidden_activation`, optional per-matrix
 *   `.scale`), `bitnet-b1.58` / `bitnet-25` (sub-norms, ReLU²) and `llama` (no sub-norms, SiLU,
 *   adjacent-pair RoPE), with GQA and tied embeddings when `output.weight` is absent.
 *
 * f32 rounding choices (the contract leaves them to the implementation):
 * - Every vector handed from one step to the next is stored in a Float32Array, so it is rounded
 *   to f32 exactly where the C engine stores a float.
 * - Exact f32 emulation (Math.fround after each operation) where a rounding decides an integer or
 *   the C order of operations is short and fixed: the Q8_K and int8 quantizers (the scale, each
 *   `scale·x` product before rounding to an integer, `d = 1/iscale`), the per-block f32
 *   accumulation of the TQ dot, the I2_S output `(float)(Σt·q) / s · w_scale`, RMSNorm
 *   (`(float)(Σx² in double / n)`, `1/sqrtf(mean + eps)`, `x·scale`, then `·w`) and the
 *   residual adds.
 * - Plain double precision, rounded to f32 once when stored, for the rest: float-weight dot
 *   products, RoPE angles (`pos · base^(−2i/n_rot)` computed directly, not by repeated f32
 *   multiplication), attention scores, softmax and the weighted sum of V, SiLU. These differ from
 *   a float implementation by a few f32 ulps, far below any tolerance a comparison uses.
 */
import { kvNumber, kvString, parseGguf, tensorData } from "../../src/model/gguf-reader.ts";
import type { GgufFile, GgufTensorInfo } from "../../src/model/gguf-reader.ts";
import { GgmlType } from "../../src/model/gguf-format.ts";
import { dequantizeRow, f16ToF32 } from "../../src/model/quants.ts";

const f32 = Math.fround;

/** Elements per Q8_K block (and per TQ1_0 / TQ2_0 block). */
export const QK_K = 256;

/** The I2_S activation floor: `amax = max(max|x|, 1e-5)` (as an f32 constant). */
export const I8_AMAX_FLOOR: number = f32(1e-5);

/**
 * Rounds to the nearest integer, ties to even (what llama.cpp's `nearest_int` and torch's
 * `round` do), for any finite double.
 */
export function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const diff = v - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** One activation row in Q8_K format: `x ≈ d[b] · q[i]` for element `i` of block `b = i / 256`. */
export interface Q8KRow {
  /** The int8 values, one per element. */
  readonly q: Int8Array;
  /** One scale per 256-element block (may be negative; 0 for an all-zero block). */
  readonly d: Float32Array;
}

/**
 * Quantizes an activation row to Q8_K like llama.cpp `quantize_row_q8_K_ref`: per 256-block,
 * `m` = the element with the largest |x| (the first one on ties) with its sign,
 * `iscale = −127/m`, `q = min(127, round_half_even(iscale·x))`, `d = 1/iscale`; an all-zero block
 * gives `d = 0` and `q = 0`. All arithmetic is f32.
 * @throws {RangeError} if the length is not a multiple of 256
 */
export function quantizeRowQ8K(x: Float32Array): Q8KRow {
  if (x.length % QK_K !== 0) {
    throw new RangeError(`Cannot quantize to Q8_K: length ${x.length} is not a multiple of 256`);
  }
  const nBlocks = x.length / QK_K;
  const q = new Int8Array(x.length);
  const d = new Float32Array(nBlocks);
  for (let b = 0; b < nBlocks; b++) {
    const base = b * QK_K;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK_K; j++) {
      const v = x[base + j]!;
      const av = Math.abs(v);
      if (av > amax) {
        amax = av;
        max = v;
      }
    }
    if (amax === 0) continue; // q = 0, d = 0
    const iscale = f32(-127 / max);
    for (let j = 0; j < QK_K; j++) {
      const v = roundHalfEven(f32(iscale * x[base + j]!));
      q[base + j] = Math.min(127, v);
    }
    d[b] = f32(1 / iscale);
  }
  return { q, d };
}

/** One activation row in bitnet.cpp's per-row int8 format: `x ≈ q[i] / s`. */
export interface I8Row {
  /** The int8 values, one per element. */
  readonly q: Int8Array;
  /** The row scale `s = 127 / max(max|x|, 1e-5)` (f32). */
  readonly s: number;
  /** `S = Σ q` (the offset correction for codes `c = t + 1`). */
  readonly sum: number;
}

/**
 * Quantizes an activation row to int8 like bitnet.cpp `quantize_row_i8_s` (2024 fork):
 * `amax = max(max|x|, 1e-5)`, `s = 127/amax`, `q = clamp(round_half_even(x·s), −128, 127)`,
 * `S = Σ q`. All arithmetic is f32.
 */
export function quantizeRowI8(x: Float32Array): I8Row {
  let amax = 0;
  for (let i = 0; i < x.length; i++) amax = Math.max(amax, Math.abs(x[i]!));
  amax = Math.max(amax, I8_AMAX_FLOOR);
  const s = f32(127 / amax);
  const q = new Int8Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.min(127, Math.max(-128, roundHalfEven(f32(x[i]! * s))));
    q[i] = v;
    sum += v;
  }
  return { q, s, sum };
}

/** How a matrix's activations are quantized (engine.md, "Matrix-vector products"). */
export type ActivationFormat = "q8_k" | "i8" | "f32";

/**
 * One weight matrix of `nOut` rows of `nIn` elements (GGUF dims `[nIn, nOut]`), dequantized to f32.
 * Ternary matrices also carry `t` (ternary values) and `d` (scales) so that the matmul can work
 * in integers first, as the contract requires.
 */
export interface RefMatrix {
  readonly name: string;
  readonly type: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly activation: ActivationFormat;
  /** Dequantized weights, row-major: `w[r·nIn + i]`. */
  readonly w: Float32Array;
  /** Ternary values (`q8_k` and `i8` matrices only), same layout as `w`. */
  readonly t?: Int8Array;
  /**
   * Weight scales: for `q8_k` one per row per 256-block (`d[r·nIn/256 + b]`, ≥ 0), for `i8` one
   * value (the tensor scale).
   */
  readonly d?: Float32Array;
  /** Optional `blk.N.<matrix>.scale` multiplier (`bitnet` files). */
  readonly outScale?: number;
}

/**
 * `y = W·x` for one activation row, per engine.md: Q8_K-quantized activations and per-block
 * integer sums for TQ1_0/TQ2_0, one int8 row and `(Σ t·q) / s · w_scale` for I2_S, plain f32
 * dot products (accumulated in double) for float types; then the optional `.scale` multiplier.
 * `xq` lets callers share one quantization of `x` between matrices (it is deterministic, so this
 * changes nothing but speed).
 */
export function matmul(
  m: RefMatrix,
  x: Float32Array,
  xq?: { q8k?: Q8KRow; i8?: I8Row },
): Float32Array {
  if (x.length !== m.nIn) {
    throw new RangeError(`Cannot multiply ${m.name}: input length ${x.length}, expected ${m.nIn}`);
  }
  const y = new Float32Array(m.nOut);
  const nIn = m.nIn;
  if (m.activation === "q8_k") {
    const a = xq?.q8k ?? quantizeRowQ8K(x);
    const t = m.t!;
    const dw = m.d!;
    const nBlocks = nIn / QK_K;
    for (let r = 0; r < m.nOut; r++) {
      let acc = 0; // f32 accumulator
      for (let b = 0; b < nBlocks; b++) {
        const base = r * nIn + b * QK_K;
        const xBase = b * QK_K;
        let sumi = 0; // integer block sum Σ t·q
        for (let j = 0; j < QK_K; j++) sumi += t[base + j]! * a.q[xBase + j]!;
        const d = f32(a.d[b]! * dw[r * nBlocks + b]!);
        acc = f32(acc + f32(sumi * d));
      }
      y[r] = acc;
    }
  } else if (m.activation === "i8") {
    const a = xq?.i8 ?? quantizeRowI8(x);
    const t = m.t!;
    const wScale = m.d![0]!;
    for (let r = 0; r < m.nOut; r++) {
      // Σ t·q = Σ c·q − S for codes c = t + 1: the integer the bitnet.cpp kernel produces.
      let sumi = 0;
      const base = r * nIn;
      for (let i = 0; i < nIn; i++) sumi += t[base + i]! * a.q[i]!;
      y[r] = f32(f32(sumi / a.s) * wScale);
    }
  } else {
    const w = m.w;
    for (let r = 0; r < m.nOut; r++) {
      let acc = 0;
      const base = r * nIn;
      for (let i = 0; i < nIn; i++) acc += w[base + i]! * x[i]!;
      y[r] = acc;
    }
  }
  if (m.outScale !== undefined) {
    for (let r = 0; r < m.nOut; r++) y[r] = f32(y[r]! * m.outScale);
  }
  return y;
}

/**
 * RMSNorm per engine.md: `mean = (float)(Σ x² in double / n)`, `y = (x · (1/sqrtf(mean + eps))) · w`
 * with every step rounded to f32 as the C code does.
 */
export function rmsNorm(x: Float32Array, w: Float32Array, eps: number): Float32Array {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]! * x[i]!;
  const mean = f32(sum / x.length);
  const scale = f32(1 / f32(Math.sqrt(f32(mean + eps))));
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f32(x[i]! * scale) * w[i]!;
  return y;
}

/** The architectures the reference runs. */
export type RefArch = "bitnet" | "bitnet-b1.58" | "bitnet-25" | "llama" | "qwen3";

/** RoPE scaling as llama.cpp defines it (docs/models.md "RoPE scaling"). */
export interface RefRopeScaling {
  readonly type: "linear" | "yarn";
  readonly factor: number;
  /** YaRN: the training context the ramp is computed for. */
  readonly nCtxOrig: number;
  /** YaRN: multiplies the magnitude factor. */
  readonly attnFactor: number;
}

/** Hyper-parameters read from the GGUF metadata. */
export interface RefHparams {
  readonly arch: RefArch;
  readonly nVocab: number;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nFf: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly headDim: number;
  readonly nRot: number;
  readonly ropeBase: number;
  readonly eps: number;
  readonly ropeStyle: "neox" | "adjacent";
  readonly activation: "silu" | "relu2";
  readonly subNorms: boolean;
  readonly tiedOutput: boolean;
  /** qwen3: an RMS norm on each query and key head before RoPE. */
  readonly qkNorm?: boolean;
  readonly ropeScaling?: RefRopeScaling;
}

/** The weights of one block. */
export interface RefLayer {
  readonly attnNorm: Float32Array;
  readonly wq: RefMatrix;
  readonly wk: RefMatrix;
  readonly wv: RefMatrix;
  readonly attnQNorm?: Float32Array;
  readonly attnKNorm?: Float32Array;
  readonly attnSubNorm?: Float32Array;
  /**
   * qwen3 BitNet embedding models (docs/models.md "BitNet embedding models"): an RMS norm of
   * the attn_norm / ffn_norm output before one projection only. The ones before Wo and Wdown
   * are `attnOutNormIn` / `ffnDownNormIn`.
   */
  readonly normIn?: Readonly<{
    q?: Float32Array;
    k?: Float32Array;
    v?: Float32Array;
    o?: Float32Array;
    gate?: Float32Array;
    up?: Float32Array;
    down?: Float32Array;
  }>;
  readonly wo: RefMatrix;
  readonly ffnNorm: Float32Array;
  readonly wGate: RefMatrix;
  readonly wUp: RefMatrix;
  readonly ffnSubNorm?: Float32Array;
  readonly wDown: RefMatrix;
}

/** Hidden states of one token through the model (for debugging a mismatch layer by layer). */
export interface RefTrace {
  /** `token_embd[token]`, f32. */
  readonly embedding: Float32Array;
  /** The hidden state after each block (`layers[l]` = output of block `l`). */
  readonly layers: Float32Array[];
  /** `rmsnorm(x, output_norm)`: the input of the output matmul. */
  readonly final: Float32Array;
  /** The logits. */
  readonly logits: Float32Array;
}

const ARCHES: readonly RefArch[] = ["bitnet", "bitnet-b1.58", "bitnet-25", "llama", "qwen3"];

/** A model ready to run: hyper-parameters and f32 weights. Build it with `fromBytes`. */
export class ReferenceModel {
  /** Hyper-parameters. */
  readonly hparams: RefHparams;
  /** `token_embd.weight`, dequantized (`nVocab` rows of `nEmbd`). */
  readonly tokenEmbd: RefMatrix;
  /** `output_norm.weight`. */
  readonly outputNorm: Float32Array;
  /** The output matrix: `output.weight`, or `token_embd.weight` when tied. */
  readonly output: RefMatrix;
  /** The blocks. */
  readonly layers: readonly RefLayer[];

  /** Use {@link ReferenceModel.fromBytes}. */
  constructor(
    hparams: RefHparams,
    tokenEmbd: RefMatrix,
    outputNorm: Float32Array,
    output: RefMatrix,
    layers: RefLayer[],
  ) {
    this.hparams = hparams;
    this.tokenEmbd = tokenEmbd;
    this.outputNorm = outputNorm;
    this.output = output;
    this.layers = layers;
  }

  /** Vocabulary size (rows of the output matrix). */
  get nVocab(): number {
    return this.hparams.nVocab;
  }
  /** Hidden size. */
  get nEmbd(): number {
    return this.hparams.nEmbd;
  }
  /** Number of blocks. */
  get nLayer(): number {
    return this.hparams.nLayer;
  }

  /**
   * Parses a GGUF file and dequantizes all its weights.
   * @param bytes the whole GGUF file.
   * @param options `activations` overrides the contract's activation scheme of every block
   *   matrix (not the output matrix), for experiments: `"i8"` runs TQ1_0/TQ2_0 weights with the
   *   I2_S per-row int8 scheme (the tensor's block scales must all be equal), `"q8_k"` runs I2_S
   *   weights with Q8_K blocks, `"f32"` turns activation quantization off (`W·x` with the
   *   dequantized weights). Default `"contract"`.
   * @throws {Error} if the architecture, a tensor type or a shape is not supported
   */
  static fromBytes(
    bytes: Uint8Array,
    options: Readonly<{ activations?: "contract" | ActivationFormat }> = {},
  ): ReferenceModel {
    const file = parseGguf(bytes);
    const arch = kvString(file, "general.architecture") as RefArch;
    if (!ARCHES.includes(arch)) {
      throw new Error(`Cannot build the reference model: architecture "${arch}" is not supported`);
    }
    const tensors = new Map(file.tensors.map((t) => [t.name, t]));
    const num = (key: string, fallback?: number): number => {
      const v = kvNumber(file, `${arch}.${key}`);
      if (v !== undefined) return v;
      if (fallback !== undefined) return fallback;
      throw new Error(`Cannot build the reference model: key "${arch}.${key}" is missing`);
    };
    const nEmbd = num("embedding_length");
    const nHead = num("attention.head_count");
    const headDim = num("attention.key_length", nEmbd / nHead);
    const tokenEmbdInfo = tensors.get("token_embd.weight");
    if (tokenEmbdInfo === undefined) {
      throw new Error('Cannot build the reference model: tensor "token_embd.weight" is missing');
    }
    const tiedOutput = !tensors.has("output.weight");
    const isBitnet = arch !== "llama" && arch !== "qwen3";
    const isQwen3 = arch === "qwen3";
    // docs/models.md "Activation": the key, else SiLU, except bitnet-b1.58 without the key:
    // SiLU for a SentencePiece vocabulary (1bitLLM lineage), ReLU² otherwise (2B-4T lineage).
    const b158 = arch === "bitnet-b1.58" || arch === "bitnet-25";
    const spm = kvString(file, "tokenizer.ggml.model") === "llama";
    let activation: "silu" | "relu2" = b158 && !spm ? "relu2" : "silu";
    const act = kvString(file, `${arch}.hidden_activation`);
    if (act === "relu2" || act === "relu_sqr") activation = "relu2";
    else if (act === "silu") activation = "silu";
    else if (act !== undefined) {
      throw new Error(`Cannot build the reference model: hidden_activation "${act}" is unknown`);
    }
    const hparams: RefHparams = {
      arch,
      nVocab: tokenEmbdInfo.dims[1] ?? 1,
      nEmbd,
      nLayer: num("block_count"),
      nFf: num("feed_forward_length"),
      nHead,
      nHeadKv: num("attention.head_count_kv", nHead),
      headDim,
      nRot: num("rope.dimension_count", headDim),
      ropeBase: num("rope.freq_base", 10000),
      eps: num("attention.layer_norm_rms_epsilon"),
      ropeStyle: isBitnet || isQwen3 ? "neox" : "adjacent",
      activation,
      subNorms: isBitnet,
      tiedOutput,
      ...(isQwen3 ? { qkNorm: true } : {}),
      ...ropeScalingOf(file, arch, num("context_length", 2048)),
    };

    const matrix = (name: string, scaleName?: string): RefMatrix => {
      const info = tensors.get(name);
      if (info === undefined) {
        throw new Error(`Cannot build the reference model: tensor "${name}" is missing`);
      }
      const scaleInfo = scaleName === undefined ? undefined : tensors.get(scaleName);
      const outScale = scaleInfo === undefined
        ? undefined
        : readVector(file, bytes, scaleName!)[0]!;
      return loadMatrix(file, bytes, info, outScale);
    };
    const vector = (name: string): Float32Array => readVector(file, bytes, name);
    const optional = (name: string) => tensors.has(name) ? vector(name) : undefined;
    // the BitNet embedding models' per-projection input norms, each optional (as the fork of
    // llama.cpp in microsoft/BitNet loads them)
    const normInOf = (p: string) => {
      const out: Record<string, Float32Array> = {};
      const names = {
        q: "attn_q",
        k: "attn_k",
        v: "attn_v",
        o: "attn_output",
        gate: "ffn_gate",
        up: "ffn_up",
        down: "ffn_down",
      } as const;
      for (const [key, name] of Object.entries(names)) {
        const w = optional(`${p}${name}_norm_in.weight`);
        if (w !== undefined) out[key] = w;
      }
      return out;
    };

    // engine.md "Fallback projections": block matrices of a non-ternary type take int8 rows
    const fallback = kvString(file, "aria.fallback_activation");
    if (fallback !== undefined && fallback !== "i8") {
      throw new Error(`Cannot build the reference model: aria.fallback_activation "${fallback}"`);
    }
    const layers: RefLayer[] = [];
    for (let l = 0; l < hparams.nLayer; l++) {
      const p = `blk.${l}.`;
      const m = (n: string) => {
        const w = matrix(`${p}${n}.weight`, arch === "bitnet" ? `${p}${n}.scale` : undefined);
        return fallback !== undefined && w.activation === "f32" ? ternaryFallback(w) : w;
      };
      const layer: RefLayer = {
        attnNorm: vector(`${p}attn_norm.weight`),
        wq: m("attn_q"),
        wk: m("attn_k"),
        wv: m("attn_v"),
        wo: m("attn_output"),
        ffnNorm: vector(`${p}ffn_norm.weight`),
        wGate: m("ffn_gate"),
        wUp: m("ffn_up"),
        wDown: m("ffn_down"),
        ...(isBitnet
          ? {
            attnSubNorm: vector(`${p}attn_sub_norm.weight`),
            ffnSubNorm: vector(`${p}ffn_sub_norm.weight`),
          }
          : {}),
        ...(isQwen3
          ? {
            attnQNorm: vector(`${p}attn_q_norm.weight`),
            attnKNorm: vector(`${p}attn_k_norm.weight`),
            normIn: normInOf(p),
          }
          : {}),
      };
      checkLayerShapes(hparams, layer, l);
      layers.push(layer);
    }
    const tokenEmbd = loadMatrix(file, bytes, tokenEmbdInfo, undefined);
    const outputInfo = tensors.get("output.weight");
    const output = outputInfo === undefined
      ? tokenEmbd
      : loadMatrix(file, bytes, outputInfo, undefined);
    const model = new ReferenceModel(
      hparams,
      tokenEmbd,
      vector("output_norm.weight"),
      output,
      layers,
    );
    const activations = options.activations ?? "contract";
    return activations === "contract" ? model : model.withActivations(activations);
  }

  /**
   * The same weights (shared, not copied) with another activation scheme for every block
   * matrix; see the `activations` option of `fromBytes`.
   * @throws {Error} for `"i8"` on a TQ matrix whose block scales differ, or a non-ternary matrix
   */
  withActivations(activations: ActivationFormat): ReferenceModel {
    const m = (x: RefMatrix) => withActivation(x, activations);
    const layers = this.layers.map((l): RefLayer => ({
      ...l,
      wq: m(l.wq),
      wk: m(l.wk),
      wv: m(l.wv),
      wo: m(l.wo),
      wGate: m(l.wGate),
      wUp: m(l.wUp),
      wDown: m(l.wDown),
    }));
    return new ReferenceModel(this.hparams, this.tokenEmbd, this.outputNorm, this.output, layers);
  }

  /** `token_embd[token]` as f32 (step 1 of the forward pass). */
  embed(token: number): Float32Array {
    if (!Number.isInteger(token) || token < 0 || token >= this.tokenEmbd.nOut) {
      throw new RangeError(`Cannot embed token ${token}: vocabulary has ${this.tokenEmbd.nOut}`);
    }
    const n = this.tokenEmbd.nIn;
    return this.tokenEmbd.w.slice(token * n, (token + 1) * n);
  }

  /** `logits = matmul(output, rmsnorm(hidden, output_norm))` (step 3). */
  outputLogits(hidden: Float32Array): { final: Float32Array; logits: Float32Array } {
    const final = rmsNorm(hidden, this.outputNorm, this.hparams.eps);
    return { final, logits: matmul(this.output, final) };
  }

  /** A new, empty sequence (its own f32 KV cache). */
  newSequence(): ReferenceSequence {
    return new ReferenceSequence(this);
  }
}

/** One sequence: an f32 KV cache per layer and the position of the next token. */
export class ReferenceSequence {
  /** The model this sequence runs. */
  readonly model: ReferenceModel;
  // #keys[l][pos] / #values[l][pos]: nHeadKv · headDim floats (after RoPE for keys).
  readonly #keys: Float32Array[][];
  readonly #values: Float32Array[][];

  /** Use `ReferenceModel.newSequence()`. */
  constructor(model: ReferenceModel) {
    this.model = model;
    this.#keys = model.layers.map(() => []);
    this.#values = model.layers.map(() => []);
  }

  /** Tokens evaluated so far through block 0 (the position of the next token). */
  get length(): number {
    return this.#keys[0]?.length ?? 0;
  }

  /** Evaluates the next token and returns its logits, advancing the KV cache. */
  eval(token: number): Float32Array {
    return this.evalTrace(token).logits;
  }

  /** Evaluates several tokens one after the other; returns the logits of each. */
  evalTokens(tokens: readonly number[]): Float32Array[] {
    return tokens.map((t) => this.eval(t));
  }

  /** Like `eval`, and returns the hidden state after the embedding, after each block and final. */
  evalTrace(token: number): RefTrace {
    const embedding = this.model.embed(token);
    const layers: Float32Array[] = [];
    let x = embedding;
    for (let l = 0; l < this.model.nLayer; l++) {
      x = this.evalLayers(x, l, l + 1);
      layers.push(x);
    }
    const { final, logits } = this.model.outputLogits(x);
    return { embedding, layers, final, logits };
  }

  /**
   * Runs blocks `[layerBegin, layerEnd)` on one hidden state (step 2), each at the position
   * given by its own cache length, and appends that token's K and V to their caches. Composes
   * like the native `aria_ctx_eval_layers`.
   */
  evalLayers(hidden: Float32Array, layerBegin: number, layerEnd: number): Float32Array {
    let x = hidden;
    for (let l = layerBegin; l < layerEnd; l++) x = this.#block(l, x);
    return x;
  }

  #block(l: number, xIn: Float32Array): Float32Array {
    const hp = this.model.hparams;
    const layer = this.model.layers[l];
    if (layer === undefined) {
      throw new RangeError(`Cannot run block ${l}: the model has ${hp.nLayer}`);
    }
    const keys = this.#keys[l]!;
    const values = this.#values[l]!;
    const pos = keys.length;

    // 2.1-2.3: norm, projections, RoPE.
    const a = rmsNorm(xIn, layer.attnNorm, hp.eps);
    const ni = layer.normIn ?? {};
    const aq = quantizeFor([layer.wq, layer.wk, layer.wv], a);
    // a projection with an input norm: matmul(W, rmsnorm(a, norm_in)), its own quantized row
    const project = (
      w: RefMatrix,
      x: Float32Array,
      xq: ReturnType<typeof quantizeFor>,
      n?: Float32Array,
    ) => {
      if (n === undefined) return matmul(w, x, xq);
      const xn = rmsNorm(x, n, hp.eps);
      return matmul(w, xn, quantizeFor([w], xn));
    };
    const q = project(layer.wq, a, aq, ni.q);
    const k = project(layer.wk, a, aq, ni.k);
    const v = project(layer.wv, a, aq, ni.v);
    if (layer.attnQNorm !== undefined) headNorm(q, hp.nHead, layer.attnQNorm, hp);
    if (layer.attnKNorm !== undefined) headNorm(k, hp.nHeadKv, layer.attnKNorm, hp);
    rope(q, hp.nHead, pos, hp);
    rope(k, hp.nHeadKv, pos, hp);
    keys.push(k);
    values.push(v);

    // 2.4: causal attention, GQA.
    const hd = hp.headDim;
    const group = hp.nHead / hp.nHeadKv;
    const scale = 1 / Math.sqrt(hd);
    const o = new Float32Array(hp.nHead * hd);
    const scores = new Float64Array(pos + 1);
    for (let h = 0; h < hp.nHead; h++) {
      const kvh = Math.floor(h / group);
      let max = -Infinity;
      for (let j = 0; j <= pos; j++) {
        const kj = keys[j]!;
        let s = 0;
        for (let i = 0; i < hd; i++) s += q[h * hd + i]! * kj[kvh * hd + i]!;
        scores[j] = s * scale;
        if (scores[j]! > max) max = scores[j]!;
      }
      let sum = 0;
      for (let j = 0; j <= pos; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let j = 0; j <= pos; j++) acc += scores[j]! * values[j]![kvh * hd + i]!;
        o[h * hd + i] = acc / sum;
      }
    }

    // 2.5: sub-norm, output projection, residual.
    const oNorm = layer.attnSubNorm ?? ni.o;
    const oNormed = oNorm ? rmsNorm(o, oNorm, hp.eps) : o;
    const attnOut = matmul(layer.wo, oNormed);
    const x = new Float32Array(xIn.length);
    for (let i = 0; i < x.length; i++) x[i] = xIn[i]! + attnOut[i]!;

    // 2.6: FFN.
    const f = rmsNorm(x, layer.ffnNorm, hp.eps);
    const fq = quantizeFor([layer.wGate, layer.wUp], f);
    const g = project(layer.wGate, f, fq, ni.gate);
    const u = project(layer.wUp, f, fq, ni.up);
    const m = new Float32Array(g.length);
    for (let i = 0; i < m.length; i++) {
      const gi = g[i]!;
      const act = hp.activation === "silu" ? gi / (1 + Math.exp(-gi)) : gi > 0 ? gi * gi : 0;
      m[i] = act * u[i]!;
    }

    // 2.7: sub-norm, down projection, residual.
    const mNorm = layer.ffnSubNorm ?? ni.down;
    const mNormed = mNorm ? rmsNorm(m, mNorm, hp.eps) : m;
    const down = matmul(layer.wDown, mNormed);
    const out = new Float32Array(x.length);
    for (let i = 0; i < out.length; i++) out[i] = x[i]! + down[i]!;
    return out;
  }
}

/** Quantizes `x` once for every activation format the given matrices need. */
function quantizeFor(ms: RefMatrix[], x: Float32Array): { q8k?: Q8KRow; i8?: I8Row } {
  const out: { q8k?: Q8KRow; i8?: I8Row } = {};
  if (ms.some((m) => m.activation === "q8_k")) out.q8k = quantizeRowQ8K(x);
  if (ms.some((m) => m.activation === "i8")) out.i8 = quantizeRowI8(x);
  return out;
}

/** qwen3: RMS norm of each of `nHeads` heads of `v` (in place) with the head norm weight. */
function headNorm(v: Float32Array, nHeads: number, w: Float32Array, hp: RefHparams): void {
  for (let h = 0; h < nHeads; h++) {
    const head = v.subarray(h * hp.headDim, (h + 1) * hp.headDim);
    head.set(rmsNorm(head, w, hp.eps));
  }
}

/** The `<arch>.rope.scaling.*` keys; none, or "none": no scaling. */
function ropeScalingOf(
  file: GgufFile,
  arch: string,
  nCtxTrain: number,
): { ropeScaling?: RefRopeScaling } {
  const type = kvString(file, `${arch}.rope.scaling.type`);
  if (type === undefined || type === "none") return {};
  if (type !== "linear" && type !== "yarn") {
    throw new Error(`Cannot build the reference model: rope scaling "${type}"`);
  }
  return {
    ropeScaling: {
      type,
      factor: kvNumber(file, `${arch}.rope.scaling.factor`) ?? 1,
      nCtxOrig: kvNumber(file, `${arch}.rope.scaling.original_context_length`) ?? nCtxTrain,
      attnFactor: kvNumber(file, `${arch}.rope.scaling.attn_factor`) ?? 1,
    },
  };
}

/**
 * Per-pair multipliers of theta and the cos / sin magnitude, as llama.cpp's ggml_rope_ext with
 * freq_scale = 1/factor: linear multiplies every theta by freq_scale; YaRN (ext_factor 1,
 * beta_fast 32, beta_slow 1) mixes freq_scale·theta and theta by a ramp over the pairs between the
 * correction dims and multiplies cos / sin by 1 + 0.1·ln(factor) (times attn_factor).
 */
function ropeScale(hp: RefHparams): { mult: Float64Array; mscale: number } {
  const half = hp.nRot / 2;
  const mult = new Float64Array(half).fill(1);
  const s = hp.ropeScaling;
  if (s === undefined) return { mult, mscale: 1 };
  const freqScale = 1 / s.factor;
  if (s.type === "linear") return { mult: mult.fill(freqScale), mscale: 1 };
  const corr = (beta: number) =>
    (hp.nRot * Math.log(s.nCtxOrig / (beta * 2 * Math.PI))) / (2 * Math.log(hp.ropeBase));
  const low = Math.max(0, Math.floor(corr(32)));
  const high = Math.min(hp.nRot - 1, Math.ceil(corr(1)));
  for (let i = 0; i < half; i++) {
    const ramp = 1 - Math.min(1, Math.max(0, (i - low) / Math.max(0.001, high - low)));
    mult[i] = freqScale * (1 - ramp) + ramp;
  }
  return { mult, mscale: s.attnFactor * (1 + 0.1 * Math.log(1 / freqScale)) };
}

/**
 * RoPE in place on `nHeads` heads of `headDim`, over the first `nRot` dims of each head: pair `i`
 * rotated by `pos · base^(−2i/nRot)`; NEOX pairs `(i, i + nRot/2)` or adjacent pairs `(2i, 2i+1)`.
 */
function rope(v: Float32Array, nHeads: number, pos: number, hp: RefHparams): void {
  const half = hp.nRot / 2;
  const { mult, mscale } = ropeScale(hp);
  for (let h = 0; h < nHeads; h++) {
    const base = h * hp.headDim;
    for (let i = 0; i < half; i++) {
      const theta = pos * Math.pow(hp.ropeBase, (-2 * i) / hp.nRot) * mult[i]!;
      const cos = Math.cos(theta) * mscale;
      const sin = Math.sin(theta) * mscale;
      const i0 = hp.ropeStyle === "neox" ? base + i : base + 2 * i;
      const i1 = hp.ropeStyle === "neox" ? base + i + half : base + 2 * i + 1;
      const x0 = v[i0]!;
      const x1 = v[i1]!;
      v[i0] = x0 * cos - x1 * sin;
      v[i1] = x0 * sin + x1 * cos;
    }
  }
}

function checkLayerShapes(hp: RefHparams, layer: RefLayer, l: number): void {
  const nQ = hp.nHead * hp.headDim;
  const nKv = hp.nHeadKv * hp.headDim;
  const want: [RefMatrix, number, number][] = [
    [layer.wq, hp.nEmbd, nQ],
    [layer.wk, hp.nEmbd, nKv],
    [layer.wv, hp.nEmbd, nKv],
    [layer.wo, nQ, hp.nEmbd],
    [layer.wGate, hp.nEmbd, hp.nFf],
    [layer.wUp, hp.nEmbd, hp.nFf],
    [layer.wDown, hp.nFf, hp.nEmbd],
  ];
  for (const [m, nIn, nOut] of want) {
    if (m.nIn !== nIn || m.nOut !== nOut) {
      throw new Error(
        `Cannot build the reference model: block ${l} tensor "${m.name}" is ${m.nIn}x${m.nOut}, expected ${nIn}x${nOut}`,
      );
    }
  }
  if (hp.nHead % hp.nHeadKv !== 0 || hp.nRot > hp.headDim || hp.nRot % 2 !== 0) {
    throw new Error("Cannot build the reference model: inconsistent head counts or rope dims");
  }
}

// ---- GGUF access ---------------------------------------------------------------------------

/** Reads a 1-D (or any) tensor as f32. */
function readVector(file: GgufFile, bytes: Uint8Array, name: string): Float32Array {
  const info = file.tensors.find((t) => t.name === name);
  if (info === undefined) {
    throw new Error(`Cannot build the reference model: tensor "${name}" is missing`);
  }
  const n = info.dims.reduce((a, b) => a * b, 1);
  return dequantize(info.type, tensorData(file, bytes, info), n);
}

/**
 * Dequantizes a 2-D tensor and, for ternary types, splits it into ternary values and scales:
 * TQ1_0/TQ2_0 block scale `|d| = max |w|` over the block (so `w = t·|d|` exactly), I2_S tensor
 * scale read from the f32 after the codes.
 */
function loadMatrix(
  file: GgufFile,
  bytes: Uint8Array,
  info: GgufTensorInfo,
  outScale: number | undefined,
): RefMatrix {
  const nIn = info.dims[0] ?? 1;
  const nOut = info.dims[1] ?? 1;
  const data = tensorData(file, bytes, info);
  const w = dequantize(info.type, data, nIn * nOut);
  const common = { name: info.name, type: info.type, nIn, nOut, w };
  const extra = outScale === undefined ? {} : { outScale };
  if (info.type === GgmlType.TQ1_0 || info.type === GgmlType.TQ2_0) {
    const nBlocks = (nIn * nOut) / QK_K;
    const d = new Float32Array(nBlocks);
    const t = new Int8Array(nIn * nOut);
    for (let b = 0; b < nBlocks; b++) {
      let amax = 0;
      for (let j = 0; j < QK_K; j++) amax = Math.max(amax, Math.abs(w[b * QK_K + j]!));
      d[b] = amax;
      splitTernary(info.name, w, t, amax, b * QK_K, (b + 1) * QK_K);
    }
    return { ...common, ...extra, activation: "q8_k", t, d };
  }
  if (info.type === GgmlType.I2_S) {
    const n = nIn * nOut;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const scale = view.getFloat32(n / 4, true);
    const t = new Int8Array(n);
    splitTernary(info.name, w, t, Math.abs(scale), 0, n);
    return { ...common, ...extra, activation: "i8", t, d: Float32Array.of(scale) };
  }
  return { ...common, ...extra, activation: "f32" };
}

/**
 * The same weights with another activation scheme (see `ReferenceModel.fromBytes` options).
 * @throws {Error} for `"i8"` on a matrix whose block scales differ
 */
export function withActivation(m: RefMatrix, activation: ActivationFormat): RefMatrix {
  if (m.activation === activation) return m;
  if (activation === "f32") {
    const { t: _t, d: _d, ...rest } = m;
    return { ...rest, activation };
  }
  if (m.t === undefined || m.d === undefined) {
    throw new Error(`Cannot run "${m.name}" with ${activation} activations: it is not ternary`);
  }
  if (activation === "q8_k") {
    const d = new Float32Array((m.nIn * m.nOut) / QK_K).fill(m.d[0]!);
    return { ...m, activation, d };
  }
  let scale = 0;
  for (const d of m.d) {
    if (d === 0) continue;
    if (scale !== 0 && d !== scale) {
      throw new Error(`Cannot run "${m.name}" with i8 activations: block scales differ`);
    }
    scale = d;
  }
  return { ...m, activation, d: Float32Array.of(scale) };
}

/**
 * A ternary-valued matrix stored in a float or Q4_0 type (the converter's fallback), run as I2_S
 * is: one tensor scale `max |w|` and one int8 activation row.
 * @throws {Error} if a weight is not 0 or ±(the tensor's max |w|)
 */
function ternaryFallback(m: RefMatrix): RefMatrix {
  let amax = 0;
  for (const v of m.w) amax = Math.max(amax, Math.abs(v));
  const t = new Int8Array(m.w.length);
  splitTernary(m.name, m.w, t, amax, 0, m.w.length);
  return { ...m, activation: "i8", t, d: Float32Array.of(amax) };
}

/** `t[i] = w[i] / amax` for `i` in `[begin, end)`, checking that every `|w[i]|` is 0 or `amax`. */
function splitTernary(
  name: string,
  w: Float32Array,
  t: Int8Array,
  amax: number,
  begin: number,
  end: number,
): void {
  for (let i = begin; i < end; i++) {
    const v = w[i]!;
    if (v === 0) continue;
    if (Math.abs(v) !== amax) {
      throw new Error(`Cannot split "${name}" into ternary values: ${v} is not 0 or ±${amax}`);
    }
    t[i] = v > 0 ? 1 : -1;
  }
}

let f16Table: Float32Array | undefined;

/**
 * `dequantizeRow` from src/model/quants.ts, with a faster path for F16 (a 64 K-entry table built
 * from the same `f16ToF32`, read through a Uint16Array, so little-endian hosts only, like the
 * rest of ARIA): the 128256 × 256 embeddings of the tiny models dominate load time otherwise.
 */
function dequantize(type: number, data: Uint8Array, n: number): Float32Array {
  if (type !== GgmlType.F16 || data.byteOffset % 2 !== 0) return dequantizeRow(type, data, { n });
  if (f16Table === undefined) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  const table = f16Table;
  const h = new Uint16Array(data.buffer, data.byteOffset, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = table[h[i]!]!;
  return out;
}
