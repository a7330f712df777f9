/**
 * @module The native engine: `NativeModel` and `NativeContext` own libbitnet handles and turn
 * every native status into an `EngineError`. Each call into C is bounded (one batch of at most
 * `nBatch` tokens), so callers can yield to the event loop between calls.
 */
import { type Pointer, toArrayBuffer } from "bun:ffi";
import { type AriaLibrary, openLibrary } from "./library.ts";
import { ARIA_STATUS, EngineError, toEngineError } from "./status.ts";
import type { ContextOptions, KernelSet, ModelInfo, OutputHead } from "./port.ts";

const KERNELS: Record<KernelSet, number> = {
  auto: 0,
  ref: 1,
  avx2: 2,
  avx512: 3,
  neon: 4,
  avxvnni: 5,
};
const KERNEL_NAMES = ["auto", "ref", "avx2", "avx512", "neon", "avxvnni"] as const;
/** `enum aria_type` ids of the in-memory output heads (aria_model_requantize_output_to). */
const ARIA_TYPE_Q8_W = 1000;
const ARIA_TYPE_Q4_W = 1001;
/** The type each requantized head choice asks for ("float" keeps the file's head). */
const OUTPUT_HEAD_TYPES: Record<Exclude<OutputHead, "float">, number> = {
  int8: ARIA_TYPE_Q8_W,
  int4: ARIA_TYPE_Q4_W,
};

function cString(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

function outPointer(): BigUint64Array {
  return new BigUint64Array(1);
}

function pointerOf(out: BigUint64Array): Pointer {
  return Number(out[0]) as Pointer;
}

/**
 * Chooses the kernel set for evaluations from now on (process-wide).
 *
 * @param kernels "auto", "ref" (the scalar oracle), "avx2", "avxvnni" (AVX2 + AVX-VNNI), "avx512"
 *   or "neon".
 * @throws {EngineError} ENGINE_UNSUPPORTED when this CPU or build lacks that set.
 */
export async function setKernels(kernels: KernelSet): Promise<void> {
  const lib = await openLibrary();
  const status = lib.aria_kernels_set(KERNELS[kernels]);
  if (status !== 0) {
    throw toEngineError(status, "Cannot select kernels", `"${kernels}" is not available here`);
  }
}

/**
 * The kernel set in use, the CPU features detected, and the numerics contract the engine's results
 * follow (`aria_numerics_contract`; 2: bit-identical logits on every kernel set, thread count,
 * batch and CPU, docs/engine.md), so that a receipt can name it.
 */
export async function kernelInfo(): Promise<
  { kernels: KernelSet; cpuFeatures: string; numericsContract: number }
> {
  const lib = await openLibrary();
  const k = lib.aria_kernels_get();
  return {
    kernels: KERNEL_NAMES[k] ?? "auto",
    cpuFeatures: String(lib.aria_cpu_features()),
    numericsContract: lib.aria_numerics_contract(),
  };
}

/**
 * The numerics contract version of the loaded library (`aria_numerics_contract`, docs/engine.md).
 * Receipts name it: two results with the same contract, model, head, KV type and tokens must be
 * bit-identical.
 */
export async function numericsContract(): Promise<number> {
  const lib = await openLibrary();
  return lib.aria_numerics_contract();
}

/** I2_S code layouts (aria.h `enum aria_i2s_layout`). */
export type I2sLayout = "x86" | "arm";

/** `enum aria_i2s_layout` values. */
const I2S_LAYOUT_IDS: Readonly<Record<I2sLayout, number>> = { x86: 0, arm: 1 };

/**
 * Loads a GGUF model file.
 *
 * @param path the file.
 * @param options `layerBegin`/`layerEnd` load only blocks [begin, end) (pipeline stages).
 * @returns the model; call `close()` (or `using`) when done.
 * @throws {EngineError} with the native message (what and where) for a bad or unsupported file.
 */
export async function openModel(
  path: string,
  options: Readonly<{
    layerBegin?: number;
    layerEnd?: number;
    libraryPath?: string;
    /**
     * The output head (aria_model_requantize_output_to). "float" (the default) keeps the file's
     * head. "int8" requantizes a float head (F32 / F16 / BF16) to int8 at load: half an F16
     * head's bytes per decoded token. "int4" requantizes it to int4 (blocks of 32 with an f16
     * scale): a quarter of an F16 head's bytes, for a small accuracy cost (docs/engine.md gives
     * the measured perplexity change), so it is not the default anywhere. The head is silently
     * kept as it is when it is not float or n_embd is not a multiple of 256.
     */
    outputHead?: OutputHead;
    /**
     * Repack TQ1_0 projections of the loaded blocks to TQ2_0 at load (aria_model_repack): the
     * same values, run by the faster TQ2_0 kernels, for 22% more weight memory. Nothing changes
     * for other files. `info.repacked` counts the matrices converted.
     */
    repack?: boolean;
    /**
     * The I2_S code layout of the file (docs/models.md, "I2_S layouts"): "x86" (the default:
     * published files and every x86 build of bitnet.cpp) or "arm" (files quantized by an ARM
     * build of bitnet.cpp since Nov 2025; nothing in the file says so). "arm" rewrites the
     * loaded I2_S projections into the x86 layout at load (aria_model_set_i2s_layout).
     */
    i2sLayout?: I2sLayout;
  }> = {},
): Promise<NativeModel> {
  const lib = await openLibrary(options.libraryPath);
  const err = Buffer.alloc(512);
  const out = outPointer();
  const status = lib.aria_model_load(
    cString(path),
    options.layerBegin ?? 0,
    options.layerEnd ?? -1,
    err,
    err.length,
    out,
  );
  if (status !== 0) {
    throw toEngineError(status, "Cannot load model", readCString(err));
  }
  const handle = pointerOf(out);
  if ((options.i2sLayout ?? "x86") !== "x86") {
    const s = lib.aria_model_set_i2s_layout(handle, I2S_LAYOUT_IDS[options.i2sLayout!]);
    if (s !== 0) {
      lib.aria_model_free(handle);
      throw toEngineError(
        s,
        `Cannot convert the I2_S weights from the "${options.i2sLayout}" layout`,
        "",
      );
    }
  }
  if (options.repack) {
    const s = lib.aria_model_repack(handle);
    if (s !== 0) {
      lib.aria_model_free(handle);
      throw toEngineError(
        s,
        "Cannot repack the TQ1_0 weights to TQ2_0",
        "load the model with repacking off (--no-repack) or free memory",
      );
    }
  }
  const head = options.outputHead ?? "float";
  if (head !== "float") {
    const s = lib.aria_model_requantize_output_to(handle, OUTPUT_HEAD_TYPES[head]);
    if (s !== 0 && s !== ARIA_STATUS.UNSUPPORTED) {
      lib.aria_model_free(handle);
      throw toEngineError(s, `Cannot requantize the output head to "${head}"`, "");
    }
  }
  return new NativeModel(lib, handle, path);
}

function readCString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString("utf8");
}

