/**
 * @module GGUF byte layout (the spec, after ggml's `gguf.h`) plus the type enums and size
 * arithmetic shared by the reader, the writer and the quantizers. Pure: no I/O, no state.
 *
 * ## File layout (all integers little-endian, fields packed with no implicit alignment)
 *
 * 1. magic: 4 bytes "GGUF" (0x47 0x47 0x55 0x46; as a little-endian u32: 0x46554747).
 * 2. version: u32. 3 is current; 2 has the same layout; 1 (32-bit counts) is not supported.
 *    A version whose low 16 bits are zero means a big-endian file: rejected.
 * 3. tensor_count: u64.
 * 4. kv_count: u64.
 * 5. kv_count key/value pairs, each:
 *    5.1 key: gguf string (u64 byte length, then UTF-8 bytes, no NUL).
 *    5.2 value_type: u32, one of {@link GgufValueType}.
 *    5.3 value: scalar of that type; a STRING is a gguf string; an ARRAY is
 *        item_type (u32) · item_count (u64, items, not bytes) · items back to back
 *        (strings keep their own length prefix; arrays may nest).
 * 6. tensor_count tensor infos, each:
 *    6.1 name: gguf string (< 64 bytes).
 *    6.2 n_dims: u32 (1..4).
 *    6.3 dims: n_dims × u64, ne[0] first (ne[0] is the contiguous dimension).
 *    6.4 type: u32, one of {@link GgmlType}.
 *    6.5 offset: u64, relative to the data section, a multiple of ALIGNMENT.
 * 7. zero padding up to the next multiple of ALIGNMENT, then the data section.
 *
 * ALIGNMENT is the u32 value `general.alignment` if present (a power of two), else 32.
 * Tensor byte sizes: `nElements / blockSize * blockBytes`, except I2_S (bitnet.cpp), which is
 * `nElements / 4 + 32`: 2-bit codes, then one f32 scale and 28 bytes of padding.
 *
 * ## Type-id collisions
 * Ids 36..39 differ between upstream ggml and bitnet.cpp's fork. ARIA uses the fork's
 * meaning for 36 (I2_S) because that is what published BitNet files contain; 37..39 (I8_S,
 * TL1, TL2 / upstream MXFP4) are not supported.
 */

/** The magic number "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;

/** Default data-section alignment when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Longest tensor name in bytes, exclusive (GGML_MAX_NAME = 64 includes the NUL). */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;

/** Metadata value type ids (section 5.2 of the layout). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** A metadata value type id, 0..12. */
export type GgufValueTypeId = (typeof GgufValueType)[keyof typeof GgufValueType];

/** Byte size of each fixed-size value type (STRING and ARRAY are variable: -1). */
export const GGUF_VALUE_TYPE_BYTES: readonly number[] = [1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8];

/** ggml tensor type ids ARIA knows (bitnet.cpp table for 36). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  I2_S: 36,
} as const;

/** A known ggml tensor type id. */
export type GgmlTypeId = (typeof GgmlType)[keyof typeof GgmlType];

/** Elements per block and bytes per block of a tensor type. */
export interface GgmlTypeTraits {
  readonly name: string;
  readonly blockSize: number;
  readonly blockBytes: number;
}

// I2_S is nominally (1, 1) in bitnet.cpp's type traits; its real size is special-cased in
// tensorByteSize. blockSize 128 here records that rows must be whole 128-element blocks.
const TRAITS: ReadonlyMap<number, GgmlTypeTraits> = new Map(
  ([
    ["F32", 0, 1, 4],
    ["F16", 1, 1, 2],
    ["Q4_0", 2, 32, 18],
    ["Q4_1", 3, 32, 20],
    ["Q5_0", 6, 32, 22],
    ["Q5_1", 7, 32, 24],
    ["Q8_0", 8, 32, 34],
    ["Q8_1", 9, 32, 36],
    ["Q2_K", 10, 256, 84],
    ["Q3_K", 11, 256, 110],
    ["Q4_K", 12, 256, 144],
    ["Q5_K", 13, 256, 176],
    ["Q6_K", 14, 256, 210],
    ["Q8_K", 15, 256, 292],
    ["I8", 24, 1, 1],
    ["I16", 25, 1, 2],
    ["I32", 26, 1, 4],
    ["I64", 27, 1, 8],
    ["F64", 28, 1, 8],
    ["BF16", 30, 1, 2],
    ["TQ1_0", 34, 256, 54],
    ["TQ2_0", 35, 256, 66],
    ["I2_S", 36, 128, 32],
  ] as const).map(([name, id, blockSize, blockBytes]) => [id, { name, blockSize, blockBytes }]),
);

