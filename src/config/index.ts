/**
 * @module The config folder's public surface: the validated `aria serve` configuration
 * (schema.ts, pure) and where it is loaded from (load.ts: flags > environment > file >
 * defaults, the only reader of process.env).
 */
export { defaultDataDir, editorCommand, hubSettings, loadServeConfig } from "./load.ts";
export {
  BUILTIN_MODEL_NAME,
  ConfigError,
  DEFAULT_OUTPUT_HEAD,
  type KvType,
  type OutputHead,
  type ServeConfig,
} from "./schema.ts";
