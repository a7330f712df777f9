/**
 * @module GGUF parser: header, every metadata pair (all value types, nested arrays), tensor
 * infos, alignment and the data-section offset. It never touches tensor data, so parsing an
 * mmapped 1.2 GB file costs only the metadata (≈ 8 MB for a Llama-3 vocabulary). Every read
 * is bounds-checked; any malformed input throws {@link GgufFormatError} with the byte offset,
 * never a RangeError or a partial result. Pure: bytes in, `GgufFile` out; no I/O.
 * Layout: the numbered comment in gguf-format.ts.
 */

import { GgufFormatError } from "./gguf-error.ts";
import {
  alignOffset,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_TENSOR_NAME_BYTES,
  GGUF_VALUE_TYPE_BYTES,
  type GgufArrayValue,
  type GgufScalar,
  type GgufValue,
  GgufValueType,
  type GgufValueTypeId,
  tensorByteSize,
  typeTraits,
} from "./gguf-format.ts";

export { GgufFormatError };

/** One tensor's description (no data). */
export interface GgufTensorInfo {
  readonly name: string;
  /** Shape, ne[0] first. */
  readonly dims: readonly number[];
  /** ggml type id (36 = I2_S, bitnet.cpp table). */
  readonly type: number;
  /** Offset of the data relative to the data section. */
  readonly offset: number;
  /** Data size in bytes (I2_S: n/4 + 32). */
  readonly byteSize: number;
}

/** A parsed GGUF file: everything but the tensor data. */
export interface GgufFile {
  readonly version: number;
  readonly alignment: number;
  /** Metadata in file order. */
  readonly kv: ReadonlyMap<string, GgufValue>;
  /** Tensor infos in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
}

const TYPE_NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([k, v]) => [v, k]));
const UTF8 = new TextDecoder("utf-8", { fatal: true });

class Cursor {
  readonly view: DataView;
  readonly bytes: Uint8Array;
  pos = 0;
  section = "header";

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, offset = this.pos): never {
    throw new GgufFormatError(`Cannot parse GGUF ${this.section}: ${message}`, offset);
  }

  need(n: number): number {
    if (n > this.bytes.length - this.pos) {
      this.fail(`unexpected end of data at offset ${this.pos} (need ${n} more bytes)`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  u64(what: string): number {
    const at = this.need(8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${v} is too large`, at);
    return Number(v);
  }

  /** A count of items each at least `minBytes` long: cannot exceed what is left. */
  count(what: string, minBytes: number): number {
    const at = this.pos;
    const n = this.u64(what);
    if (n * minBytes > this.bytes.length - this.pos) {
      this.fail(`${what} ${n} exceeds the remaining ${this.bytes.length - this.pos} bytes`, at);
    }
    return n;
  }

  str(): string {
    const len = this.count("string length", 1);
    const at = this.need(len);
    const b = this.bytes;
    if (len <= 64) {
      const fast = decodeShortUtf8(b, at, at + len);
      if (fast !== undefined) return fast;
    }
    try {
      return UTF8.decode(b.subarray(at, at + len));
    } catch (err: unknown) {
      // convert: invalid UTF-8 is a format error of the file
      throw new GgufFormatError(
        `Cannot parse GGUF ${this.section}: string is not valid UTF-8`,
        at,
        {
          cause: err,
        },
      );
    }
  }

  scalar(type: number): GgufScalar {
    const v = this.view;
    switch (type) {
      case 0:
        return v.getUint8(this.need(1));
      case 1:
        return v.getInt8(this.need(1));
      case 2:
        return v.getUint16(this.need(2), true);
      case 3:
        return v.getInt16(this.need(2), true);
      case 4:
        return v.getUint32(this.need(4), true);
      case 5:
        return v.getInt32(this.need(4), true);
      case 6:
        return v.getFloat32(this.need(4), true);
      case 7:
        return this.bool();
      case 8:
        return this.str();
      case 10:
        return v.getBigUint64(this.need(8), true);
      case 11:
        return v.getBigInt64(this.need(8), true);
      case 12:
        return v.getFloat64(this.need(8), true);
    }
    return this.fail(`unknown value type ${type}`, this.pos - 4);
  }

  bool(): boolean {
    const at = this.need(1);
    const b = this.bytes[at]!;
    if (b > 1) this.fail(`bool byte is ${b}`, at);
    return b === 1;
  }

