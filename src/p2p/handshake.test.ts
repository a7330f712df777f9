import { describe, expect, test } from "bun:test";
import { edCrypto } from "../../tests/helpers/p2p.ts";
import {
  applyHandshake,
  type HandshakeCrypto,
  type HandshakeState,
  helloMessage,
  startHandshake,
} from "./handshake.ts";
import type { Outgoing } from "./protocol.ts";

const A = edCrypto(1);
const B = edCrypto(2);
const M = edCrypto(3); // mallory
const chA = "a".repeat(64);
const chB = "b".repeat(64);
const cryptoOf = (c: typeof A): HandshakeCrypto => ({ sign: c.sign, verify: c.verify });

function deliver(state: HandshakeState, msg: Outgoing, from: string, c: HandshakeCrypto) {
  return applyHandshake(state, { kind: msg.kind, from, body: msg.body }, c);
}

describe("handshake", () => {
  test("both sides prove their keys and learn each other's id", () => {
    let a = startHandshake(A.nodeId, chA, B.nodeId);
    let b = startHandshake(B.nodeId, chB, null);
    const ha = helloMessage(a, "ws://a:1", "aria-test");
    const hb = helloMessage(b, null, "aria-test");
    const sa = deliver(b, ha, A.nodeId, cryptoOf(B)); // B gets A's hello: B answers auth
    const sb = deliver(a, hb, B.nodeId, cryptoOf(A));
    b = sa.state;
    a = sb.state;
    expect(sa.send.map((m) => m.kind)).toEqual(["auth"]);
    a = deliver(a, sa.send[0]!, B.nodeId, cryptoOf(A)).state;
    b = deliver(b, sb.send[0]!, A.nodeId, cryptoOf(B)).state;
    expect(a.authenticated && b.authenticated).toBe(true);
    expect(a.hello?.nodeId).toBe(B.nodeId);
    expect(b.hello?.nodeId).toBe(A.nodeId);
  });

  test("a peer claiming another node's id cannot answer the challenge", () => {
    let b = startHandshake(B.nodeId, chB, null);
    // mallory says it is A; it can copy A's id but only sign with its own key
    const hello = { ...helloMessage(startHandshake(A.nodeId, chA, null), null, "x") };
    b = deliver(b, hello, A.nodeId, cryptoOf(B)).state;
    const forged = M.sign(
      new TextEncoder().encode(`aria-p2p-auth/1\n${chB}\n${A.nodeId}\n${B.nodeId}`),
    );
    const step = applyHandshake(
      b,
      { kind: "auth", from: A.nodeId, body: { proof: forged } },
      cryptoOf(B),
    );
    expect(step.state.authenticated).toBe(false);
    expect(step.state.refused?.code).toBe("BAD_SIGNATURE");
    expect(step.send[0]?.kind).toBe("error");
  });

  const refusals: [string, (s: HandshakeState) => ReturnType<typeof applyHandshake>, string][] = [
    [
      "another major version",
      (s) =>
        applyHandshake(s, {
          kind: "hello",
          from: A.nodeId,
          body: { version: "2.0", nodeId: A.nodeId, challenge: chA, listen: null, agent: "x" },
        }, cryptoOf(B)),
      "VERSION",
    ],
    [
      "hello naming an id other than its sender",
      (s) =>
        applyHandshake(s, {
          kind: "hello",
          from: M.nodeId,
          body: { version: "1.0", nodeId: A.nodeId, challenge: chA, listen: null, agent: "x" },
        }, cryptoOf(B)),
      "BAD_SIGNATURE",
    ],
    [
      "a peer claiming our own id",
      (s) =>
        applyHandshake(s, {
          kind: "hello",
          from: B.nodeId,
          body: { version: "1.0", nodeId: B.nodeId, challenge: chA, listen: null, agent: "x" },
        }, cryptoOf(B)),
      "BAD_SIGNATURE",
    ],
    [
      "auth before hello",
      (s) =>
        applyHandshake(
          s,
          { kind: "auth", from: A.nodeId, body: { proof: "0".repeat(128) } },
          cryptoOf(B),
        ),
      "UNAUTHENTICATED",
    ],
    [
      "a request before the handshake",
      (s) => applyHandshake(s, { kind: "ping", from: A.nodeId, body: {} }, cryptoOf(B)),
      "UNAUTHENTICATED",
    ],
  ];
  for (const [name, run, code] of refusals) {
    test(`refused: ${name} (${code})`, () => {
      const step = run(startHandshake(B.nodeId, chB, null));
      expect<string | undefined>(step.state.refused?.code).toBe(code);
      expect(step.state.refused?.reason.length).toBeGreaterThan(0);
    });
  }

  test("refused: the dialled node turns out to be someone else", () => {
    const s = startHandshake(A.nodeId, chA, B.nodeId);
    const step = applyHandshake(s, {
      kind: "hello",
      from: M.nodeId,
      body: { version: "1.0", nodeId: M.nodeId, challenge: chB, listen: null, agent: "x" },
    }, cryptoOf(A));
    expect(step.state.refused?.code).toBe("BAD_SIGNATURE");
  });

  test("a minor version difference is accepted", () => {
    const s = startHandshake(B.nodeId, chB, null);
    const step = applyHandshake(s, {
      kind: "hello",
      from: A.nodeId,
      body: { version: "1.7", nodeId: A.nodeId, challenge: chA, listen: null, agent: "x" },
    }, cryptoOf(B));
    expect(step.state.refused).toBeNull();
  });
});
