/**
 * @module Shell: the peer node. Runs the handshake on every connection, checks every frame
 * (protocol.ts: size, JSON, shape, signature, freshness, replay; rate-limit.ts: flood), keeps the
 * peer table (peer-state.ts) and executes the planner's actions (plan.ts). Either side of a
 * connection can send requests; replies are matched by `re`. The Bun WebSocket transport is in
 * bun-transport.ts (re-exported here). Handlers never throw:
 * a peer's error becomes an `error` reply or a close with a 4000-4999 code (STYLE.md B7.4).
 */
import { type Connection, type Transport, type TransportHandlers } from "./transport.ts";
import {
  type Advert,
  AUDIT_KIND_PREFIX,
  type AuditKind,
  type Body,
  checkEnvelope,
  type CoreKind,
  encodeFrame,
  type Envelope,
  type ErrorCode,
  isOverlayKind,
  LEDGER_KIND_PREFIX,
  MAX_BINARY_FRAME_BYTES,
  type Outgoing,
  type OverlayKind,
  parseFrame,
  PIPELINE_KIND_PREFIX,
} from "./protocol.ts";
import { applyHandshake, type HandshakeState, helloMessage, startHandshake } from "./handshake.ts";
import {
  applyPeerEvent,
  initialPeerState,
  type PeerEvent,
  peerHints,
  type PeerState,
} from "./peer-state.ts";
import { type Action, decide, DEFAULT_PLAN, type PlanConfig } from "./plan.ts";
import {
  type Bucket,
  DEFAULT_PEER_RATE,
  newBucket,
  type RateLimit,
  takeToken,
} from "./rate-limit.ts";
import { NonceCache } from "./replay.ts";
import { admit, DEFAULT_ADMISSION, type PendingConnection } from "./admission.ts";
import { replyStream } from "./_reply-stream.ts";
import { AriaError } from "../shared/errors.ts";

export { bunTransport, type BunTransportOptions } from "./bun-transport.ts";

/** Close codes (application range 4000-4999). */
export const CLOSE = {
  refused: 4001,
  handshakeTimeout: 4002,
  dropped: 4003,
  duplicate: 4009,
} as const;

/** Signing and verifying (ed25519 in production; the 200-node harness passes a cheap stand-in). */
export interface NodeCrypto {
  nodeId: string;
  sign(bytes: Uint8Array): string;
  verify(nodeId: string, bytes: Uint8Array, sigHex: string): boolean;
}

/** Handles the `pipe.*` namespace (pipeline parallelism plugs in here). */
export interface ExtensionHandler {
  /** A signed, checked `pipe.*` message from an authenticated peer. */
  onMessage(peer: string, envelope: Envelope): void;
  /** A binary frame from an authenticated peer (tensor frames). */
  onBinary?(peer: string, bytes: Uint8Array): void;
  /** The peer's connection is gone: fail what waits on it, forget what it held. */
  onPeerGone?(peer: string): void;
}

/** Serves `complete.request`s from peers (serve-peer.ts implements it over a backend). */
export type RequestHandler = (
  peer: string,
  envelope: Envelope & { kind: "complete.request" },
  reply: (msg: { kind: CoreKind; body: unknown }) => boolean,
  signal: AbortSignal,
) => Promise<void>;

/** What a node needs. */
export interface NodeDeps {
  crypto: NodeCrypto;
  transport: Transport;
  clock: { nowMs(): number };
  /** Random hex of `bytes` bytes (nonces, challenges). */
  randomHex(bytes: number): string;
  bootstrap?: readonly string[];
  plan?: PlanConfig;
  rate?: RateLimit;
  /** Rate of binary frames per connection (default DEFAULT_BINARY_RATE). */
  binaryRate?: RateLimit;
  /** Our advert, read at every tick (null = nothing to offer yet). */
  advert?: () => Advert | null;
  onRequest?: RequestHandler;
  agent?: string;
  handshakeTimeoutMs?: number;
  /** Most open connections (default 256). */
  maxSessions?: number;
  log?: (entry: Record<string, unknown>) => void;
}

/** A request to a peer failed: it refused (code), timed out, or went away. */
export class PeerRequestError extends AriaError {
  /** @param code protocol error code or PEER_GONE / TIMEOUT. @param message what failed. */
  constructor(code: string, message: string) {
    super(code, message);
  }
}

