/**
 * @module Hugging Face BitNet checkpoints -> GGUF `bitnet` tensors (formats.md §4, §5a): the
 * tensor-name mapping (1bitLLM's and 2B-4T's sub-norm names both accepted) and absmean
 * ternarization, exactly as BitNet b1.58 training computes it (torch's round-half-to-even
 * included), so a float master weight becomes the ternary tensor the trained model saw.
 * Pure: no I/O.
 */

const BLOCK: ReadonlyArray<readonly [RegExp, string]> = [
  [/^input_layernorm\.weight$/, "attn_norm.weight"],
  [/^self_attn\.q_proj\.weight$/, "attn_q.weight"],
  [/^self_attn\.k_proj\.weight$/, "attn_k.weight"],
  [/^self_attn\.v_proj\.weight$/, "attn_v.weight"],
  [/^self_attn\.(attn_sub_norm|inner_attn_ln)\.weight$/, "attn_sub_norm.weight"],
  [/^self_attn\.o_proj\.weight$/, "attn_output.weight"],
  [/^post_attention_layernorm\.weight$/, "ffn_norm.weight"],
  [/^mlp\.gate_proj\.weight$/, "ffn_gate.weight"],
  [/^mlp\.up_proj\.weight$/, "ffn_up.weight"],
  [/^mlp\.(ffn_sub_norm|ffn_layernorm)\.weight$/, "ffn_sub_norm.weight"],
  [/^mlp\.down_proj\.weight$/, "ffn_down.weight"],
];

/**
 * The GGUF name of a Hugging Face BitNet tensor.
 *
 * @param hf e.g. "model.layers.3.self_attn.q_proj.weight".
 * @returns e.g. "blk.3.attn_q.weight", or undefined for a tensor GGUF does not store
 * (rotary buffers) or does not know.
 */
export function ggufNameForHf(hf: string): string | undefined {
  if (hf === "model.embed_tokens.weight") return "token_embd.weight";
  if (hf === "model.norm.weight") return "output_norm.weight";
  if (hf === "lm_head.weight") return "output.weight";
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (m === null) return undefined;
  for (const [re, name] of BLOCK) if (re.test(m[2]!)) return `blk.${m[1]}.${name}`;
  return undefined;
}

/** Round to nearest, ties to even (torch.round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * BitNet b1.58 absmean weight quantization of a whole tensor: γ = max(mean|W|, 1e-5),
 * t = clamp(round(W / γ), −1, 1); the effective weight is γ·t.
 *
 * @param w the float weights.
 * @returns The ternary values and γ.
 */
export function absmeanTernarize(w: Float32Array): { values: Int8Array; gamma: number } {
  let sum = 0;
  for (let i = 0; i < w.length; i++) sum += Math.abs(w[i]!);
  // torch computes the mean in float32; a float64 sum then one rounding is within 1 ulp of it.
  const gamma = Math.max(Math.fround(sum / w.length), 1e-5);
  const values = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const q = roundHalfEven(Math.fround(w[i]! / gamma));
    values[i] = q > 1 ? 1 : q < -1 ? -1 : q;
  }
  return { values, gamma };
}
