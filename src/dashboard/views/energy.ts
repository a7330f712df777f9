/**
 * @module The energy page: two server-rendered SVG line charts over the energy series,
 * tokens/s and millijoules per token against time, and where the energy figures come from
 * (measured, estimated, or a mix: an estimate is never shown as a measurement). A sample without
 * a figure (null) is left out of its chart. Refreshed every 5 s. Pure.
 */
import { html } from "hono/html";
import type { EnergyPoint } from "../port.ts";
import { lineChart } from "./chart.ts";
import type { Html } from "./layout.ts";

/** "HH:MM:SS" (UTC) for a tick. */
export function clockLabel(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().slice(11, 19);
}

/**
 * Where the energy figures come from, in words.
 *
 * @param points the samples.
 * @returns e.g. "measured (3 samples)", "estimated (2 samples)", "mixed: 1 measured, 2 estimated".
 */
export function sourceText(points: readonly EnergyPoint[]): string {
  const withEnergy = points.filter((p) => p.mjPerToken !== null);
  const measured = withEnergy.filter((p) => p.source === "measured").length;
  const estimated = withEnergy.length - measured;
  if (withEnergy.length === 0) return "none yet (no sample carries an energy figure)";
  if (estimated === 0) return `measured (${measured} sample${measured === 1 ? "" : "s"})`;
  if (measured === 0) return `estimated (${estimated} sample${estimated === 1 ? "" : "s"})`;
  return `mixed: ${measured} measured, ${estimated} estimated`;
}

/**
 * The two charts (the fragment htmx refreshes).
 *
 * @param points oldest first.
 * @returns the fragment.
 */
export function energyLive(points: readonly EnergyPoint[]): Html {
  // null becomes NaN, which the chart drops (chart.ts: non-finite samples are left out)
  const tps = points.map((p) => ({ x: p.timeMs, y: p.tokensPerSecond ?? NaN }));
  const mj = points.map((p) => ({ x: p.timeMs, y: p.mjPerToken ?? NaN }));
  return html`<p>Energy source: <strong data-field="energy-source">${
    sourceText(points)
  }</strong></p>
<h2>Tokens per second</h2>
${
    lineChart(tps, {
      title: "tokens per second",
      unit: "tokens/s",
      formatX: clockLabel,
      formatY: (y) => y.toFixed(1),
    })
  }
<h2>Energy per token</h2>
${
    lineChart(mj, {
      title: "energy per token",
      unit: "mJ/token",
      formatX: clockLabel,
      formatY: (y) => y.toFixed(1),
    })
  }
<p class="hint">Times in UTC.</p>`;
}

/**
 * The energy content.
 *
 * @param points oldest first.
 * @returns the page body.
 */
export function energyPage(points: readonly EnergyPoint[]): Html {
  return html`<section id="energy-live" hx-get="/energy" hx-trigger="every 5s" hx-swap="innerHTML">
${energyLive(points)}
</section>`;
}
