/**
 * @module Test models: generated on demand by scripts/make-model.ts into
 * tests/fixtures/generated/ (git-ignored) and reused across test files. Generation is
 * deterministic, so a cached file is the same file a fresh machine would make.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeModel, type MakeModelOptions } from "../../scripts/make-model.ts";

/** Where generated test models live. */
export const GENERATED_DIR = join(import.meta.dir, "..", "fixtures", "generated");

const pending = new Map<string, Promise<string>>();

/**
 * Path of a generated model, generating it the first time.
 *
 * @param options generator options (out is chosen here).
 * @returns the file path.
 */
export function testModel(options: Readonly<Omit<MakeModelOptions, "out">>): Promise<string> {
  const name = [
    options.preset,
    options.arch ?? "default",
    options.type,
    options.embdType ?? "f16",
    `s${options.seed ?? 1}`,
    options.noPre ? "nopre" : "pre",
    ...(options.pre !== undefined ? [options.pre] : []),
    ...(options.vocab !== undefined ? [options.vocab] : []),
    ...(options.i2sLayout === "arm" ? ["i2s-arm"] : []),
    ...(options.untiedOutput === true ? ["untied"] : []),
    ...(options.embeddingModel !== undefined
      ? [
        `embed-p${options.embeddingModel.pooling}${
          options.embeddingModel.inputNorms === false ? "-plain" : ""
        }`,
      ]
      : []),
    ...(options.ropeScaling !== undefined
      ? [
        `rope-${options.ropeScaling.type}-${options.ropeScaling.factor}-${
          options.ropeScaling.nCtxOrig ?? 0
        }`,
      ]
      : []),
  ].join("-");
  const out = join(GENERATED_DIR, `${name}.gguf`);
  const known = pending.get(out);
  if (known) return known;
  mkdirSync(GENERATED_DIR, { recursive: true });
  const made = existsSync(out) ? Promise.resolve(out) : makeModel({ ...options, out });
  pending.set(out, made);
  return made;
}

/**
 * A BitNet embedding model as microsoft/BitNet's converter writes bitnet-embedding-0.6b (qwen3,
 * per-projection input norms, F16 norms, I2_S, last pooling, add_eos_token), 2 blocks.
 */
export const EMBEDDING_MODEL = {
  preset: "bitnet-embedding-0.6b-2l",
  arch: "qwen3",
  type: "i2_s",
  embeddingModel: { pooling: 3 },
} as const satisfies Omit<MakeModelOptions, "out">;

/** Every architecture × ternary type the engine supports. */
export const ARCHS = ["bitnet", "bitnet-b1.58", "llama"] as const;
/** Ternary types. */
export const TERNARY_TYPES = ["tq2_0", "tq1_0", "i2_s"] as const;
