/**
 * @module GGUF encoder: metadata values, the header (magic … tensor infos … padding) and, for
 * small files, the whole file in memory. Large files are written by a shell that streams each
 * tensor's data to `header.length + offsets[i]` (see scripts/make-model.ts). Pure: no I/O.
 * Layout: the numbered comment in gguf-format.ts.
 */

import {
  alignOffset,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_MAX_TENSOR_NAME_BYTES,
  type GgufArrayValue,
  type GgufScalar,
  type GgufScalarValue,
  type GgufValue,
  GgufValueType,
  type GgufValueTypeId,
  tensorByteSize,
} from "./gguf-format.ts";

/** A tensor to describe in the header. */
export interface GgufTensorSpec {
  readonly name: string;
  /** Shape, ne[0] first. */
  readonly dims: readonly number[];
  /** ggml type id. */
  readonly type: number;
}

/** Options of {@link encodeGgufHeader} and {@link encodeGguf}. */
export interface GgufWriteOptions {
  /** Data alignment; default 32. A non-default value adds a `general.alignment` u32 key. */
  readonly alignment?: number;
  /** Header version (2 and 3 share the layout); default 3. */
  readonly version?: 2 | 3;
}

/** Result of {@link encodeGgufHeader}. */
export interface GgufHeader {
  /** Everything before the data section, padding included. */
  readonly header: Uint8Array;
  /** Tensor i's data starts at `header.length + offsets[i]`. */
  readonly offsets: number[];
  /** Tensor i's data size in bytes. */
  readonly sizes: number[];
  /** Whole file size: header + data, each tensor padded to the alignment. */
  readonly totalBytes: number;
}

const UTF8 = new TextEncoder();

class ByteWriter {
  #buf = new Uint8Array(1 << 16);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  #ensure(extra: number): void {
    if (this.length + extra <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(x: number): void {
    this.#ensure(1);
    this.#view.setUint8(this.length++, x);
  }

  u32(x: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.length, x, true);
    this.length += 4;
  }

  u64(x: number | bigint): void {
    this.#ensure(8);
    this.#view.setBigUint64(this.length, BigInt(x), true);
    this.length += 8;
  }

  scalar(type: number, x: GgufScalar): void {
    const size = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][type]!;
    this.#ensure(size);
    const v = this.#view;
    const o = this.length;
    switch (type) {
      case 0:
        v.setUint8(o, checkInt(x, 0, 0xff));
        break;
      case 1:
        v.setInt8(o, checkInt(x, -0x80, 0x7f));
        break;
      case 2:
        v.setUint16(o, checkInt(x, 0, 0xffff), true);
        break;
      case 3:
        v.setInt16(o, checkInt(x, -0x8000, 0x7fff), true);
        break;
      case 4:
        v.setUint32(o, checkInt(x, 0, 0xffffffff), true);
        break;
      case 5:
        v.setInt32(o, checkInt(x, -0x80000000, 0x7fffffff), true);
        break;
      case 6:
        v.setFloat32(o, checkNumber(x), true);
        break;
      case 7:
        v.setUint8(o, checkBool(x));
        break;
      case 8:
        return this.str(checkString(x));
      case 10:
        v.setBigUint64(o, checkBigInt(x, 0n, 0xffffffffffffffffn), true);
        break;
      case 11:
        v.setBigInt64(o, checkBigInt(x, -(1n << 63n), (1n << 63n) - 1n), true);
        break;
      case 12:
        v.setFloat64(o, checkNumber(x), true);
        break;
      default:
        throw new RangeError(`Cannot encode GGUF value: unknown type ${type}`);
    }
    this.length += size;
  }

  str(s: string): void {
    this.#ensure(8 + s.length * 3);
    const { written } = UTF8.encodeInto(s, this.#buf.subarray(this.length + 8));
    this.#view.setBigUint64(this.length, BigInt(written), true);
    this.length += 8 + written;
  }

  value(v: GgufValue): void {
    if (v.type !== GgufValueType.ARRAY) return this.scalar(v.type, v.value);
    this.u32(v.itemType);
    this.u64(v.value.length);
    if (v.itemType === GgufValueType.ARRAY) {
      for (const item of v.value as readonly GgufArrayValue[]) this.value(item);
    } else {
      for (const item of v.value as readonly GgufScalar[]) this.scalar(v.itemType, item);
    }
  }

  pad(alignment: number): void {
    const target = alignOffset(this.length, alignment);
    this.#ensure(target - this.length);
    this.#buf.fill(0, this.length, target);
    this.length = target;
  }

  bytes(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

function checkInt(x: GgufScalar, min: number, max: number): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) {
    throw new RangeError(`Cannot encode GGUF integer: ${String(x)} is outside ${min}..${max}`);
  }
  return x;
}

