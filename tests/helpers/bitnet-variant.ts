/**
 * @module Rewrites a generated `bitnet` model into the variants the generator does not make:
 * `bitnet.hidden_activation = "relu2"` and per-matrix `blk.N.<matrix>.scale` tensors (F32, one
 * value), as written by newer upstream llama.cpp converters. Used to test both engines on those
 * code paths. Pure: bytes in, bytes out.
 */
import { parseGguf, tensorData } from "../../src/model/gguf-reader.ts";
import { encodeGguf, type GgufTensorWithData, str } from "../../src/model/gguf-writer.ts";
import { GgmlType } from "../../src/model/gguf-format.ts";
import { type I2sLayout, relayoutI2S } from "../../src/model/quants.ts";

/** The seven matrices of a block that may carry a `.scale`. */
export const SCALED_MATRICES = [
  "attn_q",
  "attn_k",
  "attn_v",
  "attn_output",
  "ffn_gate",
  "ffn_up",
  "ffn_down",
] as const;

/** Options of {@link makeBitnetVariant}. */
export interface BitnetVariantOptions {
  /** Value of `<arch>.hidden_activation`; omitted: no key (the arch's default). */
  readonly hiddenActivation?: "silu" | "relu2" | "relu_sqr" | "gelu";
  /** The `.scale` value of matrix `m` (index in SCALED_MATRICES) of block `l`; omitted: none. */
  readonly scale?: (l: number, m: number) => number;
}

/**
 * A copy of a `bitnet` GGUF file with the activation key and `.scale` tensors added (each
 * right after its matrix); every other key and tensor byte is kept.
 * @throws {RangeError} if the file is not a `bitnet`, `bitnet-b1.58` or `llama` model
 */
export function makeBitnetVariant(
  bytes: Uint8Array,
  options: Readonly<BitnetVariantOptions>,
): Uint8Array {
  const file = parseGguf(bytes);
  const arch = file.kv.get("general.architecture")?.value;
  if (arch !== "bitnet" && arch !== "bitnet-b1.58" && arch !== "llama") {
    throw new RangeError(`Cannot make a bitnet variant: architecture is "${String(arch)}"`);
  }
  const actKey = `${arch}.hidden_activation`;
  const kv = [...file.kv.entries()].filter(([k]) => k !== "general.alignment" && k !== actKey);
  if (options.hiddenActivation !== undefined) {
    kv.push([actKey, str(options.hiddenActivation)]);
  }
  const tensors: GgufTensorWithData[] = [];
  for (const info of file.tensors) {
    tensors.push({
      name: info.name,
      dims: info.dims,
      type: info.type,
      data: tensorData(file, bytes, info),
    });
    const match = /^blk\.(\d+)\.(\w+)\.weight$/.exec(info.name);
    const m = match ? (SCALED_MATRICES as readonly string[]).indexOf(match[2]!) : -1;
    if (options.scale === undefined || match === null || m < 0) continue;
    const value = new Uint8Array(Float32Array.of(options.scale(Number(match[1]), m)).buffer);
    tensors.push({
      name: `blk.${match[1]}.${match[2]}.scale`,
      dims: [1],
      type: GgmlType.F32,
      data: value,
    });
  }
  return encodeGguf(kv, tensors, { alignment: file.alignment });
}

/**
 * A copy of a GGUF file with the codes of every I2_S tensor rewritten from one I2_S layout to
 * the other (src/model/quants.ts `relayoutI2S`); nothing else changes, offsets included.
 */
export function relayoutI2sFile(bytes: Uint8Array, from: I2sLayout, to: I2sLayout): Uint8Array {
  const file = parseGguf(bytes);
  const out = Uint8Array.from(bytes);
  for (const info of file.tensors) {
    if (info.type !== GgmlType.I2_S) continue;
    const data = tensorData(file, bytes, info);
    const n = info.dims.reduce((a, b) => a * b, 1);
    out.set(relayoutI2S(data, n, from, to), data.byteOffset - bytes.byteOffset);
  }
  return out;
}

/** A copy of a GGUF file with one more F32 tensor (zeros) of the given name and shape. */
export function withExtraTensor(bytes: Uint8Array, name: string, dims: number[]): Uint8Array {
  const file = parseGguf(bytes);
  const kv = [...file.kv.entries()].filter(([k]) => k !== "general.alignment");
  const tensors: GgufTensorWithData[] = file.tensors.map((info) => ({
    name: info.name,
    dims: info.dims,
    type: info.type,
    data: tensorData(file, bytes, info),
  }));
  const n = dims.reduce((a, b) => a * b, 1);
  tensors.push({ name, dims, type: GgmlType.F32, data: new Uint8Array(4 * n) });
  return encodeGguf(kv, tensors, { alignment: file.alignment });
}
