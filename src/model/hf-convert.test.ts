import { describe, expect, test } from "bun:test";
import {
  conversionMetadata,
  convertTensor,
  fallbackHint,
  fallbackSummary,
  hparamsFromConfig,
  permuteRopeRows,
  planConversion,
  ternaryOf,
  unpackBitnetU8,
} from "./hf-convert.ts";
import { GgmlType } from "./gguf-format.ts";

const TOKENIZER = {
  model: { vocab: { a: 0, b: 1, ab: 2 }, merges: ["a b"] },
  added_tokens: [{ id: 3, content: "<s>", special: true }],
  pre_tokenizer: { type: "Split", pattern: { Regex: "\\p{N}{1,3}" } },
};

const CONFIG = {
  architectures: ["BitNetForCausalLM"],
  hidden_size: 256,
  intermediate_size: 512,
  num_hidden_layers: 1,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 8,
  max_position_embeddings: 64,
  hidden_act: "relu2",
  rope_theta: 500000,
  quantization_config: { quant_method: "bitnet", linear_class: "autobitlinear" },
};

function names(layers: number): string[] {
  const out = ["model.embed_tokens.weight", "model.norm.weight"];
  for (let l = 0; l < layers; l++) {
    for (
      const n of [
        "input_layernorm",
        "post_attention_layernorm",
        "self_attn.q_proj",
        "self_attn.k_proj",
        "self_attn.v_proj",
        "self_attn.o_proj",
        "self_attn.attn_sub_norm",
        "mlp.gate_proj",
        "mlp.up_proj",
        "mlp.down_proj",
        "mlp.ffn_sub_norm",
      ]
    ) out.push(`model.layers.${l}.${n}.weight`);
  }
  return out;
}

describe("hparamsFromConfig", () => {
  test("reads 2B-4T style config; defaults for what is optional", () => {
    const hp = hparamsFromConfig(CONFIG);
    expect(hp).toMatchObject({
      nEmbd: 256,
      nHeadKv: 2,
      activation: "relu2",
      ropeBase: 500000,
      eps: 1e-5,
      tied: true,
      scaleMode: "multiply",
    });
    const falconStyle = { ...CONFIG, quantization_config: { linear_class: "bitlinear" } };
    expect(hparamsFromConfig(falconStyle).scaleMode).toBe("divide");
    const { num_key_value_heads: _, ...noKv } = CONFIG;
    expect(hparamsFromConfig(noKv).nHeadKv).toBe(4);
  });
  test("weight_scale divides unless linear_class is autobitlinear (BitNetQuantConfig's default is bitlinear)", () => {
    const q = (quantization_config: unknown) =>
      hparamsFromConfig({ ...CONFIG, quantization_config });
    expect(q({ quant_method: "bitnet" }).scaleMode).toBe("divide");
    expect(q({ quant_method: "bitnet", linear_class: "bitlinear" }).scaleMode).toBe("divide");
    expect(q({ quant_method: "bitnet", linear_class: "autobitlinear" }).scaleMode).toBe("multiply");
    expect(() => q({ linear_class: "fancy" })).toThrow(/linear_class "fancy"/);
    expect(() => q({ linear_class: "autobitlinear", use_rms_norm: true })).toThrow(/use_rms_norm/);
  });

  test("rope_theta from the top level or transformers v5 rope_parameters; scaling is refused", () => {
    const { rope_theta: _, ...noTheta } = CONFIG;
    expect(hparamsFromConfig(noTheta).ropeBase).toBe(10000);
    const v5 = { ...noTheta, rope_parameters: { rope_type: "default", rope_theta: 500000 } };
    expect(hparamsFromConfig(v5).ropeBase).toBe(500000);
    const yarn = { ...noTheta, rope_parameters: { rope_type: "yarn", rope_theta: 1e6, factor: 4 } };
    expect(() => hparamsFromConfig(yarn)).toThrow(/rope scaling "yarn"/);
    const llama3 = { ...CONFIG, rope_scaling: { rope_type: "llama3", factor: 8 } };
    expect(() => hparamsFromConfig(llama3)).toThrow(/rope scaling "llama3"/);
  });

  test("head_dim from config.json sets the head size, rope dims and the attention shapes", () => {
    const hp = hparamsFromConfig({ ...CONFIG, head_dim: 32 });
    expect(hp.headDim).toBe(32);
    const plan = planConversion(hp, names(1), "tq2_0");
    const dims = (n: string) => plan.find((t) => t.name === n)!.dims;
    expect(dims("blk.0.attn_q.weight")).toEqual([256, 128]);
    expect(dims("blk.0.attn_k.weight")).toEqual([256, 64]);
    expect(dims("blk.0.attn_output.weight")).toEqual([128, 256]);
    expect(dims("blk.0.attn_sub_norm.weight")).toEqual([128]);
    const kv = new Map(conversionMetadata(hp, "tq2_0", "m", { tokenizer: TOKENIZER }));
    expect(kv.get("bitnet-b1.58.rope.dimension_count")?.value).toBe(32);
    expect(kv.get("bitnet-b1.58.attention.key_length")?.value).toBe(32);
  });

  test("the architecture: bitnet-b1.58 for ReLU², bitnet for SiLU, llama for LlamaForCausalLM", () => {
    expect(hparamsFromConfig(CONFIG).arch).toBe("bitnet-b1.58");
    expect(hparamsFromConfig({ ...CONFIG, hidden_act: "silu" }).arch).toBe("bitnet");
    const llama = { ...CONFIG, architectures: ["LlamaForCausalLM"], hidden_act: "silu" };
    expect(hparamsFromConfig(llama).arch).toBe("llama");
  });

  test("refuses other architectures, activations and missing sizes with a reason", () => {
    const { quantization_config: _q, ...plain } = CONFIG;
    expect(() => hparamsFromConfig({ ...plain, architectures: ["LlamaForCausalLM"] })).toThrow(
      /BitNet checkpoints/,
    );
    expect(() => hparamsFromConfig({ ...CONFIG, architectures: ["LlamaForCausalLM"] })).toThrow(
      /LlamaForCausalLM with hidden_act "relu2"/,
    );
    expect(() => hparamsFromConfig({ ...CONFIG, hidden_act: "gelu" })).toThrow(/hidden_act/);
    expect(() => hparamsFromConfig({ ...CONFIG, hidden_size: "x" })).toThrow(/hidden_size/);
    expect(() => hparamsFromConfig(null)).toThrow(/not a JSON object/);
  });
});

