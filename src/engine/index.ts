/**
 * @module The engine folder's public surface: the native engine and its types.
 */
export {
  defaultThreads,
  type I2sLayout,
  kernelInfo,
  NativeContext,
  NativeModel,
  numericsContract,
  openModel,
  setKernels,
} from "./engine.ts";
export { EngineError } from "./status.ts";
export type { ContextOptions, KernelSet, KvType, ModelInfo, OutputHead } from "./port.ts";
export { createGenerationEngine, type GenerationEngineOptions } from "./generation-adapter.ts";