  value(type: number, depth: number): GgufValue {
    if (type !== GgufValueType.ARRAY) {
      if (type > 12) this.fail(`unknown value type ${type}`, this.pos - 4);
      return { type: type as Exclude<GgufValueTypeId, 9>, value: this.scalar(type) };
    }
    if (depth > 8) this.fail("arrays are nested more than 8 deep");
    const itemAt = this.pos;
    const itemType = this.u32();
    if (itemType > 12) this.fail(`unknown array item type ${itemType}`, itemAt);
    const size = GGUF_VALUE_TYPE_BYTES[itemType]!;
    const n = this.count(
      "array length",
      size > 0 ? size : itemType === GgufValueType.STRING ? 8 : 12,
    );
    if (itemType === GgufValueType.ARRAY) {
      const items: GgufArrayValue[] = new Array(n);
      for (let i = 0; i < n; i++) {
        items[i] = this.value(GgufValueType.ARRAY, depth + 1) as GgufArrayValue;
      }
      return { type: 9, itemType, value: items };
    }
    const items: GgufScalar[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = this.scalar(itemType);
    return { type: 9, itemType: itemType as GgufValueTypeId, value: items };
  }
}

const CODE_UNITS: number[] = [];

/**
 * Decode a short UTF-8 string without a TextDecoder call (≈1 µs each, too slow for 400k
 * vocabulary strings). Returns undefined on anything unusual (invalid, overlong, surrogate),
 * leaving the strict TextDecoder to decide.
 */
function decodeShortUtf8(b: Uint8Array, start: number, end: number): string | undefined {
  CODE_UNITS.length = 0;
  let i = start;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) {
      CODE_UNITS.push(c);
      i += 1;
    } else if (c >= 0xc2 && c < 0xe0 && i + 1 < end && (b[i + 1]! & 0xc0) === 0x80) {
      CODE_UNITS.push(((c & 0x1f) << 6) | (b[i + 1]! & 0x3f));
      i += 2;
    } else if (
      c >= 0xe0 && c < 0xf0 && i + 2 < end && (b[i + 1]! & 0xc0) === 0x80 &&
      (b[i + 2]! & 0xc0) === 0x80
    ) {
      const u = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
      if (u < 0x800 || (u >= 0xd800 && u < 0xe000)) return undefined;
      CODE_UNITS.push(u);
      i += 3;
    } else {
      return undefined; // 4-byte sequences and errors: TextDecoder
    }
  }
  return String.fromCharCode.apply(null, CODE_UNITS);
}

/**
 * Parse a GGUF file's header, metadata and tensor infos.
 *
 * @param bytes the whole file (or at least up to the end of the last tensor's data).
 * @returns The parsed file; tensor data stays in `bytes` (see {@link tensorData}).
 * @throws {GgufFormatError} On a bad magic or version, truncation, an unknown value or
 * tensor type, duplicate keys or tensor names, a bad alignment, a misaligned offset, or
 * tensor data that extends past the end of `bytes`.
 * @example
 * ```ts
 * const file = parseGguf(bytes);
 * kvString(file, "general.architecture"); // "bitnet-b1.58"
 * ```
 */
export function parseGguf(bytes: Uint8Array): GgufFile {
  const c = new Cursor(bytes);
  const version = parseHeaderStart(c);
  c.section = "header";
  const nTensors = c.count("tensor count", 32);
  const nKv = c.count("metadata count", 13);
  const kv = new Map<string, GgufValue>();
  c.section = "metadata";
  for (let i = 0; i < nKv; i++) {
    const keyAt = c.pos;
    const key = c.str();
    if (kv.has(key)) c.fail(`duplicate key "${key}"`, keyAt);
    c.section = `metadata: key "${key}"`;
    kv.set(key, c.value(c.u32(), 0));
    c.section = "metadata";
  }
  const alignment = readAlignment(kv);
  c.section = "tensor info";
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) tensors.push(parseTensorInfo(c, names, alignment));
  const dataOffset = alignOffset(c.pos, alignment);
  for (const t of tensors) {
    const end = dataOffset + t.offset + t.byteSize;
    if (end > bytes.length) {
      throw new GgufFormatError(
        `Cannot parse GGUF tensor info: "${t.name}" data ends at ${end}, past the end of the file (${bytes.length})`,
        Math.min(bytes.length, end),
      );
    }
  }
  return { version, alignment, kv, tensors, dataOffset };
}

