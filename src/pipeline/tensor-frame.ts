/**
 * @module Binary frames that carry a pipeline's tensors between a coordinator and its stages:
 * token ids into the first stage, hidden states between stages, logits out of the last, plus
 * session close and error replies. Pure: bytes in, typed frame out (and back); the transport
 * (WebSocket binary message, child-process pipe, in-process call) only moves the bytes.
 *
 * Layout (version 1, all integers little-endian, 52-byte header):
 *
 * | offset | size | field         | meaning                                                      |
 * | ------ | ---- | ------------- | ------------------------------------------------------------ |
 * | 0      | 4    | magic         | ASCII "ARTF" (ARIA tensor frame)                             |
 * | 4      | 1    | version       | 1                                                            |
 * | 5      | 1    | kind          | TENSOR_FRAME_KIND (tokens, hidden, logits, close, error)     |
 * | 6      | 1    | dtype         | 0 none, 1 f32, 2 i32, 3 utf8 bytes — fixed per kind          |
 * | 7      | 1    | flags         | reserved, must be 0                                          |
 * | 8      | 16   | session       | session id (random; the stage keys its KV sequence on it)    |
 * | 24     | 4    | sequence      | u32 step number; a reply echoes its request's                |
 * | 28     | 4    | posStart      | u32 position of row 0; rows are posStart .. posStart+rows-1  |
 * | 32     | 4    | layerBegin    | u32 first block to run (request) / blocks done (reply)       |
 * | 36     | 4    | layerEnd      | u32 end of the blocks to run (request) / = layerBegin (reply)|
 * | 40     | 4    | rows          | u32 shape[0]: tokens in the batch                            |
 * | 44     | 4    | cols          | u32 shape[1]: 1 (tokens), n_embd (hidden), n_vocab (logits)  |
 * | 48     | 4    | payloadBytes  | u32 = rows x cols x sizeof(dtype)                            |
 * | 52     | n    | payload       | row-major values                                             |
 * | 52+n   | 4    | crc32         | CRC-32 (IEEE 802.3, reflected 0xEDB88320) of bytes 0..52+n-1  |
 *
 * Why CRC-32 and not a truncated SHA-256: the checksum guards against corruption and framing
 * bugs (a mangled relay, a wrong slice), not against an attacker — authenticity belongs to the
 * authenticated peer connection (signed handshake) that carries the frame, and an attacker who
 * can rewrite the payload can rewrite a hash too. CRC-32 detects every burst error of up to 32
 * bits (so every single corrupted byte) and runs several times faster than SHA-256 in plain
 * TypeScript, which matters for logits frames (n_vocab floats: 0.5 MiB per token on a
 * 128k-vocabulary model).
 *
 * Version history: 1 — first version.
 */
import { AriaError } from "../shared/errors.ts";

/** Frame magic, "ARTF". */
export const TENSOR_FRAME_MAGIC = 0x46545241; // "ARTF" read as a little-endian u32
/** Current frame version. */
export const TENSOR_FRAME_VERSION = 1;
/** Header bytes before the payload. */
export const TENSOR_FRAME_HEADER_BYTES = 52;
/** Checksum bytes after the payload. */
export const TENSOR_FRAME_CHECKSUM_BYTES = 4;
/**
 * Default size cap of a whole frame: 64 MiB. Why: a 512-token prompt chunk of a 8192-wide model
 * is 16 MiB of f32 hidden state, so 64 MiB leaves room for bigger models while refusing a
 * length field that would make a receiver allocate gigabytes.
 */
export const MAX_TENSOR_FRAME_BYTES = 64 * 1024 * 1024;
/** Bytes of a session id. */
export const SESSION_ID_BYTES = 16;

/** What a frame carries. */
export const TENSOR_FRAME_KIND = {
  /** Request into a route's first stage: token ids, i32 [rows, 1]. */
  tokens: 1,
  /** Hidden states, f32 [rows, n_embd]: a request into a stage or a stage's reply. */
  hidden: 2,
  /** The last stage's reply: logits of the batch's last row, f32 [1, n_vocab]. */
  logits: 3,
  /** Request: forget the session (reply: an empty close frame). No payload. */
  close: 4,
  /** Reply: the request failed; payload utf8 "CODE message". */
  error: 5,
} as const;

