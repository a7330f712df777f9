/**
 * @module StageServer on aria-nano: what each frame gets back, sessions (replay by truncation,
 * SESSION_GAP, BUSY, idle reclaim with an injected clock, close), and that handle() answers
 * every bad request with an error frame instead of throwing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { StageServer } from "../../src/pipeline/stage.ts";
import {
  decodeTensorFrame,
  encodeTensorFrame,
  type TensorFrame,
} from "../../src/pipeline/tensor-frame.ts";

const NANO = join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf");
const S1 = "11".repeat(16);
const S2 = "22".repeat(16);
const S3 = "33".repeat(16);
let now = 0;
let first: StageServer;
let last: StageServer;

beforeAll(async () => {
  const common = { nThreads: 1, nCtx: 32, nSessions: 2, nBatch: 8, idleMs: 1000, nowMs: () => now };
  first = await StageServer.open(NANO, { layerBegin: 0, layerEnd: 3, ...common });
  last = await StageServer.open(NANO, { layerBegin: 3, layerEnd: -1, ...common });
});

afterAll(() => {
  first.close();
  last.close();
});

function tokens(session: string, posStart: number, ids: number[]): Uint8Array {
  const header = { session, sequence: 1, posStart, layerBegin: 0, layerEnd: 3 };
  return encodeTensorFrame({ ...header, kind: "tokens", tokens: Int32Array.from(ids) });
}

function ask(stage: StageServer, request: Uint8Array): TensorFrame {
  return decodeTensorFrame(stage.handle(request));
}

function errorCode(frame: TensorFrame): string {
  return frame.kind === "error" ? frame.code : `no error (${frame.kind})`;
}

describe("StageServer", () => {
  test("handle() runs tokens through the first stage and hidden states through the last", () => {
    const h = ask(first, tokens(S1, 0, [1, 2, 3]));
    expect(h).toMatchObject({ kind: "hidden", rows: 3, cols: 256, layerBegin: 3, layerEnd: 3 });
    if (h.kind !== "hidden") throw new Error("unreachable");
    const out = ask(last, encodeTensorFrame({ ...h, layerBegin: 3, layerEnd: 6 }));
    expect(out).toMatchObject({ kind: "logits", rows: 1, cols: 4096, session: S1, posStart: 0 });
    expect([first.layerBegin, first.layerEnd, last.layerEnd, last.nLayer]).toEqual([0, 3, 6, 6]);
    for (const s of [first, last]) s.closeSession(S1);
  });

  test("handle() refuses blocks the stage does not hold, and tokens past block 0", () => {
    const wrong = { session: S1, sequence: 1, posStart: 0, layerBegin: 2, layerEnd: 5 };
    const hidden = {
      ...wrong,
      kind: "hidden",
      rows: 1,
      cols: 256,
      data: new Float32Array(256),
    } as const;
    expect(errorCode(ask(first, encodeTensorFrame(hidden)))).toBe("WRONG_LAYERS");
    expect(errorCode(ask(last, tokens(S1, 0, [1])))).toBe("WRONG_LAYERS");
    const narrow = encodeTensorFrame({
      ...hidden,
      cols: 8,
      data: new Float32Array(8),
      layerBegin: 3,
      layerEnd: 6,
    });
    expect(errorCode(ask(last, narrow))).toBe("BAD_REQUEST");
    expect(errorCode(ask(first, tokens(S1, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9])))).toBe("BAD_REQUEST");
    expect(first.sessionCount).toBe(0);
  });

  test("handle() answers a corrupted frame with FRAME_INVALID", () => {
    const bad = tokens(S1, 0, [1]);
    bad[20]! ^= 4;
    expect(errorCode(ask(first, bad))).toBe("FRAME_INVALID");
    expect(errorCode(ask(first, new Uint8Array(3)))).toBe("FRAME_INVALID");
  });

  test("a frame below the session length replays; beyond it is SESSION_GAP", () => {
    const a = ask(first, tokens(S1, 0, [5, 6, 7, 8]));
    expect(a.kind).toBe("hidden");
    ask(first, tokens(S1, 4, [9]));
    // replay from 0: same rows as the first time (the KV cache was truncated, not appended to)
    expect(ask(first, tokens(S1, 0, [5, 6, 7, 8]))).toEqual(a);
    expect(errorCode(ask(first, tokens(S1, 9, [1])))).toBe("SESSION_GAP");
    expect(errorCode(ask(first, tokens(S2, 3, [1])))).toBe("SESSION_GAP");
    expect(errorCode(ask(first, tokens(S1, 30, [1, 2, 3])))).toBe("CTX_FULL");
    first.closeSession(S1);
  });

  test("sessions beyond the slots are BUSY until one is idle for idleMs or closed", () => {
    now = 0;
    ask(first, tokens(S1, 0, [1]));
    ask(first, tokens(S2, 0, [1]));
    expect(errorCode(ask(first, tokens(S3, 0, [1])))).toBe("BUSY");
    now = 900;
    ask(first, tokens(S2, 1, [2])); // S2 stays fresh
    now = 1500; // S1 idle for 1500 ms > 1000
    expect(ask(first, tokens(S3, 0, [1])).kind).toBe("hidden");
    expect(errorCode(ask(first, tokens(S1, 1, [1])))).toBe("SESSION_GAP");
    const close = { session: S3, sequence: 9, posStart: 0, layerBegin: 0, layerEnd: 0 };
    expect(ask(first, encodeTensorFrame({ ...close, kind: "close" }))).toEqual({
      ...close,
      kind: "close",
    });
    expect(first.sessionCount).toBe(1);
    first.closeSession(S2);
    expect(first.sweep()).toBe(0);
  });

  test("evalStage() on a closed stage is refused with CLOSED", async () => {
    const s = await StageServer.open(NANO, { layerBegin: 0, layerEnd: 1, nThreads: 1, nCtx: 8 });
    s.close();
    expect(errorCode(decodeTensorFrame(s.handle(tokens(S1, 0, [1]))))).toBe("CLOSED");
  });
});