function parseHeaderStart(c: Cursor): number {
  if (c.bytes.length < 4) c.fail(`file is ${c.bytes.length} bytes, too short for the magic`, 0);
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) {
    const text = String.fromCharCode(...c.bytes.subarray(0, 4)).replace(/[^\x20-\x7e]/g, "?");
    c.fail(`magic is "${text}"`, 0);
  }
  const version = c.u32();
  if ((version & 0xffff) === 0 && version !== 0) {
    c.fail(`version ${version} looks big-endian, which is not supported`, 4);
  }
  if (version !== 2 && version !== 3) c.fail(`version ${version} is not supported (2 or 3)`, 4);
  return version;
}

function readAlignment(kv: ReadonlyMap<string, GgufValue>): number {
  const v = kv.get("general.alignment");
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const a = v.type <= GgufValueType.INT32 && v.type !== GgufValueType.FLOAT32
    ? (v.value as number)
    : 0;
  if (!(a > 0) || (a & (a - 1)) !== 0 || v.type === GgufValueType.BOOL) {
    throw new GgufFormatError(
      `Cannot parse GGUF metadata: general.alignment is ${String(v.value)}, not a power of two`,
      -1,
    );
  }
  return a;
}

function parseTensorInfo(c: Cursor, names: Set<string>, alignment: number): GgufTensorInfo {
  const nameAt = c.pos;
  const name = c.str();
  if (c.pos - nameAt - 8 > GGUF_MAX_TENSOR_NAME_BYTES) {
    c.fail(`tensor name "${name}" is 64 bytes or longer`, nameAt);
  }
  if (names.has(name)) c.fail(`duplicate tensor "${name}"`, nameAt);
  names.add(name);
  const nDimsAt = c.pos;
  const nDims = c.u32();
  if (nDims < 1 || nDims > 4) c.fail(`tensor "${name}" has ${nDims} dimensions (1..4)`, nDimsAt);
  const dims: number[] = [];
  for (let d = 0; d < nDims; d++) dims.push(c.u64(`tensor "${name}" dimension`));
  const typeAt = c.pos;
  const type = c.u32();
  if (typeTraits(type) === undefined) {
    c.fail(`tensor "${name}" has unsupported type ${type}`, typeAt);
  }
  const offsetAt = c.pos;
  const offset = c.u64(`tensor "${name}" offset`);
  if (offset % alignment !== 0) {
    c.fail(`tensor "${name}" offset ${offset} is not a multiple of ${alignment}`, offsetAt);
  }
  let byteSize: number;
  try {
    byteSize = tensorByteSize(type, dims);
  } catch (err: unknown) {
    // convert: an unsizable shape is a format error of the file
    throw new GgufFormatError(
      `Cannot parse GGUF tensor info: "${name}": ${
        err instanceof Error ? err.message : String(err)
      }`,
      nDimsAt,
      { cause: err },
    );
  }
  if (!Number.isSafeInteger(byteSize)) c.fail(`tensor "${name}" is too large`, nDimsAt);
  return { name, dims, type, offset, byteSize };
}

/**
 * The bytes of one tensor (a view, no copy).
 *
 * @param file the parsed file.
 * @param bytes the same bytes that were parsed.
 * @param info one of `file.tensors`.
 * @returns A subarray of `bytes`.
 * @throws {GgufFormatError} When the data lies outside `bytes`.
 */
export function tensorData(file: GgufFile, bytes: Uint8Array, info: GgufTensorInfo): Uint8Array {
  const start = file.dataOffset + info.offset;
  if (start + info.byteSize > bytes.length) {
    throw new GgufFormatError(
      `Cannot read GGUF tensor "${info.name}": data ends at ${
        start + info.byteSize
      }, past ${bytes.length}`,
      start,
    );
  }
  return bytes.subarray(start, start + info.byteSize);
}

/**
 * Find a tensor by name.
 *
 * @param file the parsed file.
 * @param name tensor name, e.g. "token_embd.weight".
 * @returns The info, or undefined.
 */
export function findTensor(file: GgufFile, name: string): GgufTensorInfo | undefined {
  return file.tensors.find((t) => t.name === name);
}