/** A frame kind name. */
export type TensorFrameKind = keyof typeof TENSOR_FRAME_KIND;

const DTYPE = { none: 0, f32: 1, i32: 2, utf8: 3 } as const;
type Dtype = keyof typeof DTYPE;
const DTYPE_BYTES: Record<Dtype, number> = { none: 0, f32: 4, i32: 4, utf8: 1 };
/** The one dtype each kind may carry. */
const KIND_DTYPE: Record<TensorFrameKind, Dtype> = {
  tokens: "i32",
  hidden: "f32",
  logits: "f32",
  close: "none",
  error: "utf8",
};
const KIND_BY_CODE = new Map<number, TensorFrameKind>(
  Object.entries(TENSOR_FRAME_KIND).map(([k, v]) => [v, k as TensorFrameKind]),
);

/** Fields shared by every frame. */
export interface TensorFrameHeader {
  /** Session id, 32 lowercase hex digits. */
  session: string;
  /** Step number (u32); a reply echoes its request's. */
  sequence: number;
  /** Position of row 0 in the session. */
  posStart: number;
  /** First block to run (request) / blocks done (reply). */
  layerBegin: number;
  /** End of the blocks to run (request) / equal to layerBegin (reply). */
  layerEnd: number;
}

/** A decoded (or to-be-encoded) frame. */
export type TensorFrame =
  & TensorFrameHeader
  & (
    | { kind: "tokens"; tokens: Int32Array }
    | { kind: "hidden"; rows: number; cols: number; data: Float32Array }
    | { kind: "logits"; rows: number; cols: number; data: Float32Array }
    | { kind: "close" }
    | { kind: "error"; code: string; message: string }
  );

