/**
 * @module Reachability (protocol 2.1, docs/protocol.md "Reachability"), after libp2p AutoNAT: a
 * node asks a few reachable peers to dial back the address it advertises; each peer dials it,
 * completes the ordinary handshake and sends `reach.dialback {nonce}`. The node counts a peer's
 * test as a success only when that nonce arrives on an inbound connection from that peer, its own
 * observation, never the peer's word; a peer's `reach.result` can only report a failure. Two
 * distinct successes make the node `reachable`; two distinct failures and no success make it
 * `unreachable` (then it takes a relay reservation and advertises the relay instead of an
 * address). The dialling peer's side (`decideDialBack`) refuses to dial anywhere but the host the
 * request came from, so nobody can use it to send connections at a third party.
 * Pure: times and nonces come in as arguments.
 */

/** What a node believes about itself. */
export type Reachability = "unknown" | "reachable" | "unreachable";

/** Distinct peers that must agree. Why 2: one peer may lie or have a broken route; libp2p asks 3
 * and decides on a majority, and every success here is our own observation, so two suffice. */
export const CONFIRMATIONS = 2;
/** How long evidence counts (ms). Why 30 min: home routers change address or mappings daily. */
export const EVIDENCE_MS = 30 * 60_000;
/** A test without dial-back or result after this long is a failure (ms). */
export const TEST_TIMEOUT_MS = 15_000;
/** Re-check period once decided, and while undecided (ms). */
export const RECHECK_MS = 15 * 60_000;
/** Re-check period while undecided (ms). */
export const RETRY_MS = 60_000;

interface Evidence {
  readonly ok: boolean;
  readonly atMs: number;
}

interface Pending {
  readonly peer: string;
  readonly sentMs: number;
}

/** The node's view of its own reachability. */
export interface ReachState {
  /** The address we advertise (null = we do not listen: unreachable at once). */
  readonly url: string | null;
  readonly status: Reachability;
  readonly evidence: ReadonlyMap<string, Evidence>;
  readonly pending: ReadonlyMap<string, Pending>;
  readonly lastRoundMs: number;
}

/** What changes it. */
export type ReachEvent =
  | { type: "check_sent"; peer: string; nonce: string; now: number }
  /** `reach.dialback` arrived on an inbound connection authenticated as `peer`. */
  | { type: "dialback"; peer: string; nonce: string; now: number }
  /** `reach.result` from `peer`: its dial failed, or it refused. */
  | {
    type: "result";
    peer: string;
    nonce: string;
    outcome: "dialled" | "failed" | "refused";
    now: number;
  }
  | { type: "tick"; now: number };

/**
 * The initial state.
 *
 * @param url the address we advertise, or null when the node does not listen.
 */
export function initialReach(url: string | null): ReachState {
  return {
    url,
    status: url === null ? "unreachable" : "unknown",
    evidence: new Map(),
    pending: new Map(),
    lastRoundMs: -Infinity,
  };
}

function decide(s: ReachState, now: number): ReachState {
  if (s.url === null) return { ...s, status: "unreachable" };
  const live = [...s.evidence.values()].filter((e) => now - e.atMs <= EVIDENCE_MS);
  const ok = live.filter((e) => e.ok).length;
  const bad = live.length - ok;
  const status: Reachability = ok >= CONFIRMATIONS
    ? "reachable"
    : ok === 0 && bad >= CONFIRMATIONS
    ? "unreachable"
    : ok > 0 && s.status === "reachable"
    ? "reachable" // handled here: keep a decided status while fresh evidence still supports it
    : "unknown";
  return { ...s, status };
}

function settle(s: ReachState, nonce: string, ok: boolean, now: number): ReachState {
  const p = s.pending.get(nonce);
  if (!p) return s;
  const pending = new Map(s.pending);
  pending.delete(nonce);
  const evidence = new Map(s.evidence);
  evidence.set(p.peer, { ok, atMs: now });
  return decide({ ...s, pending, evidence }, now);
}

/**
 * Applies one event.
 *
 * @returns the next state.
 */
