import { describe, expect, test } from "bun:test";
import { GgufFormatError } from "./gguf-error.ts";
import { GgmlType, GgufValueType } from "./gguf-format.ts";
import {
  findTensor,
  kvArray,
  kvBool,
  kvNumber,
  kvNumbers,
  kvString,
  kvStrings,
  parseGguf,
  tensorData,
} from "./gguf-reader.ts";
import { arr, bool, encodeGguf, f32, i64, i8, str, u16, u32, u64 } from "./gguf-writer.ts";
import { createPrng } from "./prng.ts";

/** A small file with every section: mixed metadata and three tensors, the last ending the file. */
function smallFile(): Uint8Array {
  return encodeGguf(
    [
      ["general.architecture", str("bitnet")],
      ["bitnet.block_count", u32(2)],
      ["bitnet.big", u64(1n << 40n)],
      ["bitnet.huge", u64(1n << 60n)],
      ["bitnet.neg", i64(-5)],
      ["bitnet.small", i8(-3)],
      ["bitnet.eps", f32(0.5)],
      ["tokenizer.ggml.add_bos_token", bool(true)],
      ["tokenizer.ggml.tokens", arr(GgufValueType.STRING, ["a", "é", "▁b"])],
      ["tokenizer.ggml.scores", arr(GgufValueType.FLOAT32, [0, -1, -2])],
      ["tokenizer.ggml.token_type", arr(GgufValueType.INT32, [1, 3, 6])],
      ["nested", arr(GgufValueType.ARRAY, [arr(GgufValueType.UINT16, [7])])],
    ],
    [
      { name: "n", dims: [8], type: GgmlType.F32, data: new Uint8Array(32).fill(1) },
      { name: "w", dims: [256], type: GgmlType.TQ2_0, data: new Uint8Array(66).fill(2) },
      { name: "s", dims: [128], type: GgmlType.I2_S, data: new Uint8Array(64).fill(3) },
    ],
  );
}

function expectFormatError(f: () => unknown, message?: string | RegExp): GgufFormatError {
  try {
    f();
  } catch (err: unknown) {
    expect(err).toBeInstanceOf(GgufFormatError);
    const e = err as GgufFormatError;
    expect({ code: e.code, isSyntaxError: e instanceof SyntaxError }).toEqual({
      code: "GGUF_FORMAT",
      isSyntaxError: true,
    });
    if (message !== undefined) expect(e.message).toMatch(message);
    return e;
  }
  throw new Error("Expected a GgufFormatError, nothing was thrown");
}

