/**
 * @module The overview page: node id, model, status, tokens/s, completions, energy and the
 * backend's queue. The numbers live in a region that htmx refreshes every 2 s (the route answers
 * an `HX-Request` with that region only). Pure.
 */
import { html } from "hono/html";
import type { NodeStatus } from "../port.ts";
import { type Html, num } from "./layout.ts";

/**
 * The live numbers (the fragment htmx swaps in).
 *
 * @param s the status.
 * @returns a description list.
 */
export function overviewLive(s: NodeStatus): Html {
  const energy = s.energyMj === null ? "not measured on this node" : `${num(s.energyMj)} mJ`;
  return html`
    <dl class="stats">
      <div>
        <dt>Node id</dt>
        <dd class="mono" data-field="node-id">${s.nodeId}</dd>
      </div>
      <div>
        <dt>Model</dt>
        <dd data-field="model">${s.model}</dd>
      </div>
      <div>
        <dt>Status</dt>
        <dd data-field="status" class="status-${s.status === "ready" ? "ok" : "wait"}">${s
          .status}</dd>
      </div>
      <div>
        <dt>Tokens/s</dt>
        <dd data-field="tokens-per-second">${num(s.tokensPerSecond, 1)}</dd>
      </div>
      <div>
        <dt>Completions</dt>
        <dd data-field="requests">${s.requests}</dd>
      </div>
      <div>
        <dt>Energy</dt>
        <dd data-field="energy">${energy}</dd>
      </div>
      <div>
        <dt>Queue</dt>
        <dd data-field="queue">${s.queueDepth} waiting, ${s.activeSequences} of ${s
          .slots} slots busy</dd>
      </div>
    </dl>
  `;
}

/**
 * The overview content.
 *
 * @param s the status.
 * @returns the page body.
 */
export function overviewPage(s: NodeStatus): Html {
  return html`
    <section aria-labelledby="live-h" hx-get="/" hx-trigger="every 2s" hx-swap="innerHTML"
      id="overview-live">
    ${overviewLive(s)}
    </section>
    <h2 id="live-h" class="sr-only">Live numbers</h2>
    <p
      class="hint">Tokens/s counts generated tokens per second of decoding over finished completions. Refreshed every 2 seconds.</p>
  `;
}
