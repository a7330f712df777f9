/**
 * @module The peers page: a table (id, address, latency, models, layer ranges, alive, audits) and a
 * server-rendered SVG topology (this node in the middle, peers on a circle, each link labelled
 * with its latency; dead peers drawn dashed). Every peer string came from the network and goes
 * through hono's `html` escaping, in the table and in the SVG alike. Pure.
 */
import { html } from "hono/html";
import type { LayerRange, NetworkRow, PeerRow } from "../port.ts";
import { type Html, num } from "./layout.ts";

/** Side of the square topology drawing, in SVG user units. */
const SIZE = 320;
const CENTER = SIZE / 2;
/** Radius of the peer circle: leaves room for the labels inside the drawing. */
const RADIUS = 110;

/** Where peer `i` of `n` sits (first one at the top, clockwise). */
export function peerPosition(i: number, n: number): { x: number; y: number } {
  const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
  return {
    x: Math.round((CENTER + RADIUS * Math.cos(angle)) * 10) / 10,
    y: Math.round((CENTER + RADIUS * Math.sin(angle)) * 10) / 10,
  };
}

/** A peer id shortened for the drawing (the table shows it whole). */
export function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 8)}…${id.slice(-3)}`;
}

function layerText(layers: readonly LayerRange[]): string {
  return layers.map((l) => `${l.model} ${l.start}–${l.end - 1}`).join(", ");
}

/** "passed/audited of answers", the audit reputation of a peer. */
export function auditText(a: PeerRow["audits"]): string {
  if (a === undefined) return "—";
  const base = `${a.passed} of ${a.answers} answers re-executed and matched`;
  return a.failed > 0 ? `${base}; ${a.failed} FAILED` : base;
}

function latency(ms: number | null): string {
  return ms === null ? "—" : `${num(ms)} ms`;
}

/**
 * The topology drawing.
 *
 * @param selfId this node's id.
 * @param peers the peers.
 * @returns an <svg> with a title and description for screen readers.
 */
export function topologySvg(selfId: string, peers: readonly PeerRow[]): Html {
  const nodes = peers.map((p, i) => {
    const { x, y } = peerPosition(i, peers.length);
    const mid = { x: (x + CENTER) / 2, y: (y + CENTER) / 2 };
    return html`
      <g class="peer ${p.alive ? "alive" : "dead"}">
        <line x1="${CENTER}" y1="${CENTER}" x2="${x}" y2="${y}" />
        <text class="latency" x="${mid.x}" y="${mid.y - 4}">${latency(p.latencyMs)}</text>
        <circle cx="${x}" cy="${y}" r="14" />
        <text x="${x}" y="${y + 28}">${shortId(p.id)}</text>
      </g>
    `;
  });
  return html`
    <svg class="topology" viewBox="0 0 ${SIZE} ${SIZE}" role="img"
      aria-labelledby="topo-t topo-d">
    <title id="topo-t">Peer topology</title>
    <desc id="topo-d">This node in the middle, linked to ${peers
      .length} peer(s); dashed links are peers that stopped answering.</desc>
    ${nodes}
    <g class="self"><circle cx="${CENTER}" cy="${CENTER}" r="18"/><text x="${CENTER}" y="${CENTER +
      34}">${shortId(selfId)} (this node)</text></g>
    </svg>
  `;
}

/**
 * The live part: table and drawing.
 *
 * @param selfId this node's id.
 * @param peers the peers.
 * @returns the fragment.
 */
export function peersLive(
  selfId: string,
  peers: readonly PeerRow[],
  network: NetworkRow | null = null,
): Html {
  const net = network === null ? "" : networkBlock(network);
  if (peers.length === 0) {
    return html`${net}<p role="status">No peers connected yet.</p>${topologySvg(selfId, peers)}`;
  }
  const rows = peers.map((p) =>
    html`
      <tr>
        <td class="mono" data-field="peer-id">${p.id}</td>
        <td class="mono">${p.address}</td>
        <td>${latency(p.latencyMs)}</td>
        <td>${p.models.join(", ")}</td>
        <td>${layerText(p.layers)}</td>
        <td>${p.alive ? "yes" : "no"}</td>
        <td>${auditText(p.audits)}</td>
      </tr>
    `
  );
  return html`
    ${net}
    <div class="scroll">
      <table>
        <caption>${peers.length} peer(s)</caption>
        <thead>
          <tr>
            <th scope="col">Peer id</th>
            <th scope="col">Address</th>
            <th scope="col">Latency</th>
            <th scope="col">Models</th>
            <th scope="col">Layers</th>
            <th scope="col">Alive</th>
            <th scope="col">Audits</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
    ${topologySvg(selfId, peers)}
  `;
}

/**
 * The peers content (refreshed every 3 s).
 *
 * @param selfId this node's id.
 * @param peers the peers.
 * @returns the page body.
 */
export function peersPage(
  selfId: string,
  peers: readonly PeerRow[],
  network: NetworkRow | null = null,
): Html {
  return html`<section id="peers-live" hx-get="/peers" hx-trigger="every 3s" hx-swap="innerHTML">
${peersLive(selfId, peers, network)}
</section>`;
}

/**
 * The network as this node sees it: how it is reached, nodes known, models network-wide with
 * their provider counts, free slots, latency. Peer-supplied model names are escaped by `html`.
 *
 * @param n the figures.
 * @returns the fragment.
 */
export function networkBlock(n: NetworkRow): Html {
  const how = n.reachability === "unreachable"
    ? n.relayedBy === null ? "unreachable, no relay yet" : `relayed by ${shortId(n.relayedBy)}`
    : n.reachability;
  const models = n.models.length === 0
    ? html`<li>none known</li>`
    : n.models.map((m) =>
      html`<li><span class="mono">${m.id}</span>: ${m.providers} provider(s)</li>`
    );
  return html`
    <section aria-label="Network" data-field="network">
      <h2>Network</h2>
      <p>
        This node: <strong data-field="reachability">${how}</strong>. ${n.nodesKnown} node(s)
        known; peers ${n.reachablePeers} reachable, ${n.dialOutOnlyPeers} dial-out only. Free slots
        ${n.freeSlots}/${n.slots}. Latency ${n.latencyMs === null
          ? "not measured yet"
          : `median ${n.latencyMs.median} ms, max ${n.latencyMs.max} ms`}.
      </p>
      <ul data-field="network-models">${models}</ul>
    </section>
  `;
}