export function applyReachEvent(s: ReachState, e: ReachEvent): ReachState {
  switch (e.type) {
    case "check_sent": {
      const pending = new Map(s.pending);
      pending.set(e.nonce, { peer: e.peer, sentMs: e.now });
      return { ...s, pending, lastRoundMs: e.now };
    }
    case "dialback": {
      // handled here: a dial-back with an unknown nonce, or from another peer than the one asked,
      // proves nothing and is ignored
      const p = s.pending.get(e.nonce);
      if (!p || p.peer !== e.peer) return s;
      return settle(s, e.nonce, true, e.now);
    }
    case "result": {
      const p = s.pending.get(e.nonce);
      if (!p || p.peer !== e.peer) return s;
      // "dialled" is the peer's claim; success waits for our own dial-back observation (or the
      // timeout, a failure). A refusal is neither: the test is dropped.
      if (e.outcome === "dialled") return s;
      if (e.outcome === "refused") {
        const pending = new Map(s.pending);
        pending.delete(e.nonce);
        return { ...s, pending };
      }
      return settle(s, e.nonce, false, e.now);
    }
    case "tick": {
      let next = s;
      for (const [nonce, p] of s.pending) {
        if (e.now - p.sentMs > TEST_TIMEOUT_MS) next = settle(next, nonce, false, e.now);
      }
      return decide(next, e.now);
    }
  }
}

/**
 * Which peers to ask now: none while a round is recent; otherwise up to CONFIRMATIONS + 1
 * reachable peers without fresh evidence, in the given order.
 *
 * @param s the state.
 * @param candidates connected peers that advertise themselves reachable.
 * @param now clock reading.
 * @returns peer ids to send `reach.check` to (the shell draws a nonce for each).
 */
export function planReach(s: ReachState, candidates: readonly string[], now: number): string[] {
  if (s.url === null) return [];
  const fresh = (id: string) => {
    const e = s.evidence.get(id);
    return e !== undefined && now - e.atMs <= (s.status === "unknown" ? EVIDENCE_MS : RECHECK_MS);
  };
  const asked = new Set([...s.pending.values()].map((p) => p.peer));
  if (s.status === "unknown" && now - s.lastRoundMs < RETRY_MS) {
    // undecided: a peer that connects after a round is asked at once (never tested, not
    // pending), up to CONFIRMATIONS + 1 tests in flight, so a node that starts with one peer
    // does not wait a minute for the second opinion
    const room = CONFIRMATIONS + 1 - s.pending.size;
    return room <= 0 ? [] : candidates.filter((id) => !asked.has(id) && !s.evidence.has(id))
      .slice(0, room);
  }
  const period = s.status === "unknown" ? RETRY_MS : RECHECK_MS;
  if (now - s.lastRoundMs < period || s.pending.size > 0) return [];
  return candidates.filter((id) => !fresh(id)).slice(0, CONFIRMATIONS + 1);
}

/** The dialling side's budget. */
export interface DialBackBudget {
  /** Last dial-back per requesting peer. */
  readonly lastByPeer: ReadonlyMap<string, number>;
  /** Times of recent dial-backs (any peer), newest last. */
  readonly recent: readonly number[];
}

/** An empty budget. */
export function emptyDialBackBudget(): DialBackBudget {
  return { lastByPeer: new Map(), recent: [] };
}

/** Per-peer spacing of dial-backs (ms). */
export const DIALBACK_PEER_MS = 30_000;
/** Dial-backs per minute in total. Why 10: a node needs 3 per 15 min; a few dozen peers fit. */
export const DIALBACK_PER_MINUTE = 10;

/**
 * Whether to dial back `url` for `peer` whose connection comes from host `observedHost`.
 *
 * @returns "dial" with the budget spent, or the refusal reason.
 */
export function decideDialBack(
  budget: DialBackBudget,
  req: { peer: string; url: string; observedHost: string },
  now: number,
): { decision: "dial"; budget: DialBackBudget } | { decision: "refused"; reason: string } {
  let host: string;
  try {
    const u = new URL(req.url);
    if (u.protocol !== "ws:" && u.protocol !== "wss:") {
      return { decision: "refused", reason: "scheme" };
    }
    host = u.hostname.replace(/^\[|\]$/g, "");
  } catch {
    return { decision: "refused", reason: "bad url" }; // handled here: an unparsable address
  }
  // handled here: the address must be the requester's own host, so a dial-back can never be aimed
  // at a third party (amplification / port scanning through us)
  if (host !== req.observedHost.replace(/^\[|\]$/g, "").replace(/^::ffff:/, "")) {
    return { decision: "refused", reason: "address is not the requester's host" };
  }
  const last = budget.lastByPeer.get(req.peer);
  if (last !== undefined && now - last < DIALBACK_PEER_MS) {
    return { decision: "refused", reason: "too soon" };
  }
  const recent = budget.recent.filter((t) => now - t < 60_000);
  if (recent.length >= DIALBACK_PER_MINUTE) return { decision: "refused", reason: "busy" };
  const lastByPeer = new Map([...budget.lastByPeer].filter(([, t]) => now - t < DIALBACK_PEER_MS));
  lastByPeer.set(req.peer, now);
  return { decision: "dial", budget: { lastByPeer, recent: [...recent, now] } };
}
