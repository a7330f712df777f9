import { describe, expect, test } from "bun:test";
import { GgmlType } from "./gguf-format.ts";
import { f16ToF32, f32ToF16 } from "./quants.ts";
import {
  buildMetadata,
  floatFiller,
  planTensors,
  PRESETS,
  synthesizeTernary,
  vocabFromTokenizerJson,
} from "./synthetic.ts";

const SPM_JSON = {
  model: {
    byte_fallback: true,
    vocab: { "<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "▁t": 4, "he": 5 },
    merges: ["▁ t", "h e"],
  },
  added_tokens: [{ id: 0, content: "<unk>" }, { id: 1, content: "<s>" }, {
    id: 2,
    content: "</s>",
  }],
};

const BPE_JSON = {
  model: { vocab: { "!": 0, "Ġt": 1, "he": 3 }, merges: [["Ġ", "t"], "h e"] },
  added_tokens: [
    { id: 4, content: "<|begin_of_text|>" },
    { id: 5, content: "<|end_of_text|>" },
    { id: 6, content: "<|eot_id|>" },
  ],
};

describe("planTensors()", () => {
  test("planTensors() matches the official 2B-4T file: 332 tensors, 210 I2_S, 121 F32, 1 F16", () => {
    const plan = planTensors(PRESETS["2b-4t"]!, {
      arch: "bitnet-b1.58",
      ternary: "i2_s",
      embedding: "f16",
      nVocab: 128256,
    });
    const count = (type: number) => plan.filter((t) => t.type === type).length;
    expect([plan.length, count(GgmlType.I2_S), count(GgmlType.F32), count(GgmlType.F16)]).toEqual([
      332,
      210,
      121,
      1,
    ]);
    expect(plan.find((t) => t.name === "blk.29.attn_k.weight")?.dims).toEqual([2560, 640]);
    expect(plan.find((t) => t.name === "blk.0.ffn_down.weight")?.dims).toEqual([6912, 2560]);
    expect(plan.find((t) => t.name === "blk.0.ffn_sub_norm.weight")?.dims).toEqual([6912]);
  });

  test("planTensors() gives llama no sub-norms and a separate output", () => {
    const names = planTensors(PRESETS.tiny!, {
      arch: "llama",
      ternary: "tq2_0",
      embedding: "q8_0",
      nVocab: 10,
    }).map(
      (t) => t.name,
    );
    expect([
      names.includes("output.weight"),
      names.some((n) => n.includes("sub_norm")),
      names.length,
    ]).toEqual([
      true,
      false,
      2 + 2 * 9 + 1,
    ]);
  });
});

describe("vocabFromTokenizerJson()", () => {
  test("vocabFromTokenizerJson() builds a SentencePiece vocabulary with rebuilt scores", () => {
    expect(vocabFromTokenizerJson(SPM_JSON, { extraTokens: ["<pad>"] })).toEqual({
      model: "llama",
      tokens: ["<unk>", "<s>", "</s>", "<0x0A>", "▁t", "he", "<pad>"],
      scores: [0, 0, 0, 0, -0, -1, -1000],
      tokenTypes: [2, 3, 3, 6, 1, 1, 3],
      merges: [],
    });
  });

  test("vocabFromTokenizerJson() builds a gpt2 vocabulary, filling holes with unused tokens", () => {
    expect(vocabFromTokenizerJson(BPE_JSON)).toEqual({
      model: "gpt2",
      tokens: ["!", "Ġt", "[PAD2]", "he", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"],
      scores: [0, 0, 0, 0, -1000, -1000, -1000],
      tokenTypes: [1, 1, 5, 1, 3, 3, 3],
      merges: ["Ġ t", "h e"],
    });
  });

  test("vocabFromTokenizerJson() rejects JSON without a vocabulary", () => {
    expect(() => vocabFromTokenizerJson({})).toThrow(TypeError);
  });
});

describe("buildMetadata()", () => {
  test("buildMetadata() writes the arch keys and special token ids", () => {
    const vocab = vocabFromTokenizerJson(BPE_JSON);
    const kv = new Map(
      buildMetadata(PRESETS["2b-4t"]!, vocab, {
        arch: "bitnet-b1.58",
        ternary: "i2_s",
        name: "x",
        noPre: true,
      }),
    );
    expect({
      arch: kv.get("general.architecture")?.value,
      fileType: kv.get("general.file_type")?.value,
      heads: kv.get("bitnet-b1.58.attention.head_count_kv")?.value,
      rot: kv.get("bitnet-b1.58.rope.dimension_count")?.value,
      base: kv.get("bitnet-b1.58.rope.freq_base")?.value,
      vocab: kv.get("bitnet-b1.58.vocab_size")?.value,
      pre: kv.has("tokenizer.ggml.pre"),
      ids: ["bos", "eos", "eot"].map((k) => kv.get(`tokenizer.ggml.${k}_token_id`)?.value),
    }).toEqual({
      arch: "bitnet-b1.58",
      fileType: 40,
      heads: 5,
      rot: 128,
      base: 500000,
      vocab: 7,
      pre: false,
      ids: [4, 5, 6],
    });
  });
});

describe("synthesizeTernary()", () => {
  test("synthesizeTernary() is deterministic with an f16-exact scale", () => {
    const a = synthesizeTernary(3, { name: "blk.0.attn_q.weight", dims: [256, 4] });
    const b = synthesizeTernary(3, { name: "blk.0.attn_q.weight", dims: [256, 4] });
    const c = synthesizeTernary(3, { name: "blk.0.attn_k.weight", dims: [256, 4] });
    expect([a.values, a.scale]).toEqual([b.values, b.scale]);
    expect(a.values).not.toEqual(c.values);
    expect(f16ToF32(f32ToF16(a.scale))).toBe(a.scale);
  });

  test("floatFiller() continues one stream across chunks", () => {
    const whole = floatFiller(1, { name: "e", role: "embedding" })(new Float32Array(10));
    const fill = floatFiller(1, { name: "e", role: "embedding" });
    expect([...fill(new Float32Array(4)), ...fill(new Float32Array(6))]).toEqual([...whole]);
  });
});
