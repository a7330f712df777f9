/**
 * @module The relay's side of a relayed connection (protocol 2.1, docs/protocol.md "Relays"), in
 * the manner of libp2p circuit relay v2: a node that cannot be dialled (behind NAT) keeps a
 * connection to a reachable relay and holds a reservation there; a client asks the relay to
 * connect it to that node; the relay forwards end-to-end frames between them inside
 * `relay.data` messages. Each forwarded frame is an ordinary ARIA text frame signed by its sender
 * and addressed to the far end, which checks it exactly as on a direct connection (signature,
 * recipient, time, nonce): the relay can drop or delay frames but cannot alter, forge or replay one
 * unnoticed. Frames are signed, not encrypted: the relay can read them (stated in the docs).
 * The relay's owner bounds what it gives: reservations, circuits per reservation, bytes and
 * seconds per circuit, bytes per second. Pure: a reducer over events with times inside them; the
 * shell sends what the returned actions say.
 */

/** What the relay's owner allows. */
export interface RelayPolicy {
  /** Serve as a relay at all. */
  enabled: boolean;
  /** Nodes holding a reservation at once. */
  maxReservations: number;
  /** How long a reservation lasts before it must be renewed (ms). */
  reservationMs: number;
  /** Open circuits per reserved node. */
  maxCircuitsPerNode: number;
  /** Bytes forwarded per circuit, both directions together. */
  maxCircuitBytes: number;
  /** Lifetime of a circuit (ms). */
  maxCircuitMs: number;
  /** Bytes per second per circuit (over one-second windows). */
  maxBytesPerSecond: number;
}

/** Defaults. Why: a relay is a favour, so it is small: 16 nodes, 4 circuits each, 64 MiB or
 * 10 minutes per circuit (a long completion stream is a few hundred KiB), 1 MiB/s, reservations
 * renewed hourly (libp2p's v2 defaults are 2 min / 128 KiB, sized for hole-punching only). */
export const DEFAULT_RELAY_POLICY: RelayPolicy = {
  enabled: true,
  maxReservations: 16,
  reservationMs: 60 * 60_000,
  maxCircuitsPerNode: 4,
  maxCircuitBytes: 64 * 1024 * 1024,
  maxCircuitMs: 10 * 60_000,
  maxBytesPerSecond: 1024 * 1024,
};

/** Why a request was refused or a circuit closed (the `reason` on the wire). */
export type RelayReason =
  | "disabled"
  | "no_reservation"
  | "reservations_full"
  | "circuits_full"
  | "duplicate_circuit"
  | "unknown_circuit"
  | "not_member"
  | "refused_by_target"
  | "limit_bytes"
  | "limit_time"
  | "limit_rate"
  | "peer_gone"
  | "closed";

interface Reservation {
  readonly expiresMs: number;
}

/** One relayed connection. */
export interface Circuit {
  readonly id: string;
  readonly client: string;
  readonly target: string;
  readonly openedMs: number;
  /** The target accepted. */
  readonly accepted: boolean;
  readonly bytes: number;
  readonly windowStartMs: number;
  readonly windowBytes: number;
}

/** The relay's table. */
export interface RelayState {
  readonly reservations: ReadonlyMap<string, Reservation>;
  readonly circuits: ReadonlyMap<string, Circuit>;
}

/** What happens at the relay. */
export type RelayEvent =
  | { type: "reserve"; peer: string; now: number }
  | { type: "connect"; client: string; target: string; circuit: string; now: number }
  | { type: "accept"; peer: string; circuit: string; now: number }
  | { type: "refuse"; peer: string; circuit: string; now: number }
  | { type: "data"; peer: string; circuit: string; bytes: number; now: number }
  | { type: "close"; peer: string; circuit: string; now: number }
  | { type: "peer_gone"; peer: string; now: number }
  | { type: "tick"; now: number };

/** What the relay sends (the shell wraps each in a signed envelope to `to`). */
export type RelayAction =
  | { type: "reserved"; to: string; expiresMs: number; policy: RelayPolicy }
  | { type: "refused"; to: string; circuit: string | null; reason: RelayReason }
  | { type: "incoming"; to: string; circuit: string; from: string }
  | { type: "connected"; to: string; circuit: string }
  | { type: "forward"; to: string; circuit: string; from: string }
  | { type: "closed"; to: string; circuit: string; reason: RelayReason };

/** An empty relay table. */
export function initialRelay(): RelayState {
  return { reservations: new Map(), circuits: new Map() };
}

type Step = { state: RelayState; actions: RelayAction[] };

function liveReservation(s: RelayState, peer: string, now: number): boolean {
  const r = s.reservations.get(peer);
  return r !== undefined && r.expiresMs > now;
}

function withCircuit(s: RelayState, c: Circuit | null, id: string): RelayState {
  const circuits = new Map(s.circuits);
  if (c) circuits.set(id, c);
  else circuits.delete(id);
  return { ...s, circuits };
}

function closeBoth(
  s: RelayState,
  c: Circuit,
  reason: RelayReason,
  except: string | null = null,
): Step {
  const actions: RelayAction[] = [c.client, c.target]
    .filter((p) => p !== except)
    .map((to) => ({ type: "closed", to, circuit: c.id, reason }));
  return { state: withCircuit(s, null, c.id), actions };
}

