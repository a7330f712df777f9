import { describe, expect, test } from "bun:test";
import { type ChartBox, chartGeometry, lineChart } from "./chart.ts";

// A box whose plot area is exactly 100 × 100 starting at (10, 10), so positions are easy to read.
const BOX: ChartBox = { width: 120, height: 120, left: 10, right: 10, top: 10, bottom: 10 };

function pairs(points: string): number[][] {
  return points.split(" ").map((p) => p.split(",").map(Number));
}

describe("chartGeometry", () => {
  test("maps x to the plot width and y from 0 to the maximum (SVG y grows downwards)", () => {
    const g = chartGeometry([{ x: 0, y: 0 }, { x: 5, y: 50 }, { x: 10, y: 100 }], BOX);
    expect(pairs(g.points)).toEqual([[10, 110], [60, 60], [110, 10]]);
    expect([g.yMin, g.yMax, g.count]).toEqual([0, 100, 3]);
  });

  test("the y axis starts at 0 for positive data and goes below 0 for negative data", () => {
    expect(chartGeometry([{ x: 0, y: 40 }, { x: 1, y: 80 }], BOX).yMin).toBe(0);
    const g = chartGeometry([{ x: 0, y: -50 }, { x: 1, y: 50 }], BOX);
    expect([g.yMin, g.yMax]).toEqual([-50, 50]);
    expect(pairs(g.points)).toEqual([[10, 110], [110, 10]]);
  });

  test("ticks: 5 on y from yMin to yMax, 4 on x from first to last time", () => {
    const g = chartGeometry([{ x: 100, y: 0 }, { x: 400, y: 8 }], BOX);
    expect(g.yTicks.map((t) => t.value)).toEqual([0, 2, 4, 6, 8]);
    expect(g.yTicks.map((t) => t.pos)).toEqual([110, 85, 60, 35, 10]);
    expect(g.xTicks.map((t) => t.value)).toEqual([100, 200, 300, 400]);
    expect(g.xTicks[0]!.pos).toBe(10);
    expect(g.xTicks[3]!.pos).toBe(110);
  });

  test("degenerate input: empty, one sample, constant series, non-finite values", () => {
    expect(chartGeometry([], BOX)).toEqual({
      points: "",
      xTicks: [],
      yTicks: [],
      yMin: 0,
      yMax: 0,
      count: 0,
    });
    const one = chartGeometry([{ x: 7, y: 3 }], BOX);
    expect(pairs(one.points)).toEqual([[60, 10]]); // middle of x; top of the y range [0, 3]
    expect(one.xTicks).toEqual([{ value: 7, pos: 60 }]);
    const zero = chartGeometry([{ x: 0, y: 0 }, { x: 1, y: 0 }], BOX);
    expect([zero.yMin, zero.yMax]).toEqual([-1, 1]);
    expect(pairs(zero.points)).toEqual([[10, 60], [110, 60]]);
    const negative = chartGeometry([{ x: 0, y: -2 }, { x: 1, y: -2 }], BOX);
    expect([negative.yMin, negative.yMax]).toEqual([-4, 0]);
    expect(pairs(negative.points)).toEqual([[10, 60], [110, 60]]);
    const bad = chartGeometry([{ x: 0, y: NaN }, { x: 1, y: Infinity }, { x: 2, y: 4 }], BOX);
    expect(bad.count).toBe(1);
  });
});

describe("lineChart", () => {
  const labels = {
    title: "tokens <per> second",
    unit: "tokens/s",
    formatX: (x: number) => `t${x}`,
    formatY: (y: number) => y.toFixed(1),
  };

  test("draws the polyline, tick labels and an escaped accessible title", async () => {
    const svg = String(await lineChart([{ x: 0, y: 0 }, { x: 10, y: 100 }], labels, BOX));
    expect(svg).toContain('<polyline class="series" points="10,110 110,10"/>');
    expect(svg).toContain('role="img"');
    expect(svg).toContain("<title>tokens &lt;per&gt; second (tokens/s)</title>");
    expect(svg).toContain(">100.0</text>");
    expect(svg).toContain(">t10</text>");
    expect(svg).not.toContain("<per>");
  });

  test("no data: a sentence instead of an empty drawing", async () => {
    expect(String(await lineChart([], labels, BOX))).toBe(
      "<p>No tokens &lt;per&gt; second samples yet.</p>",
    );
  });
});
