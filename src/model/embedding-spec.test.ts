import { describe, expect, test } from "bun:test";
import { embeddingSpecOf } from "./embedding-spec.ts";
import { GgmlType } from "./gguf-format.ts";
import { encodeGguf, f32, str, u32 } from "./gguf-writer.ts";
import { parseGguf } from "./gguf-reader.ts";
import { quantizeF16 } from "./quants.ts";

const NORM = new Float32Array([1, 0.5, 2, -1]);

function file(pooling: number | undefined, withNorm = true) {
  const bytes = encodeGguf(
    [
      ["general.architecture", str("qwen3")],
      ["qwen3.attention.layer_norm_rms_epsilon", f32(1e-6)],
      ...(pooling === undefined ? [] : [["qwen3.pooling_type", u32(pooling)] as const]),
    ],
    withNorm
      ? [{ name: "output_norm.weight", dims: [4], type: GgmlType.F16, data: quantizeF16(NORM) }]
      : [],
  );
  return { bytes, parsed: parseGguf(bytes) };
}

describe("embeddingSpecOf", () => {
  test("a file without pooling_type is not an embedding model", () => {
    const { bytes, parsed } = file(undefined);
    expect(embeddingSpecOf(parsed, bytes)).toBeUndefined();
  });
  test("mean, cls and last, with the F16 output norm and eps", () => {
    for (const [id, pooling] of [[1, "mean"], [2, "cls"], [3, "last"]] as const) {
      const { bytes, parsed } = file(id);
      const spec = embeddingSpecOf(parsed, bytes)!;
      expect(spec.pooling).toBe(pooling);
      expect(Array.from(spec.outputNorm)).toEqual(Array.from(NORM));
      expect(spec.eps).toBeCloseTo(1e-6, 12);
    }
  });
  test("none, rank, unknown values and a missing output norm are refused with the reason", () => {
    expect(() => embeddingSpecOf(file(0).parsed, file(0).bytes)).toThrow(/none/);
    expect(() => embeddingSpecOf(file(4).parsed, file(4).bytes)).toThrow(/rank/);
    expect(() => embeddingSpecOf(file(9).parsed, file(9).bytes)).toThrow(/is 9/);
    const { bytes, parsed } = file(3, false);
    expect(() => embeddingSpecOf(parsed, bytes)).toThrow(/output_norm/);
  });
});