function checkBigInt(x: GgufScalar, min: bigint, max: bigint): bigint {
  const b = typeof x === "number" && Number.isInteger(x) ? BigInt(x) : x;
  if (typeof b !== "bigint" || b < min || b > max) {
    throw new RangeError(`Cannot encode GGUF 64-bit integer: ${String(x)} is out of range`);
  }
  return b;
}

function checkNumber(x: GgufScalar): number {
  if (typeof x !== "number") throw new TypeError(`Cannot encode GGUF float: got ${typeof x}`);
  return x;
}

function checkBool(x: GgufScalar): number {
  if (typeof x !== "boolean") throw new TypeError(`Cannot encode GGUF bool: got ${typeof x}`);
  return x ? 1 : 0;
}

function checkString(x: GgufScalar): string {
  if (typeof x !== "string") throw new TypeError(`Cannot encode GGUF string: got ${typeof x}`);
  return x;
}

/**
 * Encode the header of a GGUF file and place the tensors in the data section.
 *
 * @param kv metadata in file order; keys must be unique.
 * @param tensors tensor names, shapes and types in data order.
 * @param options alignment and version.
 * @returns The header bytes (padded), each tensor's data offset and size, the file size.
 * @throws {RangeError} On duplicate keys or names, a name of 64+ bytes, a bad alignment, an
 * unsized tensor type or shape, or a value outside its type's range.
 * @throws {TypeError} When a value's JS type does not match its GGUF type.
 * @example
 * ```ts
 * const { header, offsets } = encodeGgufHeader([["general.architecture", str("bitnet")]],
 *   [{ name: "output_norm.weight", dims: [256], type: GgmlType.F32 }]);
 * ```
 */
export function encodeGgufHeader(
  kv: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: ReadonlyArray<GgufTensorSpec>,
  options: Readonly<GgufWriteOptions> = {},
): GgufHeader {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`Cannot encode GGUF: alignment ${alignment} is not a power of two`);
  }
  const entries = withAlignmentKey(kv, alignment);
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(options.version ?? 3);
  w.u64(tensors.length);
  w.u64(entries.length);
  for (const [key, value] of entries) {
    w.str(key);
    w.u32(value.type);
    w.value(value);
  }
  const names = new Set<string>();
  const offsets: number[] = [];
  const sizes: number[] = [];
  let dataEnd = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new RangeError(`Cannot encode GGUF: duplicate tensor "${t.name}"`);
    if (UTF8.encode(t.name).length > GGUF_MAX_TENSOR_NAME_BYTES) {
      throw new RangeError(`Cannot encode GGUF: tensor name "${t.name}" is 64 bytes or longer`);
    }
    names.add(t.name);
    const size = tensorByteSize(t.type, t.dims);
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(dataEnd);
    offsets.push(dataEnd);
    sizes.push(size);
    dataEnd = alignOffset(dataEnd + size, alignment);
  }
  w.pad(alignment);
  return { header: w.bytes(), offsets, sizes, totalBytes: w.length + dataEnd };
}

function withAlignmentKey(
  kv: ReadonlyArray<readonly [string, GgufValue]>,
  alignment: number,
): ReadonlyArray<readonly [string, GgufValue]> {
  const keys = new Set<string>();
  for (const [key] of kv) {
    if (keys.has(key)) throw new RangeError(`Cannot encode GGUF: duplicate key "${key}"`);
    keys.add(key);
  }
  const given = kv.find(([key]) => key === "general.alignment")?.[1];
  if (given !== undefined && given.value !== alignment) {
    throw new RangeError(
      `Cannot encode GGUF: general.alignment is ${
        String(given.value)
      } but alignment is ${alignment}`,
    );
  }
  if (given !== undefined || alignment === GGUF_DEFAULT_ALIGNMENT) return kv;
  return [...kv, ["general.alignment", u32(alignment)]];
}

