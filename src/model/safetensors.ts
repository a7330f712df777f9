/**
 * @module The safetensors container (Hugging Face checkpoints): an 8-byte little-endian header
 * length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?}`,
 * then the raw little-endian tensor bytes. Pure: parses bytes already in memory; every bound is
 * checked so a truncated or hostile file is a clear error, never an out-of-range read.
 */
import { bf16ToF32, f16ToF32 } from "./quants.ts";

/** One tensor entry of a safetensors header. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>>;
}

const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/**
 * Parse the header of a safetensors file.
 *
 * @param bytes the whole file (or at least its header).
 * @param fileSize the file's size, when `bytes` holds only the start of it.
 * @returns The entries, with absolute offsets.
 * @throws {RangeError} On a truncated file, bad JSON, an unknown dtype, a shape that does not
 * match its byte range, or a range outside the file.
 */
export function parseSafetensors(bytes: Uint8Array, fileSize = bytes.length): SafetensorsFile {
  if (bytes.length < 8) throw new RangeError("Not a safetensors file: shorter than 8 bytes");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > 100_000_000 || 8 + headerLen > bytes.length) {
    throw new RangeError(
      `Bad safetensors header length ${headerLen} (file has ${bytes.length} bytes)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)),
    );
  } catch (e) {
    throw new RangeError(`Bad safetensors header: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new RangeError("Bad safetensors header: not a JSON object");
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const width = typeof e.dtype === "string" ? DTYPE_BYTES[e.dtype] : undefined;
    if (width === undefined) {
      throw new RangeError(`Tensor "${name}": unknown dtype ${String(e.dtype)}`);
    }
    const shape = e.shape;
    const offs = e.data_offsets;
    if (
      !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      !Array.isArray(offs) || offs.length !== 2 || !offs.every((o) =>
        Number.isSafeInteger(o) && o >= 0
      )
    ) throw new RangeError(`Tensor "${name}": bad shape or data_offsets`);
    const count = (shape as number[]).reduce((p, d) => p * d, 1);
    const [b, en] = offs as [number, number];
    if (en < b || en - b !== count * width) {
      throw new RangeError(`Tensor "${name}": ${en - b} bytes for shape [${shape}] of ${e.dtype}`);
    }
    if (base + en > fileSize) {
      throw new RangeError(
        `Tensor "${name}" runs past the end of the file`,
      );
    }
    tensors.set(name, {
      name,
      dtype: e.dtype as string,
      shape: shape as number[],
      begin: base + b,
      end: base + en,
    });
  }
  return { tensors, metadata };
}

/**
 * A tensor's values as float32 (F32, F16 and BF16 tensors).
 *
 * @param bytes the whole file.
 * @param entry the tensor.
 * @returns A new array of the values, row-major.
 * @throws {RangeError} For another dtype.
 */
export function safetensorsToF32(bytes: Uint8Array, entry: SafetensorsEntry): Float32Array {
  const n = (entry.end - entry.begin) / DTYPE_BYTES[entry.dtype]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset + entry.begin, entry.end - entry.begin);
  const out = new Float32Array(n);
  if (entry.dtype === "F32") { for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true); }
  else if (entry.dtype === "F16") {
    for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
  } else if (entry.dtype === "BF16") {
    for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(2 * i, true));
  } else throw new RangeError(`Tensor "${entry.name}": cannot read ${entry.dtype} as float`);
  return out;
}