/**
 * Look up the block traits of a tensor type.
 *
 * @param type ggml type id.
 * @returns The traits, or undefined for an unknown id.
 */
export function typeTraits(type: number): GgmlTypeTraits | undefined {
  return TRAITS.get(type);
}

/**
 * Name of a tensor type id, e.g. `typeName(35) === "TQ2_0"`.
 *
 * @param type ggml type id.
 * @returns The name, or `"type<N>"` for an id ARIA does not know.
 */
export function typeName(type: number): string {
  return TRAITS.get(type)?.name ?? `type${type}`;
}

/**
 * Number of elements of a tensor shape (product of dims; 1 for an empty shape).
 *
 * @param dims ne[0] first.
 * @returns The element count.
 */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * Byte size of a tensor's data, I2_S included (n/4 codes + 32-byte scale tail).
 *
 * @param type ggml type id.
 * @param dims shape, ne[0] first.
 * @returns The size in bytes.
 * @throws {RangeError} When the type is unknown, a dim is negative or not an integer, or
 * ne[0] (I2_S: the element count) is not a whole number of blocks.
 */
export function tensorByteSize(type: number, dims: readonly number[]): number {
  const traits = TRAITS.get(type);
  if (traits === undefined) throw new RangeError(`Cannot size tensor: unknown type ${type}`);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`Cannot size tensor: dimension ${d} is not a non-negative integer`);
    }
  }
  const n = elementCount(dims);
  if (type === GgmlType.I2_S) {
    if (n % 128 !== 0) {
      throw new RangeError(`Cannot size I2_S tensor: ${n} elements is not a multiple of 128`);
    }
    return n / 4 + 32;
  }
  const ne0 = dims[0] ?? 1;
  if (ne0 % traits.blockSize !== 0) {
    throw new RangeError(
      `Cannot size ${traits.name} tensor: ne[0] = ${ne0} is not a multiple of ${traits.blockSize}`,
    );
  }
  return (n / traits.blockSize) * traits.blockBytes;
}

/**
 * Round `x` up to a multiple of `alignment`: `x + (A - x % A) % A`.
 *
 * @param x byte offset.
 * @param alignment positive alignment.
 * @returns The aligned offset.
 */
export function alignOffset(x: number, alignment: number): number {
  return x + ((alignment - (x % alignment)) % alignment);
}

/** A scalar metadata value: integers up to 32 bits and floats as number, 64-bit integers as bigint. */
export type GgufScalar = number | bigint | boolean | string;

/** A non-array metadata value (type 0..8 or 10..12). */
export interface GgufScalarValue {
  readonly type: Exclude<GgufValueTypeId, 9>;
  readonly value: GgufScalar;
}

/**
 * An array metadata value. Items of a scalar `itemType` are stored as a plain array of
 * scalars (fast for 100k+ tokens or scores: no per-item objects); items of `itemType` 9
 * (nested arrays) are themselves {@link GgufArrayValue}s.
 */
export interface GgufArrayValue {
  readonly type: 9;
  readonly itemType: GgufValueTypeId;
  readonly value: readonly GgufScalar[] | readonly GgufArrayValue[];
}

/** Any metadata value. Representation of a scalar by type: see {@link GgufScalar}. */
export type GgufValue = GgufScalarValue | GgufArrayValue;
