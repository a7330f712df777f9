/**
 * @module The network as this node sees it (`/v1/aria/peers` `network`, `aria peers`, the
 * dashboard's peers page): nodes known, how this node and its peers are reached, the models
 * available network-wide with their provider counts, total free slots, measured latency. Pure:
 * built from the peer table and the overlay's figures.
 */
import type { PeerRow } from "./peer-table.ts";

/** What the overlay reports (src/p2p/overlay.ts `view`, `contacts`, `networkModels`). */
export interface OverlayFigures {
  reachability: "unknown" | "reachable" | "unreachable";
  relayedBy: string | null;
  relaying: { enabled: boolean; reservations: number; circuits: number };
  contacts: readonly { id: string; url: string | null }[];
  networkModels: readonly { id: string; providers: number }[];
}

/** The summary. */
export interface NetworkSummary {
  reachability: OverlayFigures["reachability"];
  /** The relay this node is reached through (unreachable nodes), else null. */
  relayedBy: string | null;
  /** Nodes this node holds a relay reservation for (when it relays). */
  relayingFor: number;
  /** Distinct node ids known: connected peers and overlay contacts. */
  nodesKnown: number;
  /** Connected peers that accept connections, and those that only dial out (NAT). */
  reachablePeers: number;
  dialOutOnlyPeers: number;
  /** Models with their provider counts: connected peers' adverts, or the overlay's count if it
   * saw more. */
  models: { id: string; providers: number }[];
  /** Free and total slots the connected peers advertise. */
  freeSlots: number;
  slots: number;
  /** Round-trip times of the connected peers (ms): median and max, null before any ping. */
  latencyMs: { median: number; max: number } | null;
}

/**
 * Builds the summary.
 *
 * @param peers the connected peers (peer-table.ts rows).
 * @param o the overlay's figures.
 */
export function networkSummary(peers: readonly PeerRow[], o: OverlayFigures): NetworkSummary {
  const ids = new Set<string>(peers.map((p) => p.id));
  for (const c of o.contacts) ids.add(c.id);
  const byModel = new Map<string, Set<string>>();
  for (const p of peers) {
    for (const m of p.models) {
      if (m.layers !== null) continue; // a pipeline stage does not serve the model alone
      let set = byModel.get(m.id);
      if (!set) byModel.set(m.id, set = new Set());
      set.add(p.id);
    }
  }
  const models = new Map<string, number>([...byModel].map(([id, s]) => [id, s.size]));
  for (const m of o.networkModels) models.set(m.id, Math.max(models.get(m.id) ?? 0, m.providers));
  const rtts = peers.map((p) => p.rttMs).filter((x): x is number => x !== null).sort((a, b) =>
    a - b
  );
  return {
    reachability: o.reachability,
    relayedBy: o.relayedBy,
    relayingFor: o.relaying.enabled ? o.relaying.reservations : 0,
    nodesKnown: ids.size,
    reachablePeers: peers.filter((p) => p.url !== null).length,
    dialOutOnlyPeers: peers.filter((p) => p.url === null).length,
    models: [...models].map(([id, providers]) => ({ id, providers }))
      .sort((a, b) => b.providers - a.providers || (a.id < b.id ? -1 : 1)),
    freeSlots: peers.reduce((n, p) => n + (p.freeSlots ?? 0), 0),
    slots: peers.reduce((n, p) => n + (p.slots ?? 0), 0),
    latencyMs: rtts.length === 0
      ? null
      : { median: rtts[Math.floor((rtts.length - 1) / 2)]!, max: rtts.at(-1)! },
  };
}

/**
 * The summary as text lines (`aria peers`); peer-supplied names have control characters replaced.
 */
export function formatNetworkSummary(n: NetworkSummary): string[] {
  // deno-lint-ignore no-control-regex -- replacing control characters is the point
  const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  const how = n.reachability === "unreachable"
    ? `unreachable${n.relayedBy ? `, relayed by ${n.relayedBy.slice(0, 16)}` : ", no relay yet"}`
    : n.reachability;
  return [
    `network: this node ${how}${n.relayingFor > 0 ? `; relaying for ${n.relayingFor}` : ""}`,
    `  ${n.nodesKnown} node(s) known; peers ${n.reachablePeers} reachable, ${n.dialOutOnlyPeers} dial-out only`,
    `  free slots ${n.freeSlots}/${n.slots}; latency ${
      n.latencyMs
        ? `median ${n.latencyMs.median} ms, max ${n.latencyMs.max} ms`
        : "not measured yet"
    }`,
    `  models: ${
      n.models.map((m) => `${clean(m.id)} (${m.providers} provider${m.providers === 1 ? "" : "s"})`)
        .join(", ") || "none known"
    }`,
  ];
}
