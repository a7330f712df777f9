/**
 * @module Export a scripts/nano/train.py checkpoint as a GGUF of architecture `bitnet`
 * (formats.md §5a) with TQ2_0 ternary weights, an F16 tied embedding and the trained
 * byte-level BPE vocabulary as a `gpt2` tokenizer (pre-tokenizer "gpt-2").
 *
 * Usage: bun scripts/nano/export.ts --run DIR --data DIR --out FILE.gguf
 * The file is written to FILE.tmp and renamed, so an interrupted export leaves no half file.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { absmeanTernarize, ggufNameForHf } from "../../src/model/convert.ts";
import { GgmlType, type GgufValue, GgufValueType } from "../../src/model/gguf-format.ts";
import {
  arr,
  bool,
  encodeGguf,
  f32,
  type GgufTensorWithData,
  str,
  u32,
} from "../../src/model/gguf-writer.ts";
import { packTq2_0, quantizeF16 } from "../../src/model/quants.ts";
import { parseSafetensors, safetensorsToF32 } from "../../src/model/safetensors.ts";
import { planTensors } from "../../src/model/synthetic.ts";
import { nanoVocabSource } from "./data.ts";

/** Training hyper-parameters as train.py writes them to config.json. */
export interface NanoConfig {
  n_vocab: number;
  n_embd: number;
  n_ff: number;
  n_layer: number;
  n_head: number;
  n_ctx: number;
  eps: number;
  rope_base: number;
}

/** The vocabulary as scripts/nano/data.ts writes it. */
export interface NanoVocab {
  tokens: string[];
  merges: string[];
  eot: string;
}

/**
 * GGUF metadata of aria-nano.
 *
 * @param c hyper-parameters.
 * @param v vocabulary.
 * @param name `general.name`.
 * @returns Key/value pairs in converter order.
 */
export function nanoMetadata(c: NanoConfig, v: NanoVocab, name: string): [string, GgufValue][] {
  const { tokens, tokenTypes, bosId } = nanoVocabSource(v.tokens, v.merges);
  if (tokens.length !== c.n_vocab) {
    throw new RangeError(`vocab has ${tokens.length} tokens, model ${c.n_vocab}`);
  }
  return [
    ["general.architecture", str("bitnet")],
    ["general.name", str(name)],
    ["general.license", str("MIT")],
    ["bitnet.vocab_size", u32(c.n_vocab)],
    ["bitnet.context_length", u32(c.n_ctx)],
    ["bitnet.embedding_length", u32(c.n_embd)],
    ["bitnet.block_count", u32(c.n_layer)],
    ["bitnet.feed_forward_length", u32(c.n_ff)],
    ["bitnet.rope.dimension_count", u32(c.n_embd / c.n_head)],
    ["bitnet.attention.head_count", u32(c.n_head)],
    ["bitnet.attention.head_count_kv", u32(c.n_head)],
    ["bitnet.attention.layer_norm_rms_epsilon", f32(c.eps)],
    ["bitnet.rope.freq_base", f32(c.rope_base)],
    ["general.file_type", u32(37)], // MOSTLY_TQ2_0
    ["general.quantization_version", u32(2)],
    ["tokenizer.ggml.model", str("gpt2")],
    ["tokenizer.ggml.pre", str("gpt-2")],
    ["tokenizer.ggml.tokens", arr(GgufValueType.STRING, tokens)],
    ["tokenizer.ggml.scores", arr(GgufValueType.FLOAT32, tokens.map(() => 0))],
    ["tokenizer.ggml.token_type", arr(GgufValueType.INT32, tokenTypes)],
    ["tokenizer.ggml.merges", arr(GgufValueType.STRING, v.merges)],
    ["tokenizer.ggml.bos_token_id", u32(bosId)],
    ["tokenizer.ggml.eos_token_id", u32(bosId)],
    ["tokenizer.ggml.add_bos_token", bool(true)],
    ["tokenizer.ggml.add_eos_token", bool(false)],
  ];
}

function main(): void {
  const { values } = parseArgs({
    options: {
      run: { type: "string" },
      data: { type: "string" },
      out: { type: "string" },
      name: { type: "string", default: "aria-nano" },
    },
  });
  if (values.run === undefined || values.data === undefined || values.out === undefined) {
    throw new Error("usage: bun scripts/nano/export.ts --run DIR --data DIR --out FILE.gguf");
  }
  const c = JSON.parse(readFileSync(join(values.run, "config.json"), "utf8")) as NanoConfig;
  const v = JSON.parse(readFileSync(join(values.data, "vocab.json"), "utf8")) as NanoVocab;
  const bytes = new Uint8Array(readFileSync(join(values.run, "model.safetensors")));
  const st = parseSafetensors(bytes);
  const byGguf = new Map<string, Float32Array>();
  for (const e of st.tensors.values()) {
    const name = ggufNameForHf(e.name);
    if (name === undefined) throw new Error(`checkpoint tensor ${e.name} has no GGUF name`);
    byGguf.set(name, safetensorsToF32(bytes, e));
  }
  const plan = planTensors(
    {
      nEmbd: c.n_embd,
      nFf: c.n_ff,
      nLayer: c.n_layer,
      nHead: c.n_head,
      nHeadKv: c.n_head,
      nHeadKvBitnet: c.n_head,
      nCtx: c.n_ctx,
      extraSpmTokens: [],
      defaultArch: "bitnet",
    },
    { arch: "bitnet", ternary: "tq2_0", embedding: "f16", nVocab: c.n_vocab },
  );
  const tensors: GgufTensorWithData[] = plan.map((t) => {
    const w = byGguf.get(t.name);
    if (w === undefined) throw new Error(`checkpoint lacks ${t.name}`);
    byGguf.delete(t.name);
    let data: Uint8Array;
    if (t.type === GgmlType.TQ2_0) {
      const { values: q, gamma } = absmeanTernarize(w);
      data = packTq2_0(q, gamma);
    } else if (t.type === GgmlType.F16) data = quantizeF16(w);
    else data = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
    return { name: t.name, dims: t.dims, type: t.type, data };
  });
  if (byGguf.size > 0) {
    throw new Error(`unused checkpoint tensors: ${[...byGguf.keys()].join(", ")}`);
  }
  const file = encodeGguf(nanoMetadata(c, v, values.name), tensors);
  writeFileSync(`${values.out}.tmp`, file);
  renameSync(`${values.out}.tmp`, values.out);
  console.log(`${values.out}: ${file.length} bytes`);
}

if (import.meta.main) main();
