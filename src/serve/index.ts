/**
 * @module The serve folder's public surface: the backends that implement the completion
 * contract (src/contract/): the native engine with continuous batching, an external
 * OpenAI-compatible upstream, the simulation used by protocol tests, and the pipeline
 * coordinator whose blocks run on stages.
 */
export { ExternalBackend } from "./external-backend.ts";
export { NativeBackend } from "./native-backend.ts";
export { PipelineBackend } from "./pipeline-backend.ts";
export { SimulationBackend } from "./simulation-backend.ts";
