/**
 * @module Shell of `aria model convert`: reads a Hugging Face checkpoint directory
 * (config.json, model.safetensors or the shards named by model.safetensors.index.json,
 * tokenizer.json, tokenizer_config.json), maps the safetensors files read-only, and streams the
 * GGUF to `OUT.tmp`, renamed to OUT only when complete (an interrupted or failed conversion
 * leaves no half file). Every decision is made in hf-convert.ts.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, join } from "node:path";
import { encodeGgufHeader } from "./gguf-writer.ts";
import {
  conversionMetadata,
  ConvertError,
  convertTensor,
  type ConvertType,
  fallbackHint,
  fallbackSummary,
  type HfTensor,
  hparamsFromConfig,
  planConversion,
} from "./hf-convert.ts";
import { parseSafetensors } from "./safetensors.ts";

/** What a conversion wrote. */
export interface ConvertResult {
  readonly out: string;
  readonly bytes: number;
  readonly tensors: number;
  readonly arch: string;
  readonly layers: number;
  /** One line per group of projections stored in a fallback type, and why (empty if none). */
  readonly fallbacks: string[];
  /** A better --type for the fallbacks, if there is one. */
  readonly hint?: string;
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err: unknown) {
    // converted: a missing or broken file becomes a ConvertError naming it
    throw new ConvertError(`Cannot read ${what} "${path}": ${(err as Error).message}`);
  }
}

function shardFiles(dir: string): string[] {
  const index = join(dir, "model.safetensors.index.json");
  if (existsSync(index)) {
    const map = (readJson(index, "the shard index") as { weight_map?: Record<string, string> })
      .weight_map ?? {};
    return [...new Set(Object.values(map))].map((f) => join(dir, f));
  }
  const single = join(dir, "model.safetensors");
  if (!existsSync(single)) {
    throw new ConvertError(
      `Cannot convert "${dir}": no model.safetensors or model.safetensors.index.json in it`,
    );
  }
  return [single];
}

/** Every tensor of every shard, by name, as views into the mapped files. */
function loadTensors(dir: string): Map<string, HfTensor> {
  const out = new Map<string, HfTensor>();
  for (const file of shardFiles(dir)) {
    const bytes = Bun.mmap(file, { shared: false });
    let st;
    try {
      st = parseSafetensors(bytes);
    } catch (err: unknown) {
      // converted: the parser's RangeError names the shard
      throw new ConvertError(`Cannot read "${file}": ${(err as Error).message}`);
    }
    for (const e of st.tensors.values()) {
      out.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(e.begin, e.end) });
    }
  }
  return out;
}

/**
 * Converts a checkpoint directory to a ternary GGUF.
 *
 * @param dir the checkpoint directory.
 * @param out the GGUF to write.
 * @param type ternary type of the projections.
 * @returns What was written.
 * @throws {ConvertError} For anything the checkpoint lacks or holds that ARIA cannot convert.
 */
export function convertCheckpoint(dir: string, out: string, type: ConvertType): ConvertResult {
  const hp = hparamsFromConfig(readJson(join(dir, "config.json"), "config.json"));
  const tokPath = join(dir, "tokenizer.json");
  if (!existsSync(tokPath)) {
    throw new ConvertError(
      `Cannot convert "${dir}": no tokenizer.json (ARIA reads the vocabulary from it; ` +
        "SentencePiece tokenizer.model files are not read). Copy tokenizer.json from the " +
        "model's repository into the directory",
    );
  }
  const cfgPath = join(dir, "tokenizer_config.json");
  const tok = {
    tokenizer: readJson(tokPath, "tokenizer.json"),
    ...(existsSync(cfgPath) ? { config: readJson(cfgPath, "tokenizer_config.json") } : {}),
  };
  const tensors = loadTensors(dir);
  const plan = planConversion(hp, [...tensors.keys()], type);
  const fallbacks = fallbackSummary(plan);
  const hint = fallbackHint(plan, type);
  const kv = conversionMetadata(
    hp,
    type,
    basename(dir.replace(/\/+$/, "")),
    tok,
    fallbacks.length > 0,
  );
  const { header, offsets, sizes, totalBytes } = encodeGgufHeader(kv, plan);
  const tmp = `${out}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, header, 0, header.length, 0);
    plan.forEach((item, i) => {
      const data = convertTensor(item, (n) => tensors.get(n), hp, type);
      if (data.length !== sizes[i]) {
        throw new ConvertError(
          `Cannot convert "${item.hf}": ${data.length} bytes, want ${sizes[i]}`,
        );
      }
      writeSync(fd, data, 0, data.length, header.length + offsets[i]!);
    });
    // the last tensor's padding: make the file exactly totalBytes long
    const pad = header.length + offsets[plan.length - 1]! + sizes[plan.length - 1]!;
    if (pad < totalBytes) writeSync(fd, new Uint8Array(totalBytes - pad), 0, totalBytes - pad, pad);
  } catch (err: unknown) {
    // cleaned up: a failed conversion leaves no temp file behind
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, out);
  return {
    out,
    bytes: totalBytes,
    tensors: plan.length,
    arch: "bitnet",
    layers: hp.nLayer,
    fallbacks,
    ...(hint === undefined ? {} : { hint }),
  };
}
