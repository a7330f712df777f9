import { describe, expect, test } from "bun:test";
import {
  isCompleteRoute,
  planRoute,
  routeNumerics,
  type StageAdvert,
  type StageNumerics,
} from "./pipeline-plan.ts";

const HASH = "ab".repeat(32);

function ad(nodeId: string, layerBegin: number, layerEnd: number, more: Partial<StageAdvert> = {}) {
  return {
    nodeId,
    modelHash: HASH,
    nLayer: 6,
    layerBegin,
    layerEnd,
    load: 0,
    tokensPerSecond: 100,
    alive: true,
    ...more,
  } satisfies StageAdvert;
}

/** Route as "node:begin-end" strings, or the failure reason. */
function plan(adverts: StageAdvert[], options: { exclude?: string[]; maxHops?: number } = {}) {
  const p = planRoute(adverts, { modelHash: HASH, nLayer: 6, ...options });
  return p.ok ? p.route.stages.map((s) => `${s.nodeId}:${s.layerBegin}-${s.layerEnd}`) : p.reason;
}

describe("planRoute()", () => {
  const table: [
    string,
    StageAdvert[],
    { exclude?: string[]; maxHops?: number },
    string[] | RegExp,
  ][] = [
    ["one node with every block", [ad("a", 0, 6)], {}, ["a:0-6"]],
    ["two halves in order", [ad("b", 3, 6), ad("a", 0, 3)], {}, ["a:0-3", "b:3-6"]],
    ["three stages", [ad("a", 0, 2), ad("b", 2, 4), ad("c", 4, 6)], {}, [
      "a:0-2",
      "b:2-4",
      "c:4-6",
    ]],
    [
      "fewer hops win over faster stages",
      [ad("whole", 0, 6, { tokensPerSecond: 1 }), ad("a", 0, 3), ad("b", 3, 6)],
      {},
      ["whole:0-6"],
    ],
    [
      "the faster replica wins at equal hops",
      [ad("a", 0, 3), ad("slow", 3, 6, { tokensPerSecond: 10 }), ad("fast", 3, 6)],
      {},
      ["a:0-3", "fast:3-6"],
    ],
    [
      "the less loaded replica wins at equal speed",
      [ad("a", 0, 3), ad("busy", 3, 6, { load: 0.9 }), ad("idle", 3, 6, { load: 0.1 })],
      {},
      ["a:0-3", "idle:3-6"],
    ],
    ["ties go to the smaller node id", [ad("y", 0, 6), ad("x", 0, 6)], {}, ["x:0-6"]],
    [
      "overlapping adverts run a sub-range, without overlap",
      [ad("a", 0, 4), ad("b", 3, 6)],
      {},
      ["a:0-4", "b:4-6"],
    ],
    [
      "a gap fails and names the first missing block",
      [ad("a", 0, 2), ad("b", 3, 6)],
      {},
      /no live stage runs block 2/,
    ],
    ["dead nodes are skipped", [ad("a", 0, 3), ad("b", 3, 6, { alive: false })], {}, /block 3/],
    [
      "an excluded node is replaced by its replica",
      [ad("a", 0, 3), ad("b", 3, 6), ad("b2", 3, 6, { tokensPerSecond: 5 })],
      { exclude: ["b"] },
      ["a:0-3", "b2:3-6"],
    ],
    [
      "the hop limit refuses a long route",
      [0, 1, 2, 3, 4, 5].map((i) => ad(`n${i}`, i, i + 1)),
      { maxHops: 5 },
      /reached only after the hop limit of 5/,
    ],
    [
      "the hop limit allows a route of exactly that length",
      [0, 1, 2, 3, 4, 5].map((i) => ad(`n${i}`, i, i + 1)),
      {
        maxHops: 6,
      },
      ["n0:0-1", "n1:1-2", "n2:2-3", "n3:3-4", "n4:4-5", "n5:5-6"],
    ],
    [
      "adverts of another file or block count are ignored",
      [ad("a", 0, 6, { modelHash: "cd".repeat(32) }), ad("b", 0, 6, { nLayer: 12 }), ad("c", 0, 6)],
      {},
      ["c:0-6"],
    ],
    [
      "malformed adverts are ignored, not fatal",
      [
        ad("r", 4, 2),
        ad("o", 0, 7),
        ad("f", 0, 6, { layerBegin: 0.5 }),
        ad("s", 0, 6, { tokensPerSecond: Number.NaN }),
        ad("l", 0, 6, { load: 2 }),
      ],
      {},
      /no live stage runs block 0/,
    ],
  ];
  for (const [name, adverts, options, want] of table) {
    test(`planRoute() ${name}`, () => {
      const got = plan(adverts, options);
      if (want instanceof RegExp) expect(got).toMatch(want);
      else expect(got).toEqual(want);
    });
  }

  test("planRoute() lists what it ignored and why", () => {
    const p = planRoute([ad("a", 0, 6, { alive: false }), ad("b", 0, 6), ad("c", 0, 6)], {
      modelHash: HASH,
      nLayer: 6,
      exclude: ["c"],
    });
    expect(p.ignored).toEqual([{ nodeId: "a", reason: "not alive" }, {
      nodeId: "c",
      reason: "excluded",
    }]);
  });

  test("planRoute() estimates the time per token from speed, share of blocks and load", () => {
    const p = planRoute([ad("a", 0, 4, { tokensPerSecond: 50 }), ad("b", 2, 6, { load: 0.5 })], {
      modelHash: HASH,
      nLayer: 6,
    });
    // a runs all 4 of its blocks: 20 ms; b runs 2 of its 4 blocks at 100 t/s, load 0.5: 5 x 5.5
    expect(p.ok && p.route.estimatedMs).toBeCloseTo(20 + 27.5, 9);
  });

  test("planRoute() fails for a model without blocks", () => {
    expect(plan([], {})).toMatch(/block 0/);
    expect(planRoute([], { modelHash: HASH, nLayer: 0 })).toMatchObject({ ok: false });
  });
});

