/**
 * @module A line chart as geometry and as SVG: `chartGeometry` maps (x, y) samples into a
 * width × height box with margins (the pure, tested part: scaling, ticks, degenerate ranges),
 * `lineChart` draws it with hono's `html` (the title and labels are escaped). Non-finite samples
 * are dropped. Pure.
 */
import { html } from "hono/html";
import type { Html } from "./layout.ts";

/** One sample. */
export interface Sample {
  x: number;
  y: number;
}

/** Size and margins of the drawing, in SVG user units. */
export interface ChartBox {
  width: number;
  height: number;
  /** Room for the y tick labels on the left. */
  left: number;
  /** Room for the x tick labels at the bottom. */
  bottom: number;
  top: number;
  right: number;
}

/** The default box: wide and short, so that it scales down to a phone. */
export const DEFAULT_BOX: ChartBox = {
  width: 600,
  height: 220,
  left: 48,
  bottom: 28,
  top: 12,
  right: 12,
};

/** A tick: a value and where it sits. */
export interface Tick {
  value: number;
  pos: number;
}

/** Where everything goes. */
export interface ChartGeometry {
  /** `x,y x,y …` for an SVG polyline (empty when there is nothing to draw). */
  points: string;
  xTicks: Tick[];
  yTicks: Tick[];
  /** The y range drawn (starts at 0 for all-positive data so bars of height compare). */
  yMin: number;
  yMax: number;
  count: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;

function ticks(min: number, max: number, n: number, map: (v: number) => number): Tick[] {
  if (n < 2) return [{ value: min, pos: round1(map(min)) }];
  const out: Tick[] = [];
  for (let i = 0; i < n; i++) {
    const value = min + ((max - min) * i) / (n - 1);
    out.push({ value, pos: round1(map(value)) });
  }
  return out;
}

/**
 * Maps samples into the box. The y axis runs from 0 (or the lowest value, if negative) to the
 * highest value (or 0, if all are negative). When that range is empty (every value is the same
 * and not positive) it becomes [2y, 0], or [−1, 1] at 0, so the line is drawn instead of a
 * division by zero; a single time sits in the middle of the x axis.
 *
 * @param samples the data, in x order.
 * @param box the size.
 * @returns the geometry.
 */
export function chartGeometry(
  samples: readonly Sample[],
  box: ChartBox = DEFAULT_BOX,
): ChartGeometry {
  const data = samples.filter((s) => Number.isFinite(s.x) && Number.isFinite(s.y));
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  if (data.length === 0) {
    return { points: "", xTicks: [], yTicks: [], yMin: 0, yMax: 0, count: 0 };
  }
  const xs = data.map((s) => s.x);
  const ys = data.map((s) => s.y);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  let yMin = Math.min(0, ...ys);
  let yMax = Math.max(...ys);
  if (yMax === yMin) {
    // Degenerate range (all samples equal): centre the line instead of dividing by zero.
    if (yMax === 0) [yMin, yMax] = [-1, 1];
    else [yMin, yMax] = [Math.min(0, 2 * yMax), Math.max(0, 2 * yMax)];
  }
  const mapX = (x: number) =>
    xMax === xMin ? box.left + plotW / 2 : box.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const mapY = (y: number) => box.top + plotH - ((y - yMin) / (yMax - yMin)) * plotH;
  const points = data.map((s) => `${round1(mapX(s.x))},${round1(mapY(s.y))}`).join(" ");
  return {
    points,
    xTicks: xMax === xMin ? ticks(xMin, xMin, 1, mapX) : ticks(xMin, xMax, 4, mapX),
    yTicks: ticks(yMin, yMax, 5, mapY),
    yMin,
    yMax,
    count: data.length,
  };
}

/** How the chart labels its ticks. */
export interface ChartLabels {
  title: string;
  unit: string;
  formatX: (x: number) => string;
  formatY: (y: number) => string;
}

/**
 * Draws a line chart.
 *
 * @param samples the data.
 * @param labels title, unit and tick formats.
 * @param box the size.
 * @returns an <svg role="img"> with a title, or a paragraph when there is no data.
 */
export function lineChart(
  samples: readonly Sample[],
  labels: ChartLabels,
  box: ChartBox = DEFAULT_BOX,
): Html {
  const g = chartGeometry(samples, box);
  if (g.count === 0) return html`<p>No ${labels.title} samples yet.</p>`;
  const baseY = box.height - box.bottom;
  const yTicks = g.yTicks.map((t) =>
    html`
      <line class="grid" x1="${box.left}" x2="${box.width - box.right}" y1="${t.pos}" y2="${t
        .pos}" />
      <text class="ytick" x="${box.left - 6}" y="${t.pos + 4}">${labels.formatY(t.value)}</text>
    `
  );
  const xTicks = g.xTicks.map((t) =>
    html`<text class="xtick" x="${t.pos}" y="${baseY + 18}">${labels.formatX(t.value)}</text>`
  );
  const last = samples.at(-1);
  return html`
    <svg class="chart" viewBox="0 0 ${box.width} ${box.height}" role="img"
      aria-label="${labels.title} (${labels.unit}), ${g.count} samples, last ${last === undefined
        ? ""
        : labels.formatY(last.y)}">
    <title>${labels.title} (${labels.unit})</title>
    ${yTicks}
    <line class="axis" x1="${box.left}" x2="${box.width - box.right}" y1="${baseY}" y2="${baseY}"/>
    ${xTicks}
    <polyline class="series" points="${g.points}"/>
    </svg>
  `;
}
