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
import { type GgufValue, GgufValueType } from "../../src/model/gguf-format.ts";
import { arr, bool, encodeGguf, f32, str, u32 } from "../../src/model/gguf-writer.ts";
import {
  convertTensor,
  type HfHparams,
  type HfTensor,
  planConversion,
} from "../../src/model/hf-convert.ts";
import { parseSafetensors } from "../../src/model/safetensors.ts";
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
  const read = (name: string): HfTensor | undefined => {
    const e = st.tensors.get(name);
    return e && { dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(e.begin, e.end) };
  };
  // the checkpoint is an HF-named BitNet model: the same plan and tensor data as
  // `aria model convert` (src/model/hf-convert.ts), only the vocabulary metadata is nano's own
  const hp: HfHparams = {
    arch: "bitnet",
    headDim: c.n_embd / c.n_head,
    nVocab: c.n_vocab,
    nEmbd: c.n_embd,
    nFf: c.n_ff,
    nLayer: c.n_layer,
    nHead: c.n_head,
    nHeadKv: c.n_head,
    nCtx: c.n_ctx,
    eps: c.eps,
    ropeBase: c.rope_base,
    activation: "silu",
    tied: true,
    scaleMode: "multiply",
  };
  const plan = planConversion(hp, [...st.tensors.keys()], "tq2_0");
  const tensors = plan.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    data: convertTensor(t, read, hp, "tq2_0"),
  }));
  const file = encodeGguf(nanoMetadata(c, v, values.name), tensors);
  writeFileSync(`${values.out}.tmp`, file);
  renameSync(`${values.out}.tmp`, values.out);
  console.log(`${values.out}: ${file.length} bytes`);
}

if (import.meta.main) main();
