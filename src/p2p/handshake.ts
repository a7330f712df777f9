/**
 * @module The handshake: a mutual signed challenge. Each side sends `hello` (its version, claimed
 * node id, a fresh 32-byte challenge and where it listens) and, on the peer's hello, `auth` with
 * an ed25519 signature over AUTH_DOMAIN + peer's challenge + its own id + the peer's id. Each
 * side verifies the proof against the id the peer claimed: holding the key is proven, a copied id
 * is refused. Pure: a reducer over the two handshake messages; signing and verifying are passed in.
 */
import { PROTOCOL_VERSION, PROTOCOL_VERSION_STRING } from "./protocol.ts";
import type { Body, ErrorCode, Outgoing } from "./protocol.ts";

/** Prefix of the signed challenge (domain separation from message signatures). */
export const AUTH_DOMAIN = "aria-p2p-auth/1\n";

/** One connection's handshake progress. */
export interface HandshakeState {
  self: string;
  /** Our challenge for this connection (64 hex). */
  challenge: string;
  /** The id we dialled, if we know it: any other id is refused. */
  expectedPeer: string | null;
  /** The peer's hello, once received. */
  hello: Body<"hello"> | null;
  /** Set when the peer's proof verified. */
  authenticated: boolean;
  /** Set when refused. */
  refused: { code: ErrorCode; reason: string } | null;
}

/** Crypto the handshake needs. */
export interface HandshakeCrypto {
  sign: (bytes: Uint8Array) => string;
  verify: (nodeId: string, bytes: Uint8Array, sigHex: string) => boolean;
}

/**
 * A fresh handshake.
 *
 * @param self our node id.
 * @param challenge 64 hex chars from a CSPRNG (the shell draws them).
 * @param expectedPeer the id we dialled, or null (inbound, or dialled by URL only).
 * @returns the state.
 */
export function startHandshake(
  self: string,
  challenge: string,
  expectedPeer: string | null,
): HandshakeState {
  return { self, challenge, expectedPeer, hello: null, authenticated: false, refused: null };
}

/**
 * Our hello.
 *
 * @param state the handshake.
 * @param listen where we accept connections (null = nowhere).
 * @param agent software name and version (data, never markup).
 * @returns the message to send first on a new connection.
 */
export function helloMessage(
  state: HandshakeState,
  listen: string | null,
  agent: string,
): Outgoing {
  return {
    kind: "hello",
    id: "hello",
    to: state.expectedPeer ?? "",
    body: {
      version: PROTOCOL_VERSION_STRING,
      nodeId: state.self,
      challenge: state.challenge,
      listen,
      agent: agent.slice(0, 200),
    },
  };
}

/**
 * The bytes a prover signs to answer a challenge.
 *
 * @param challenge the verifier's challenge.
 * @param prover who signs.
 * @param verifier who checks.
 * @returns the bytes.
 */
export function authBytes(challenge: string, prover: string, verifier: string): Uint8Array {
  return new TextEncoder().encode(`${AUTH_DOMAIN}${challenge}\n${prover}\n${verifier}`);
}

/** What one handshake message led to. */
export interface HandshakeStep {
  state: HandshakeState;
  send: Outgoing[];
}

function refuse(state: HandshakeState, code: ErrorCode, reason: string): HandshakeStep {
  return {
    state: { ...state, refused: { code, reason } },
    send: [{ kind: "error", id: "refused", to: "", body: { code, message: reason } }],
  };
}

/**
 * Applies one received handshake message (`hello` or `auth`; the shell routes other kinds here
 * too before authentication, and they are refused).
 *
 * @param state the handshake.
 * @param msg kind, sender and body as parsed (protocol.ts validated the shape).
 * @param crypto signer and verifier.
 * @returns the new state and what to send. `state.refused` set = send the error and close;
 *   `state.authenticated` set = the peer is `state.hello.nodeId`.
 */
export function applyHandshake(
  state: HandshakeState,
  msg: { kind: string; from: string; body: unknown },
  crypto: HandshakeCrypto,
): HandshakeStep {
  if (state.refused || state.authenticated) return { state, send: [] };
  if (msg.kind === "hello") {
    if (state.hello) return refuse(state, "MISSING_FIELDS", "Hello was sent twice");
    const hello = msg.body as Body<"hello">;
    const major = Number(hello.version.split(".")[0]);
    if (major !== PROTOCOL_VERSION.major) {
      return refuse(
        state,
        "VERSION",
        `Peer speaks protocol ${hello.version}; this node speaks ${PROTOCOL_VERSION_STRING}`,
      );
    }
    if (hello.nodeId !== msg.from) {
      return refuse(state, "BAD_SIGNATURE", "Hello names a node id other than its sender");
    }
    if (hello.nodeId === state.self) {
      return refuse(state, "BAD_SIGNATURE", "Peer claims this node's own id");
    }
    if (state.expectedPeer !== null && hello.nodeId !== state.expectedPeer) {
      return refuse(state, "BAD_SIGNATURE", "Peer is not the node that was dialled");
    }
    const proof = crypto.sign(authBytes(hello.challenge, state.self, hello.nodeId));
    return {
      state: { ...state, hello },
      send: [{ kind: "auth", id: "auth", to: hello.nodeId, body: { proof } }],
    };
  }
  if (msg.kind === "auth") {
    if (!state.hello) return refuse(state, "UNAUTHENTICATED", "Auth arrived before hello");
    const proof = (msg.body as Body<"auth">).proof;
    const bytes = authBytes(state.challenge, state.hello.nodeId, state.self);
    if (msg.from !== state.hello.nodeId || !crypto.verify(state.hello.nodeId, bytes, proof)) {
      return refuse(state, "BAD_SIGNATURE", "Handshake proof does not match the claimed node id");
    }
    return { state: { ...state, authenticated: true }, send: [] };
  }
  return refuse(state, "UNAUTHENTICATED", `${msg.kind.slice(0, 64)} sent before the handshake`);
}
