/**
 * A relayed exchange end to end in memory, with real ed25519 keys: a client C reaches an
 * unreachable node N through relay R. R runs the relay reducer; the ends run openRelayed. The
 * tests play a relay that changes a byte, replays a frame, or swaps circuits.
 */
import { describe, expect, test } from "bun:test";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { identityFromSecret, verifySignature } from "../../identity/identity.ts";
import { encodeFrame, type Outgoing } from "../protocol.ts";
import { NonceCache } from "../replay.ts";
import { type CircuitEnd, openRelayed } from "./endpoint.ts";
import { applyRelayEvent, DEFAULT_RELAY_POLICY, initialRelay, type RelayState } from "./relay.ts";
import { parseRelayMessage } from "./wire.ts";

const c = identityFromSecret(new Uint8Array(32).fill(11));
const n = identityFromSecret(new Uint8Array(32).fill(12));
const r = identityFromSecret(new Uint8Array(32).fill(13));
const verify = (id: string, b: Uint8Array, sig: string) => verifySignature(id, b, hexToBytes(sig));
const NOW = 1_700_000_000_000;
let nonce = 0;

function frame(from: typeof c, to: string, msg: Omit<Outgoing, "to">): string {
  return encodeFrame({ ...msg, to } as Outgoing, {
    from: from.nodeId,
    ts: NOW,
    nonce: (nonce++).toString(16).padStart(32, "0"),
    sign: (b) => bytesToHex(from.sign(b)),
  });
}

const atN: CircuitEnd = { circuit: "k1", relay: r.nodeId, remote: c.nodeId, role: "target" };
const atC: CircuitEnd = { circuit: "k1", relay: r.nodeId, remote: n.nodeId, role: "client" };
const ctx = (self: string) => {
  const cache = new NonceCache();
  return { self, now: NOW, verify, remember: cache.remember.bind(cache) };
};

function circuit(): RelayState {
  let s = applyRelayEvent(initialRelay(), { type: "reserve", peer: n.nodeId, now: NOW }).state;
  s = applyRelayEvent(s, {
    type: "connect",
    client: c.nodeId,
    target: n.nodeId,
    circuit: "k1",
    now: NOW,
  }).state;
  return applyRelayEvent(s, { type: "accept", peer: n.nodeId, circuit: "k1", now: NOW }).state;
}

describe("relayed frames", () => {
  test("a request and its answer cross the relay and check at each end", () => {
    let relay = circuit();
    const nCtx = ctx(n.nodeId), cCtx = ctx(c.nodeId);
    const req = frame(c, n.nodeId, { kind: "ping", id: "q1", body: {} });
    // C -> R: relay.data; R forwards the same frame text to N
    const body = parseRelayMessage("relay.data", { circuit: "k1", frame: req });
    expect(body.ok).toBe(true);
    const step = applyRelayEvent(relay, {
      type: "data",
      peer: c.nodeId,
      circuit: "k1",
      bytes: req.length,
      now: NOW,
    });
    relay = step.state;
    expect(step.actions).toEqual([{
      type: "forward",
      to: n.nodeId,
      circuit: "k1",
      from: c.nodeId,
    }]);
    const got = openRelayed(atN, r.nodeId, req, nCtx);
    expect(got.ok && got.value.envelope.kind).toBe("ping");
    const rep = frame(n, c.nodeId, { kind: "pong", id: "a1", re: "q1", body: {} });
    expect(
      applyRelayEvent(relay, {
        type: "data",
        peer: n.nodeId,
        circuit: "k1",
        bytes: rep.length,
        now: NOW,
      }).actions[0],
    )
      .toMatchObject({ type: "forward", to: c.nodeId });
    const back = openRelayed(atC, r.nodeId, rep, cCtx);
    expect(back.ok && back.value.envelope.re).toBe("q1");
  });

  test("the relay cannot change a byte, replay, forge or swap unnoticed", () => {
    const nCtx = ctx(n.nodeId);
    const text = frame(n, c.nodeId, {
      kind: "complete.chunk",
      id: "a2",
      re: "q2",
      body: { text: "The answer is 42", tokens: [1, 2, 3] },
    });
    const cCtx = ctx(c.nodeId);
    // every single-character change of the answer text is detected
    const at = text.indexOf("42");
    const tampered = text.slice(0, at) + "43" + text.slice(at + 2);
    const t = openRelayed(atC, r.nodeId, tampered, cCtx);
    expect(!t.ok && t.error.fault.code).toBe("BAD_SIGNATURE");
    expect(openRelayed(atC, r.nodeId, text, cCtx).ok).toBe(true);
    // the same frame again: replay
    const again = openRelayed(atC, r.nodeId, text, cCtx);
    expect(!again.ok && again.error.fault.code).toBe("REPLAY");
    // the relay signing a frame in N's name: the signature is R's, not N's
    const forged = frame(r, c.nodeId, { kind: "pong", id: "f1", body: {} }).replace(
      r.nodeId,
      n.nodeId,
    );
    expect(openRelayed(atC, r.nodeId, forged, cCtx).ok).toBe(false);
    // a frame C sent to N, turned around to C as if N sent it: wrong sender and recipient
    const mine = frame(c, n.nodeId, { kind: "ping", id: "p9", body: {} });
    expect(openRelayed(atC, r.nodeId, mine, cCtx).ok).toBe(false);
    // relay.data for this circuit from a node that is not its relay
    const wrongRelay = openRelayed(
      atN,
      c.nodeId,
      frame(c, n.nodeId, { kind: "ping", id: "p1", body: {} }),
      nCtx,
    );
    expect(!wrongRelay.ok && wrongRelay.error.fault.code).toBe("BAD_SIGNATURE");
  });

  test("the relay's byte limit ends the circuit for both ends", () => {
    const policy = { ...DEFAULT_RELAY_POLICY, maxCircuitBytes: 2000 };
    let relay = circuit();
    const big = frame(c, n.nodeId, { kind: "ping", id: "b1", body: {} });
    let closed = false;
    for (let i = 0; i < 20 && !closed; i++) {
      const s = applyRelayEvent(relay, {
        type: "data",
        peer: c.nodeId,
        circuit: "k1",
        bytes: big.length,
        now: NOW + i * 1000,
      }, policy);
      relay = s.state;
      closed = s.actions.some((a) => a.type === "closed");
      if (closed) {
        expect(s.actions.map((a) => a.type === "closed" && a.to)).toEqual([c.nodeId, n.nodeId]);
      }
    }
    expect(closed).toBe(true);
    expect(relay.circuits.size).toBe(0);
  });
});