/** A tensor with its encoded data, for {@link encodeGguf}. */
export interface GgufTensorWithData extends GgufTensorSpec {
  readonly data: Uint8Array;
}

/**
 * Encode a whole GGUF file in memory (tests and fixtures; stream big files instead).
 *
 * @param kv metadata in file order.
 * @param tensors tensors with their data (each exactly its type's byte size).
 * @param options alignment and version.
 * @returns The file bytes.
 * @throws {RangeError} As {@link encodeGgufHeader}, or when a tensor's data has the wrong size.
 */
export function encodeGguf(
  kv: ReadonlyArray<readonly [string, GgufValue]>,
  tensors: ReadonlyArray<GgufTensorWithData>,
  options: Readonly<GgufWriteOptions> = {},
): Uint8Array {
  const { header, offsets, sizes, totalBytes } = encodeGgufHeader(kv, tensors, options);
  const out = new Uint8Array(totalBytes);
  out.set(header);
  tensors.forEach((t, i) => {
    if (t.data.length !== sizes[i]) {
      throw new RangeError(
        `Cannot encode GGUF: tensor "${t.name}" has ${t.data.length} bytes, expected ${sizes[i]}`,
      );
    }
    out.set(t.data, header.length + offsets[i]!);
  });
  return out;
}

function scalarOf(type: Exclude<GgufValueTypeId, 9>, value: GgufScalar): GgufScalarValue {
  return { type, value };
}

/** A UINT8 value. @param n integer 0..255. @returns The value. */
export function u8(n: number): GgufScalarValue {
  return scalarOf(GgufValueType.UINT8, n);
}
/** An INT8 value. @param n integer -128..127. @returns The value. */
export function i8(n: number): GgufScalarValue {
  return scalarOf(GgufValueType.INT8, n);
}
/** A UINT16 value. @param n integer. @returns The value. */
export function u16(n: number): GgufScalarValue {
  return scalarOf(GgufValueType.UINT16, n);
}
/** An INT16 value. @param n integer. @returns The value. */
export function i16(n: number): GgufScalarValue {
  return scalarOf(GgufValueType.INT16, n);
}
/** A UINT32 value (what converters write for hyper-parameters). @param n integer. @returns The value. */
export function u32(n: number): GgufScalarValue {
  return scalarOf(GgufValueType.UINT32, n);
}
/** An INT32 value. @param n integer. @returns The value. */
export function i32(n: number): GgufScalarValue {
  return scalarOf(GgufValueType.INT32, n);
}
/** A UINT64 value. @param n non-negative integer. @returns The value (stored as bigint). */
export function u64(n: number | bigint): GgufScalarValue {
  return scalarOf(GgufValueType.UINT64, BigInt(n));
}
/** An INT64 value. @param n integer. @returns The value (stored as bigint). */
export function i64(n: number | bigint): GgufScalarValue {
  return scalarOf(GgufValueType.INT64, BigInt(n));
}
/** A FLOAT32 value. @param x number (rounded to f32 on write). @returns The value. */
export function f32(x: number): GgufScalarValue {
  return scalarOf(GgufValueType.FLOAT32, x);
}
/** A FLOAT64 value. @param x number. @returns The value. */
export function f64(x: number): GgufScalarValue {
  return scalarOf(GgufValueType.FLOAT64, x);
}
/** A BOOL value. @param b boolean. @returns The value. */
export function bool(b: boolean): GgufScalarValue {
  return scalarOf(GgufValueType.BOOL, b);
}
/** A STRING value. @param s text (written as UTF-8). @returns The value. */
export function str(s: string): GgufScalarValue {
  return scalarOf(GgufValueType.STRING, s);
}

/**
 * An ARRAY value.
 *
 * @param itemType the items' type id (9 for nested arrays).
 * @param values scalars (64-bit types as bigint or safe integers), or nested array values.
 * @returns The value.
 * @example
 * ```ts
 * arr(GgufValueType.STRING, ["<unk>", "<s>", "</s>"]);
 * ```
 */
export function arr(
  itemType: GgufValueTypeId,
  values: readonly GgufScalar[] | readonly GgufArrayValue[],
): GgufArrayValue {
  return { type: GgufValueType.ARRAY, itemType, value: values };
}