/** A loaded model (read-only; several contexts may share it). */
export class NativeModel {
  readonly #lib: AriaLibrary;
  #handle: Pointer | null;
  readonly #contexts = new Set<NativeContext>();
  /** The file it was loaded from. */
  readonly path: string;
  /** Architecture, dimensions and tensor types. */
  readonly info: ModelInfo;

  /** @internal use `openModel`. */
  constructor(lib: AriaLibrary, handle: Pointer, path: string) {
    this.#lib = lib;
    this.#handle = handle;
    this.path = path;
    this.info = this.#readInfo();
  }

  #readInfo(): ModelInfo {
    const h = this.handle;
    let buf = Buffer.alloc(4096);
    let n = Number(this.#lib.aria_model_info_json(h, buf, buf.length));
    if (n < 0) {
      buf = Buffer.alloc(-n);
      n = Number(this.#lib.aria_model_info_json(h, buf, buf.length));
    }
    const raw = JSON.parse(buf.subarray(0, n).toString("utf8")) as Record<string, unknown>;
    return {
      arch: String(raw.arch),
      nVocab: Number(raw.n_vocab),
      nEmbd: Number(raw.n_embd),
      nFf: Number(raw.n_ff),
      nLayer: Number(raw.n_layer),
      nHead: Number(raw.n_head),
      nHeadKv: Number(raw.n_head_kv),
      headDim: Number(raw.head_dim),
      nRot: Number(raw.n_rot),
      nCtxTrain: Number(raw.n_ctx_train),
      ropeBase: Number(raw.rope_base),
      ropeNeox: Boolean(raw.rope_neox),
      normEps: Number(raw.norm_eps),
      activation: raw.activation === "relu2" ? "relu2" : "silu",
      layerBegin: Number(raw.layer_begin),
      layerEnd: Number(raw.layer_end),
      outputTied: Boolean(raw.output_tied),
      embdType: String(raw.embd_type),
      outputType: String(raw.output_type),
      tensorTypes: raw.tensor_types as Record<string, number>,
      weightBytes: Number(raw.weight_bytes),
      fileBytes: Number(raw.file_bytes),
      matrixTypes: raw.matrix_types as Record<string, number>,
      repacked: Number(raw.repacked),
      repackedBytes: Number(raw.repacked_bytes),
      x16: Number(raw.x16 ?? 0),
    };
  }

  /** The native handle. @throws {EngineError} ENGINE_CLOSED after close(). */
  get handle(): Pointer {
    if (this.#handle === null) {
      throw new EngineError(0, "Cannot use the model: it is closed", { code: "ENGINE_CLOSED" });
    }
    return this.#handle;
  }

  /**
   * Creates an evaluation context (KV cache, run state and threads, allocated once).
   *
   * @param options sizes and threads; see `ContextOptions`.
   * @returns the context; close it before the model.
   * @throws {EngineError} for out-of-range sizes or when memory is short.
   */
  createContext(options: Readonly<ContextOptions> = {}): NativeContext {
    const nCtx = options.nCtx ?? Math.min(this.info.nCtxTrain, 2048);
    const nSeq = options.nSeq ?? 1;
    const nBatch = options.nBatch ?? 256;
    const nThreads = options.nThreads ?? defaultThreads();
    const kvType = options.kvType ?? "f32";
    const out = outPointer();
    const status = this.#lib.aria_ctx_init_kv(
      this.handle,
      nCtx,
      nSeq,
      nBatch,
      nThreads,
      kvType === "f16" ? 1 : 0, // ARIA_TYPE_F16 / ARIA_TYPE_F32
      out,
    );
    if (status !== 0) {
      throw toEngineError(
        status,
        "Cannot create a context",
        `n_ctx ${nCtx} (model: ${this.info.nCtxTrain}), n_seq ${nSeq}, n_batch ${nBatch}, n_threads ${nThreads}, kv ${kvType}`,
      );
    }
    const ctx = new NativeContext(this.#lib, this, pointerOf(out), {
      nCtx,
      nSeq,
      nBatch,
      nThreads,
      kvType,
    });
    this.#contexts.add(ctx);
    return ctx;
  }

  /** @internal */
  forget(ctx: NativeContext): void {
    this.#contexts.delete(ctx);
  }

  /** Frees the model and any context still open on it. Idempotent. */
  close(): void {
    if (this.#handle === null) return;
    for (const ctx of [...this.#contexts]) ctx.close();
    this.#lib.aria_model_free(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Threads used when none are asked for: every core this process may use. */
export function defaultThreads(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** An evaluation context: n_seq sequences of up to n_ctx positions each. */
export class NativeContext {
  readonly #lib: AriaLibrary;
  #handle: Pointer | null;
  /** The model it evaluates. */
  readonly model: NativeModel;
  /** Sizes it was created with. */
  readonly options: Readonly<Required<ContextOptions>>;

  /** @internal use `NativeModel.createContext`. */
  constructor(
    lib: AriaLibrary,
    model: NativeModel,
    handle: Pointer,
    options: Required<ContextOptions>,
  ) {
    this.#lib = lib;
    this.model = model;
    this.#handle = handle;
    this.options = options;
  }

  get #h(): Pointer {
    if (this.#handle === null) {
      throw new EngineError(0, "Cannot use the context: it is closed", { code: "ENGINE_CLOSED" });
    }
    return this.#handle;
  }

  #check(status: number, action: string): void {
    if (status === ARIA_STATUS.OK) return;
    const buf = Buffer.alloc(512);
    this.#lib.aria_ctx_last_error(this.#h, buf, buf.length);
    throw toEngineError(status, action, readCString(buf));
  }

  /**
   * Evaluates a batch of tokens (at most nBatch) and computes logits.
   *
   * @param tokens token ids.
   * @param options `seq` (default 0) and `pos` (default: continuing the sequence) per token, or one
   *   number for all; `logits`: "last" (default), "all", "none", or one flag per token (truthy =
   *   compute that token's logits; rows come in token order).
   * @returns the number of logit rows computed (read them with `logits(i)`).
   * @throws {EngineError} ENGINE_CTX_FULL, ENGINE_INVALID_ARG, ENGINE_CANCELLED, ...
   */
  decode(
    tokens: ArrayLike<number>,
    options: Readonly<{
      seq?: number | ArrayLike<number>;
      pos?: ArrayLike<number>;
      logits?: "last" | "all" | "none" | ArrayLike<number | boolean>;
    }> = {},
  ): number {
    const n = tokens.length;
    const { pos, seq } = this.#positions(n, options.seq ?? 0, options.pos);
    const want = new Int32Array(n);
    const wanted = options.logits;
    if (typeof wanted === "object") {
      if (wanted.length !== n) {
        throw new RangeError(`Cannot decode: ${wanted.length} logits flags for ${n} tokens`);
      }
      for (let i = 0; i < n; i++) want[i] = wanted[i] ? 1 : 0;
    } else if (wanted === "all") want.fill(1);
    else if (wanted !== "none" && n > 0) want[n - 1] = 1;
    const tok = Int32Array.from(tokens);
    this.#check(
      this.#lib.aria_ctx_decode(this.#h, n, ptrOrNull(tok), ptrOrNull(pos), ptrOrNull(seq), want),
      "Cannot evaluate the batch",
    );
    return this.#lib.aria_ctx_n_outputs(this.#h);
  }

  #positions(
    n: number,
    seqOption: number | ArrayLike<number>,
    posOption: ArrayLike<number> | undefined,
  ): { pos: Int32Array; seq: Int32Array } {
    const seq = typeof seqOption === "number"
      ? new Int32Array(n).fill(seqOption)
      : Int32Array.from(seqOption);
    if (seq.length !== n) {
      throw new RangeError(`Cannot decode: ${seq.length} seq ids for ${n} tokens`);
    }
    if (posOption) {
      const pos = Int32Array.from(posOption);
      if (pos.length !== n) {
        throw new RangeError(`Cannot decode: ${pos.length} positions for ${n} tokens`);
      }
      return { pos, seq };
    }
    const next = new Map<number, number>();
    const pos = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const s = seq[i] ?? 0;
      const p = next.get(s) ?? this.seqLength(s);
      pos[i] = p;
      next.set(s, p + 1);
    }
    return { pos, seq };
  }

  /**
   * Logits of output row i of the last decode: a zero-copy view, valid only until the next call
   * that evaluates on this context. Copy it (`.slice()`) to keep it.
   */
  logits(i: number): Float32Array {
    const p = this.#lib.aria_ctx_logits(this.#h, i);
    if (!p) throw new RangeError(`Cannot read logits: row ${i} was not computed`);
    return new Float32Array(toArrayBuffer(p, 0, this.model.info.nVocab * 4));
  }

  /** Positions cached for a sequence. */
  seqLength(seq: number): number {
    const n = this.#lib.aria_ctx_seq_len(this.#h, seq);
    if (n < 0) {
      throw new EngineError(
        ARIA_STATUS.INVALID_ARG,
        `Cannot use sequence ${seq}: outside 0..${this.options.nSeq - 1}`,
      );
    }
    return n;
  }

  /** Forgets positions >= keep of a sequence (0 clears it). */
  truncate(seq: number, keep = 0): void {
    this.#check(this.#lib.aria_ctx_seq_truncate(this.#h, seq, keep), "Cannot truncate sequence");
  }

  /** hidden[i] = token_embd[tokens[i]] (n x n_embd floats). Pipeline first stage. */
  embed(tokens: ArrayLike<number>, hidden: Float32Array): void {
    const tok = Int32Array.from(tokens);
    this.#checkHidden(hidden, tok.length);
    this.#check(
      this.#lib.aria_ctx_embed(this.#h, tok.length, ptrOrNull(tok), hidden),
      "Cannot embed",
    );
  }

  /** Runs blocks [begin, end) over hidden in place, advancing the KV caches. */
  evalLayers(
    hidden: Float32Array,
    range: Readonly<{ begin: number; end: number }>,
    options: Readonly<{ seq?: number | ArrayLike<number>; pos?: ArrayLike<number> }> = {},
  ): void {
    const n = hidden.length / this.model.info.nEmbd;
    this.#checkHidden(hidden, n);
    const { pos, seq } = this.#positions(n, options.seq ?? 0, options.pos);
    this.#check(
      this.#lib.aria_ctx_eval_layers(this.#h, n, pos, seq, range.begin, range.end, hidden),
      "Cannot evaluate layers",
    );
  }

  /** Final norm and head: logits (n x n_vocab) from hidden (n x n_embd). */
  output(hidden: Float32Array): Float32Array {
    const n = hidden.length / this.model.info.nEmbd;
    this.#checkHidden(hidden, n);
    const logits = new Float32Array(n * this.model.info.nVocab);
    this.#check(this.#lib.aria_ctx_output(this.#h, n, hidden, logits), "Cannot compute logits");
    return logits;
  }

  #checkHidden(hidden: Float32Array, n: number): void {
    if (!Number.isInteger(n) || n < 1 || hidden.length !== n * this.model.info.nEmbd) {
      throw new RangeError(
        `Cannot use hidden state of ${hidden.length} floats: expected a multiple of ${this.model.info.nEmbd}`,
      );
    }
  }

  /** Asks a running evaluation to stop at the next layer (safe from any thread). */
  cancel(): void {
    if (this.#handle !== null) this.#lib.aria_ctx_cancel(this.#handle);
  }

  /** Frees the context and joins its threads. Idempotent. */
  close(): void {
    if (this.#handle === null) return;
    this.#lib.aria_ctx_free(this.#handle);
    this.#handle = null;
    this.model.forget(this);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function ptrOrNull(a: Int32Array): Int32Array | null {
  return a.length > 0 ? a : null;
}
