/**
 * @module The synthetic model generator (shell): writes a GGUF file with the exact tensor
 * names, shapes and metadata of a real BitNet b1.58 model, random seeded ternary weights and
 * a real tokenizer vocabulary. Tensors are streamed to disk one at a time (the 2b-4t preset is
 * about 1.2 GB), and the output is deterministic: same options and seed, same bytes.
 * Decisions live in src/model/synthetic.ts; this file only reads tokenizers and writes bytes.
 *
 * Usage:
 *   bun scripts/make-model.ts --preset tiny|small|large|2b-4t --type tq2_0|tq1_0|i2_s
 *     [--arch bitnet|bitnet-b1.58|llama] [--embd-type f16|f32|bf16|q8_0|q6_k] [--seed N]
 *     [--no-pre] [--pre NAME] [--vocab llama2|llama3] [--i2s-layout x86|arm] [--out PATH]
 */

import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { alignOffset, GGUF_DEFAULT_ALIGNMENT } from "../src/model/gguf-format.ts";
import { encodeGgufHeader } from "../src/model/gguf-writer.ts";
import { type I2sLayout, packI2S, packTq1_0, packTq2_0, quantizeRow } from "../src/model/quants.ts";
import {
  buildMetadata,
  EMBEDDING_FORMATS,
  type EmbeddingFormat,
  floatFiller,
  type PlannedTensor,
  planTensors,
  PRESETS,
  synthesizeTernary,
  type SyntheticArch,
  type SyntheticVocab,
  TERNARY_FORMATS,
  type TernaryFormat,
  vocabFromTokenizerJson,
} from "../src/model/synthetic.ts";

/** Options of {@link makeModel}. */
export interface MakeModelOptions {
  /** Preset name: tiny, small, large, 2b-4t. */
  readonly preset: string;
  /** Ternary format of the seven projections. */
  readonly type: TernaryFormat;
  /** Architecture; default: the preset's. */
  readonly arch?: SyntheticArch;
  /** Format of token_embd (and output for llama); default f16. */
  readonly embdType?: EmbeddingFormat;
  /** PRNG seed; default 1. */
  readonly seed?: number;
  /** Omit tokenizer.ggml.pre (imitates the official 2B-4T file). */
  readonly noPre?: boolean;
  /** tokenizer.ggml.pre of a Llama-3 vocabulary; default "llama-bpe" (e.g. "falcon_e", "qwen2"). */
  readonly pre?: string;
  /** Vocabulary; default: the preset's, else Llama-2 for `bitnet`, Llama-3 otherwise. */
  readonly vocab?: "llama2" | "llama3";
  /** I2_S code layout (docs/models.md): x86 (default, published files) or arm (64/16 blocks). */
  readonly i2sLayout?: I2sLayout;
  /** A separate output.weight for an arch that is otherwise tied (qwen3). */
  readonly untiedOutput?: boolean;
  /** RoPE scaling keys (llama.cpp's `<arch>.rope.scaling.*`). */
  readonly ropeScaling?: Readonly<{ type: "linear" | "yarn"; factor: number; nCtxOrig?: number }>;
  /**
   * qwen3: a BitNet embedding model (per-projection input norms, F16 norms, pooling_type
   * `pooling`, add_eos_token) as microsoft/BitNet's embedding converter writes it.
   */
  readonly embeddingModel?: {
    pooling: 1 | 2 | 3;
    /** The seven per-projection input norms and F16 norms (default true); false: a plain
     * qwen3 file with a pooling type, which llama.cpp can load too. */
    inputNorms?: boolean;
  };
  /** Output path; default `aria-<preset>-<arch>-<type>.gguf` in the working directory. */
  readonly out?: string;
}

const ARCHS: readonly SyntheticArch[] = ["bitnet", "bitnet-b1.58", "llama", "qwen3"];
const CHUNK_ELEMENTS = 1 << 22; // embedding rows are generated ~16 MB of f32 at a time