describe("isCompleteRoute()", () => {
  test("isCompleteRoute() accepts contiguous stages from 0 to nLayer only", () => {
    const s = (b: number, e: number) => ({ nodeId: "n", layerBegin: b, layerEnd: e });
    expect(isCompleteRoute({ stages: [s(0, 3), s(3, 6)], estimatedMs: 0 }, 6)).toBe(true);
    expect(isCompleteRoute({ stages: [s(0, 3), s(4, 6)], estimatedMs: 0 }, 6)).toBe(false);
    expect(isCompleteRoute({ stages: [s(0, 4), s(3, 6)], estimatedMs: 0 }, 6)).toBe(false);
    expect(isCompleteRoute({ stages: [s(0, 3)], estimatedMs: 0 }, 6)).toBe(false);
    expect(isCompleteRoute({ stages: [], estimatedMs: 0 }, 0)).toBe(false);
  });

  test("every planned route is complete", () => {
    const adverts = [ad("a", 0, 4), ad("b", 3, 6), ad("c", 1, 5), ad("d", 5, 6), ad("e", 0, 1)];
    for (const exclude of [[], ["a"], ["b"], ["a", "d"]]) {
      const p = planRoute(adverts, { modelHash: HASH, nLayer: 6, exclude });
      expect(p.ok && isCompleteRoute(p.route, 6)).toBe(true);
    }
  });
});

describe("routeNumerics", () => {
  const n = (more: Partial<StageNumerics> = {}): StageNumerics => ({
    contract: 2,
    head: "int8",
    kvType: "f32",
    ...more,
  });
  const route = [
    { nodeId: "a", layerBegin: 0, layerEnd: 3 },
    { nodeId: "b", layerBegin: 3, layerEnd: 6 },
  ];
  test("one contract and KV type over the route: the last stage's head", () => {
    const adverts = [
      ad("a", 0, 4, { numerics: n({ head: "float" }) }),
      ad("b", 3, 6, { numerics: n() }),
    ];
    expect(routeNumerics(route, adverts, 6)).toEqual({ contract: 2, head: "int8", kvType: "f32" });
  });
  test("no promise of a replay: a stage without numerics, two contracts or KV types", () => {
    const cases: StageAdvert[][] = [
      [ad("a", 0, 3), ad("b", 3, 6, { numerics: n() })],
      [ad("a", 0, 3, { numerics: n({ contract: 1 }) }), ad("b", 3, 6, { numerics: n() })],
      [ad("a", 0, 3, { numerics: n({ kvType: "f16" }) }), ad("b", 3, 6, { numerics: n() })],
      // the advert that covers what b ran is gone (another range only)
      [ad("a", 0, 3, { numerics: n() }), ad("b", 0, 3, { numerics: n() })],
    ];
    for (const adverts of cases) expect(routeNumerics(route, adverts, 6)).toBeUndefined();
    // a route that does not reach the last block names no head
    expect(
      routeNumerics(route, [ad("a", 0, 3, { numerics: n() }), ad("b", 3, 6, { numerics: n() })], 7),
    )
      .toBeUndefined();
    expect(routeNumerics([], [], 6)).toBeUndefined();
  });
});
