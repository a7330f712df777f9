import { describe, expect, test } from "bun:test";
import { edCrypto } from "../../tests/helpers/p2p.ts";
import {
  applyHandshake,
  type HandshakeCrypto,
  type HandshakeState,
  helloMessage,
  startHandshake,
  transcriptBytes,
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
      transcriptBytes("dialer", { nodeId: A.nodeId, challenge: chA }, {
        nodeId: B.nodeId,
        challenge: chB,
      }, ""),
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
          body: { version: "3.0", nodeId: A.nodeId, challenge: chA, listen: null, agent: "x" },
        }, cryptoOf(B)),
      "VERSION",
    ],
    [
      "hello naming an id other than its sender",
      (s) =>
        applyHandshake(s, {
          kind: "hello",
          from: M.nodeId,
          body: { version: "2.0", nodeId: A.nodeId, challenge: chA, listen: null, agent: "x" },
        }, cryptoOf(B)),
      "BAD_SIGNATURE",
    ],
    [
      "a peer claiming our own id",
      (s) =>
        applyHandshake(s, {
          kind: "hello",
          from: B.nodeId,
          body: { version: "2.0", nodeId: B.nodeId, challenge: chA, listen: null, agent: "x" },
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
      body: { version: "2.0", nodeId: M.nodeId, challenge: chB, listen: null, agent: "x" },
    }, cryptoOf(A));
    expect(step.state.refused?.code).toBe("BAD_SIGNATURE");
  });

  test("a minor version difference is accepted", () => {
    const s = startHandshake(B.nodeId, chB, null);
    const step = applyHandshake(s, {
      kind: "hello",
      from: A.nodeId,
      body: { version: "2.7", nodeId: A.nodeId, challenge: chA, listen: null, agent: "x" },
    }, cryptoOf(B));
    expect(step.state.refused).toBeNull();
  });

  // issue 19, hole 2: mallory opens one connection to A and one to B and forwards each hello and
  // each proof to the other side; neither A nor B may accept it as the other
  const relayCases: [
    string,
    { a: "dialer" | "listener"; b: "dialer" | "listener" },
    string,
    string,
  ][] = [
    ["mallory dials both (roles swapped)", { a: "listener", b: "listener" }, "ws://a", "ws://b"],
    [
      "A dials mallory, mallory dials B (channels differ)",
      { a: "dialer", b: "listener" },
      "ws://m",
      "ws://b",
    ],
    [
      "on the path (one channel): a wire, not a peer",
      { a: "dialer", b: "listener" },
      "ws://b",
      "ws://b",
    ],
  ];
  for (const [name, roles, chanA, chanB] of relayCases) {
    test(`a relayed handshake fails: ${name}`, () => {
      // A's connection is with mallory, B's is with mallory; mallory forwards hellos verbatim
      let a = startHandshake(A.nodeId, chA, null, { role: roles.a, channel: chanA });
      let b = startHandshake(B.nodeId, chB, null, { role: roles.b, channel: chanB });
      // mallory's hello to A claims B but must carry a challenge: B's own (forwarded), or one
      // of mallory's choosing; it gets A's proof over what A saw, and forwards it to B
      const toA = helloMessage(startHandshake(B.nodeId, chB, null), null, "x");
      const toB = helloMessage(startHandshake(A.nodeId, chA, null), null, "x");
      const stepA = deliver(a, toA, B.nodeId, cryptoOf(A));
      const stepB = deliver(b, toB, A.nodeId, cryptoOf(B));
      a = stepA.state;
      b = stepB.state;
      // forward A's proof to B and B's proof to A
      const atB = deliver(b, stepA.send[0]!, A.nodeId, cryptoOf(B));
      const atA = deliver(a, stepB.send[0]!, B.nodeId, cryptoOf(A));
      if (chanA === chanB && roles.a !== roles.b) {
        // the one arrangement that verifies: A dialled B's own address and mallory sits on the
        // network path. Then A and B authenticate EACH OTHER (not mallory), and every later
        // message is signed from one to the other: mallory is a wire that can drop or read
        // (use wss to hide the text), never speak as either (docs/protocol.md)
        expect(atB.state.authenticated && atA.state.authenticated).toBe(true);
        expect(atB.state.hello?.nodeId).toBe(A.nodeId);
        return;
      }
      expect(atB.state.authenticated).toBe(false);
      expect(atA.state.authenticated).toBe(false);
      expect(atB.state.refused?.code).toBe("BAD_SIGNATURE");
    });
  }

  test("a hello reflecting our own challenge is refused", () => {
    const b = startHandshake(B.nodeId, chB, null);
    const step = deliver(
      b,
      helloMessage(startHandshake(A.nodeId, chB, null), null, "x"),
      A.nodeId,
      cryptoOf(B),
    );
    expect(step.state.refused?.code).toBe("BAD_SIGNATURE");
  });
});
