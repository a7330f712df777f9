/**
 * @module Shell: pipeline stages over the peer network. `StageWire` is the node's extension
 * (node.ts `setExtension`) for both roles:
 *
 * - coordinator: `network()` is a `StageNetwork` (pipeline.ts) whose adverts come from the peer
 *   table and whose links send each tensor frame as a binary message with a correlation id
 *   (stage-wire.ts) and wait for the reply with that id. A link rejects at once when the peer is
 *   not connected, when its connection drops with requests pending, or when the coordinator's
 *   time-out aborts the request: the coordinator then fails over.
 * - stage: given a `StageServer`, it answers request messages from authenticated peers only (the
 *   node drops binary frames before the handshake). Each new session passes the consent gate
 *   (`admit`, kind "pipeline-stage", fromPeer true) and holds its ticket until the session is
 *   closed, reclaimed as idle, or its peer disconnects; a session belongs to the peer that opened
 *   it, and frames for it from another peer are refused.
 *
 * Never throws into the node (STYLE.md B7.4): a malformed message is counted and ignored (it has
 * no id to answer), a refused request gets an error frame.
 */
import type { P2PNode } from "../p2p/node.ts";
import { PeerRequestError } from "../p2p/node.ts";
import type { StageLink, StageNetwork } from "./pipeline.ts";
import type { StageAdvert } from "./pipeline-plan.ts";
import type { Envelope } from "../p2p/protocol.ts";
import type { StageServer } from "./stage.ts";
import {
  decodeStageMessage,
  encodeStageMessage,
  MAX_STAGE_TENSOR_BYTES,
  stageAdvertsFromPeers,
} from "./stage-wire.ts";
import { decodeTensorFrame, encodeTensorFrame, type TensorFrame } from "./tensor-frame.ts";

/** A consent ticket (src/consent PolicyGate's), as the stage service uses it. */
export interface StageTicket {
  addTokens(n: number): void;
  release(): void;
}

/** Admits a new session from a peer, or throws an error whose `code` goes into the error frame
 * (CONSENT_DENIED, BUSY). */
export type StageAdmit = (peer: string) => StageTicket;

/** Options of {@link StageWire}. */
export interface StageWireOptions {
  /** Serve this stage to peers (omit on a coordinator). */
  stage?: StageServer;
  /** Consent for each new session (required with `stage`). */
  admit?: StageAdmit;
  /** Milliseconds from an arbitrary origin (default performance.now), for the speed figure. */
  nowMs?: () => number;
  log?: (entry: Record<string, unknown>) => void;
}

interface Waiting {
  peer: string;
  resolve(bytes: Uint8Array): void;
  reject(err: Error): void;
}

interface Held {
  peer: string;
  ticket: StageTicket;
}

/** Weight of the newest measurement in the moving average of the stage's speed. */
const SPEED_EMA = 0.2;

/** The pipeline's binary messages on one node, both roles. */
export class StageWire {
  readonly #o: StageWireOptions;
  readonly #waiting = new Map<number, Waiting>();
  readonly #held = new Map<string, Held>();
  #node: P2PNode | null = null;
  #nextId = 0;
  #msPerToken = 0;
  /** Messages ignored because they could not be decoded or answered nothing we asked. */
  ignored = 0;

  /** @param options the stage to serve (if any), its consent, clock, log. */
  constructor(options: Readonly<StageWireOptions> = {}) {
    if (options.stage && !options.admit) {
      throw new TypeError("Cannot serve a stage over the peer network without a consent check");
    }
    this.#o = options;
  }

  /**
   * Plugs into a node (before `node.start()`).
   *
   * @param node the node.
   */
  attach(node: P2PNode): void {
    this.#node = node;
    node.setExtension({
      onMessage: (peer, env) => this.#onMessage(peer, env),
      onBinary: (peer, bytes) => this.#onBinary(peer, bytes),
      onPeerGone: (peer) => this.#onPeerGone(peer),
    });
  }

  /**
   * Measured tokens/s through all the blocks this stage loaded (one row per frame, moving
   * average); 0 until measured.
   */
  get tokensPerSecond(): number {
    return this.#msPerToken > 0 ? 1000 / this.#msPerToken : 0;
  }

  /** Sessions this node serves for peers now. */
  get sessions(): number {
    return this.#held.size;
  }

  /**
   * The coordinator's view of the network.
   *
   * @returns adverts from the peer table and links over binary messages.
   */
  network(): StageNetwork {
    return {
      adverts: (modelHash: string): StageAdvert[] =>
        this.#node ? stageAdvertsFromPeers(this.#node.state.peers.values(), modelHash) : [],
      link: (nodeId: string): StageLink => this.link(nodeId),
    };
  }

