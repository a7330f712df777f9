/**
 * @module The energy page: two server-rendered SVG line charts over the energy series,
 * tokens/s and millijoules per token against time. Refreshed every 5 s. Pure.
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
 * The two charts (the fragment htmx refreshes).
 *
 * @param points oldest first.
 * @returns the fragment.
 */
export function energyLive(points: readonly EnergyPoint[]): Html {
  const tps = points.map((p) => ({ x: p.timeMs, y: p.tokensPerSecond }));
  const mj = points.map((p) => ({ x: p.timeMs, y: p.mjPerToken }));
  return html`<h2>Tokens per second</h2>
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
