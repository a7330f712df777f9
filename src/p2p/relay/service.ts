/**
 * @module The relay namespace on a running node (shell): plugs into `PeerNode.setOverlayHandler`
 * and plays the three roles of docs/protocol.md "Relays":
 * - relay: runs the relay reducer (relay.ts) with its owner's policy and sends what it says;
 * - target (a node that cannot be dialled): holds reservations at relays, accepts incoming
 *   circuits, opens every relayed frame with `openRelayed` and serves relayed `complete.request`s
 *   through the node's ordinary request handler, its replies going back as relayed frames;
 * - client: `request()` opens a circuit to a target through a relay and streams the target's
 *   checked replies.
 * It reads the clock and draws nonces (through its deps); the decisions are in relay.ts and
 * endpoint.ts.
 */
import {
  type CompleteRequestBody,
  encodeFrame,
  type Envelope,
  type Outgoing,
} from "../protocol.ts";
import { PeerRequestError, type RequestHandler } from "../node.ts";
import { NonceCache } from "../replay.ts";
import { replyStream } from "../_reply-stream.ts";
import { type CircuitEnd, openRelayed } from "./endpoint.ts";
import {
  applyRelayEvent,
  DEFAULT_RELAY_POLICY,
  initialRelay,
  type RelayAction,
  type RelayEvent,
  type RelayPolicy,
  type RelayState,
} from "./relay.ts";
import { parseRelayMessage, type RelayMessage } from "./wire.ts";

/** How long a client waits for the relay to connect a circuit (ms). Why 10 s: the relay asks the
 * target and waits for its answer, two round trips even over slow home links. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** The parts of a PeerNode the service uses. */
export interface RelayNode {
  readonly id: string;
  send(peer: string, msg: Omit<Outgoing, "to" | "id"> & { id?: string }): boolean;
  open(peer: string, kind: `relay.${string}`, body: unknown): {
    id: string;
    replies: AsyncGenerator<Envelope, void, void>;
    close(): void;
  };
}

/** What the service needs. */
export interface RelayServiceDeps {
  node: RelayNode;
  sign(bytes: Uint8Array): string;
  verify(nodeId: string, bytes: Uint8Array, sigHex: string): boolean;
  clock: { nowMs(): number };
  randomHex(bytes: number): string;
  /** The relay role's limits (default: relaying off). */
  policy?: RelayPolicy;
  /** The target role: serves relayed requests (null = refuse incoming circuits). */
  onRequest?: RequestHandler | null;
  /** Tests only: how a dishonest relay rewrites the frames it forwards. */
  tamper?: (frame: string) => string;
  log?: (entry: Record<string, unknown>) => void;
}

interface End extends CircuitEnd {
  /** Client: receives the target's checked envelopes. */
  push?: (e: Envelope) => void;
  fail?: (err: Error) => void;
  /** Target: aborts the request being served. */
  abort?: AbortController;
}

/** The relay namespace of one node. */
export class RelayService {
  readonly #d: RelayServiceDeps;
  readonly #policy: RelayPolicy;
  #relay: RelayState = initialRelay();
  /** Relay role: the request id each pending answer replies to (by peer or circuit). */
  readonly #replyTo = new Map<string, string>();
  readonly #ends = new Map<string, End>();
  readonly #nonces = new NonceCache();
  /** Target role: relays we hold a reservation at (node id -> expiry). */
  readonly #reservedAt = new Map<string, number>();
  /** Circuits closed, by reason (tests and logs). */
  readonly closed: Record<string, number> = {};
  /** Relayed frames refused by this end's check, by protocol code (the network view). */
  readonly refusedFrames: Record<string, number> = {};

  constructor(deps: RelayServiceDeps) {
    this.#d = deps;
    this.#policy = deps.policy ?? { ...DEFAULT_RELAY_POLICY, enabled: false };
  }

  /** Open circuits at this relay (tests and the network view). */
  get relayState(): RelayState {
    return this.#relay;
  }