  /**
   * A link to a stage peer.
   *
   * @param peer the peer's node id.
   * @returns the link (requests reject when the peer is or becomes unreachable).
   */
  link(peer: string): StageLink {
    return { nodeId: peer, request: (frame, signal) => this.#request(peer, frame, signal) };
  }

  /** Closes the sessions the stage reclaimed or that went idle, releasing their consent. */
  sweep(): void {
    this.#o.stage?.sweep();
    this.#reconcile();
  }

  #request(peer: string, frame: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    const node = this.#node;
    if (frame.length > MAX_STAGE_TENSOR_BYTES) {
      return Promise.reject(
        new RangeError(
          `Cannot send a tensor frame of ${frame.length} bytes: the peer network carries at most ${MAX_STAGE_TENSOR_BYTES}`,
        ),
      );
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) >>> 0;
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => {
        this.#waiting.delete(id);
        reject(signal.reason instanceof Error ? signal.reason : new Error("Request aborted"));
      };
      const done = () => signal.removeEventListener("abort", onAbort);
      this.#waiting.set(id, {
        peer,
        resolve: (b) => (done(), resolve(b)),
        reject: (e) => (done(), reject(e)),
      });
      signal.addEventListener("abort", onAbort, { once: true });
      const sent = node?.sendBinary(peer, encodeStageMessage({ type: "request", id, frame }));
      if (!sent) {
        this.#waiting.get(id)?.reject(
          new PeerRequestError(
            "PEER_GONE",
            `Cannot reach stage ${peer.slice(0, 12)}: not connected`,
          ),
        );
        this.#waiting.delete(id);
      }
    });
  }

  #onMessage(peer: string, env: Envelope): void {
    // handled here: no pipe.* text kinds are defined yet; counted and ignored
    this.ignored++;
    this.#o.log?.({ event: "pipe_message_ignored", peer, kind: env.kind });
  }

  #onBinary(peer: string, bytes: Uint8Array): void {
    const m = decodeStageMessage(bytes);
    if (!m.ok) {
      // handled here: without a readable id nothing can be answered; counted (B7.4)
      this.ignored++;
      this.#o.log?.({ event: "stage_message_invalid", peer, reason: m.reason });
      return;
    }
    if (m.value.type === "reply") {
      const w = this.#waiting.get(m.value.id);
      // handled here: a late reply (after a time-out) or one from another peer is ignored
      if (w === undefined || w.peer !== peer) return void this.ignored++;
      this.#waiting.delete(m.value.id);
      w.resolve(m.value.frame.slice());
      return;
    }
    const reply = this.#serve(peer, m.value.frame);
    this.#node?.sendBinary(
      peer,
      encodeStageMessage({ type: "reply", id: m.value.id, frame: reply }),
    );
  }

  /** One request frame from a peer: owner and consent checks, then the stage. Never throws. */
  #serve(peer: string, bytes: Uint8Array): Uint8Array {
    const stage = this.#o.stage;
    let frame: TensorFrame;
    try {
      frame = decodeTensorFrame(bytes, { maxBytes: MAX_STAGE_TENSOR_BYTES });
    } catch (err: unknown) {
      // converted: an undecodable frame gets an error frame (as StageServer.handle answers)
      return errorFrame(ZERO_SESSION, 0, "FRAME_INVALID", String(err));
    }
    if (!stage) {
      return errorFrame(
        frame.session,
        frame.sequence,
        "BAD_REQUEST",
        "This node serves no pipeline stage",
      );
    }
    const held = this.#held.get(frame.session);
    if (held !== undefined && held.peer !== peer) {
      return errorFrame(
        frame.session,
        frame.sequence,
        "BAD_REQUEST",
        "Session belongs to another peer",
      );
    }
    if (frame.kind === "close") {
      const reply = stage.handleFrame(frame);
      if (held) this.#forget(frame.session);
      return reply;
    }
    let ticket = held?.ticket;
    if (held !== undefined && !stage.hasSession(frame.session)) {
      this.#forget(frame.session); // reclaimed as idle: a new admission below
      ticket = undefined;
    }
    if (ticket === undefined) {
      try {
        ticket = this.#o.admit!(peer);
      } catch (err: unknown) {
        // converted: a refusal becomes an error frame; the coordinator fails over
        const code = (err as { code?: unknown })?.code === "BUSY" ? "BUSY" : "CONSENT_DENIED";
        const message = err instanceof Error ? err.message : String(err);
        return errorFrame(frame.session, frame.sequence, code, message);
      }
    }
    const t0 = this.#now();
    const reply = stage.handleFrame(frame);
    const rows = frame.kind === "tokens"
      ? frame.tokens.length
      : frame.kind === "hidden"
      ? frame.rows
      : 0;
    if (stage.hasSession(frame.session)) {
      this.#held.set(frame.session, { peer, ticket });
      ticket.addTokens(rows);
      if (rows === 1) this.#measure(this.#now() - t0, frame.layerEnd - frame.layerBegin, stage);
    } else ticket.release(); // refused (SESSION_GAP, BUSY, …): nothing is held
    return reply;
  }

  #measure(ms: number, blocks: number, stage: StageServer): void {
    if (!(ms > 0) || blocks <= 0) return;
    const full = ms * (stage.layerEnd - stage.layerBegin) / blocks;
    this.#msPerToken = this.#msPerToken === 0
      ? full
      : this.#msPerToken + SPEED_EMA * (full - this.#msPerToken);
  }

  #now(): number {
    return (this.#o.nowMs ?? (() => performance.now()))();
  }

  #forget(session: string): void {
    const h = this.#held.get(session);
    if (h === undefined) return;
    this.#held.delete(session);
    h.ticket.release();
  }

  #reconcile(): void {
    const stage = this.#o.stage;
    if (!stage) return;
    for (const session of [...this.#held.keys()]) {
      if (!stage.hasSession(session)) this.#forget(session);
    }
  }

  #onPeerGone(peer: string): void {
    for (const [id, w] of [...this.#waiting]) {
      if (w.peer !== peer) continue;
      this.#waiting.delete(id);
      w.reject(
        new PeerRequestError("PEER_GONE", `Cannot finish: stage ${peer.slice(0, 12)} disconnected`),
      );
    }
    for (const [session, h] of [...this.#held]) {
      if (h.peer !== peer) continue;
      this.#o.stage?.closeSession(session);
      this.#forget(session);
    }
  }
}

const ZERO_SESSION = "0".repeat(32);

function errorFrame(session: string, sequence: number, code: string, message: string): Uint8Array {
  return encodeTensorFrame({
    session,
    sequence,
    posStart: 0,
    layerBegin: 0,
    layerEnd: 0,
    kind: "error",
    code,
    message: message.slice(0, 1000),
  });
}
