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