function reserve(s: RelayState, peer: string, now: number, p: RelayPolicy): Step {
  if (!p.enabled) {
    return {
      state: s,
      actions: [{ type: "refused", to: peer, circuit: null, reason: "disabled" }],
    };
  }
  const live = [...s.reservations].filter(([id, r]) => r.expiresMs > now && id !== peer).length;
  if (live >= p.maxReservations) {
    return {
      state: s,
      actions: [{ type: "refused", to: peer, circuit: null, reason: "reservations_full" }],
    };
  }
  const reservations = new Map([...s.reservations].filter(([, r]) => r.expiresMs > now));
  const expiresMs = now + p.reservationMs;
  reservations.set(peer, { expiresMs });
  return {
    state: { ...s, reservations },
    actions: [{ type: "reserved", to: peer, expiresMs, policy: p }],
  };
}

function connect(s: RelayState, e: Extract<RelayEvent, { type: "connect" }>, p: RelayPolicy): Step {
  const refuse = (reason: RelayReason): Step => ({
    state: s,
    actions: [{ type: "refused", to: e.client, circuit: e.circuit, reason }],
  });
  // handled here, in order: relaying off, a target without reservation (we relay only for nodes
  // that asked us to), a reused circuit id, the target's circuit quota
  if (!p.enabled) return refuse("disabled");
  if (e.client === e.target || !liveReservation(s, e.target, e.now)) {
    return refuse("no_reservation");
  }
  if (s.circuits.has(e.circuit)) return refuse("duplicate_circuit");
  const open = [...s.circuits.values()].filter((c) => c.target === e.target).length;
  if (open >= p.maxCircuitsPerNode) return refuse("circuits_full");
  const c: Circuit = {
    id: e.circuit,
    client: e.client,
    target: e.target,
    openedMs: e.now,
    accepted: false,
    bytes: 0,
    windowStartMs: e.now,
    windowBytes: 0,
  };
  return {
    state: withCircuit(s, c, e.circuit),
    actions: [{ type: "incoming", to: e.target, circuit: e.circuit, from: e.client }],
  };
}

function data(s: RelayState, e: Extract<RelayEvent, { type: "data" }>, p: RelayPolicy): Step {
  const c = s.circuits.get(e.circuit);
  if (!c) {
    return {
      state: s,
      actions: [{ type: "refused", to: e.peer, circuit: e.circuit, reason: "unknown_circuit" }],
    };
  }
  // handled here: only the two ends may send, and only once the target accepted
  if ((e.peer !== c.client && e.peer !== c.target) || !c.accepted) {
    return {
      state: s,
      actions: [{ type: "refused", to: e.peer, circuit: e.circuit, reason: "not_member" }],
    };
  }
  if (e.now - c.openedMs > p.maxCircuitMs) return closeBoth(s, c, "limit_time");
  const bytes = c.bytes + e.bytes;
  if (bytes > p.maxCircuitBytes) return closeBoth(s, c, "limit_bytes");
  const fresh = e.now - c.windowStartMs >= 1000;
  const windowBytes = (fresh ? 0 : c.windowBytes) + e.bytes;
  if (windowBytes > p.maxBytesPerSecond) return closeBoth(s, c, "limit_rate");
  const next: Circuit = {
    ...c,
    bytes,
    windowBytes,
    windowStartMs: fresh ? e.now : c.windowStartMs,
  };
  const to = e.peer === c.client ? c.target : c.client;
  return {
    state: withCircuit(s, next, c.id),
    actions: [{ type: "forward", to, circuit: c.id, from: e.peer }],
  };
}

function expire(s: RelayState, now: number, p: RelayPolicy): Step {
  let state = s;
  const actions: RelayAction[] = [];
  for (const c of s.circuits.values()) {
    if (now - c.openedMs > p.maxCircuitMs) {
      const step = closeBoth(state, c, "limit_time");
      state = step.state;
      actions.push(...step.actions);
    }
  }
  const reservations = new Map([...state.reservations].filter(([, r]) => r.expiresMs > now));
  if (reservations.size !== state.reservations.size) state = { ...state, reservations };
  return { state, actions };
}

/**
 * Applies one event at the relay.
 *
 * @param s the relay table.
 * @param e what happened (peers are the authenticated senders of the messages).
 * @param p the owner's policy.
 * @returns the next table and the messages to send.
 */
export function applyRelayEvent(
  s: RelayState,
  e: RelayEvent,
  p: RelayPolicy = DEFAULT_RELAY_POLICY,
): Step {
  switch (e.type) {
    case "reserve":
      return reserve(s, e.peer, e.now, p);
    case "connect":
      return connect(s, e, p);
    case "accept": {
      const c = s.circuits.get(e.circuit);
      if (!c || c.target !== e.peer || c.accepted) return { state: s, actions: [] }; // handled: ignored
      return {
        state: withCircuit(s, { ...c, accepted: true }, c.id),
        actions: [{ type: "connected", to: c.client, circuit: c.id }],
      };
    }
    case "refuse": {
      const c = s.circuits.get(e.circuit);
      if (!c || c.target !== e.peer) return { state: s, actions: [] };
      return closeBoth(s, c, "refused_by_target", c.target);
    }
    case "data":
      return data(s, e, p);
    case "close": {
      const c = s.circuits.get(e.circuit);
      if (!c || (c.client !== e.peer && c.target !== e.peer)) return { state: s, actions: [] };
      return closeBoth(s, c, "closed", e.peer);
    }
    case "peer_gone": {
      let state = s;
      const actions: RelayAction[] = [];
      for (const c of s.circuits.values()) {
        if (c.client !== e.peer && c.target !== e.peer) continue;
        const step = closeBoth(state, c, "peer_gone", e.peer);
        state = step.state;
        actions.push(...step.actions);
      }
      if (state.reservations.has(e.peer)) {
        const reservations = new Map(state.reservations);
        reservations.delete(e.peer);
        state = { ...state, reservations };
      }
      return { state, actions };
    }
    case "tick":
      return expire(s, e.now, p);
  }
}
