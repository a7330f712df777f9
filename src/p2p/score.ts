/**
 * @module Choosing the peer to serve a request: a pure score from what the peer table knows —
 * latency (ping RTT), load (free slots minus our requests in flight there), measured speed and
 * reliability (finished vs failed requests). Higher is better.
 */

/** What the score looks at. */
export interface PeerMetrics {
  /** Ping round trip (ms); null = not measured yet. */
  rttMs: number | null;
  slots: number;
  freeSlots: number;
  /** Our requests running there now (its advert may be older than they are). */
  inflight: number;
  /** Measured decode speed (tokens/s); 0 = not measured yet. */
  tokensPerSecond: number;
  ok: number;
  failed: number;
  /** Audit trust factor, 0..1 (audit-plan.ts auditTrust); absent = 1 (no audits kept). */
  trust?: number;
}

/** Assumed when not measured. Why: a pessimistic but plausible value (LAN RTT, slow CPU). */
export const UNKNOWN_RTT_MS = 50;
/** Assumed decode speed when not measured (tokens/s). */
export const UNKNOWN_SPEED = 10;
/** Tokens a typical answer has, to weigh latency against speed. */
export const TYPICAL_TOKENS = 64;

/**
 * Scores a peer: expected requests per second it can finish for us, times its reliability.
 *
 * expected ms = rtt + TYPICAL_TOKENS / speed (x the queue ahead of us when no slot is free);
 * reliability = (ok + 1) / (ok + failed + 2) (Laplace: a new peer starts at 0.5), times the
 * audit trust factor when given (a peer whose answers were re-executed and matched ranks higher;
 * one that failed an audit is never ranked: the router drops it first).
 *
 * @param m the peer's numbers.
 * @returns a positive score; higher is better.
 */
export function scorePeer(m: Readonly<PeerMetrics>): number {
  const rtt = m.rttMs ?? UNKNOWN_RTT_MS;
  const speed = m.tokensPerSecond > 0 ? m.tokensPerSecond : UNKNOWN_SPEED;
  const free = m.freeSlots - m.inflight;
  // no free slot: we wait for about (queue / slots) earlier requests to finish first
  const queueFactor = free > 0 ? 1 : 1 + (1 - free) / Math.max(1, m.slots);
  const expectedMs = rtt + (queueFactor * TYPICAL_TOKENS * 1000) / speed;
  const reliability = ((m.ok + 1) / (m.ok + m.failed + 2)) * (m.trust ?? 1);
  return (reliability * 1000) / expectedMs;
}

/**
 * Orders candidates best first (ties by id, so the order is deterministic).
 *
 * @param candidates id and numbers of each peer.
 * @returns the ids, best first.
 */
export function rankPeers(candidates: readonly { id: string; metrics: PeerMetrics }[]): string[] {
  return candidates
    .map((c) => ({ id: c.id, s: scorePeer(c.metrics) }))
    .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c) => c.id);
}

/**
 * The speed the score may use for a peer: what this node measured on the peer's answers, never
 * more than the peer claims, and an unmeasured claim never above UNKNOWN_SPEED (a peer that
 * advertises an absurd speed gets no more traffic than an unknown one until measured: issue 19,
 * hole 3).
 *
 * @param advertised the peer's advert (tokens/s; 0 = not measured by the peer).
 * @param measured this node's measurement (tokens/s over the peer's answers), if any.
 * @returns tokens/s for {@link scorePeer} (0 = unknown).
 */
export function trustedSpeed(advertised: number, measured: number | undefined): number {
  if (measured === undefined || !(measured > 0)) return Math.min(advertised, UNKNOWN_SPEED);
  return advertised > 0 ? Math.min(advertised, measured) : measured;
}

/**
 * Exploration (bounded): a peer the score cannot judge yet gets some traffic anyway. Without it
 * an unmeasured peer is scored at UNKNOWN_SPEED, so once one peer has a measured speed a new
 * honest peer may never be sent a request, and so is never measured nor audited. A routed
 * request goes to an explorable peer first (instead of the best-scored one) with probability
 * EXPLORE_SHARE, and at the latest on the EXPLORE_EVERY-th routed request in a row that did not:
 * about 15% of routed requests while such a peer exists, and a hard bound on how long a new peer
 * waits. Only the order of the candidates changes: the router filters them first (consent, model
 * and file hash, model challenge, bans, fraud proofs, failed audits), so exploration never sends
 * a request to a peer that could not have got it anyway.
 */
