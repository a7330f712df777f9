/**
 * @module The peer table as a reducer (STYLE.md C8, exo's apply): `applyPeerEvent(state, event)`
 * returns the next state and never mutates its input. Pure: times come inside the events. The
 * shell (node.ts) turns what happens on sockets into these events; plan.ts reads the state.
 */
import type { Advert, PeerHint } from "./protocol.ts";

/** A connected, authenticated peer. */
export interface PeerInfo {
  id: string;
  /** Where the peer accepts connections (from its hello / advert), if anywhere. */
  url: string | null;
  direction: "in" | "out";
  connectedMs: number;
  lastSeenMs: number;
  lastPingMs: number | null;
  /** Id and send time of the ping awaiting its pong. */
  pendingPing: { id: string; sentMs: number } | null;
  /** Round-trip time of the last ping (ms). */
  rttMs: number | null;
  advert: Advert | null;
  lastExchangeMs: number | null;
  /** Our advert version last sent to this peer (-1 = never). */
  advertSent: number;
  lastAdvertMs: number | null;
  /** Requests this peer finished / failed for us (reliability). */
  ok: number;
  failed: number;
  /** Our requests in flight on this peer. */
  inflight: number;
}

/** An address we may dial. */
export interface AddressInfo {
  url: string;
  /** The id a peer exchange claimed for it (a hint, checked by the handshake). */
  id: string | null;
  /** Models the hint said it serves. */
  models: readonly string[];
  bootstrap: boolean;
  dialing: boolean;
  failures: number;
  /** Not before this time (backoff). */
  notBeforeMs: number;
}

/** The whole peer table. */
export interface PeerState {
  self: string;
  selfUrl: string | null;
  advert: Advert | null;
  /** Bumped whenever our advert changes. */
  advertVersion: number;
  peers: ReadonlyMap<string, PeerInfo>;
  addresses: ReadonlyMap<string, AddressInfo>;
}

/** Everything that changes the table. */
export type PeerEvent =
  | { type: "bootstrap"; urls: readonly string[] }
  | { type: "local_advert"; advert: Advert }
  | { type: "dial_started"; url: string }
  | { type: "dial_failed"; url: string; now: number }
  | {
    type: "connected";
    id: string;
    url: string | null;
    dialedUrl: string | null;
    direction: "in" | "out";
    now: number;
  }
  | { type: "disconnected"; id: string; now: number }
  | { type: "seen"; id: string; now: number }
  | { type: "advert"; id: string; advert: Advert; now: number }
  | { type: "ping_sent"; id: string; pingId: string; now: number }
  | { type: "pong"; id: string; re: string; now: number }
  | { type: "exchange_sent"; id: string; now: number }
  | { type: "advert_sent"; id: string; version: number; now: number }
  | { type: "peers_learned"; hints: readonly PeerHint[] }
  | { type: "request_outcome"; id: string; ok: boolean }
  | { type: "inflight"; id: string; delta: 1 | -1 };

/** Most addresses remembered. Why 1024: enough for a large network's hints, small in memory. */
export const MAX_ADDRESSES = 1024;
/** Dial backoff base and cap (ms). Why: 1 s, 2 s, 4 s … at most a minute between retries. */
export const BACKOFF_BASE_MS = 1_000;
/** Longest backoff (ms). */
export const BACKOFF_MAX_MS = 60_000;
/** Failed dials after which a learned (non-bootstrap) address is forgotten. */
export const MAX_DIAL_FAILURES = 4;

/**
 * An empty table.
 *
 * @param self our node id.
 * @param selfUrl where we listen (null = nowhere).
 * @returns the state.
 */
export function initialPeerState(self: string, selfUrl: string | null): PeerState {
  return { self, selfUrl, advert: null, advertVersion: 0, peers: new Map(), addresses: new Map() };
}

function withPeer(state: PeerState, id: string, f: (p: PeerInfo) => PeerInfo): PeerState {
  const p = state.peers.get(id);
  if (!p) return state; // handled here: events for a peer that is gone change nothing
  const peers = new Map(state.peers);
  peers.set(id, f(p));
  return { ...state, peers };
}

function withAddress(
  state: PeerState,
  url: string,
  f: (a: AddressInfo) => AddressInfo | null,
): PeerState {
  const a = state.addresses.get(url);
  if (!a) return state;
  const addresses = new Map(state.addresses);
  const next = f(a);
  if (next) addresses.set(url, next);
  else addresses.delete(url);
  return { ...state, addresses };
}

function newAddress(url: string, bootstrap: boolean, hint?: PeerHint): AddressInfo {
  return {
    url,
    id: hint?.id ?? null,
    models: hint?.models ?? [],
    bootstrap,
    dialing: false,
    failures: 0,
    notBeforeMs: 0,
  };
}

function backoff(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
}

function learn(state: PeerState, hints: readonly PeerHint[]): PeerState {
  const addresses = new Map(state.addresses);
  for (const h of hints) {
    if (h.id === state.self || h.url === state.selfUrl) continue;
    const known = addresses.get(h.url);
    if (known) {
      if (!known.dialing) addresses.set(h.url, { ...known, id: h.id, models: h.models });
      continue;
    }
    if (addresses.size >= MAX_ADDRESSES) continue; // bounded: further hints are dropped
    addresses.set(h.url, newAddress(h.url, false, h));
  }
  return { ...state, addresses };
}

