import { describe, expect, test } from "bun:test";
import {
  decodeStageMessage,
  encodeStageMessage,
  MAX_STAGE_TENSOR_BYTES,
  stageAdvertModel,
  stageAdvertsFromPeers,
  UNMEASURED_TOKENS_PER_SECOND,
} from "./stage-wire.ts";
import type { Advert } from "../p2p/protocol.ts";

describe("encodeStageMessage()", () => {
  test("encodeStageMessage() writes the 12-byte envelope before the frame", () => {
    const bytes = encodeStageMessage({ type: "reply", id: 0x01020304, frame: Uint8Array.of(9, 8) });
    // "ARSW", version 1, type 2, reserved 0 0, id LE, frame
    expect([...bytes]).toEqual([0x41, 0x52, 0x53, 0x57, 1, 2, 0, 0, 4, 3, 2, 1, 9, 8]);
  });

  test("encodeStageMessage() refuses an id outside u32 and a frame over the cap", () => {
    expect(() => encodeStageMessage({ type: "request", id: -1, frame: new Uint8Array(0) }))
      .toThrow(RangeError);
    expect(() => encodeStageMessage({ type: "request", id: 2 ** 32, frame: new Uint8Array(0) }))
      .toThrow(RangeError);
    expect(() =>
      encodeStageMessage({
        type: "request",
        id: 1,
        frame: new Uint8Array(MAX_STAGE_TENSOR_BYTES + 1),
      })
    ).toThrow(RangeError);
  });
});

describe("decodeStageMessage()", () => {
  test("decodeStageMessage() reads back what encodeStageMessage() wrote", () => {
    const frame = Uint8Array.of(1, 2, 3);
    const m = decodeStageMessage(encodeStageMessage({ type: "request", id: 0xffff_ffff, frame }));
    expect(m.ok && { ...m.value, frame: [...m.value.frame] }).toEqual({
      type: "request",
      id: 0xffff_ffff,
      frame: [1, 2, 3],
    });
  });

  test("decodeStageMessage() names each malformed envelope", () => {
    const good = encodeStageMessage({ type: "request", id: 7, frame: Uint8Array.of(1) });
    const bad = (i: number, v: number) => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    const reasons = [
      good.subarray(0, 11),
      bad(0, 0),
      bad(4, 2),
      bad(5, 3),
      bad(6, 1),
    ].map((b) => {
      const r = decodeStageMessage(b);
      return r.ok ? "ok" : r.reason;
    });
    expect(reasons).toEqual([
      "message of 11 bytes is shorter than its header",
      "bad magic",
      "unknown version 2",
      "unknown type 3",
      "reserved bytes are not zero",
    ]);
  });
});

const HASH = "ab".repeat(32);

function advert(models: Advert["models"], extra: Partial<Advert> = {}): Advert {
  return {
    models,
    slots: 4,
    freeSlots: 3,
    tokensPerSecond: 200,
    consent: {},
    listen: null,
    ...extra,
  };
}

describe("stageAdvertsFromPeers()", () => {
  test("stageAdvertsFromPeers() turns inclusive advert ranges into half-open stages", () => {
    const entry = stageAdvertModel({
      modelId: "m",
      sha256: HASH,
      nLayer: 6,
      layerBegin: 2,
      layerEnd: 4,
    });
    expect(entry).toEqual({ id: "m", sha256: HASH, layers: [2, 3], nLayers: 6 });
    expect(stageAdvertsFromPeers([{ id: "p1", advert: advert([entry]) }], HASH)).toEqual([{
      nodeId: "p1",
      modelHash: HASH,
      nLayer: 6,
      layerBegin: 2,
      layerEnd: 4,
      load: 0.25,
      tokensPerSecond: 200,
      alive: true,
    }]);
  });

  test("stageAdvertsFromPeers() skips whole models, other files and peers without adverts", () => {
    const stage = { id: "m", sha256: HASH, layers: [0, 5] as [number, number], nLayers: 6 };
    const peers = [
      { id: "none", advert: null },
      { id: "whole", advert: advert([{ ...stage, layers: null }]) },
      { id: "other", advert: advert([{ ...stage, sha256: "cd".repeat(32) }]) },
      { id: "hashing", advert: advert([{ ...stage, sha256: "" }]) },
      { id: "new", advert: advert([stage], { tokensPerSecond: 0, slots: 0, freeSlots: 0 }) },
    ];
    expect(stageAdvertsFromPeers(peers, HASH).map((a) => [a.nodeId, a.tokensPerSecond, a.load]))
      .toEqual([["new", UNMEASURED_TOKENS_PER_SECOND, 1]]);
    expect(stageAdvertsFromPeers(peers, "")).toEqual([]);
  });
});
