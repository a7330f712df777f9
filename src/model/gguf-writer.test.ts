import { describe, expect, test } from "bun:test";
import { GgmlType, type GgufValue, GgufValueType } from "./gguf-format.ts";
import { parseGguf, tensorData } from "./gguf-reader.ts";
import {
  arr,
  bool,
  encodeGguf,
  encodeGgufHeader,
  f32,
  f64,
  i16,
  i32,
  i64,
  i8,
  str,
  u16,
  u32,
  u64,
  u8,
} from "./gguf-writer.ts";

/** One value of every type, extremes included. */
const EVERY_VALUE: [string, GgufValue][] = [
  ["t.u8", u8(255)],
  ["t.i8", i8(-128)],
  ["t.u16", u16(65535)],
  ["t.i16", i16(-32768)],
  ["t.u32", u32(0xffffffff)],
  ["t.i32", i32(-0x80000000)],
  ["t.f32", f32(1.5)],
  ["t.bool", bool(true)],
  ["t.str", str("héllo ▁ 𝄞 \u0000 end")],
  ["t.empty_str", str("")],
  ["t.u64", u64(0xffffffffffffffffn)],
  ["t.i64", i64(-(1n << 63n))],
  ["t.f64", f64(Math.PI)],
  ["t.arr_u8", arr(GgufValueType.UINT8, [0, 1, 255])],
  ["t.arr_i32", arr(GgufValueType.INT32, [-1, 0, 2147483647])],
  ["t.arr_f32", arr(GgufValueType.FLOAT32, [0.5, -2, Math.fround(1e-3)])],
  ["t.arr_bool", arr(GgufValueType.BOOL, [true, false])],
  ["t.arr_str", arr(GgufValueType.STRING, ["<unk>", "Ġthe", "", "▁▁"])],
  ["t.arr_u64", arr(GgufValueType.UINT64, [1n, 1n << 60n])],
  ["t.arr_empty", arr(GgufValueType.FLOAT64, [])],
  [
    "t.arr_nested",
    arr(GgufValueType.ARRAY, [arr(GgufValueType.INT16, [1, -2]), arr(GgufValueType.STRING, ["x"])]),
  ],
];

describe("encodeGgufHeader()", () => {
  test("encodeGgufHeader() writes values that parseGguf() reads back unchanged", () => {
    const file = parseGguf(encodeGguf(EVERY_VALUE, []));
    const expected = EVERY_VALUE.map(([k, v]) =>
      [k, v.type === GgufValueType.FLOAT32 ? v : v] as const
    );
    expect([...file.kv]).toEqual(expected.map(([k, v]) => [k, v]));
  });

  test("encodeGgufHeader() aligns offsets and pads the header", () => {
    const tensors = [
      { name: "a", dims: [3], type: GgmlType.F32 },
      { name: "b", dims: [256, 2], type: GgmlType.TQ2_0 },
      { name: "c", dims: [128], type: GgmlType.I2_S },
    ];
    const h = encodeGgufHeader([["general.name", str("x")]], tensors);
    expect({
      len: h.header.length % 32,
      offsets: h.offsets,
      sizes: h.sizes,
      total: h.totalBytes - h.header.length,
    })
      .toEqual({ len: 0, offsets: [0, 32, 192], sizes: [12, 132, 64], total: 256 });
  });

  test("encodeGgufHeader() adds general.alignment for a non-default alignment and writes version 2", () => {
    const bytes = encodeGguf([], [{
      name: "w",
      dims: [4],
      type: GgmlType.F32,
      data: new Uint8Array(16),
    }], {
      alignment: 64,
      version: 2,
    });
    const file = parseGguf(bytes);
    expect({
      v: file.version,
      a: file.alignment,
      kv: file.kv.get("general.alignment"),
      d: file.dataOffset % 64,
    })
      .toEqual({ v: 2, a: 64, kv: u32(64), d: 0 });
  });

  test("encodeGgufHeader() rejects duplicates, long names, bad alignments and out-of-range values", () => {
    const t = { name: "w", dims: [4], type: GgmlType.F32 };
    expect(() => encodeGgufHeader([["k", u8(1)], ["k", u8(2)]], [])).toThrow(RangeError);
    expect(() => encodeGgufHeader([], [t, t])).toThrow(RangeError);
    expect(() => encodeGgufHeader([], [{ ...t, name: "n".repeat(64) }])).toThrow(RangeError);
    expect(() => encodeGgufHeader([], [t], { alignment: 24 })).toThrow(RangeError);
    expect(() => encodeGgufHeader([["k", u8(256)]], [])).toThrow(RangeError);
    expect(() => encodeGgufHeader([["k", u32(-1)]], [])).toThrow(RangeError);
    expect(() => encodeGgufHeader([["k", { type: GgufValueType.FLOAT32, value: "x" }]], []))
      .toThrow(TypeError);
  });
});

describe("encodeGguf()", () => {
  test("encodeGguf() places each tensor's data where tensorData() finds it", () => {
    const a = new Uint8Array(12).map((_, i) => i + 1);
    const b = new Uint8Array(66).map((_, i) => 200 - i);
    const bytes = encodeGguf([], [
      { name: "a", dims: [3], type: GgmlType.F32, data: a },
      { name: "b", dims: [256], type: GgmlType.TQ2_0, data: b },
    ]);
    const file = parseGguf(bytes);
    expect(file.tensors.map((t) => Array.from(tensorData(file, bytes, t)))).toEqual([
      Array.from(a),
      Array.from(b),
    ]);
  });

  test("encodeGguf() rejects data of the wrong size", () => {
    expect(() =>
      encodeGguf([], [{ name: "a", dims: [3], type: GgmlType.F32, data: new Uint8Array(11) }])
    ).toThrow(
      RangeError,
    );
  });
});