/** A frame that cannot be decoded or encoded: the message says which check failed. */
export class TensorFrameError extends AriaError {
  /**
   * @param message what is wrong (STYLE.md B7.1 wording).
   * @param offset the byte offset of the bad field, when there is one.
   */
  constructor(message: string, readonly offset?: number) {
    super("TENSOR_FRAME_INVALID", message);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG compute it).
 *
 * @param bytes the data.
 * @returns the checksum as an unsigned 32-bit integer.
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const HEX_SESSION = /^[0-9a-f]{32}$/;
const U32_MAX = 0xffffffff;

function payloadOf(
  frame: TensorFrame,
): { dtype: Dtype; rows: number; cols: number; bytes: Uint8Array } {
  switch (frame.kind) {
    case "tokens":
      return { dtype: "i32", rows: frame.tokens.length, cols: 1, bytes: asBytes(frame.tokens) };
    case "hidden":
    case "logits":
      if (frame.data.length !== frame.rows * frame.cols) {
        throw new TensorFrameError(
          `Cannot encode ${frame.kind} frame: ${frame.data.length} values for shape [${frame.rows}, ${frame.cols}]`,
        );
      }
      return { dtype: "f32", rows: frame.rows, cols: frame.cols, bytes: asBytes(frame.data) };
    case "close":
      return { dtype: "none", rows: 0, cols: 0, bytes: new Uint8Array(0) };
    case "error": {
      if (!ERROR_CODE.test(frame.code)) {
        throw new TensorFrameError(
          `Cannot encode error frame: code "${frame.code}" is not UPPER_SNAKE`,
        );
      }
      const bytes = new TextEncoder().encode(`${frame.code} ${frame.message}`);
      return { dtype: "utf8", rows: 1, cols: bytes.length, bytes };
    }
  }
}

function asBytes(a: Int32Array | Float32Array): Uint8Array {
  // little-endian hosts only: every platform ARIA builds for (x86-64, arm64) is little-endian
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function assertU32(value: number, title: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new RangeError(`Cannot encode tensor frame: ${title} ${value} is not a u32`);
  }
}

/**
 * Encodes a frame.
 *
 * @param frame the frame (its arrays are copied, not kept).
 * @param options `maxBytes`: size cap (default MAX_TENSOR_FRAME_BYTES).
 * @returns the bytes.
 * @throws {TensorFrameError} when the shape does not match the data, the error code is not
 *   UPPER_SNAKE, or the frame exceeds the cap.
 * @throws {RangeError} for a malformed session id or a header number outside u32.
 */
export function encodeTensorFrame(
  frame: Readonly<TensorFrame>,
  options: Readonly<{ maxBytes?: number }> = {},
): Uint8Array {
  if (!HEX_SESSION.test(frame.session)) {
    throw new RangeError(
      `Cannot encode tensor frame: session "${frame.session}" is not 32 hex digits`,
    );
  }
  for (const f of ["sequence", "posStart", "layerBegin", "layerEnd"] as const) {
    assertU32(frame[f], f);
  }
  const p = payloadOf(frame);
  checkShape(frame.kind, p.rows, p.cols, p.bytes.length, "encode");
  const total = TENSOR_FRAME_HEADER_BYTES + p.bytes.length + TENSOR_FRAME_CHECKSUM_BYTES;
  const maxBytes = options.maxBytes ?? MAX_TENSOR_FRAME_BYTES;
  if (total > maxBytes) {
    throw new TensorFrameError(
      `Cannot encode tensor frame: ${total} bytes exceed the cap of ${maxBytes}`,
    );
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, TENSOR_FRAME_MAGIC, true);
  out[4] = TENSOR_FRAME_VERSION;
  out[5] = TENSOR_FRAME_KIND[frame.kind];
  out[6] = DTYPE[p.dtype];
  out[7] = 0;
  for (let i = 0; i < SESSION_ID_BYTES; i++) {
    out[8 + i] = parseInt(frame.session.slice(2 * i, 2 * i + 2), 16);
  }
  const fields = [frame.sequence, frame.posStart, frame.layerBegin, frame.layerEnd, p.rows, p.cols];
  fields.forEach((v, i) => view.setUint32(24 + 4 * i, v, true));
  view.setUint32(48, p.bytes.length, true);
  out.set(p.bytes, TENSOR_FRAME_HEADER_BYTES);
  const end = TENSOR_FRAME_HEADER_BYTES + p.bytes.length;
  view.setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

function failWith(message: string, offset?: number, verb = "decode"): never {
  throw new TensorFrameError(`Cannot ${verb} tensor frame: ${message}`, offset);
}

function fail(message: string, offset?: number): never {
  return failWith(message, offset);
}

/** Checks the envelope: size, magic, version, kind, dtype, flags, lengths, checksum. */
function checkEnvelope(
  bytes: Uint8Array,
  maxBytes: number,
): { kind: TensorFrameKind; view: DataView } {
  const minBytes = TENSOR_FRAME_HEADER_BYTES + TENSOR_FRAME_CHECKSUM_BYTES;
  if (bytes.length > maxBytes) fail(`${bytes.length} bytes exceed the cap of ${maxBytes}`);
  if (bytes.length < minBytes) {
    fail(`truncated: ${bytes.length} bytes, a frame has at least ${minBytes}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== TENSOR_FRAME_MAGIC) {
    fail("bad magic (not an ARIA tensor frame)", 0);
  }
  if (bytes[4] !== TENSOR_FRAME_VERSION) {
    fail(`version ${bytes[4]} is not supported (this node speaks ${TENSOR_FRAME_VERSION})`, 4);
  }
  const kind = KIND_BY_CODE.get(bytes[5]!) ?? fail(`unknown kind ${bytes[5]}`, 5);
  if (bytes[6] !== DTYPE[KIND_DTYPE[kind]]) {
    fail(`dtype ${bytes[6]} is wrong for a ${kind} frame`, 6);
  }
  if (bytes[7] !== 0) fail(`flags ${bytes[7]} are reserved and must be 0`, 7);
  const payloadBytes = view.getUint32(48, true);
  const expected = TENSOR_FRAME_HEADER_BYTES + payloadBytes + TENSOR_FRAME_CHECKSUM_BYTES;
  if (bytes.length < expected) {
    fail(`truncated: ${bytes.length} bytes, the header announces ${expected}`, 48);
  }
  if (bytes.length > expected) {
    fail(`${bytes.length - expected} trailing bytes after the checksum`, expected);
  }
  const end = TENSOR_FRAME_HEADER_BYTES + payloadBytes;
  if (view.getUint32(end, true) !== crc32(bytes.subarray(0, end))) fail("checksum mismatch", end);
  return { kind, view };
}

/** Checks rows x cols x dtype against payloadBytes and the kind's shape rules. */
function checkShape(
  kind: TensorFrameKind,
  rows: number,
  cols: number,
  payloadBytes: number,
  verb = "decode",
): void {
  const fail = (message: string, offset: number): never => failWith(message, offset, verb);
  const size = DTYPE_BYTES[KIND_DTYPE[kind]];
  if (kind === "close") {
    if (rows !== 0 || cols !== 0) {
      fail(`shape [${rows}, ${cols}] of a close frame must be [0, 0]`, 40);
    }
  } else if (rows < 1 || cols < 1) fail(`shape [${rows}, ${cols}] has an empty dimension`, 40);
  if (kind === "tokens" && cols !== 1) {
    fail(`shape [${rows}, ${cols}] of a tokens frame must be [n, 1]`, 44);
  }
  if (kind === "error" && rows !== 1) {
    fail(`shape [${rows}, ${cols}] of an error frame must be [1, n]`, 40);
  }
  // the float product is exact up to 2^53; above that it is still > any u32, so never equal
  if (rows * cols * size !== payloadBytes) {
    fail(
      `shape [${rows}, ${cols}] needs ${
        rows * cols * size
      } payload bytes, the header says ${payloadBytes}`,
      48,
    );
  }
}

/**
 * Decodes and validates a frame. Every check names what failed; nothing is read past a failed
 * check. Handles: truncation, trailing bytes, bad magic, unknown version or kind, wrong dtype,
 * non-zero flags, shape not matching the payload size, bad checksum, frames over the cap,
 * layerBegin > layerEnd, tokens that are negative, error frames whose text is not "CODE message".
 *
 * @param bytes the frame (not modified; the returned arrays are copies).
 * @param options `maxBytes`: size cap (default MAX_TENSOR_FRAME_BYTES).
 * @returns the frame.
 * @throws {TensorFrameError} with the offset of the bad field when there is one.
 */
export function decodeTensorFrame(
  bytes: Uint8Array,
  options: Readonly<{ maxBytes?: number }> = {},
): TensorFrame {
  const { kind, view } = checkEnvelope(bytes, options.maxBytes ?? MAX_TENSOR_FRAME_BYTES);
  const [sequence, posStart, layerBegin, layerEnd, rows, cols] = [24, 28, 32, 36, 40, 44].map((o) =>
    view.getUint32(o, true)
  ) as [number, number, number, number, number, number];
  const payloadBytes = view.getUint32(48, true);
  checkShape(kind, rows, cols, payloadBytes);
  if (layerBegin > layerEnd) fail(`layer range [${layerBegin}, ${layerEnd}) is reversed`, 32);
  let session = "";
  for (let i = 0; i < SESSION_ID_BYTES; i++) session += bytes[8 + i]!.toString(16).padStart(2, "0");
  const header = { session, sequence, posStart, layerBegin, layerEnd };
  // copy: the input may be unaligned or reused by the transport
  const payload = bytes.slice(TENSOR_FRAME_HEADER_BYTES, TENSOR_FRAME_HEADER_BYTES + payloadBytes);
  switch (kind) {
    case "tokens": {
      const tokens = new Int32Array(payload.buffer);
      if (tokens.some((t) => t < 0)) fail("a token id is negative", TENSOR_FRAME_HEADER_BYTES);
      return { ...header, kind, tokens };
    }
    case "hidden":
    case "logits":
      return { ...header, kind, rows, cols, data: new Float32Array(payload.buffer) };
    case "close":
      return { ...header, kind };
    case "error": {
      const text = new TextDecoder("utf-8", { fatal: false }).decode(payload);
      const space = text.indexOf(" ");
      const code = space < 0 ? text : text.slice(0, space);
      if (!ERROR_CODE.test(code)) {
        fail(`error frame code "${code.slice(0, 64)}" is not UPPER_SNAKE`, 52);
      }
      return { ...header, kind, code, message: space < 0 ? "" : text.slice(space + 1) };
    }
  }
}
