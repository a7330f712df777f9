import { describe, expect, test } from "bun:test";
import {
  explorable,
  explore,
  EXPLORE_EVERY,
  EXPLORE_SHARE,
  EXPLORE_STALE_MS,
  EXPLORE_UNTIL,
  type PeerMetrics,
  rankPeers,
  scorePeer,
  trustedSpeed,
  UNKNOWN_SPEED,
} from "./score.ts";

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

describe("explorable", () => {
  const free = { freeSlots: 2, inflight: 0, ok: 0, failed: 0 };
  test("unmeasured or under EXPLORE_UNTIL answers, or stale, with a free slot", () => {
    expect(explorable(undefined, free, 0)).toBe(true);
    expect(explorable({ answers: EXPLORE_UNTIL - 1, atMs: 0 }, free, 1)).toBe(true);
    expect(explorable({ answers: EXPLORE_UNTIL, atMs: 0 }, free, 1)).toBe(false);
    expect(explorable({ answers: 50, atMs: 0 }, free, EXPLORE_STALE_MS + 1)).toBe(true);
  });
  test("never a peer without a free slot, nor one that fails more than it finishes", () => {
    expect(explorable(undefined, { ...free, inflight: 2 }, 0)).toBe(false);
    expect(explorable(undefined, { ...free, freeSlots: 0 }, 0)).toBe(false);
    expect(explorable(undefined, { ...free, ok: 1, failed: 2 }, 0)).toBe(false);
    expect(explorable(undefined, { ...free, ok: 2, failed: 2 }, 0)).toBe(true);
  });
});

describe("explore", () => {
  const ranked = ["fast", "mid", "new1", "new2"];
  const isNew = (id: string) => id.startsWith("new");
  test("a draw under the share puts the best-scored explorable peer first, the rest in order", () => {
    expect(explore(ranked, isNew, EXPLORE_SHARE / 2, 3)).toEqual({
      order: ["new1", "fast", "mid", "new2"],
      explored: "new1",
      sinceExplored: 0,
    });
  });
  test("a draw over the share keeps the score's order and counts the miss", () => {
    expect(explore(ranked, isNew, 0.9, 3)).toEqual({
      order: ranked,
      explored: null,
      sinceExplored: 4,
    });
  });
  test("nothing explorable, or the best is explorable itself: the score's order", () => {
    expect(explore(ranked, () => false, 0, 5)).toEqual({
      order: ranked,
      explored: null,
      sinceExplored: 5,
    });
    expect(explore(["new1", "fast"], isNew, 0, 5)).toEqual({
      order: ["new1", "fast"],
      explored: null,
      sinceExplored: 0,
    });
    expect(explore([], isNew, 0, 0).order).toEqual([]);
  });
  test("bounded: with draws never under the share, the EXPLORE_EVERY-th request explores", () => {
    let since = 0;
    const firsts: string[] = [];
    for (let i = 0; i < 3 * EXPLORE_EVERY; i++) {
      const e = explore(ranked, isNew, 0.99, since);
      since = e.sinceExplored;
      firsts.push(e.order[0]!);
    }
    const explored = firsts.flatMap((f, i) => (f === "new1" ? [i] : []));
    expect(explored).toEqual([EXPLORE_EVERY - 1, 2 * EXPLORE_EVERY - 1, 3 * EXPLORE_EVERY - 1]);
  });
  test("the share over many seeded draws is bounded (about 15%), and only explorable peers gain", () => {
    let seed = 12345;
    const rng = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let since = 0;
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const e = explore(ranked, isNew, rng(), since);
      since = e.sinceExplored;
      counts.set(e.order[0]!, (counts.get(e.order[0]!) ?? 0) + 1);
    }
    const share = (counts.get("new1") ?? 0) / n;
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.19);
    expect(counts.get("mid")).toBeUndefined();
    expect(counts.get("new2")).toBeUndefined();
    expect((counts.get("fast") ?? 0) + (counts.get("new1") ?? 0)).toBe(n);
  });
});