function wrongType(key: string, expected: string, v: GgufValue): never {
  throw new GgufFormatError(
    `Cannot read GGUF key "${key}": expected ${expected}, found ${TYPE_NAMES[v.type]}`,
    -1,
  );
}

/**
 * A numeric metadata value: any integer type (64-bit ones when they fit a safe integer) or
 * float type.
 *
 * @param file the parsed file.
 * @param key metadata key.
 * @returns The number, or undefined if the key is absent.
 * @throws {GgufFormatError} When the value is not a number, or a 64-bit integer is unsafe.
 */
export function kvNumber(file: GgufFile, key: string): number | undefined {
  const v = file.kv.get(key);
  if (v === undefined) return undefined;
  if (typeof v.value === "number") return v.value;
  if (typeof v.value === "bigint") {
    if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new GgufFormatError(
        `Cannot read GGUF key "${key}": ${v.value} is not a safe integer`,
        -1,
      );
    }
    return Number(v.value);
  }
  return wrongType(key, "a number", v);
}

/**
 * A string metadata value.
 *
 * @param file the parsed file.
 * @param key metadata key.
 * @returns The string, or undefined if the key is absent.
 * @throws {GgufFormatError} When the value is not a STRING.
 */
export function kvString(file: GgufFile, key: string): string | undefined {
  const v = file.kv.get(key);
  if (v === undefined) return undefined;
  return v.type === GgufValueType.STRING ? (v.value as string) : wrongType(key, "STRING", v);
}

/**
 * A bool metadata value.
 *
 * @param file the parsed file.
 * @param key metadata key.
 * @returns The boolean, or undefined if the key is absent.
 * @throws {GgufFormatError} When the value is not a BOOL.
 */
export function kvBool(file: GgufFile, key: string): boolean | undefined {
  const v = file.kv.get(key);
  if (v === undefined) return undefined;
  return v.type === GgufValueType.BOOL ? (v.value as boolean) : wrongType(key, "BOOL", v);
}

/**
 * An array metadata value, optionally checked to hold items of a given type.
 *
 * @param file the parsed file.
 * @param key metadata key.
 * @param options `itemType` to require (e.g. GgufValueType.STRING).
 * @returns The array value, or undefined if the key is absent.
 * @throws {GgufFormatError} When the value is not an ARRAY or has another item type.
 */
export function kvArray(
  file: GgufFile,
  key: string,
  options: Readonly<{ itemType?: GgufValueTypeId }> = {},
): GgufArrayValue | undefined {
  const v = file.kv.get(key);
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.ARRAY) return wrongType(key, "ARRAY", v);
  if (options.itemType !== undefined && v.itemType !== options.itemType) {
    throw new GgufFormatError(
      `Cannot read GGUF key "${key}": expected an array of ${TYPE_NAMES[options.itemType]}, found ${
        TYPE_NAMES[v.itemType]
      }`,
      -1,
    );
  }
  return v;
}

/**
 * A string-array metadata value (tokens, merges).
 *
 * @param file the parsed file.
 * @param key metadata key.
 * @returns The strings, or undefined if the key is absent.
 * @throws {GgufFormatError} When the value is not an array of STRING.
 */
export function kvStrings(file: GgufFile, key: string): readonly string[] | undefined {
  return kvArray(file, key, { itemType: GgufValueType.STRING })?.value as
    | readonly string[]
    | undefined;
}

/**
 * A numeric-array metadata value (scores, token types): any integer type of 32 bits or less,
 * or FLOAT32 / FLOAT64.
 *
 * @param file the parsed file.
 * @param key metadata key.
 * @returns The numbers, or undefined if the key is absent.
 * @throws {GgufFormatError} When the value is not an array of such numbers.
 */
export function kvNumbers(file: GgufFile, key: string): readonly number[] | undefined {
  const v = kvArray(file, key);
  if (v === undefined) return undefined;
  const t = v.itemType;
  // UINT8..FLOAT32 (0..6) and FLOAT64 are plain numbers; 64-bit integers would be bigints.
  if (t > GgufValueType.FLOAT32 && t !== GgufValueType.FLOAT64) {
    throw new GgufFormatError(
      `Cannot read GGUF key "${key}": expected an array of numbers, found ${TYPE_NAMES[t]}`,
      -1,
    );
  }
  return v.value as readonly number[];
}
