import { describe, expect, test } from "bun:test";
import { type PeerMetrics, rankPeers, scorePeer, trustedSpeed, UNKNOWN_SPEED } from "./score.ts";

const base: PeerMetrics = {
  rttMs: 10,
  slots: 4,
  freeSlots: 4,
  inflight: 0,
  tokensPerSecond: 100,
  ok: 10,
  failed: 0,
};

describe("scorePeer", () => {
  const better: [string, Partial<PeerMetrics>, Partial<PeerMetrics>][] = [
    ["lower latency", { rttMs: 5 }, { rttMs: 200 }],
    ["faster", { tokensPerSecond: 200 }, { tokensPerSecond: 20 }],
    ["free slots over a full queue", { freeSlots: 2 }, { freeSlots: 0 }],
    ["our own load counts", { inflight: 0 }, { freeSlots: 1, inflight: 3 }],
    ["reliable", { ok: 20, failed: 0 }, { ok: 2, failed: 5 }],
    ["measured fast over unmeasured", { tokensPerSecond: 100 }, { tokensPerSecond: 0 }],
    ["audited over unaudited (issue 20)", { trust: 0.9 }, { trust: 0.5 }],
  ];
  for (const [name, good, bad] of better) {
    test(name, () => {
      expect(scorePeer({ ...base, ...good })).toBeGreaterThan(scorePeer({ ...base, ...bad }));
    });
  }

  test("always positive and finite, even for odd numbers", () => {
    for (
      const m of [{ ...base, rttMs: null, tokensPerSecond: 0, slots: 0, freeSlots: 0 }, {
        ...base,
        rttMs: 0,
      }]
    ) {
      const s = scorePeer(m);
      expect(s).toBeGreaterThan(0);
      expect(Number.isFinite(s)).toBe(true);
    }
  });

  test("rankPeers: best first, ties by id", () => {
    expect(rankPeers([
      { id: "c", metrics: { ...base, rttMs: 100 } },
      { id: "b", metrics: base },
      { id: "a", metrics: base },
    ])).toEqual(["a", "b", "c"]);
  });
});

describe("trustedSpeed (issue 19, hole 3)", () => {
  test("an unmeasured claim is capped; a measurement wins over a larger claim", () => {
    expect(trustedSpeed(1e9, undefined)).toBe(UNKNOWN_SPEED);
    expect(trustedSpeed(5, undefined)).toBe(5);
    expect(trustedSpeed(1e9, 12)).toBe(12);
    expect(trustedSpeed(8, 12)).toBe(8);
    expect(trustedSpeed(0, 12)).toBe(12);
  });
  test("an absurd advertised speed does not outrank a measured honest peer", () => {
    const base = { rttMs: 5, slots: 4, freeSlots: 4, inflight: 0, ok: 0, failed: 0 };
    const honest = { ...base, tokensPerSecond: trustedSpeed(30, 30) };
    const liar = { ...base, tokensPerSecond: trustedSpeed(1e9, undefined) };
    expect(rankPeers([{ id: "liar", metrics: liar }, { id: "honest", metrics: honest }])[0])
      .toBe("honest");
  });
});