  #apply(e: RelayEvent): RelayAction[] {
    const step = applyRelayEvent(this.#relay, e, this.#policy);
    this.#relay = step.state;
    for (const a of step.actions) this.#execute(a);
    return step.actions;
  }

  #execute(a: RelayAction): void {
    const send = (kind: `relay.${string}`, body: unknown, re?: string) =>
      this.#d.node.send(
        a.to,
        { kind, body, ...(re !== undefined ? { re } : {}) } as Omit<Outgoing, "to" | "id">,
      );
    switch (a.type) {
      case "reserved": {
        const limits = {
          maxCircuitBytes: a.policy.maxCircuitBytes,
          maxCircuitMs: a.policy.maxCircuitMs,
          maxBytesPerSecond: a.policy.maxBytesPerSecond,
        };
        send("relay.reserved", { expiresMs: a.expiresMs, limits }, this.#take(`reserve:${a.to}`));
        return;
      }
      case "refused": {
        const re = this.#take(a.circuit === null ? `reserve:${a.to}` : `connect:${a.circuit}`);
        send("relay.refused", { circuit: a.circuit, reason: a.reason }, re);
        return;
      }
      case "incoming":
        send("relay.incoming", { circuit: a.circuit, from: a.from });
        return;
      case "connected":
        send("relay.connected", { circuit: a.circuit }, this.#take(`connect:${a.circuit}`));
        return;
      case "forward":
        return; // sent by #data, which holds the frame
      case "closed":
        this.closed[a.reason] = (this.closed[a.reason] ?? 0) + 1;
        send("relay.closed", { circuit: a.circuit, reason: a.reason });
        return;
    }
  }

  #take(key: string): string | undefined {
    const re = this.#replyTo.get(key);
    this.#replyTo.delete(key);
    return re;
  }

  /**
   * A `relay.*` or `reach.*` message from an authenticated peer (ExtensionHandler). Never throws:
   * a body that does not parse is logged and dropped (handled here).
   */
  onMessage(peer: string, env: Envelope): void {
    const parsed = parseRelayMessage(env.kind, env.body);
    if (!parsed.ok) {
      this.#d.log?.({ event: "relay_bad_message", peer, reason: parsed.error });
      return;
    }
    this.#handle(peer, env, parsed.value);
  }

  #handle(peer: string, env: Envelope, m: RelayMessage): void {
    const now = this.#d.clock.nowMs();
    switch (m.kind) {
      case "relay.reserve":
        this.#replyTo.set(`reserve:${peer}`, env.id);
        this.#apply({ type: "reserve", peer, now });
        return;
      case "relay.connect":
        this.#replyTo.set(`connect:${m.body.circuit}`, env.id);
        this.#apply({
          type: "connect",
          client: peer,
          target: m.body.target,
          circuit: m.body.circuit,
          now,
        });
        return;
      case "relay.accept":
        this.#apply({ type: "accept", peer, circuit: m.body.circuit, now });
        return;
      case "relay.refuse":
        this.#apply({ type: "refuse", peer, circuit: m.body.circuit, now });
        return;
      case "relay.close":
        this.#apply({ type: "close", peer, circuit: m.body.circuit, now });
        return;
      case "relay.incoming":
        return this.#incoming(peer, m.body.circuit, m.body.from);
      case "relay.data":
        return this.#data(peer, m.body.circuit, m.body.frame, now);
      case "relay.closed":
        return this.#endClosed(peer, m.body.circuit, m.body.reason);
      default:
        return; // handled here: replies arrive through open(); reach.* is not served by this class
    }
  }

  #incoming(relay: string, circuit: string, from: string): void {
    // handled here: circuits are accepted only through relays we reserved at (nobody else may open
    // one to us), only with a request handler, and never twice under one id
    const reserved = (this.#reservedAt.get(relay) ?? 0) > this.#d.clock.nowMs();
    if (!this.#d.onRequest || !reserved || this.#ends.has(circuit)) {
      this.#d.node.send(relay, { kind: "relay.refuse", body: { circuit } });
      return;
    }
    this.#ends.set(circuit, { circuit, relay, remote: from, role: "target" });
    this.#d.node.send(relay, { kind: "relay.accept", body: { circuit } });
  }

  #data(peer: string, circuit: string, frame: string, now: number): void {
    const end = this.#ends.get(circuit);
    if (end && end.relay === peer) return this.#endData(end, frame, now);
    // the relay role: account, then forward the frame as it came (or as a test's dishonest relay
    // rewrites it)
    const actions = this.#apply({ type: "data", peer, circuit, bytes: frame.length, now });
    for (const a of actions) {
      if (a.type !== "forward") continue; // refusals and limit closes were sent by #apply
      const out = this.#d.tamper ? this.#d.tamper(frame) : frame;
      this.#d.node.send(a.to, { kind: "relay.data", body: { circuit, frame: out } });
    }
  }

  #endData(end: End, frame: string, now: number): void {
    const opened = openRelayed(end, end.relay, frame, {
      self: this.#d.node.id,
      now,
      verify: this.#d.verify,
      remember: (f, n, ts, t) => this.#nonces.remember(f, n, ts, t),
    });
    if (!opened.ok) {
      // handled here: a frame that fails its end-to-end check closes the circuit; the client's
      // request fails with the protocol code (BAD_SIGNATURE, REPLAY, STALE, ...)
      const { code, message } = opened.error.fault;
      this.refusedFrames[code] = (this.refusedFrames[code] ?? 0) + 1;
      this.#d.log?.({ event: "relay_frame_refused", circuit: end.circuit, code });
      this.#closeEnd(end, new PeerRequestError(code, `Relayed frame refused: ${message}`));
      this.#d.node.send(end.relay, { kind: "relay.close", body: { circuit: end.circuit } });
      return;
    }
    const env = opened.value.envelope;
    if (end.role === "client") return end.push?.(env);
    if (env.kind === "complete.request") return this.#serve(end, env);
    if (env.kind === "cancel") end.abort?.abort(new Error("Cancelled by peer"));
  }

  #serve(end: End, env: Envelope & { kind: "complete.request" }): void {
    const handler = this.#d.onRequest;
    if (!handler || end.abort) return; // handled here: one request per circuit
    const ctrl = new AbortController();
    this.#ends.set(end.circuit, { ...end, abort: ctrl });
    const reply = (m: { kind: string; body: unknown }) =>
      this.#ends.has(end.circuit) &&
      this.#sendFrame(
        end,
        { kind: m.kind, body: m.body, id: this.#d.randomHex(8), re: env.id } as Omit<
          Outgoing,
          "to"
        >,
      );
    handler(end.remote, env, reply, ctrl.signal)
      .catch((err: unknown) => this.#d.log?.({ event: "relay_serve_error", error: String(err) }))
      .finally(() => {
        this.#ends.delete(end.circuit);
        this.#d.node.send(end.relay, { kind: "relay.close", body: { circuit: end.circuit } });
      });
  }

  #sendFrame(end: CircuitEnd, msg: Omit<Outgoing, "to">): boolean {
    const frame = encodeFrame({ ...msg, to: end.remote } as Outgoing, {
      from: this.#d.node.id,
      ts: this.#d.clock.nowMs(),
      nonce: this.#d.randomHex(16),
      sign: this.#d.sign,
    });
    return this.#d.node.send(end.relay, {
      kind: "relay.data",
      body: { circuit: end.circuit, frame },
    });
  }

  #endClosed(peer: string, circuit: string, reason: string): void {
    const end = this.#ends.get(circuit);
    if (!end || end.relay !== peer) return;
    this.#closeEnd(
      end,
      new PeerRequestError("RELAY_CLOSED", `Relay closed the circuit: ${reason}`),
    );
  }

  #closeEnd(end: End, err: Error): void {
    this.#ends.delete(end.circuit);
    end.fail?.(err);
    end.abort?.abort(err);
  }

  /** The peer's connection is gone (ExtensionHandler). */
  onPeerGone(peer: string): void {
    this.#apply({ type: "peer_gone", peer, now: this.#d.clock.nowMs() });
    for (const end of [...this.#ends.values()]) {
      if (end.relay === peer) {
        this.#closeEnd(end, new PeerRequestError("PEER_GONE", "Relay connection lost"));
      }
    }
  }

  /** Timers: circuits past their lifetime are closed. Call every second or so. */
  tick(): void {
    this.#apply({ type: "tick", now: this.#d.clock.nowMs() });
  }

  /**
   * Target role: reserves a slot at `relay`.
   *
   * @returns the reservation's expiry and limits.
   * @throws {PeerRequestError} the relay's refusal reason, or PEER_GONE.
   */
  async reserve(relay: string): Promise<{ expiresMs: number }> {
    const req = this.#d.node.open(relay, "relay.reserve", {});
    try {
      for await (const env of req.replies) {
        const m = parseRelayMessage(env.kind, env.body);
        if (m.ok && m.value.kind === "relay.reserved") {
          this.#reservedAt.set(relay, m.value.body.expiresMs);
          return m.value.body;
        }
        if (m.ok && m.value.kind === "relay.refused") {
          throw new PeerRequestError(
            "RELAY_REFUSED",
            `Relay refused the reservation: ${m.value.body.reason}`,
          );
        }
        throw new PeerRequestError("RELAY_REFUSED", `Unexpected answer ${env.kind.slice(0, 64)}`);
      }
      throw new PeerRequestError("PEER_GONE", "Relay went away before answering");
    } finally {
      req.close();
    }
  }

  /**
   * Client role: sends a completion request to `target` through `relay` and streams the target's
   * replies (complete.chunk …, then complete.end or error), each checked end to end.
   *
   * @throws {PeerRequestError} RELAY_REFUSED, RELAY_CLOSED (with the relay's reason, e.g. a limit),
   *   or the protocol code of a frame that failed its check (BAD_SIGNATURE, REPLAY, …).
   */
  async *request(
    relay: string,
    target: string,
    body: CompleteRequestBody,
  ): AsyncGenerator<Envelope> {
    const circuit = `c${this.#d.randomHex(12)}`;
    const stream = replyStream<Envelope>();
    this.#ends.set(circuit, {
      circuit,
      relay,
      remote: target,
      role: "client",
      push: stream.push,
      fail: stream.fail,
    });
    const connect = this.#d.node.open(relay, "relay.connect", { target, circuit });
    // a relay that never answers must not hang the client: give up after CONNECT_TIMEOUT_MS
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<{ done: true; value: undefined }>((resolve) => {
      timer = setTimeout(() => resolve({ done: true, value: undefined }), CONNECT_TIMEOUT_MS);
    });
    try {
      const first = await Promise.race([connect.replies.next(), timeout]);
      clearTimeout(timer);
      connect.close();
      const answer = first.done ? null : parseRelayMessage(first.value.kind, first.value.body);
      if (!answer?.ok || answer.value.kind !== "relay.connected") {
        const reason = answer?.ok && answer.value.kind === "relay.refused"
          ? answer.value.body.reason
          : "no answer";
        throw new PeerRequestError("RELAY_REFUSED", `Relay refused the circuit: ${reason}`);
      }
      this.#sendFrame(
        this.#ends.get(circuit)!,
        { kind: "complete.request", id: this.#d.randomHex(8), body } as Omit<Outgoing, "to">,
      );
      for await (const env of stream.replies) {
        yield env;
        if (env.kind === "complete.end" || env.kind === "error") return;
      }
    } finally {
      const open = this.#ends.has(circuit);
      this.#ends.delete(circuit);
      if (open) this.#d.node.send(relay, { kind: "relay.close", body: { circuit } });
    }
  }
}