interface Session {
  conn: Connection;
  dialedUrl: string | null;
  /** The remote address of an inbound connection (admission limits), null when unknown. */
  address: string | null;
  openedMs: number;
  hs: HandshakeState;
  peer: string | null;
  bucket: Bucket;
  binaryBucket: Bucket;
  errBucket: Bucket;
  /** Refused frames counted without a reply (error replies are rate limited too). */
  dropped: number;
}

interface Pending {
  peer: string;
  push(env: Envelope): void;
  fail(err: PeerRequestError): void;
}

/** Error replies per second per connection. Why: answering every frame of a flood is itself a
 * flood; after this, refused frames are only counted. */
const ERROR_RATE: RateLimit = { ratePerSec: 5, burst: 20 };

/** Hints per peer-exchange reply. Why 16: the 200-node harness converges in as many rounds as
 * with 32 and sends fewer bytes (tests/p2p/discovery.test.ts). */
const HINTS_PER_REPLY = 16;

/** Most open connections, authenticated or not. Why 256: eight times the peer cap of plan.ts,
 * room for handshakes in progress and peers being trimmed. */
/** Why 3 s: an honest handshake is two messages each way (milliseconds on any link); a short
 * deadline bounds how long an idle socket holds a pending slot (issue 19, hole 7). */
const HANDSHAKE_TIMEOUT_MS = 3_000;
/** Most peer ids remembered as banned. Why 1024: far more liars than one node meets; bounded so a
 * flood of fresh keys cannot grow memory. */
const MAX_BANNED = 1024;

/** Binary frames per second per connection. Why a bucket of its own, larger than text's: a
 * pipeline sends one frame per token per stage (hundreds a second for a small model), a frame
 * costs a CRC-32 and no signature, and a stage's session slots and consent gate bound the work. */
export const DEFAULT_BINARY_RATE: RateLimit = { ratePerSec: 2000, burst: 2000 };

/** Resolution of `lastSeenMs` (ms): far below the silence limit of plan.ts. */
const SEEN_RESOLUTION_MS = 1000;

/** A peer node over any Transport. */
export class P2PNode {
  readonly #d: NodeDeps;
  readonly #plan: PlanConfig;
  readonly #rate: RateLimit;
  readonly #nonces = new NonceCache();
  readonly #sessions = new Map<string, Session>();
  readonly #banned = new Set<string>();
  readonly #byPeer = new Map<string, Session>();
  readonly #pending = new Map<string, Pending>();
  readonly #serving = new Map<string, AbortController>();
  #state: PeerState;
  #extension: ExtensionHandler | null = null;
  #ledger: ExtensionHandler | null = null;
  #overlay: ExtensionHandler | null = null;
  #audit: ExtensionHandler | null = null;
  #advertJson = "";
  #seq = 0;
  readonly #idPrefix: string;
  #stopped = false;
  /** Frames refused, by code (for tests and /peers). */
  readonly refused: Partial<Record<ErrorCode, number>> = {};

  /** @param deps crypto, transport, clock, randomness, settings. */
  constructor(deps: NodeDeps) {
    this.#d = deps;
    this.#plan = deps.plan ?? DEFAULT_PLAN;
    this.#rate = deps.rate ?? DEFAULT_PEER_RATE;
    this.#state = initialPeerState(deps.crypto.nodeId, null);
    this.#idPrefix = deps.randomHex(4);
  }

  /** Our node id. */
  get id(): string {
    return this.#d.crypto.nodeId;
  }

  /** The peer table (read only). */
  get state(): PeerState {
    return this.#state;
  }

  /**
   * Starts accepting connections and dials the bootstrap peers.
   *
   * @returns where we listen (null = nowhere).
   */
  async start(): Promise<string | null> {
    const handlers: TransportHandlers = {
      onOpen: (c, url) => this.#guard(() => this.#onOpen(c, url)),
      onMessage: (c, data) => this.#guard(() => this.#onMessage(c, data)),
      onClose: (c) => this.#guard(() => this.#onClose(c)),
    };
    const url = await this.#d.transport.start(handlers);
    this.#state = { ...this.#state, selfUrl: url };
    this.#apply({ type: "bootstrap", urls: this.#d.bootstrap ?? [] });
    this.tick();
    return url;
  }