describe("planConversion", () => {
  test("lists the bitnet tensors in file order with their types; rotary buffers are ignored", () => {
    const hp = hparamsFromConfig(CONFIG);
    const plan = planConversion(
      hp,
      [...names(1), "model.layers.0.self_attn.rotary_emb.inv_freq"],
      "i2_s",
    );
    expect(plan.map((t) => t.name)).toEqual([
      "token_embd.weight",
      "blk.0.attn_norm.weight",
      "blk.0.attn_q.weight",
      "blk.0.attn_k.weight",
      "blk.0.attn_v.weight",
      "blk.0.attn_sub_norm.weight",
      "blk.0.attn_output.weight",
      "blk.0.ffn_norm.weight",
      "blk.0.ffn_gate.weight",
      "blk.0.ffn_up.weight",
      "blk.0.ffn_sub_norm.weight",
      "blk.0.ffn_down.weight",
      "output_norm.weight",
    ]);
    expect(plan[3]).toMatchObject({ dims: [256, 128], type: GgmlType.I2_S });
    expect(plan[0]).toMatchObject({ dims: [256, 8], type: GgmlType.F16 });
  });
  test("bitnet_b1_58-3B (3200 / 8640): unfitting rows fall back to Q4_0, with the reason", () => {
    const big = hparamsFromConfig({
      ...CONFIG,
      hidden_size: 3200,
      intermediate_size: 8640,
      num_attention_heads: 32,
      num_key_value_heads: 32,
      num_hidden_layers: 26,
    });
    const tq = planConversion(big, names(26), "tq2_0");
    const ternary = tq.filter((t) => t.role === "ternary");
    expect(ternary).toHaveLength(26 * 7);
    expect(ternary.every((t) => t.type === GgmlType.Q4_0)).toBe(true);
    expect(fallbackSummary(tq)).toEqual([
      "blk.N.attn_q.weight ×26 -> Q4_0: rows of 3200 are not a multiple of 256 (TQ2_0)",
      "blk.N.attn_k.weight ×26 -> Q4_0: rows of 3200 are not a multiple of 256 (TQ2_0)",
      "blk.N.attn_v.weight ×26 -> Q4_0: rows of 3200 are not a multiple of 256 (TQ2_0)",
      "blk.N.attn_output.weight ×26 -> Q4_0: rows of 3200 are not a multiple of 256 (TQ2_0)",
      "blk.N.ffn_gate.weight ×26 -> Q4_0: rows of 3200 are not a multiple of 256 (TQ2_0)",
      "blk.N.ffn_up.weight ×26 -> Q4_0: rows of 3200 are not a multiple of 256 (TQ2_0)",
      "blk.N.ffn_down.weight ×26 -> Q4_0: rows of 8640 are not a multiple of 256 (TQ2_0)",
    ]);
    expect(fallbackHint(tq, "tq2_0")).toBe(
      "--type i2_s would keep 156 of them ternary (rows of 128)",
    );
    const i2s = planConversion(big, names(26), "i2_s");
    expect(fallbackSummary(i2s)).toEqual([
      "blk.N.ffn_down.weight ×26 -> Q4_0: rows of 8640 are not a multiple of 128 (I2_S)",
    ]);
    expect(i2s.filter((t) => t.type === GgmlType.I2_S)).toHaveLength(26 * 6);
    expect(fallbackHint(i2s, "i2_s")).toBeUndefined();
    expect(fallbackSummary(planConversion(hparamsFromConfig(CONFIG), names(1), "tq2_0"))).toEqual(
      [],
    );
    const odd = hparamsFromConfig({ ...CONFIG, intermediate_size: 100 });
    expect(planConversion(odd, names(1), "tq1_0").find((t) => t.name.includes("down")))
      .toMatchObject(
        { type: GgmlType.F16, fallback: "rows of 100 are not a multiple of 256 (TQ1_0)" },
      );
    const heads = hparamsFromConfig({ ...CONFIG, num_attention_heads: 3 });
    expect(() => planConversion(heads, names(1), "tq2_0")).toThrow(/whole heads/);
  });
  test("a missing or unknown tensor is named", () => {
    const hp = hparamsFromConfig(CONFIG);
    expect(() => planConversion(hp, names(1).slice(1), "tq2_0")).toThrow(/lacks token_embd/);
    expect(() => planConversion(hp, [...names(1), "model.extra.weight"], "tq2_0")).toThrow(
      /unknown checkpoint tensor "model.extra.weight"/,
    );
    const untied = { ...hp, arch: "bitnet" as const, tied: false };
    expect(() => planConversion(untied, [...names(1), "lm_head.weight"], "tq2_0")).toThrow(
      /its own lm_head/,
    );
    expect(planConversion(hp, [...names(1), "lm_head.weight"], "tq2_0")).toHaveLength(13);
    // bitnet-b1.58 reads output.weight: an untied head is kept
    const b158 = planConversion({ ...hp, tied: false }, [...names(1), "lm_head.weight"], "tq2_0");
    expect(b158.map((t) => t.name)).toContain("output.weight");
  });
});