describe("parseGguf()", () => {
  test("parseGguf() reads the header, tensor infos and data offset", () => {
    const bytes = smallFile();
    const file = parseGguf(bytes);
    expect({ v: file.version, a: file.alignment, n: file.kv.size, d: file.dataOffset % 32 })
      .toEqual({
        v: 3,
        a: 32,
        n: 12,
        d: 0,
      });
    expect(file.tensors).toEqual([
      { name: "n", dims: [8], type: GgmlType.F32, offset: 0, byteSize: 32 },
      { name: "w", dims: [256], type: GgmlType.TQ2_0, offset: 32, byteSize: 66 },
      { name: "s", dims: [128], type: GgmlType.I2_S, offset: 128, byteSize: 64 },
    ]);
    expect(bytes.length).toBe(file.dataOffset + 192);
    expect(tensorData(file, bytes, findTensor(file, "s")!).every((b) => b === 3)).toBe(true);
  });

  test("parseGguf() names a bad magic", () => {
    const bytes = smallFile();
    bytes.set([0x47, 0x47, 0x55, 0x4c]);
    const e = expectFormatError(() => parseGguf(bytes));
    expect({ message: e.message, offset: e.offset }).toEqual({
      message: 'Cannot parse GGUF header: magic is "GGUL"',
      offset: 0,
    });
  });

  test("parseGguf() rejects version 1 and big-endian files", () => {
    const v1 = smallFile();
    v1[4] = 1;
    expectFormatError(() => parseGguf(v1), /version 1 is not supported/);
    const be = smallFile();
    be.set([0, 0, 0, 3], 4);
    expectFormatError(() => parseGguf(be), /big-endian/);
  });

  test("parseGguf() throws GgufFormatError for a truncation at every offset", () => {
    const bytes = smallFile();
    const others: string[] = [];
    for (let len = 0; len < bytes.length; len++) {
      try {
        parseGguf(bytes.subarray(0, len));
        others.push(`${len}: parsed`);
      } catch (err: unknown) {
        if (!(err instanceof GgufFormatError)) others.push(`${len}: ${String(err)}`);
      }
    }
    expect(others).toEqual([]);
  });

  test("parseGguf() throws only GgufFormatError on random byte corruption", () => {
    const original = smallFile();
    const rng = createPrng(11);
    const others: string[] = [];
    for (let round = 0; round < 3000; round++) {
      const bytes = original.slice();
      for (let k = 0; k < 1 + (rng.nextU32() % 4); k++) {
        bytes[rng.nextU32() % bytes.length] = rng.nextU32() & 255;
      }
      try {
        parseGguf(bytes);
      } catch (err: unknown) {
        if (!(err instanceof GgufFormatError)) others.push(String(err));
      }
    }
    expect(others).toEqual([]);
  });

  test("parseGguf() rejects duplicate keys and tensor names", () => {
    const keys = encodeGguf([["ka", u16(1)], ["kb", u16(2)]], []);
    keys[keys.indexOf(0x62, 24)] = 0x61; // "kb" -> "ka"
    expectFormatError(() => parseGguf(keys), /duplicate key "ka"/);
    const t = { dims: [1], type: GgmlType.F32, data: new Uint8Array(4) };
    const names = encodeGguf([], [{ name: "xa", ...t }, { name: "xb", ...t }]);
    names[names.lastIndexOf(0x62, 200)] = 0x61;
    expectFormatError(() => parseGguf(names), /duplicate tensor "xa"/);
  });

  test("parseGguf() rejects an unknown tensor type, a misaligned offset and an unknown value type", () => {
    // One tensor "w", no metadata: name at 24 (8 + 1 bytes), n_dims 33, dim 37, type 45, offset 49.
    const base = () =>
      encodeGguf([], [{ name: "w", dims: [8], type: GgmlType.F32, data: new Uint8Array(32) }]);
    const type = base();
    type[45] = 39;
    expect(expectFormatError(() => parseGguf(type), /unsupported type 39/).offset).toBe(45);
    const offset = base();
    offset[49] = 4;
    expectFormatError(() => parseGguf(offset), /not a multiple of 32/);
    const value = encodeGguf([["k", u16(1)]], []);
    value[24 + 9] = 13; // value type after the key "k"
    expectFormatError(() => parseGguf(value), /unknown value type 13/);
  });

  test("parseGguf() rejects invalid UTF-8 and a bad general.alignment", () => {
    const utf8 = encodeGguf([["k", str("ab")]], []);
    utf8[utf8.indexOf(0x61, 30)] = 0xff;
    expectFormatError(() => parseGguf(utf8), /not valid UTF-8/);
    const align = encodeGguf([["general.alignment", u16(32)]], []);
    align[24 + 8 + 17 + 4] = 24; // the u16 value after the key "general.alignment" and its type
    expectFormatError(() => parseGguf(align), /general.alignment is 24, not a power of two/);
  });
});

describe("kv helpers", () => {
  const file = parseGguf(smallFile());

  test("kvNumber() accepts every numeric type and converts safe 64-bit integers", () => {
    expect(
      ["bitnet.block_count", "bitnet.big", "bitnet.neg", "bitnet.small", "bitnet.eps", "absent"]
        .map((k) => kvNumber(file, k)),
    ).toEqual([2, 2 ** 40, -5, -3, 0.5, undefined]);
    expectFormatError(() => kvNumber(file, "bitnet.huge"), /not a safe integer/);
    expectFormatError(
      () => kvNumber(file, "general.architecture"),
      /expected a number, found STRING/,
    );
  });

  test("kvString(), kvBool() and kvArray() check the type", () => {
    expect([kvString(file, "general.architecture"), kvBool(file, "tokenizer.ggml.add_bos_token")])
      .toEqual([
        "bitnet",
        true,
      ]);
    expectFormatError(() => kvString(file, "bitnet.block_count"), /expected STRING, found UINT32/);
    expectFormatError(() => kvBool(file, "bitnet.block_count"));
    expectFormatError(() => kvArray(file, "bitnet.block_count"));
    expectFormatError(() =>
      kvArray(file, "tokenizer.ggml.scores", { itemType: GgufValueType.STRING })
    );
    expect(kvArray(file, "nested")).toEqual(
      arr(GgufValueType.ARRAY, [arr(GgufValueType.UINT16, [7])]),
    );
  });

  test("kvStrings() and kvNumbers() return the plain item arrays", () => {
    expect([
      kvStrings(file, "tokenizer.ggml.tokens"),
      kvNumbers(file, "tokenizer.ggml.scores"),
      kvNumbers(file, "tokenizer.ggml.token_type"),
      kvStrings(file, "absent"),
    ]).toEqual([["a", "é", "▁b"], [0, -1, -2], [1, 3, 6], undefined]);
    expectFormatError(() => kvNumbers(file, "tokenizer.ggml.tokens"));
  });
});
