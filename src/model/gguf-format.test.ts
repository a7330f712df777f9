import { describe, expect, test } from "bun:test";
import { alignOffset, GgmlType, tensorByteSize, typeName } from "./gguf-format.ts";

describe("tensorByteSize()", () => {
  test("tensorByteSize() sizes the block types and the I2_S tail", () => {
    expect([
      tensorByteSize(GgmlType.F32, [256, 3]),
      tensorByteSize(GgmlType.F16, [256, 3]),
      tensorByteSize(GgmlType.Q8_0, [256, 3]),
      tensorByteSize(GgmlType.Q6_K, [256, 3]),
      tensorByteSize(GgmlType.TQ1_0, [256, 3]),
      tensorByteSize(GgmlType.TQ2_0, [256, 3]),
      tensorByteSize(GgmlType.I2_S, [2560, 2560]),
    ]).toEqual([3072, 1536, 816, 630, 162, 198, 1638400 + 32]);
  });

  test("tensorByteSize() rejects partial blocks and unknown types", () => {
    expect(() => tensorByteSize(GgmlType.TQ2_0, [128, 2])).toThrow(RangeError);
    expect(() => tensorByteSize(GgmlType.I2_S, [64])).toThrow(RangeError);
    expect(() => tensorByteSize(39, [256])).toThrow(RangeError);
    expect(() => tensorByteSize(GgmlType.F32, [-1])).toThrow(RangeError);
  });
});

describe("typeName()", () => {
  test("typeName() names known ids and marks unknown ones", () => {
    expect([typeName(34), typeName(35), typeName(36), typeName(14), typeName(99)]).toEqual([
      "TQ1_0",
      "TQ2_0",
      "I2_S",
      "Q6_K",
      "type99",
    ]);
  });
});

describe("alignOffset()", () => {
  test("alignOffset() rounds up to the alignment", () => {
    expect([alignOffset(0, 32), alignOffset(1, 32), alignOffset(32, 32), alignOffset(33, 64)])
      .toEqual([0, 32, 32, 64]);
  });
});