function connect(state: PeerState, e: Extract<PeerEvent, { type: "connected" }>): PeerState {
  const url = e.dialedUrl;
  const settle = (st: PeerState) =>
    url === null
      ? st
      : withAddress(st, url, (a) => ({ ...a, dialing: false, failures: 0, id: e.id }));
  // a second connection to a known peer: the shell closes one; only the dial is settled
  if (state.peers.has(e.id)) return settle(state);
  const peers = new Map(state.peers);
  peers.set(e.id, {
    id: e.id,
    url: e.url,
    direction: e.direction,
    connectedMs: e.now,
    lastSeenMs: e.now,
    lastPingMs: null,
    pendingPing: null,
    rttMs: null,
    advert: null,
    lastExchangeMs: null,
    advertSent: -1,
    lastAdvertMs: null,
    ok: 0,
    failed: 0,
    inflight: 0,
  });
  return settle({ ...state, peers });
}

function disconnect(state: PeerState, id: string, now: number): PeerState {
  const p = state.peers.get(id);
  if (!p) return state;
  const peers = new Map(state.peers);
  peers.delete(id);
  let next: PeerState = { ...state, peers };
  if (p.url !== null && p.url !== state.selfUrl) {
    // remember where it was, but do not dial it again at once (it may have dropped us on purpose)
    const a = next.addresses.get(p.url) ?? newAddress(p.url, false);
    const addresses = new Map(next.addresses);
    const models = p.advert?.models.map((m) => m.id) ?? a.models;
    addresses.set(p.url, { ...a, id, models, dialing: false, notBeforeMs: now + backoff(1) });
    next = { ...next, addresses };
  }
  return next;
}

/**
 * Applies one event.
 *
 * @param state the table.
 * @param event what happened.
 * @returns the next table (the input is not changed).
 */
export function applyPeerEvent(state: PeerState, event: PeerEvent): PeerState {
  switch (event.type) {
    case "bootstrap": {
      const addresses = new Map(state.addresses);
      for (const url of event.urls) {
        if (url !== state.selfUrl) {
          addresses.set(url, { ...(addresses.get(url) ?? newAddress(url, true)), bootstrap: true });
        }
      }
      return { ...state, addresses };
    }
    case "local_advert":
      return { ...state, advert: event.advert, advertVersion: state.advertVersion + 1 };
    case "dial_started":
      return withAddress(state, event.url, (a) => ({ ...a, dialing: true }));
    case "dial_failed":
      return withAddress(state, event.url, (a) => {
        const failures = a.failures + 1;
        if (!a.bootstrap && failures >= MAX_DIAL_FAILURES) return null;
        return { ...a, dialing: false, failures, notBeforeMs: event.now + backoff(failures) };
      });
    case "connected":
      return connect(state, event);
    case "disconnected":
      return disconnect(state, event.id, event.now);
    case "seen":
      return withPeer(
        state,
        event.id,
        (p) => ({ ...p, lastSeenMs: Math.max(p.lastSeenMs, event.now) }),
      );
    case "advert":
      return withPeer(
        state,
        event.id,
        (p) => ({ ...p, advert: event.advert, url: event.advert.listen ?? p.url }),
      );
    case "ping_sent":
      return withPeer(
        state,
        event.id,
        (p) => ({
          ...p,
          lastPingMs: event.now,
          pendingPing: { id: event.pingId, sentMs: event.now },
        }),
      );
    case "pong":
      return withPeer(
        state,
        event.id,
        (p) =>
          p.pendingPing?.id === event.re
            ? { ...p, pendingPing: null, rttMs: Math.max(0, event.now - p.pendingPing.sentMs) }
            : p, // handled here: a pong for an old or unknown ping is ignored
      );
    case "exchange_sent":
      return withPeer(state, event.id, (p) => ({ ...p, lastExchangeMs: event.now }));
    case "advert_sent":
      return withPeer(
        state,
        event.id,
        (p) => ({ ...p, advertSent: event.version, lastAdvertMs: event.now }),
      );
    case "peers_learned":
      return learn(state, event.hints);
    case "request_outcome":
      return withPeer(
        state,
        event.id,
        (p) => event.ok ? { ...p, ok: p.ok + 1 } : { ...p, failed: p.failed + 1 },
      );
    case "inflight":
      return withPeer(
        state,
        event.id,
        (p) => ({ ...p, inflight: Math.max(0, p.inflight + event.delta) }),
      );
  }
}

/**
 * The hints we give in peer exchange: connected peers that listen, with their models.
 *
 * @param state the table.
 * @param exclude the asking peer.
 * @param max most hints (the wire allows 64).
 * @returns the hints.
 */
export function peerHints(state: PeerState, exclude: string, max = 64): PeerHint[] {
  const out: PeerHint[] = [];
  // each asker gets a different window of a large table (start chosen from its id), so a
  // bootstrap node does not send every newcomer to the same 64 peers
  const all = [...state.peers.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const start = all.length === 0 ? 0 : parseInt(exclude.slice(0, 8), 16) % all.length || 0;
  for (const p of [...all.slice(start), ...all.slice(0, start)]) {
    if (p.id === exclude || p.url === null) continue;
    out.push({
      id: p.id,
      url: p.url,
      models: (p.advert?.models ?? []).map((m) => m.id).slice(0, 32),
    });
    if (out.length >= max) break;
  }
  return out;
}

/**
 * Connected peers whose advert offers `model`.
 *
 * @param state the table.
 * @param model model id.
 * @returns the peers.
 */
export function providersOf(state: PeerState, model: string): PeerInfo[] {
  return [...state.peers.values()].filter((p) => p.advert?.models.some((m) => m.id === model));
}
