/**
 * @module Writes small Hugging Face BitNet checkpoints (config.json, model.safetensors with BF16
 * master weights, a byte-level BPE tokenizer.json) of any shape, for converter tests that need
 * awkward dimensions (tests/model/convert-fallback.test.ts), and the pieces such writers share
 * (tests/model/convert-checkpoint.test.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPrng, fillNormalish } from "../../src/model/prng.ts";
import { bf16ToF32, f32ToBf16 } from "../../src/model/quants.ts";

/** Shape of a generated checkpoint. */
export interface HfDims {
  readonly nEmbd: number;
  readonly nFf: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly nHeadKv: number;
  readonly nVocab: number;
}

/** GPT-2's byte -> printable character table (formats.md §7.2). */
export function byteChars(): string[] {
  const direct = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) direct.add(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.add(b);
  for (let b = 0xae; b <= 0xff; b++) direct.add(b);
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(direct.has(b) ? b : next++));
}

/** 256 byte tokens, one special token (id 256) and a few merges: 261 tokens. */
export function tokenizerJson(): unknown {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const merges = [["h", "e"], ["l", "l"], ["he", "ll"], [chars[32]!, "t"]];
  merges.forEach(([a, b], i) => (vocab[a! + b!] = 257 + i));
  return {
    model: { type: "BPE", vocab, merges: merges.map((m) => m.join(" ")) },
    added_tokens: [{ id: 256, content: "<|begin_of_text|>", special: true }],
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
  };
}

/** A safetensors tensor: its dtype (default BF16), shape and raw little-endian bytes. */
export interface SafetensorsTensor {
  dtype?: string;
  shape: number[];
  data: Uint8Array;
}

/** Writes a single-file safetensors (8-byte header length, JSON header, data in map order). */
export function writeSafetensors(path: string, tensors: Map<string, SafetensorsTensor>): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = {
      dtype: t.dtype ?? "BF16",
      shape: t.shape,
      data_offsets: [offset, offset + t.data.length],
    };
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(t.data, at);
    at += t.data.length;
  }
  writeFileSync(path, out);
}

/** The seven projections of a block: HF name, output rows, input length. */
export function projections(d: HfDims): [string, number, number][] {
  const kv = (d.nEmbd / d.nHead) * d.nHeadKv;
  return [
    ["self_attn.q_proj", d.nEmbd, d.nEmbd],
    ["self_attn.k_proj", kv, d.nEmbd],
    ["self_attn.v_proj", kv, d.nEmbd],
    ["self_attn.o_proj", d.nEmbd, d.nEmbd],
    ["mlp.gate_proj", d.nFf, d.nEmbd],
    ["mlp.up_proj", d.nFf, d.nEmbd],
    ["mlp.down_proj", d.nEmbd, d.nFf],
  ];
}

/**
 * Writes a checkpoint directory with BF16 master weights (seeded, so the same dims give the
 * same bytes).
 *
 * @param dir the directory to create.
 * @param d the shape.
 * @returns The master weights by HF name (the BF16 values as f32), for independent checks.
 */
export function writeHfCheckpoint(dir: string, d: HfDims): Map<string, Float32Array> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({
      architectures: ["BitnetForCausalLM"],
      hidden_size: d.nEmbd,
      intermediate_size: d.nFf,
      num_hidden_layers: d.nLayer,
      num_attention_heads: d.nHead,
      num_key_value_heads: d.nHeadKv,
      vocab_size: d.nVocab,
      max_position_embeddings: 128,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      hidden_act: "silu",
      tie_word_embeddings: true,
      bos_token_id: 256,
      eos_token_id: 256,
    }),
  );
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson()));
  const rng = createPrng(7, 0);
  const master = new Map<string, Float32Array>();
  const tensors = new Map<string, SafetensorsTensor>();
  const put = (name: string, shape: number[], opts: { mean?: number; std: number }) => {
    const v = fillNormalish(new Float32Array(shape.reduce((a, b) => a * b, 1)), rng, opts);
    const bits = new Uint16Array(v.length);
    for (let i = 0; i < v.length; i++) {
      bits[i] = f32ToBf16(v[i]!);
      v[i] = bf16ToF32(bits[i]!);
    }
    master.set(name, v);
    tensors.set(name, { shape, data: new Uint8Array(bits.buffer) });
  };
  put("model.embed_tokens.weight", [d.nVocab, d.nEmbd], { std: 0.1 });
  for (let l = 0; l < d.nLayer; l++) {
    const p = `model.layers.${l}.`;
    put(`${p}input_layernorm.weight`, [d.nEmbd], { mean: 1, std: 0.05 });
    put(`${p}post_attention_layernorm.weight`, [d.nEmbd], { mean: 1, std: 0.05 });
    put(`${p}self_attn.attn_sub_norm.weight`, [d.nEmbd], { mean: 1, std: 0.05 });
    put(`${p}mlp.ffn_sub_norm.weight`, [d.nFf], { mean: 1, std: 0.05 });
    for (const [name, out, inp] of projections(d)) {
      put(`${p}${name}.weight`, [out, inp], { std: 1 / Math.sqrt(inp) });
    }
  }
  put("model.norm.weight", [d.nEmbd], { mean: 1, std: 0.05 });
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  return master;
}