/**
 * Generate a synthetic model file.
 *
 * @param options preset, formats, seed, output path.
 * @returns The path written.
 * @throws {RangeError} On an unknown preset, type or architecture.
 */
export async function makeModel(options: Readonly<MakeModelOptions>): Promise<string> {
  const preset = PRESETS[options.preset];
  if (preset === undefined) {
    throw new RangeError(`Cannot make model: unknown preset "${options.preset}"`);
  }
  if (!(options.type in TERNARY_FORMATS)) {
    throw new RangeError(`Cannot make model: unknown type "${options.type}"`);
  }
  const arch = options.arch ?? preset.defaultArch;
  if (!ARCHS.includes(arch)) throw new RangeError(`Cannot make model: unknown arch "${arch}"`);
  const embedding = options.embdType ?? "f16";
  if (!(embedding in EMBEDDING_FORMATS)) {
    throw new RangeError(`Cannot make model: unknown embd type "${embedding}"`);
  }
  const seed = options.seed ?? 1;
  const out = options.out ?? `aria-${options.preset}-${arch}-${options.type}.gguf`;

  const { vocab, chatTemplate } = await loadVocab(
    options.vocab ?? preset.vocab ?? (arch === "bitnet" ? "llama2" : "llama3"),
    preset.extraSpmTokens,
  );
  const kv = buildMetadata(preset, vocab, {
    arch,
    ternary: options.type,
    name: `aria-synthetic-${options.preset}`,
    ...(options.noPre === true ? { noPre: true } : {}),
    ...(options.pre !== undefined ? { pre: options.pre } : {}),
    ...(options.ropeScaling !== undefined ? { ropeScaling: options.ropeScaling } : {}),
    ...(options.embeddingModel !== undefined ? { pooling: options.embeddingModel.pooling } : {}),
    ...(arch === "llama" && chatTemplate !== undefined ? { chatTemplate } : {}),
  });
  const tensors = planTensors(preset, {
    arch,
    ternary: options.type,
    embedding,
    nVocab: vocab.tokens.length,
    ...(options.untiedOutput === true ? { untiedOutput: true } : {}),
    ...(options.embeddingModel !== undefined && options.embeddingModel.inputNorms !== false
      ? { projectionNorms: true }
      : {}),
  });
  const { header, offsets, sizes } = encodeGgufHeader(kv, tensors);

  const tmp = `${out}.partial`;
  const fd = openSync(tmp, "w");
  try {
    writeAll(fd, header, 0);
    tensors.forEach((t, i) => {
      const at = header.length + offsets[i]!;
      const written = writeTensor(fd, at, t, seed, options.i2sLayout ?? "x86");
      if (written !== sizes[i]) {
        throw new Error(`Cannot write "${t.name}": ${written} bytes, expected ${sizes[i]}`);
      }
      const padded = alignOffset(written, GGUF_DEFAULT_ALIGNMENT);
      if (padded > written) writeAll(fd, new Uint8Array(padded - written), at + written);
    });
  } catch (err: unknown) {
    // terminate: remove the partial file, then let the caller see the original error
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, out);
  return out;
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  }
}

function writeTensor(
  fd: number,
  at: number,
  t: PlannedTensor,
  seed: number,
  i2sLayout: I2sLayout,
): number {
  if (t.role === "ternary") {
    const { values, scale } = synthesizeTernary(seed, t);
    const packed = t.type === TERNARY_FORMATS.i2_s.type
      ? packI2S(values, scale, i2sLayout)
      : t.type === TERNARY_FORMATS.tq1_0.type
      ? packTq1_0(values, scale)
      : packTq2_0(values, scale);
    writeAll(fd, packed, at);
    return packed.length;
  }
  const fill = floatFiller(seed, t);
  const rowLength = t.dims[0]!;
  const nRows = t.dims.slice(1).reduce((p, d) => p * d, 1);
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / rowLength));
  let written = 0;
  for (let r = 0; r < nRows; r += rowsPerChunk) {
    const chunk = fill(new Float32Array(Math.min(rowsPerChunk, nRows - r) * rowLength));
    const bytes = quantizeRow(t.type, chunk);
    writeAll(fd, bytes, at + written);
    written += bytes.length;
  }
  return written;
}

