/**
 * @module The generation folder's public surface: the generation loop, its ports, the sampler,
 * stop strings and the seeded rng. Pure.
 */
export {
  ContextOverflowError,
  generate,
  type GenerateOptions,
  type GenerationChunk,
  type GenerationPorts,
  type GenerationResult,
} from "./generate.ts";
export {
  createSequence,
  type SequenceChunk,
  type SequenceEnd,
  type SequenceOptions,
  type SequenceStep,
  type SequenceStepper,
} from "./step.ts";
export type {
  ClockMs,
  GenerationEngine,
  GenerationStreamDecoder,
  GenerationTokenizer,
  TokenConstraint,
} from "./port.ts";
export { createRng, type Rng } from "./rng.ts";
export {
  argmax,
  createSampler,
  DEFAULT_SAMPLER_OPTIONS,
  MAX_TOP_LOGPROBS,
  type Sampler,
  type SamplerOptions,
  type TokenLogprob,
  type TokenLogprobs,
  tokenLogprobs,
} from "./sampler.ts";
export {
  createStopMatcher,
  type FinishReason,
  type StopMatcher,
  type StopReason,
  type StopScan,
  toFinishReason,
} from "./stop.ts";
export {
  PerplexityAccumulator,
  type PerplexityChunk,
  perplexityChunks,
  tokenNll,
} from "./perplexity.ts";
export { SAMPLER_VERSION } from "./sampler-ref.ts";
export { checkRequestLimits, type LimitedRequest, type RequestLimits } from "./limits.ts";
export {
  type EmbeddingNorm,
  type EmbeddingPooling,
  normalizeL2,
  poolEmbedding,
  rmsNormRow,
  truncateEmbedding,
} from "./embedding.ts";
