/**
 * @module Engine-facing types shared by the engine shell and its users (types only; pure).
 */

/** Kernel sets of libbitnet. */
export type KernelSet = "auto" | "ref" | "avx2" | "avx512" | "neon" | "avxvnni";

/** Sizes of an evaluation context. */
export interface ContextOptions {
  /** Positions per sequence (default: min(model context, 2048)). */
  nCtx?: number;
  /** Independent sequences, each with its own KV cache (default 1). */
  nSeq?: number;
  /** Most tokens per decode call (default 256). */
  nBatch?: number;
  /** Worker threads including the caller's (default: all cores). */
  nThreads?: number;
  /** KV cache element type (default "f32"); "f16" halves its memory and the bytes attention reads. */
  kvType?: KvType;
}

/** KV cache element types libbitnet offers. */
export type KvType = "f32" | "f16";

/**
 * The output heads at run time: "float" keeps the file's head; "int8" and "int4" requantize a
 * float head at load (half and a quarter of an F16 head's bytes per decoded token).
 */
export const OUTPUT_HEADS = ["float", "int8", "int4"] as const;
/** One of {@link OUTPUT_HEADS}. */
export type OutputHead = (typeof OUTPUT_HEADS)[number];

/** What libbitnet reports about a loaded model. */
export interface ModelInfo {
  arch: string;
  nVocab: number;
  nEmbd: number;
  nFf: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nRot: number;
  nCtxTrain: number;
  ropeBase: number;
  ropeNeox: boolean;
  normEps: number;
  activation: "silu" | "relu2";
  layerBegin: number;
  layerEnd: number;
  outputTied: boolean;
  embdType: string;
  outputType: string;
  tensorTypes: Record<string, number>;
  weightBytes: number;
  fileBytes: number;
  /** Run-time types of the loaded blocks' projections (after repacking), e.g. {"TQ2_0": 210}. */
  matrixTypes: Record<string, number>;
  /** Projections repacked TQ1_0 -> TQ2_0 at load (0: none). */
  repacked: number;
  /** Bytes of the repacked copies (TQ2_0 rows, or x16 groups). */
  repackedBytes: number;
  /**
   * Matrices in the x16 layout (groups of 16 rows, one per SIMD lane: native/src/kernels.h),
   * the int8 output head included: what repacking makes where the kernel table prefers it
   * (AVX-512); 0 elsewhere or without repacking.
   */
  x16: number;
}