export const EXPLORE_SHARE = 0.1;
/** At the latest every EXPLORE_EVERY-th routed request explores (see EXPLORE_SHARE). Why 10:
 * with the 10% draw, about 1 in 6.5 routed requests explores, and a new peer waits at most 10. */
export const EXPLORE_EVERY = 10;
/** A peer is explorable until this node measured this many of its answers. Why 4: the speed is a
 * moving average (weight 0.3); after 4 answers it is mostly the peer's own. */
export const EXPLORE_UNTIL = 4;
/** A peer whose last measured answer is older than this is explorable again (ms). Why 10 min: a
 * peer's load and speed change over minutes; one answer measures it again. */
export const EXPLORE_STALE_MS = 10 * 60_000;

/** What this node measured of a peer's answers. */
export interface Measured {
  /** Answers measured (decode speed known). */
  answers: number;
  /** When the last one was measured (ms, the router's clock); absent: never. */
  atMs?: number;
}

/**
 * Whether a candidate may be explored: fewer than EXPLORE_UNTIL answers measured, or the last one
 * older than EXPLORE_STALE_MS; a free slot now (an explored request never waits in a queue); and
 * no more failed requests than finished ones.
 *
 * @param measured what this node measured of the peer (undefined: nothing).
 * @param m the peer's numbers (free slots and our requests in flight there).
 * @param nowMs the router's clock.
 * @returns true when it may be explored.
 */
export function explorable(
  measured: Readonly<Measured> | undefined,
  m: Readonly<Pick<PeerMetrics, "freeSlots" | "inflight" | "ok" | "failed">>,
  nowMs: number,
): boolean {
  if (m.freeSlots - m.inflight <= 0) return false;
  // a peer that failed more requests than it finished is not sent traffic to find out more
  if (m.failed > m.ok) return false;
  if (measured === undefined || measured.answers < EXPLORE_UNTIL) return true;
  return measured.atMs === undefined || nowMs - measured.atMs > EXPLORE_STALE_MS;
}

/** The outcome of {@link explore}. */
export interface Exploration {
  /** The candidates in the order to try them. */
  order: string[];
  /** The explorable peer put first, or null when the order is the score's. */
  explored: string | null;
  /** The count of routed requests in a row that did not explore, after this one. */
  sinceExplored: number;
}

/**
 * Orders the candidates of one routed request: the score's order, or the best-scored explorable
 * peer first when the draw falls under EXPLORE_SHARE or EXPLORE_EVERY requests in a row did not
 * explore. Nothing changes when no candidate is explorable (nor the count), and the count
 * restarts when the best-scored peer is explorable itself (it gets the request anyway).
 *
 * @param ranked the candidates, best first (rankPeers), already filtered by the router.
 * @param isExplorable which of them may be explored ({@link explorable}).
 * @param draw a uniform number in [0, 1) (the shell's random source).
 * @param sinceExplored routed requests in a row that did not explore, before this one.
 * @returns the order, the explored peer and the new count.
 */
export function explore(
  ranked: readonly string[],
  isExplorable: (id: string) => boolean,
  draw: number,
  sinceExplored: number,
): Exploration {
  const first = ranked.find(isExplorable);
  // nothing to explore: nothing was missed either, so the count stands
  if (first === undefined) return { order: [...ranked], explored: null, sinceExplored };
  if (first === ranked[0]) return { order: [...ranked], explored: null, sinceExplored: 0 };
  if (draw < EXPLORE_SHARE || sinceExplored + 1 >= EXPLORE_EVERY) {
    return {
      order: [first, ...ranked.filter((id) => id !== first)],
      explored: first,
      sinceExplored: 0,
    };
  }
  return { order: [...ranked], explored: null, sinceExplored: sinceExplored + 1 };
}