  /** Plugs in the `pipe.*` namespace and binary frames. */
  setExtension(handler: ExtensionHandler): void {
    this.#extension = handler;
  }

  /** Plugs in the `ledger.*` namespace (header exchange; its onBinary is never called). */
  setLedgerHandler(handler: ExtensionHandler): void {
    this.#ledger = handler;
  }

  /** Plugs in the overlay namespaces `dht.*`, `reach.*`, `relay.*` (protocol 1.5). */
  setOverlayHandler(handler: ExtensionHandler): void {
    this.#overlay = handler;
  }

  /** Plugs in the `audit.*` namespace (fraud-proof gossip, src/p2p/auditor.ts). */
  setAuditHandler(handler: ExtensionHandler): void {
    this.#audit = handler;
  }

  /**
   * Dials peer `id` at `url` now unless it is connected or being dialled (the overlay's contacts that are not
   * connected yet). A failure backs the address off like any other dial.
   */
  dial(id: string, url: string): void {
    if (this.#stopped || url === this.#state.selfUrl || this.#byPeer.has(id)) return;
    if (!this.#state.addresses.has(url)) {
      this.#apply({ type: "peers_learned", hints: [{ id, url, models: [] }] });
    }
    if (this.#state.addresses.get(url)?.dialing) return;
    this.#execute({ type: "dial", url }, this.#d.clock.nowMs());
  }

  /**
   * How a connected peer reaches us: its connection's direction and the host it comes from (the
   * remote address of an inbound connection, the host we dialled for an outbound one).
   *
   * @returns null when the peer is not connected.
   */
  connectionOf(peer: string): { direction: "in" | "out"; host: string | null } | null {
    const s = this.#byPeer.get(peer);
    if (!s) return null;
    if (s.dialedUrl === null) return { direction: "in", host: s.address };
    try {
      return { direction: "out", host: new URL(s.dialedUrl).hostname.replace(/^\[|\]$/g, "") };
    } catch {
      return { direction: "out", host: null }; // handled here: we dialled it, so it parsed once
    }
  }

  /** Ids of the authenticated peers connected now. */
  connectedPeers(): string[] {
    return [...this.#byPeer.keys()];
  }

  /** One planning round: refresh our advert, time out handshakes, decide, execute. */
  tick(): void {
    if (this.#stopped) return;
    const now = this.#d.clock.nowMs();
    const offered = this.#d.advert?.() ?? null;
    const advert = offered && { ...offered, listen: this.#state.selfUrl };
    const json = advert ? JSON.stringify({ ...advert, freeSlots: 0 }) : "";
    // a change of models or listen address is announced at once; load numbers ride the periodic advert
    if (advert && (json !== this.#advertJson || this.#state.advert === null)) {
      this.#advertJson = json;
      this.#apply({ type: "local_advert", advert });
    } else if (advert) this.#state = { ...this.#state, advert };
    const limit = this.#d.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    for (const s of this.#sessions.values()) {
      if (s.peer === null && now - s.openedMs > limit) {
        s.conn.close(CLOSE.handshakeTimeout, "Handshake timed out");
      }
    }
    for (const action of decide(this.#state, now, this.#plan)) this.#execute(action, now);
  }

  /**
   * Sends a request and returns its replies as they come (out of order across requests is fine:
   * each reply names its request in `re`).
   *
   * @param peer the peer id.
   * @param kind the request kind.
   * @param body its body.
   * @returns the request id, the replies (ends when `close` is called), a closer.
   * @throws {PeerRequestError} PEER_GONE when the peer is not connected.
   */
  open(
    peer: string,
    kind: CoreKind | `pipe.${string}` | `ledger.${string}` | OverlayKind | AuditKind,
    body: unknown,
  ): {
    id: string;
    replies: AsyncGenerator<Envelope, void, void>;
    close(): void;
  } {
    const id = this.#newId();
    const stream = replyStream<Envelope>();
    this.#pending.set(id, { peer, push: stream.push, fail: stream.fail });
    const close = () => {
      this.#pending.delete(id);
      stream.close();
    };
    if (!this.send(peer, { kind, id, body } as Omit<Outgoing, "to">)) {
      this.#pending.delete(id);
      throw new PeerRequestError(
        "PEER_GONE",
        `Cannot send to peer ${peer.slice(0, 12)}: not connected`,
      );
    }
    return { id, replies: stream.replies, close };
  }

  /**
   * Sends one signed message to a connected peer.
   *
   * @param peer peer id.
   * @param msg kind, body and optional id / re.
   * @returns false if the peer is not connected.
   */
  send(peer: string, msg: Omit<Outgoing, "to" | "id"> & { id?: string }): boolean {
    const s = this.#byPeer.get(peer);
    if (!s) return false;
    this.#write(s, { ...msg, id: msg.id ?? this.#newId(), to: peer } as Outgoing, true);
    return true;
  }

  /**
   * Sends a binary frame (pipeline tensors) to a connected peer.
   *
   * @returns false if the peer is not connected.
   */
  sendBinary(peer: string, bytes: Uint8Array): boolean {
    const s = this.#byPeer.get(peer);
    if (!s) return false;
    s.conn.send(bytes);
    return true;
  }

  /**
   * Drops a peer caught lying (an answer without a valid receipt, a failed model challenge):
   * closes its connection and refuses its id from now on (handshakes with it are refused
   * BAD_SIGNATURE until this process restarts). Bounded: the oldest ban goes past MAX_BANNED.
   *
   * @param peer the peer id.
   * @param reason for the log and the close frame.
   */
  ban(peer: string, reason: string): void {
    this.#banned.add(peer);
    if (this.#banned.size > MAX_BANNED) this.#banned.delete(this.#banned.values().next().value!);
    this.#d.log?.({ event: "p2p_peer_banned", peer, reason: reason.slice(0, 200) });
    const s = this.#byPeer.get(peer);
    this.#lose(peer, this.#d.clock.nowMs());
    s?.conn.close(CLOSE.dropped, `Dropped: ${reason.slice(0, 100)}`);
  }

  /** True when `peer` was dropped for lying ({@link ban}). */
  isBanned(peer: string): boolean {
    return this.#banned.has(peer);
  }

  /** Records how a request to a peer ended (reliability in the score). */
  recordOutcome(peer: string, ok: boolean): void {
    this.#apply({ type: "request_outcome", id: peer, ok });
  }

  /** Counts a request in flight on a peer (load in the score). */
  recordInflight(peer: string, delta: 1 | -1): void {
    this.#apply({ type: "inflight", id: peer, delta });
  }

  /** Closes every connection and stops accepting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const c of this.#serving.values()) c.abort(new Error("Node stopping"));
    for (const p of this.#pending.values()) {
      p.fail(new PeerRequestError("PEER_GONE", "Cannot finish: this node is stopping"));
    }
    await this.#d.transport.stop();
  }

  #newId(): string {
    return `${this.#idPrefix}.${++this.#seq}`;
  }

  #guard(f: () => void): void {
    try {
      f();
    } catch (err: unknown) {
      // terminated: a peer's frame must never reach process-level handlers (STYLE.md B7.4)
      this.#d.log?.({ event: "p2p_internal_error", error: String(err) });
    }
  }

  #apply(event: PeerEvent): void {
    this.#state = applyPeerEvent(this.#state, event);
  }

  #write(s: Session, msg: Outgoing, signed: boolean): void {
    s.conn.send(encodeFrame(msg, {
      from: this.id,
      ts: this.#d.clock.nowMs(),
      nonce: this.#d.randomHex(16),
      sign: signed ? (b) => this.#d.crypto.sign(b) : null,
    }));
  }

  #execute(a: Action, now: number): void {
    switch (a.type) {
      case "dial":
        this.#apply({ type: "dial_started", url: a.url });
        this.#d.transport.dial(a.url).catch(() => {
          // handled here: an address that does not answer backs off (dial_failed)
          this.#apply({ type: "dial_failed", url: a.url, now: this.#d.clock.nowMs() });
        });
        return;
      case "drop": {
        const s = this.#byPeer.get(a.id);
        this.#lose(a.id, now);
        s?.conn.close(CLOSE.dropped, `Dropped: ${a.reason}`);
        return;
      }
      case "ping": {
        const id = this.#newId();
        if (this.send(a.id, { kind: "ping", id, body: {} })) {
          this.#apply({ type: "ping_sent", id: a.id, pingId: id, now });
        }
        return;
      }
      case "exchange":
        if (this.send(a.id, { kind: "peers.request", body: {} })) {
          this.#apply({ type: "exchange_sent", id: a.id, now });
        }
        return;
      case "advertise": {
        const advert = this.#state.advert;
        if (advert && this.send(a.id, { kind: "advert", body: advert })) {
          this.#apply({ type: "advert_sent", id: a.id, version: this.#state.advertVersion, now });
        }
        return;
      }
    }
  }

  #onOpen(conn: Connection, dialedUrl: string | null): void {
    const now = this.#d.clock.nowMs();
    // handled here (admission.ts): pending handshakes are limited per address and overall;
    // at a limit the oldest pending one gives way, so idle sockets cannot keep newcomers out;
    // when every slot holds an authenticated peer the newcomer is closed at once
    const pending: PendingConnection[] = [];
    let authenticated = 0;
    for (const x of this.#sessions.values()) {
      // connections we dialled are never evicted for an inbound newcomer: counted as held
      if (x.peer !== null || x.dialedUrl !== null) authenticated++;
      else pending.push({ key: x.conn.key, address: x.address, openedMs: x.openedMs });
    }
    const decision = admit(pending, authenticated, conn.remote ?? null, {
      ...DEFAULT_ADMISSION,
      ...(this.#d.maxSessions !== undefined ? { maxSessions: this.#d.maxSessions } : {}),
    });
    if (!decision.admit) {
      conn.close(CLOSE.dropped, decision.reason);
      return;
    }
    for (const key of decision.evict) {
      const old = this.#sessions.get(key);
      this.#sessions.delete(key); // now: its close event may come later
      old?.conn.close(CLOSE.dropped, "Evicted: handshake not finished");
    }
    const s: Session = {
      conn,
      dialedUrl,
      address: conn.remote ?? null,
      openedMs: now,
      hs: startHandshake(this.id, this.#d.randomHex(32), null, {
        role: dialedUrl !== null ? "dialer" : "listener",
        channel: conn.channel ?? "",
      }),
      peer: null,
      bucket: newBucket(this.#rate, now),
      binaryBucket: newBucket(this.#d.binaryRate ?? DEFAULT_BINARY_RATE, now),
      errBucket: newBucket(ERROR_RATE, now),
      dropped: 0,
    };
    this.#sessions.set(conn.key, s);
    this.#write(s, helloMessage(s.hs, this.#state.selfUrl, this.#d.agent ?? "aria"), false);
  }

  #onClose(conn: Connection): void {
    const s = this.#sessions.get(conn.key);
    if (!s) return;
    this.#sessions.delete(conn.key);
    if (s.peer !== null && this.#byPeer.get(s.peer) === s) {
      this.#lose(s.peer, this.#d.clock.nowMs());
    }
    if (
      s.peer === null && s.dialedUrl !== null && this.#state.addresses.get(s.dialedUrl)?.dialing
    ) {
      this.#apply({ type: "dial_failed", url: s.dialedUrl, now: this.#d.clock.nowMs() });
    }
  }

  /** The peer is gone: fail what waits on it, stop what we serve for it. */
  #lose(peer: string, now: number): void {
    if (!this.#byPeer.has(peer)) return;
    this.#byPeer.delete(peer);
    this.#apply({ type: "disconnected", id: peer, now });
    for (const [id, p] of this.#pending) {
      if (p.peer === peer) {
        this.#pending.delete(id);
        p.fail(
          new PeerRequestError(
            "PEER_GONE",
            `Cannot finish: peer ${peer.slice(0, 12)} disconnected`,
          ),
        );
      }
    }
    for (const [key, c] of this.#serving) {
      if (key.startsWith(`${peer}/`)) c.abort(new Error("Peer gone"));
    }
    this.#extension?.onPeerGone?.(peer);
    this.#overlay?.onPeerGone?.(peer);
  }

  #refuse(s: Session, code: ErrorCode, message: string, re?: string): void {
    this.refused[code] = (this.refused[code] ?? 0) + 1;
    const now = this.#d.clock.nowMs();
    const t = takeToken(s.errBucket, ERROR_RATE, now);
    s.errBucket = t.bucket;
    if (!t.ok) {
      s.dropped++;
      return;
    }
    const msg: Outgoing = {
      kind: "error",
      id: this.#newId(),
      to: s.peer ?? "",
      body: { code, message },
    };
    if (re !== undefined) msg.re = re;
    this.#write(s, msg, s.peer !== null);
  }

  #onMessage(conn: Connection, data: string | Uint8Array): void {
    const s = this.#sessions.get(conn.key);
    if (!s || this.#stopped) return;
    const now = this.#d.clock.nowMs();
    if (typeof data !== "string") return this.#onBinary(s, data, now);
    const parsed = parseFrame(data);
    if (!parsed.ok) {
      return this.#refuse(s, parsed.error.code, parsed.error.message, parsed.error.re);
    }
    const env = parsed.value.envelope;
    // replies to our own pending requests are not counted: we asked for them
    const solicited = env.re !== undefined && this.#pending.get(env.re)?.peer === s.peer;
    if (!solicited) {
      const t = takeToken(s.bucket, this.#rate, now);
      s.bucket = t.bucket;
      if (!t.ok) return this.#refuse(s, "RATE_LIMITED", "Too many messages: slow down", env.id);
    }
    if (s.peer === null) return this.#onHandshake(s, env, now);
    const checked = checkEnvelope(parsed.value, {
      self: this.id,
      peer: s.peer,
      now,
      verify: (id, b, sig) => this.#d.crypto.verify(id, b, sig),
      remember: (from, nonce, ts, n) => this.#nonces.remember(from, nonce, ts, n),
    });
    if (!checked.ok) {
      return this.#refuse(s, checked.error.code, checked.error.message, checked.error.re);
    }
    if (this.#byPeer.get(s.peer) !== s) return; // a superseded duplicate connection
    // liveness needs about a second's resolution; skipping finer updates spares a table copy per frame
    if (now - (this.#state.peers.get(s.peer)?.lastSeenMs ?? 0) >= SEEN_RESOLUTION_MS) {
      this.#apply({ type: "seen", id: s.peer, now });
    }
    this.#dispatch(s, s.peer, env, now);
  }

  #onBinary(s: Session, bytes: Uint8Array, now: number): void {
    if (bytes.length > MAX_BINARY_FRAME_BYTES) {
      return this.#refuse(s, "FRAME_TOO_LARGE", "Binary frame too large");
    }
    if (s.peer === null) {
      return this.#refuse(s, "UNAUTHENTICATED", "Binary frame before the handshake");
    }
    const rate = this.#d.binaryRate ?? DEFAULT_BINARY_RATE;
    const t = takeToken(s.binaryBucket, rate, now);
    s.binaryBucket = t.bucket;
    if (!t.ok) return this.#refuse(s, "RATE_LIMITED", "Too many binary frames: slow down");
    if (!this.#extension?.onBinary) {
      return this.#refuse(s, "UNKNOWN_TYPE", "This node takes no binary frames");
    }
    if (this.#byPeer.get(s.peer) !== s) return; // a superseded duplicate connection
    if (now - (this.#state.peers.get(s.peer)?.lastSeenMs ?? 0) >= SEEN_RESOLUTION_MS) {
      this.#apply({ type: "seen", id: s.peer, now });
    }
    this.#extension.onBinary(s.peer, bytes);
  }

  #onHandshake(s: Session, env: Envelope, now: number): void {
    const step = applyHandshake(s.hs, env, {
      sign: (b) => this.#d.crypto.sign(b),
      verify: (id, b, sig) => this.#d.crypto.verify(id, b, sig),
    });
    s.hs = step.state;
    for (const m of step.send) this.#write(s, m, false);
    if (step.state.refused) {
      this.refused[step.state.refused.code] = (this.refused[step.state.refused.code] ?? 0) + 1;
      s.conn.close(CLOSE.refused, step.state.refused.reason.slice(0, 120));
      return;
    }
    if (!step.state.authenticated || !step.state.hello) return;
    const peer = step.state.hello.nodeId;
    if (this.#banned.has(peer)) {
      // handled here: a peer dropped for lying stays out (ban)
      this.refused["BAD_SIGNATURE"] = (this.refused["BAD_SIGNATURE"] ?? 0) + 1;
      s.conn.close(CLOSE.refused, "Banned: this node caught the peer lying");
      return;
    }
    s.peer = peer;
    const existing = this.#byPeer.get(peer);
    if (existing) {
      // two connections to one peer (both dialled at once): both sides keep the one dialled by
      // the smaller node id, so they agree without talking
      const dialer = (x: Session) => (x.dialedUrl !== null ? this.id : peer);
      const keepNew = dialer(s) < dialer(existing) ||
        (dialer(s) === dialer(existing) && s.openedMs > existing.openedMs);
      const loser = keepNew ? existing : s;
      if (keepNew) this.#byPeer.set(peer, s);
      loser.conn.close(CLOSE.duplicate, "Duplicate connection");
    } else this.#byPeer.set(peer, s);
    const url = step.state.hello.listen ?? (s.dialedUrl ?? null);
    this.#apply({
      type: "connected",
      id: peer,
      url,
      dialedUrl: s.dialedUrl,
      direction: s.dialedUrl ? "out" : "in",
      now,
    });
    // greet at once instead of waiting for the next tick: what decide() plans for a new peer
    for (const type of ["advertise", "exchange", "ping"] as const) {
      this.#execute({ type, id: peer }, now);
    }
  }

  #dispatch(s: Session, peer: string, env: Envelope, now: number): void {
    if (env.re !== undefined) {
      const p = this.#pending.get(env.re);
      if (p && p.peer === peer) return p.push(env);
    }
    switch (env.kind) {
      case "ping":
        this.#write(s, { kind: "pong", id: this.#newId(), re: env.id, to: peer, body: {} }, true);
        return;
      case "pong":
        this.#apply({ type: "pong", id: peer, re: env.re ?? "", now });
        return;
      case "advert":
        this.#apply({ type: "advert", id: peer, advert: env.body, now });
        return;
      case "peers.request":
        this.#write(s, {
          kind: "peers.response",
          id: this.#newId(),
          re: env.id,
          to: peer,
          body: { peers: peerHints(this.#state, peer, HINTS_PER_REPLY) },
        }, true);
        return;
      case "peers.response":
        this.#apply({ type: "peers_learned", hints: env.body.peers });
        return;
      case "complete.request":
        return this.#serve(s, peer, env);
      case "cancel":
        this.#serving.get(`${peer}/${env.re ?? ""}`)?.abort(new Error("Cancelled by peer"));
        return;
      case "complete.chunk":
      case "complete.end":
        return; // handled here: a reply to a request we no longer wait for is ignored
      default:
        if (env.kind.startsWith(PIPELINE_KIND_PREFIX) && this.#extension) {
          this.#extension.onMessage(peer, env);
          return;
        }
        if (env.kind.startsWith(LEDGER_KIND_PREFIX) && this.#ledger) {
          this.#ledger.onMessage(peer, env);
          return;
        }
        if (env.kind.startsWith(AUDIT_KIND_PREFIX) && this.#audit) {
          this.#audit.onMessage(peer, env);
          return;
        }
        if (isOverlayKind(env.kind) && this.#overlay) {
          this.#overlay.onMessage(peer, env);
          return;
        }
        if (env.kind === "error") {
          if (env.re !== undefined) return; // an error reply to a request we gave up on
          this.#d.log?.({ event: "p2p_peer_error", peer, code: (env.body as Body<"error">).code });
          return;
        }
        this.#refuse(
          s,
          "UNKNOWN_TYPE",
          `Unexpected ${env.kind.slice(0, 64)} without a request`,
          env.id,
        );
    }
  }

  #serve(s: Session, peer: string, env: Envelope & { kind: "complete.request" }): void {
    const handler = this.#d.onRequest;
    if (!handler) return this.#refuse(s, "NO_MODEL", "This node serves no models", env.id);
    const key = `${peer}/${env.id}`;
    const ctrl = new AbortController();
    this.#serving.set(key, ctrl);
    const reply = (m: { kind: CoreKind; body: unknown }) => {
      if (this.#byPeer.get(peer) !== s) return false;
      this.#write(s, { ...m, id: this.#newId(), re: env.id, to: peer } as Outgoing, true);
      return true;
    };
    handler(peer, env, reply, ctrl.signal)
      .catch((err: unknown) => this.#d.log?.({ event: "p2p_serve_error", error: String(err) }))
      .finally(() => this.#serving.delete(key));
  }
}
