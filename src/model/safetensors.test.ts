import { describe, expect, test } from "bun:test";
import { parseSafetensors, safetensorsToF32 } from "./safetensors.ts";
import { f32ToBf16, f32ToF16 } from "./quants.ts";

function file(header: unknown, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe("parseSafetensors()", () => {
  test("parseSafetensors() reads F32, F16 and BF16 tensors with absolute offsets", () => {
    const data = new Uint8Array(16);
    const v = new DataView(data.buffer);
    v.setFloat32(0, 1.5, true);
    v.setFloat32(4, -2, true);
    v.setUint16(8, f32ToF16(0.25), true);
    v.setUint16(10, f32ToF16(-3), true);
    v.setUint16(12, f32ToBf16(4), true);
    v.setUint16(14, f32ToBf16(-0.5), true);
    const bytes = file({
      __metadata__: { format: "pt" },
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F16", shape: [1, 2], data_offsets: [8, 12] },
      c: { dtype: "BF16", shape: [2], data_offsets: [12, 16] },
    }, data);
    const st = parseSafetensors(bytes);
    expect(st.metadata).toEqual({ format: "pt" });
    expect([...st.tensors.keys()]).toEqual(["a", "b", "c"]);
    expect([...safetensorsToF32(bytes, st.tensors.get("a")!)]).toEqual([1.5, -2]);
    expect([...safetensorsToF32(bytes, st.tensors.get("b")!)]).toEqual([0.25, -3]);
    expect([...safetensorsToF32(bytes, st.tensors.get("c")!)]).toEqual([4, -0.5]);
  });

  test("parseSafetensors() refuses truncated, inconsistent and unknown input", () => {
    const ok = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
    expect(() => parseSafetensors(new Uint8Array(4))).toThrow(/shorter than 8/);
    expect(() => parseSafetensors(file(ok, new Uint8Array(4)))).toThrow(/past the end/);
    expect(() =>
      parseSafetensors(
        file({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
      )
    )
      .toThrow(/8 bytes for shape/);
    expect(() =>
      parseSafetensors(
        file({ a: { dtype: "Q9", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)),
      )
    )
      .toThrow(/unknown dtype/);
    expect(() => parseSafetensors(file([1], new Uint8Array(0)))).toThrow(/not a JSON object/);
    const bad = file(ok, new Uint8Array(8));
    bad[9] = 0x7b; // break the JSON
    bad[8] = 0x5d;
    expect(() => parseSafetensors(bad)).toThrow(/Bad safetensors header/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => parseSafetensors(huge)).toThrow(/header length/);
  });
});
