/**
 * @module The peer table as plain rows for `/v1/aria/peers` and `aria peers`. Pure. Peer-supplied
 * strings stay data: they are returned as JSON values and printed as plain text, never as markup.
 */
import type { PeerState } from "./peer-state.ts";

/** One row. */
export interface PeerRow {
  id: string;
  url: string | null;
  direction: "in" | "out";
  rttMs: number | null;
  lastSeenMsAgo: number;
  models: { id: string; sha256: string; layers: [number, number] | null }[];
  slots: number | null;
  freeSlots: number | null;
  tokensPerSecond: number | null;
  ok: number;
  failed: number;
}

/**
 * The rows of the table.
 *
 * @param state the peer table.
 * @param now clock reading (ms).
 * @returns the connected peers, sorted by id, and how many addresses are known.
 */
export function peerTable(
  state: PeerState,
  now: number,
): { self: string; url: string | null; peers: PeerRow[]; known: number } {
  const peers = [...state.peers.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((p) => ({
    id: p.id,
    url: p.url,
    direction: p.direction,
    rttMs: p.rttMs,
    lastSeenMsAgo: Math.max(0, now - p.lastSeenMs),
    models: (p.advert?.models ?? []).map((m) => ({ id: m.id, sha256: m.sha256, layers: m.layers })),
    slots: p.advert?.slots ?? null,
    freeSlots: p.advert?.freeSlots ?? null,
    tokensPerSecond: p.advert?.tokensPerSecond ?? null,
    ok: p.ok,
    failed: p.failed,
  }));
  return { self: state.self, url: state.selfUrl, peers, known: state.addresses.size };
}

/** A peer's audit reputation as /v1/aria/peers reports it (src/p2p/auditor.ts). */
export interface PeerReputation {
  answers: number;
  passed: number;
  failed: number;
  skipped: number;
  /** The id of the fraud proof that convicted it; null if none. */
  convicted: string | null;
  /** The probability that its next auditable answer is audited (absent from older nodes). */
  rate?: number;
}

/**
 * The table as text lines for a terminal (control characters in peer strings are replaced).
 * With `reputation` (the route adds it), each peer's audits are shown, and convicted nodes are
 * listed after the peers (they are disconnected and never routed to).
 *
 * @param table from {@link peerTable} (or its JSON), with the route's `reputation`.
 * @returns the lines.
 */
export function formatPeerTable(
  table: ReturnType<typeof peerTable> & { reputation?: Record<string, PeerReputation> },
): string[] {
  // deno-lint-ignore no-control-regex -- replacing control characters is the point
  const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  const lines = [
    `node ${table.self}${table.url ? ` at ${clean(table.url)}` : ""}`,
    `${table.peers.length} peer(s), ${table.known} known address(es)`,
  ];
  for (const p of table.peers) {
    const models = p.models.map((m) =>
      clean(m.id) + (m.layers ? `[${m.layers[0]}-${m.layers[1]}]` : "")
    ).join(",") || "-";
    lines.push(
      `${p.id.slice(0, 16)}  ${p.direction.padEnd(3)} ${clean(p.url ?? "-")}  rtt ${
        p.rttMs ?? "?"
      } ms  ` +
        `slots ${p.freeSlots ?? "?"}/${p.slots ?? "?"}  ${
          p.tokensPerSecond ?? "?"
        } t/s  models ${models}${audits(table.reputation?.[p.id])}`,
    );
  }
  for (const [id, r] of Object.entries(table.reputation ?? {})) {
    if (r.convicted !== null) {
      lines.push(`${clean(id).slice(0, 16)}  CONVICTED by fraud proof ${clean(r.convicted)}`);
    }
  }
  return lines;
}

function audits(r: PeerReputation | undefined): string {
  if (r === undefined) return "";
  return `  audits ${r.passed}/${r.answers} passed${r.failed > 0 ? `, ${r.failed} FAILED` : ""}`;
}