const vocabCache = new Map<string, Promise<{ vocab: SyntheticVocab; chatTemplate?: string }>>();

/** Read the Llama-2 or Llama-3 tokenizer shipped by the @lenml packages (cached per process). */
function loadVocab(
  which: "llama2" | "llama3",
  extraTokens: readonly string[],
): Promise<{ vocab: SyntheticVocab; chatTemplate?: string }> {
  const extras = which === "llama2" ? extraTokens : [];
  const key = `${which}:${extras.join(",")}`;
  let cached = vocabCache.get(key);
  if (cached === undefined) {
    cached = Promise.resolve().then(() => {
      const dir = `@lenml/tokenizer-${which}/models`;
      const json = JSON.parse(
        readFileSync(new URL(import.meta.resolve(`${dir}/tokenizer.json`)), "utf8"),
      );
      const config = JSON.parse(
        readFileSync(new URL(import.meta.resolve(`${dir}/tokenizer_config.json`)), "utf8"),
      );
      const vocab = vocabFromTokenizerJson(json, { extraTokens: extras });
      const template = typeof config.chat_template === "string" ? config.chat_template : undefined;
      return template === undefined ? { vocab } : { vocab, chatTemplate: template };
    });
    vocabCache.set(key, cached);
  }
  return cached;
}

function poolingId(name: string): 1 | 2 | 3 {
  if (name === "mean") return 1;
  if (name === "cls") return 2;
  if (name === "last") return 3;
  throw new RangeError(`Cannot make model: pooling "${name}" is not mean, cls or last`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      preset: { type: "string", default: "tiny" },
      type: { type: "string", default: "tq2_0" },
      arch: { type: "string" },
      "embd-type": { type: "string" },
      seed: { type: "string" },
      "no-pre": { type: "boolean" },
      pre: { type: "string" },
      vocab: { type: "string" },
      "i2s-layout": { type: "string" },
      "embedding-model": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) {
    console.log(
      "bun scripts/make-model.ts --preset tiny|small|large|2b-4t --type tq2_0|tq1_0|i2_s\n" +
        "  [--arch bitnet|bitnet-b1.58|llama] [--embd-type f16|f32|bf16|q8_0|q6_k] [--seed N] [--no-pre]\n" +
        "  [--pre NAME] [--vocab llama2|llama3] [--i2s-layout x86|arm] [--out PATH]\n" +
        "  [--embedding-model last|mean|cls]  (qwen3: a BitNet embedding model with that pooling)",
    );
  } else {
    const started = performance.now();
    const path = await makeModel({
      preset: values.preset,
      type: values.type as TernaryFormat,
      ...(values.arch !== undefined ? { arch: values.arch as SyntheticArch } : {}),
      ...(values["embd-type"] !== undefined
        ? { embdType: values["embd-type"] as EmbeddingFormat }
        : {}),
      ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
      ...(values["no-pre"] === true ? { noPre: true } : {}),
      ...(values.pre !== undefined ? { pre: values.pre } : {}),
      ...(values.vocab !== undefined ? { vocab: values.vocab as "llama2" | "llama3" } : {}),
      ...(values["i2s-layout"] !== undefined
        ? { i2sLayout: values["i2s-layout"] as I2sLayout }
        : {}),
      ...(values["embedding-model"] !== undefined
        ? { embeddingModel: { pooling: poolingId(values["embedding-model"]) } }
        : {}),
      ...(values.out !== undefined ? { out: values.out } : {}),
    });
    console.log(`Wrote ${path} in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  }
}
