/**
 * @module What the engine benchmarks share: the generated model files (made on first use with the
 * real tensor names and types), the bytes a decoded token reads, and the median of a list of runs.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeModel } from "../../scripts/make-model.ts";
import { GgmlType } from "../../src/model/gguf-format.ts";
import { kvString } from "../../src/model/gguf-reader.ts";
import { openGguf } from "../../src/model/open.ts";
import type { OutputHead } from "../../src/engine/index.ts";

const MODELS_DIR = join(import.meta.dir, "..", "models");
const ROOT = join(import.meta.dir, "..", "..");

/**
 * The command line of one `aria bench --json` run (one repetition) of `pp` prompt and `tg` decoded
 * tokens on `path`, with `extra` flags (`--output-head`, `--kernels`, `--depth`, ...) after them;
 * `root`: the checkout whose `src/main.ts` runs (this one by default).
 */
export function ariaBenchCommand(
  path: string,
  threads: number,
  pp: number,
  tg: number,
  extra: readonly string[] = [],
  root = ROOT,
): string[] {
  return [
    process.execPath,
    join(root, "src", "main.ts"),
    "bench",
    "--model",
    path,
    "--threads",
    String(threads),
    "--pp",
    String(pp),
    "--tg",
    String(tg),
    "--reps",
    "1",
    "--json",
    ...extra,
  ];
}

/** Median of the runs (NaN for none). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The benchmark file for "preset:type" (e.g. "2b-4t:tq2_0"): `bitnet` with an F16 embedding (or
 * `embd`: "q6_k", the tied head llama.cpp's own quantizer writes), in benchmarks/models/
 * (git-ignored), generated when missing. The same preset and seed give the same ternary weights
 * whatever the type and embedding.
 */
export async function modelFile(spec: string, embd: "f16" | "q6_k" = "f16"): Promise<string> {
  const [preset, type] = spec.split(":") as [string, "tq2_0" | "tq1_0" | "i2_s"];
  const path = join(MODELS_DIR, `${preset}-bitnet-${type}-${embd}.gguf`);
  if (!existsSync(path)) {
    mkdirSync(MODELS_DIR, { recursive: true });
    console.error(`generating ${path} …`);
    await makeModel({ preset, arch: "bitnet", type, embdType: embd, out: path });
  }
  return path;
}

/**
 * Bytes a decoded token reads: every block's tensors and the output head (tied: token_embd).
 * `head`: an F16 head counts as ARIA's int8 copy (260 bytes per 256 weights) or int4 copy (18
 * bytes per 32). `repacked`: TQ1_0 block tensors count as the TQ2_0 copies ARIA makes at load (66
 * bytes per 256 weights instead of 54).
 */
export function bytesPerToken(path: string, head: OutputHead, repacked = false): number {
  const { file } = openGguf(path);
  let bytes = 0;
  let headTensor = file.tensors.find((t) => t.name === "output.weight");
  if (kvString(file, "general.architecture") === "bitnet" || headTensor === undefined) {
    headTensor = file.tensors.find((t) => t.name === "token_embd.weight");
  }
  for (const t of file.tensors) {
    if (!t.name.startsWith("blk.")) continue;
    bytes += repacked && t.type === GgmlType.TQ1_0 ? (t.byteSize / 54) * 66 : t.byteSize;
  }
  if (headTensor !== undefined) {
    const [nIn = 0, nOut = 0] = headTensor.dims;
    bytes += headTensor.type !== 1 || head === "float"
      ? headTensor.byteSize
      : head === "int8"
      ? (nIn / 256) * 260 * nOut
      : (nIn / 32) * 18 * nOut;
  }
  return bytes;
}
