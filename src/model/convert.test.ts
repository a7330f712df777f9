import { describe, expect, test } from "bun:test";
import { absmeanTernarize, ggufNameForHf, roundHalfEven } from "./convert.ts";

describe("ggufNameForHf()", () => {
  test("ggufNameForHf() maps both sub-norm spellings and the global tensors", () => {
    expect(ggufNameForHf("model.embed_tokens.weight")).toBe("token_embd.weight");
    expect(ggufNameForHf("model.norm.weight")).toBe("output_norm.weight");
    expect(ggufNameForHf("model.layers.12.self_attn.q_proj.weight")).toBe("blk.12.attn_q.weight");
    expect(ggufNameForHf("model.layers.0.self_attn.inner_attn_ln.weight")).toBe(
      "blk.0.attn_sub_norm.weight",
    );
    expect(ggufNameForHf("model.layers.0.self_attn.attn_sub_norm.weight")).toBe(
      "blk.0.attn_sub_norm.weight",
    );
    expect(ggufNameForHf("model.layers.1.mlp.ffn_layernorm.weight")).toBe(
      "blk.1.ffn_sub_norm.weight",
    );
    expect(ggufNameForHf("model.layers.1.mlp.down_proj.weight")).toBe("blk.1.ffn_down.weight");
    expect(ggufNameForHf("model.layers.1.self_attn.rotary_emb.inv_freq")).toBeUndefined();
  });
});

describe("absmeanTernarize()", () => {
  test("roundHalfEven() rounds ties to even like torch.round", () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49, 1.51].map(roundHalfEven))
      .toEqual([-2, -2, -0, 0, 2, 2, 0, 2]);
  });

  test("absmeanTernarize() uses gamma = mean|W| and clamps to {-1, 0, 1}", () => {
    const w = new Float32Array([0.4, -0.1, 2, -3, 0, 0.25, -0.2, 0.75]);
    const { values, gamma } = absmeanTernarize(w);
    expect(gamma).toBeCloseTo(6.7 / 8, 6);
    // w / γ = 0.478, -0.119, 2.39, -3.58, 0, 0.299, -0.239, 0.896
    expect([...values]).toEqual([0, 0, 1, -1, 0, 0, 0, 1]);
  });

  test("absmeanTernarize() keeps an all-zero tensor at zero with the floor scale", () => {
    const { values, gamma } = absmeanTernarize(new Float32Array(16));
    expect(gamma).toBe(1e-5);
    expect(values.every((v) => v === 0)).toBe(true);
  });
});
