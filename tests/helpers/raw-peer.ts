/**
 * @module A hand-driven peer for attack tests: connects to a real node's peer port over loopback,
 * completes the real handshake (protocol 2.0 transcript) with its own key, then sends any
 * envelope (signed, fresh nonce) or raw frame, and records every message the node sends back.
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import { applyHandshake, helloMessage, startHandshake } from "../../src/p2p/handshake.ts";
import { encodeFrame, type Outgoing } from "../../src/p2p/protocol.ts";
import { edCrypto } from "./p2p.ts";
import { until } from "./p2p-procs.ts";

/** A received message (parsed envelope). */
export interface Got {
  kind: string;
  id: string;
  re?: string;
  body: Record<string, unknown>;
}

/** An authenticated raw peer. */
export interface RawPeer {
  id: string;
  got: Got[];
  closed: () => boolean;
  /** Sends a signed envelope to the node; returns its id. */
  send(kind: string, body: unknown, id?: string): string;
  /** Sends bytes as they are (fuzzing). */
  raw(frame: string | Uint8Array<ArrayBuffer>): void;
  /** The replies to a request id so far. */
  replies(id: string): Got[];
  close(): void;
}

/**
 * Connects and authenticates.
 *
 * @param wsUrl the node's peer URL.
 * @param nodeId the node's id.
 * @param seed key seed of this peer.
 * @returns the peer once authenticated.
 */
export async function rawPeer(wsUrl: string, nodeId: string, seed: number): Promise<RawPeer> {
  const key = edCrypto(seed);
  const ws = new WebSocket(wsUrl);
  const got: Got[] = [];
  let closed = false;
  ws.onmessage = (e) => {
    if (typeof e.data !== "string") return;
    try {
      got.push(JSON.parse(JSON.parse(e.data).msg));
    } catch {
      // handled: a frame that is not ours to parse is ignored by the test peer
    }
  };
  ws.onclose = () => (closed = true);
  await new Promise((r) => (ws.onopen = r));
  const nonce = () => bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
  const frame = (m: Outgoing, signed: boolean) =>
    encodeFrame(m, {
      from: key.nodeId,
      ts: Date.now(),
      nonce: nonce(),
      sign: signed ? key.sign : null,
    });
  let hs = startHandshake(
    key.nodeId,
    bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
    nodeId,
    {
      channel: new URL(wsUrl).host,
    },
  );
  ws.send(frame(helloMessage(hs, null, "raw-peer"), false));
  await until(
    () => Promise.resolve(got.filter((m) => m.kind === "hello" || m.kind === "auth").length >= 2),
    "the node's hello and auth",
  );
  for (const m of got.filter((x) => x.kind === "hello" || x.kind === "auth")) {
    const step = applyHandshake(hs, { kind: m.kind, from: nodeId, body: m.body }, key);
    hs = step.state;
    for (const out of step.send) ws.send(frame(out, false));
  }
  if (!hs.authenticated) throw new Error("raw peer: the handshake did not authenticate");
  let n = 0;
  return {
    id: key.nodeId,
    got,
    closed: () => closed,
    send(kind, body, id = `raw${n++}`) {
      ws.send(frame({ kind, id, to: nodeId, body } as Outgoing, true));
      return id;
    },
    raw: (f) => ws.send(f),
    replies: (id) => got.filter((m) => m.re === id),
    close: () => ws.close(),
  };
}
