/**
 * @module The model folder's public surface: GGUF files (reading, opening, the format's type
 * names and errors), the built-in model, the model registry, downloads from a hub and
 * checkpoint conversion.
 */
export { BUILTIN_MODEL_NAME, builtinModelBytes, resolveModelPath } from "./builtin.ts";
export { convertCheckpoint } from "./convert-files.ts";
export {
  type HubSettings,
  installedPath,
  modelsDir,
  type Progress,
  pullModel,
} from "./download.ts";
export { type EmbeddingSpec, embeddingSpecOf, type Pooling } from "./embedding-spec.ts";
export { GgufFormatError } from "./gguf-error.ts";
export { typeName } from "./gguf-format.ts";
export { type GgufFile, kvBool, kvNumber, kvNumbers, kvString, kvStrings } from "./gguf-reader.ts";
export { progressLine } from "./hub.ts";
export { openGguf } from "./open.ts";
export {
  displaySize,
  findModel,
  formatBytes,
  installedFileName,
  REGISTRY,
  type RegistryEntry,
} from "./registry.ts";
