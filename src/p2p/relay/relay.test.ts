import { describe, expect, test } from "bun:test";
import {
  applyRelayEvent,
  DEFAULT_RELAY_POLICY,
  initialRelay,
  type RelayPolicy,
  type RelayState,
} from "./relay.ts";

const N = "aa".repeat(32); // unreachable node
const C = "cc".repeat(32); // client
const X = "ee".repeat(32); // someone else
const P: RelayPolicy = {
  ...DEFAULT_RELAY_POLICY,
  maxReservations: 1,
  maxCircuitsPerNode: 1,
  maxCircuitBytes: 100,
  maxCircuitMs: 5000,
  maxBytesPerSecond: 60,
};

function open(s: RelayState = initialRelay()): RelayState {
  s = applyRelayEvent(s, { type: "reserve", peer: N, now: 0 }, P).state;
  s = applyRelayEvent(s, { type: "connect", client: C, target: N, circuit: "c1", now: 0 }, P).state;
  return applyRelayEvent(s, { type: "accept", peer: N, circuit: "c1", now: 0 }, P).state;
}

describe("relay", () => {
  test("reserve, connect, accept, forward both ways", () => {
    let s = applyRelayEvent(initialRelay(), { type: "reserve", peer: N, now: 0 }, P);
    expect(s.actions).toEqual([{ type: "reserved", to: N, expiresMs: P.reservationMs, policy: P }]);
    s = applyRelayEvent(
      s.state,
      { type: "connect", client: C, target: N, circuit: "c1", now: 1 },
      P,
    );
    expect(s.actions).toEqual([{ type: "incoming", to: N, circuit: "c1", from: C }]);
    // no data before the target accepts
    expect(
      applyRelayEvent(s.state, { type: "data", peer: C, circuit: "c1", bytes: 5, now: 2 }, P)
        .actions[0],
    )
      .toEqual({ type: "refused", to: C, circuit: "c1", reason: "not_member" });
    s = applyRelayEvent(s.state, { type: "accept", peer: N, circuit: "c1", now: 2 }, P);
    expect(s.actions).toEqual([{ type: "connected", to: C, circuit: "c1" }]);
    const a = applyRelayEvent(
      s.state,
      { type: "data", peer: C, circuit: "c1", bytes: 10, now: 3 },
      P,
    );
    expect(a.actions).toEqual([{ type: "forward", to: N, circuit: "c1", from: C }]);
    const b = applyRelayEvent(
      a.state,
      { type: "data", peer: N, circuit: "c1", bytes: 10, now: 4 },
      P,
    );
    expect(b.actions).toEqual([{ type: "forward", to: C, circuit: "c1", from: N }]);
    // a third node cannot inject into the circuit
    expect(
      applyRelayEvent(b.state, { type: "data", peer: X, circuit: "c1", bytes: 1, now: 5 }, P)
        .actions[0],
    )
      .toMatchObject({ type: "refused", reason: "not_member" });
  });

  test("refusals: disabled, no reservation, full, duplicate circuit, quota", () => {
    const off = applyRelayEvent(initialRelay(), { type: "reserve", peer: N, now: 0 }, {
      ...P,
      enabled: false,
    });
    expect(off.actions[0]).toMatchObject({ type: "refused", reason: "disabled" });
    const none = applyRelayEvent(initialRelay(), {
      type: "connect",
      client: C,
      target: N,
      circuit: "c",
      now: 0,
    }, P);
    expect(none.actions[0]).toMatchObject({ type: "refused", reason: "no_reservation" });
    let s = applyRelayEvent(initialRelay(), { type: "reserve", peer: N, now: 0 }, P).state;
    expect(applyRelayEvent(s, { type: "reserve", peer: X, now: 0 }, P).actions[0]).toMatchObject({
      reason: "reservations_full",
    });
    // renewing one's own reservation is fine; an expired one frees the slot
    expect(applyRelayEvent(s, { type: "reserve", peer: N, now: 5 }, P).actions[0]).toMatchObject({
      type: "reserved",
    });
    expect(applyRelayEvent(s, { type: "reserve", peer: X, now: P.reservationMs + 1 }, P).actions[0])
      .toMatchObject({ type: "reserved" });
    s =
      applyRelayEvent(s, { type: "connect", client: C, target: N, circuit: "c1", now: 0 }, P).state;
    expect(
      applyRelayEvent(s, { type: "connect", client: X, target: N, circuit: "c1", now: 0 }, P)
        .actions[0],
    ).toMatchObject({ reason: "duplicate_circuit" });
    expect(
      applyRelayEvent(s, { type: "connect", client: X, target: N, circuit: "c2", now: 0 }, P)
        .actions[0],
    ).toMatchObject({ reason: "circuits_full" });
    expect(
      applyRelayEvent(s, { type: "connect", client: N, target: N, circuit: "c3", now: 0 }, P)
        .actions[0],
    ).toMatchObject({ reason: "no_reservation" });
  });

  test("limits: bytes, rate, time close both ends", () => {
    let s = open();
    s = applyRelayEvent(s, { type: "data", peer: C, circuit: "c1", bytes: 50, now: 10 }, P).state;
    const rate = applyRelayEvent(
      s,
      { type: "data", peer: N, circuit: "c1", bytes: 20, now: 20 },
      P,
    );
    expect(rate.actions).toEqual([
      { type: "closed", to: C, circuit: "c1", reason: "limit_rate" },
      { type: "closed", to: N, circuit: "c1", reason: "limit_rate" },
    ]);
    expect(rate.state.circuits.size).toBe(0);
    s = applyRelayEvent(s, { type: "data", peer: N, circuit: "c1", bytes: 45, now: 1100 }, P).state;
    const bytes = applyRelayEvent(
      s,
      { type: "data", peer: C, circuit: "c1", bytes: 10, now: 2200 },
      P,
    );
    expect(bytes.actions[0]).toMatchObject({ type: "closed", reason: "limit_bytes" });
    const late = applyRelayEvent(
      s,
      { type: "data", peer: C, circuit: "c1", bytes: 1, now: 5001 },
      P,
    );
    expect(late.actions[0]).toMatchObject({ type: "closed", reason: "limit_time" });
    // within both budgets (95 + 5 bytes; a fresh one-second window) it is forwarded
    const ok = applyRelayEvent(s, { type: "data", peer: C, circuit: "c1", bytes: 5, now: 2200 }, P);
    expect(ok.actions[0]).toMatchObject({ type: "forward", to: N });
    const b3 = applyRelayEvent(
      open(),
      { type: "data", peer: C, circuit: "c1", bytes: 101, now: 1 },
      P,
    );
    expect(b3.actions[0]).toMatchObject({ type: "closed", reason: "limit_bytes" });
    const t = applyRelayEvent(open(), { type: "tick", now: 5001 }, P);
    expect(t.actions.map((a) => a.type)).toEqual(["closed", "closed"]);
  });

  test("close and peer_gone tell the other end and free the reservation", () => {
    const c = applyRelayEvent(open(), { type: "close", peer: C, circuit: "c1", now: 5 }, P);
    expect(c.actions).toEqual([{ type: "closed", to: N, circuit: "c1", reason: "closed" }]);
    const g = applyRelayEvent(open(), { type: "peer_gone", peer: N, now: 5 }, P);
    expect(g.actions).toEqual([{ type: "closed", to: C, circuit: "c1", reason: "peer_gone" }]);
    expect(g.state.reservations.size).toBe(0);
    // a refusal by the target closes the client's side only
    let s = applyRelayEvent(initialRelay(), { type: "reserve", peer: N, now: 0 }, P).state;
    s =
      applyRelayEvent(s, { type: "connect", client: C, target: N, circuit: "c9", now: 0 }, P).state;
    expect(applyRelayEvent(s, { type: "refuse", peer: C, circuit: "c9", now: 0 }, P).actions)
      .toEqual([]);
    expect(applyRelayEvent(s, { type: "refuse", peer: N, circuit: "c9", now: 0 }, P).actions)
      .toEqual([{ type: "closed", to: C, circuit: "c9", reason: "refused_by_target" }]);
  });
});
