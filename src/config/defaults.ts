/**
 * @module The defaults and the error the CLI's parsers and the config schema share, in a file of
 * their own so that a verb parsing its flags (`aria bench`, `run`, …) does not load zod with the schema: zod
 * alone held about 10 MiB of every such process (benchmarks/METHODOLOGY.md, "Peak RSS"). Pure.
 */
import type { OutputHead } from "../engine/port.ts";
import { AriaError } from "../shared/errors.ts";

/** Invalid configuration: the message names the field and the source. */
export class ConfigError extends AriaError {
  /** @param message what is wrong. @param options cause. */
  constructor(message: string, options?: ErrorOptions) {
    super("CONFIG_INVALID", message, options);
  }
}

/** Name of the built-in model (src/model/builtin.ts), the default of every --model. */
export const BUILTIN_MODEL_NAME = "aria-nano";

/** The output head at run time (engine/port.ts): as the file has it, or requantized at load. */
export type { OutputHead };

/** KV cache element type: f32 (exact) or f16 (half the memory; llama.cpp's default). */
export type KvType = "f32" | "f16";

/** Default output head (the measurements behind the choice: docs/engine.md, "Output head"). */
export const DEFAULT_OUTPUT_HEAD: OutputHead = "int8";
