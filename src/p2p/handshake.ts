/**
 * @module The handshake: a mutual signed challenge bound to the connection. Each side sends
 * `hello` (its version, claimed node id, a fresh 32-byte challenge and where it listens) and, on
 * the peer's hello, `auth` with an ed25519 signature over the handshake transcript
 * (`transcriptBytes`): AUTH_DOMAIN, the prover's role on this connection (dialer or listener),
 * the channel (the address the dialer dialled, as both ends see it: transport.ts), and both ids
 * and both challenges in dialer-then-listener order. Each side verifies the proof against the id
 * the peer claimed and the transcript as IT saw it: holding the key is proven, a copied id is
 * refused, and a proof forwarded from another connection (a relay, issue 19 hole 2) fails,
 * because that connection had another challenge, another channel or the roles swapped
 * (docs/protocol.md "Why a relayed handshake fails"). Pure: a reducer over the two handshake
 * messages; signing and verifying are passed in.
 */
import { PROTOCOL_VERSION, PROTOCOL_VERSION_STRING } from "./protocol.ts";
import type { Body, ErrorCode, Outgoing } from "./protocol.ts";

/** Prefix of the signed challenge (domain separation from message signatures). */
export const AUTH_DOMAIN = "aria-p2p-auth/2\n";

/** One connection's handshake progress. */
export interface HandshakeState {
  self: string;
  /** Our challenge for this connection (64 hex). */
  challenge: string;
  /** The id we dialled, if we know it: any other id is refused. */
  expectedPeer: string | null;
  /** Whether we opened this connection (dialer) or accepted it (listener). */
  role: Role;
  /** The connection's channel binding (transport.ts `Connection.channel`; "" = none known). */
  channel: string;
  /** The peer's hello, once received. */
  hello: Body<"hello"> | null;
  /** Set when the peer's proof verified. */
  authenticated: boolean;
  /** Set when refused. */
  refused: { code: ErrorCode; reason: string } | null;
}

/** A side of a connection. */
export type Role = "dialer" | "listener";

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
 * @param link our role on the connection (default: dialer when expectedPeer is set) and its
 *   channel binding (default "": the transport gives none).
 * @returns the state.
 */
export function startHandshake(
  self: string,
  challenge: string,
  expectedPeer: string | null,
  link: { role?: Role; channel?: string } = {},
): HandshakeState {
  return {
    self,
    challenge,
    expectedPeer,
    role: link.role ?? (expectedPeer !== null ? "dialer" : "listener"),
    channel: link.channel ?? "",
    hello: null,
    authenticated: false,
    refused: null,
  };
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

/** One side of a handshake transcript. */
export interface TranscriptSide {
  nodeId: string;
  challenge: string;
}

/**
 * The bytes a prover signs: the transcript of the connection's handshake. Both sides build the
 * same bytes from what they sent and received, so a proof verifies only on the connection it was
 * made for: same two challenges (each fresh per connection), same two ids, same roles, same
 * channel.
 *
 * @param prover which side signs.
 * @param dialer the dialer's id and challenge.
 * @param listener the listener's id and challenge.
 * @param channel the channel binding ("" when the transport gives none).
 * @returns the bytes.
 */
export function transcriptBytes(
  prover: Role,
  dialer: Readonly<TranscriptSide>,
  listener: Readonly<TranscriptSide>,
  channel: string,
): Uint8Array {
  // one field per line; none can hold a newline (ids and challenges are hex, the channel is an
  // URL authority checked by the transport), so the encoding is unambiguous
  return new TextEncoder().encode(
    `${AUTH_DOMAIN}prover ${prover}\nchannel ${channel.replace(/\s/g, "")}\n` +
      `dialer ${dialer.nodeId} ${dialer.challenge}\nlistener ${listener.nodeId} ${listener.challenge}`,
  );
}

/** The transcript of `state`'s connection signed by `prover` (us or the peer). */
function transcriptOf(state: HandshakeState, hello: Body<"hello">, prover: "self" | "peer") {
  const self = { nodeId: state.self, challenge: state.challenge };
  const peer = { nodeId: hello.nodeId, challenge: hello.challenge };
  const dialer = state.role === "dialer" ? self : peer;
  const listener = state.role === "dialer" ? peer : self;
  const other: Role = state.role === "dialer" ? "listener" : "dialer";
  return transcriptBytes(prover === "self" ? state.role : other, dialer, listener, state.channel);
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
    if (hello.challenge === state.challenge) {
      // a reflected hello: our own challenge sent back (never drawn twice by an honest peer)
      return refuse(state, "BAD_SIGNATURE", "Peer sent this connection's own challenge back");
    }
    const proof = crypto.sign(transcriptOf(state, hello, "self"));
    return {
      state: { ...state, hello },
      send: [{ kind: "auth", id: "auth", to: hello.nodeId, body: { proof } }],
    };
  }
  if (msg.kind === "auth") {
    if (!state.hello) return refuse(state, "UNAUTHENTICATED", "Auth arrived before hello");
    const proof = (msg.body as Body<"auth">).proof;
    const bytes = transcriptOf(state, state.hello, "peer");
    if (msg.from !== state.hello.nodeId || !crypto.verify(state.hello.nodeId, bytes, proof)) {
      return refuse(state, "BAD_SIGNATURE", "Handshake proof does not match the claimed node id");
    }
    return { state: { ...state, authenticated: true }, send: [] };
  }
  return refuse(state, "UNAUTHENTICATED", `${msg.kind.slice(0, 64)} sent before the handshake`);
}