describe("LlamaForCausalLM BitLinear checkpoints (HF1BitLLM/Llama3-8B-1.58)", () => {
  const LLAMA = {
    ...CONFIG,
    architectures: ["LlamaForCausalLM"],
    hidden_act: "silu",
    tie_word_embeddings: false,
    quantization_config: { quant_method: "bitnet" },
  };
  const llamaNames = (layers: number) =>
    [...names(layers), "lm_head.weight"].filter((n) => !/sub_norm/.test(n));

  test("plan: no sub-norms, its own output head, Q and K permuted per head", () => {
    const hp = hparamsFromConfig(LLAMA);
    expect(hp).toMatchObject({ arch: "llama", scaleMode: "divide", tied: false });
    const plan = planConversion(hp, llamaNames(1), "i2_s");
    expect(plan.map((t) => t.name)).not.toContain("blk.0.attn_sub_norm.weight");
    expect(plan.find((t) => t.name === "output.weight")?.type).toBe(GgmlType.F16);
    expect(plan.find((t) => t.name === "blk.0.attn_q.weight")?.permuteHeads).toBe(4);
    expect(plan.find((t) => t.name === "blk.0.attn_k.weight")?.permuteHeads).toBe(2);
    expect(plan.find((t) => t.name === "blk.0.attn_v.weight")?.permuteHeads).toBeUndefined();
    const kv = new Map(conversionMetadata(hp, "i2_s", "m", { tokenizer: TOKENIZER }));
    expect(kv.get("general.architecture")?.value).toBe("llama");
    expect(kv.has("llama.hidden_activation")).toBe(false);
  });

  test("permuteRopeRows() turns rotate-half RoPE into adjacent-pair RoPE exactly", () => {
    // one head of d = 8 rows, one column: row j of the permuted matrix is HF row order[j]
    const d = 8;
    const order = permuteRopeRows(Int8Array.from({ length: d }, (_, i) => i), 1, 1);
    expect(Array.from(order)).toEqual([0, 4, 1, 5, 2, 6, 3, 7]);
    const q = [0.3, -1.2, 0.7, 2.1, -0.4, 0.9, 1.5, -0.8]; // a query as HF computes it
    const pos = 5;
    const theta = (i: number) => pos * Math.pow(10000, (-2 * i) / d);
    const neox = new Array<number>(d); // HF: pairs (i, i + d/2)
    const adjacent = new Array<number>(d); // GGUF llama on the permuted rows: pairs (2i, 2i + 1)
    const pq = Array.from(order, (o) => q[o]!);
    for (let i = 0; i < d / 2; i++) {
      const [c, s] = [Math.cos(theta(i)), Math.sin(theta(i))];
      neox[i] = q[i]! * c - q[i + d / 2]! * s;
      neox[i + d / 2] = q[i]! * s + q[i + d / 2]! * c;
      adjacent[2 * i] = pq[2 * i]! * c - pq[2 * i + 1]! * s;
      adjacent[2 * i + 1] = pq[2 * i]! * s + pq[2 * i + 1]! * c;
    }
    // the same rotated vector in the permuted order: every q·k dot product is unchanged
    for (let j = 0; j < d; j++) expect(adjacent[j]!).toBeCloseTo(neox[order[j]!]!, 12);
    // two heads of d = 4 rows of 2 columns: whole rows move, within their head
    expect(Array.from(permuteRopeRows(Int8Array.from({ length: 16 }, (_, i) => i), 2, 2)))
      .toEqual([0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
  });
});

describe("packed weights", () => {
  test("field k of packed row p is output row k·out/4 + p, value field − 1", () => {
    // out = 8 rows, in = 1 column: packed row 0 holds rows 0, 2, 4, 6; row 1 holds 1, 3, 5, 7
    const packed = Uint8Array.from([0b10_01_00_10, 0b00_00_01_01]);
    expect([...unpackBitnetU8(packed, 2, 1)]).toEqual([1, 0, -1, 0, 0, -1, 1, -1]);
    expect(() => unpackBitnetU8(Uint8Array.from([3]), 1, 1)).toThrow(/code 3/);
  });
  test("weight_scale multiplies (autobitlinear) or divides (bitlinear); needed for U8", () => {
    const hp = hparamsFromConfig(CONFIG);
    const w = { dtype: "U8", shape: [1, 4], bytes: new Uint8Array(4).fill(0b01_01_01_10) };
    const s = { dtype: "F32", shape: [1], bytes: new Uint8Array(Float32Array.of(0.5).buffer) };
    expect(ternaryOf(w, s, hp, "w").gamma).toBe(0.5);
    expect(ternaryOf(w, s, { ...hp, scaleMode: "divide" }, "w").gamma).toBe(2);
    expect(() => ternaryOf(w, undefined, hp, "w")).toThrow(/without its weight_scale/);
  });
  test("a tensor whose element count does not match the plan is refused", () => {
    const hp = hparamsFromConfig(CONFIG);
    const item = {
      name: "output_norm.weight",
      dims: [256],
      type: 0,
      hf: "n",
      role: "norm",
    } as const;
    const bytes = new Uint8Array(4 * 255);
    expect(() => convertTensor(item, () => ({ dtype: "F32", shape: [255], bytes }), hp, "tq2_0"))
      .toThrow(/255 values, expected 256/);
  });
});

describe("conversionMetadata", () => {
  const tokenizer = TOKENIZER;
  test("hparams, activation and a gpt2 vocabulary padded to vocab_size", () => {
    const hp = { ...hparamsFromConfig(CONFIG), bosId: 3 };
    const kv = new Map(
      conversionMetadata(hp, "tq2_0", "m", { tokenizer, config: { chat_template: "T" } }),
    );
    expect(kv.get("general.architecture")?.value).toBe("bitnet-b1.58");
    expect(kv.get("bitnet-b1.58.hidden_activation")?.value).toBe("relu2");
    expect(kv.get("bitnet-b1.58.attention.head_count_kv")?.value).toBe(2);
    expect(kv.has("bitnet-b1.58.attention.key_length")).toBe(false);
    expect(kv.get("general.file_type")?.value).toBe(37);
    expect(kv.get("tokenizer.ggml.pre")?.value).toBe("llama-bpe");
    expect(kv.get("tokenizer.ggml.tokens")?.value).toEqual(
      ["a", "b", "ab", "<s>", "[PAD4]", "[PAD5]", "[PAD6]", "[PAD7]"],
    );
    expect(kv.get("tokenizer.ggml.bos_token_id")?.value).toBe(3);
    expect(kv.get("tokenizer.chat_template")?.value).toBe("T");
    expect(kv.has("aria.fallback_activation")).toBe(false);
    const withFallback = new Map(conversionMetadata(hp, "tq2_0", "m", { tokenizer }, true));
    expect(withFallback.get("aria.fallback_activation")?.value).toBe("i8");
  });
  test("a tokenizer larger than vocab_size is refused", () => {
    const hp = { ...hparamsFromConfig(CONFIG), nVocab: 3 };
    expect(() => conversionMetadata(hp, "tq2_0", "m", { tokenizer })).toThrow(/4 tokens/);
  });
});
