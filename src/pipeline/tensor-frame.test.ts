import { describe, expect, test } from "bun:test";
import {
  crc32,
  decodeTensorFrame,
  encodeTensorFrame,
  TENSOR_FRAME_HEADER_BYTES,
  type TensorFrame,
  TensorFrameError,
} from "./tensor-frame.ts";

const SESSION = "00112233445566778899aabbccddeeff";
const HEADER = { session: SESSION, sequence: 7, posStart: 12, layerBegin: 2, layerEnd: 4 };

function hidden(rows: number, cols: number): TensorFrame {
  const data = new Float32Array(rows * cols).map((_, i) => (i - 3) * 0.25);
  return { ...HEADER, kind: "hidden", rows, cols, data };
}

function decodeError(bytes: Uint8Array, options: { maxBytes?: number } = {}): TensorFrameError {
  try {
    decodeTensorFrame(bytes, options);
  } catch (err: unknown) {
    if (err instanceof TensorFrameError) return err;
    throw err;
  }
  throw new Error("decodeTensorFrame() accepted the frame");
}

/** Rewrites a u32 header field and fixes the checksum, to reach the checks behind it. */
function withField(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  view.setUint32(offset, value, true);
  const end = out.length - 4;
  view.setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

describe("crc32()", () => {
  test("crc32() gives the IEEE check value for 123456789", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe("encodeTensorFrame()", () => {
  test("encodeTensorFrame() pins the header bytes of a tokens frame", () => {
    const bytes = encodeTensorFrame({ ...HEADER, kind: "tokens", tokens: Int32Array.of(1, 258) });
    expect(bytes.length).toBe(52 + 8 + 4);
    expect(Buffer.from(bytes.subarray(0, 60)).toString("hex")).toBe(
      "41525446" + "01" + "01" + "02" + "00" + SESSION + "07000000" + "0c000000" + "02000000" +
        "04000000" + "02000000" + "01000000" + "08000000" + "01000000" + "02010000",
    );
  });

  test("encodeTensorFrame() refuses data that does not match the shape", () => {
    const bad = { ...HEADER, kind: "hidden", rows: 2, cols: 3, data: new Float32Array(5) } as const;
    expect(() => encodeTensorFrame(bad)).toThrow(TensorFrameError);
    expect(() => encodeTensorFrame({ ...HEADER, kind: "tokens", tokens: new Int32Array(0) }))
      .toThrow("empty dimension");
  });

  test("encodeTensorFrame() refuses a bad session id, a negative position, a frame over the cap", () => {
    expect(() => encodeTensorFrame({ ...hidden(1, 2), session: "abc" })).toThrow(RangeError);
    expect(() => encodeTensorFrame({ ...hidden(1, 2), posStart: -1 })).toThrow(RangeError);
    expect(() => encodeTensorFrame(hidden(4, 4), { maxBytes: 100 })).toThrow("exceed the cap");
    expect(() => encodeTensorFrame({ ...HEADER, kind: "error", code: "bad", message: "x" }))
      .toThrow("UPPER_SNAKE");
  });
});

describe("decodeTensorFrame()", () => {
  test("decodeTensorFrame() round-trips every kind", () => {
    const frames: TensorFrame[] = [
      { ...HEADER, kind: "tokens", tokens: Int32Array.of(0, 1, 4095) },
      hidden(3, 5),
      { ...HEADER, kind: "logits", rows: 1, cols: 4, data: Float32Array.of(-1, 0.5, 2, 1e30) },
      { ...HEADER, kind: "close" },
      { ...HEADER, kind: "error", code: "SESSION_GAP", message: "Cannot run: position 5 > 3 é" },
    ];
    for (const f of frames) expect(decodeTensorFrame(encodeTensorFrame(f))).toEqual(f);
  });

  test("decodeTensorFrame() decodes from an unaligned view and returns copies", () => {
    const bytes = encodeTensorFrame(hidden(2, 3));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const frame = decodeTensorFrame(shifted.subarray(1));
    expect(frame).toEqual(hidden(2, 3));
    shifted.fill(0);
    expect(frame).toEqual(hidden(2, 3));
  });

  test("decodeTensorFrame() refuses a corruption of any single byte of a small frame", () => {
    const bytes = encodeTensorFrame(hidden(2, 3));
    for (let offset = 0; offset < bytes.length; offset++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = bytes.slice();
        bad[offset]! ^= mask;
        const err = decodeError(bad);
        expect(err.code).toBe("TENSOR_FRAME_INVALID");
      }
    }
  });

  test("decodeTensorFrame() refuses every truncation and trailing bytes", () => {
    const bytes = encodeTensorFrame(hidden(2, 3));
    for (let n = 0; n < bytes.length; n++) {
      expect(decodeError(bytes.subarray(0, n)).message).toMatch(/truncated|checksum/);
    }
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(decodeError(longer).message).toContain("trailing bytes");
  });

  test("decodeTensorFrame() names the failed check", () => {
    const bytes = encodeTensorFrame(hidden(2, 3));
    const cases: [Uint8Array, string, number | undefined][] = [
      [withField(bytes, 0, 0x4c554747), "bad magic", 0],
      [withField(bytes, 40, 3), "needs 36 payload bytes, the header says 24", 48],
      [withField(bytes, 40, 0), "empty dimension", 40],
      [withField(bytes, 32, 9), "reversed", 32],
      [withField(bytes, 48, 28), "truncated", 48],
    ];
    const v2 = bytes.slice();
    v2[4] = 2;
    cases.push([withField(v2, 24, 7), "version 2 is not supported", 4]);
    const kind9 = bytes.slice();
    kind9[5] = 9;
    cases.push([withField(kind9, 24, 7), "unknown kind 9", 5]);
    const dtype = bytes.slice();
    dtype[6] = 2;
    cases.push([withField(dtype, 24, 7), "dtype 2 is wrong for a hidden frame", 6]);
    const flags = bytes.slice();
    flags[7] = 1;
    cases.push([withField(flags, 24, 7), "flags 1 are reserved", 7]);
    for (const [bad, message, offset] of cases) {
      const err = decodeError(bad);
      expect(err.message).toContain(message);
      expect(err.offset).toBe(offset);
    }
  });

  test("decodeTensorFrame() refuses negative tokens, a bad error code, a frame over the cap", () => {
    const tokens = encodeTensorFrame({ ...HEADER, kind: "tokens", tokens: Int32Array.of(1, 2) });
    expect(decodeError(withField(tokens, TENSOR_FRAME_HEADER_BYTES, 0xffffffff)).message)
      .toContain("negative");
    const err = encodeTensorFrame({ ...HEADER, kind: "error", code: "OK", message: "m" });
    err[TENSOR_FRAME_HEADER_BYTES] = "o".charCodeAt(0);
    expect(decodeError(withField(err, 24, 7)).message).toContain("not UPPER_SNAKE");
    expect(decodeError(encodeTensorFrame(hidden(4, 4)), { maxBytes: 100 }).message)
      .toContain("exceed the cap");
  });
});
