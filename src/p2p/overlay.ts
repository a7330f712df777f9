/**
 * @module The overlay on a running node (shell): the `dht.*`, `reach.*` and `relay.*` namespaces
 * of docs/protocol.md behind one `ExtensionHandler` (`P2PNode.setOverlayHandler`).
 * - Provider lookup: answers dht requests with dht/state.ts, drives lookup.ts state machines over
 *   the node's connections (a contact that is not connected is dialled and asked once it is),
 *   publishes this node's provider records (the served model under its file SHA-256 and under its
 *   name key) and re-publishes them on dht/state.ts's timers.
 * - Reachability: asks connected peers that listen to dial back the address we advertise
 *   (relay/reachability.ts), and dials back for others through `deps.dialBack` (a throwaway
 *   connection made by the caller, so the nonce arrives on an inbound connection).
 * - Relays: an unreachable node reserves a slot at a connected relay and names it in its records;
 *   relay.* goes to relay/service.ts, which also serves and sends relayed requests.
 * Reads the clock and draws nonces through its deps; decisions live in the pure files.
 */
import type { CompleteRequestBody, Envelope, Outgoing } from "./protocol.ts";
import { type P2PNode, PeerRequestError, type RequestHandler } from "./node.ts";
import type { PeerStream } from "./router.ts";
import { keyFromHex, keyToHex, modelNameKey } from "./dht/key.ts";
import {
  isDone,
  type Lookup,
  nextQueries,
  onFailure,
  onReply,
  type Peer,
  peerOf,
  result,
  startLookup,
} from "./dht/lookup.ts";
import {
  answer,
  DEFAULT_DHT,
  type DhtConfig,
  type DhtState,
  heard,
  initialDht,
  lookedUp,
  noAnswer,
  type OwnRecord,
  probeUnanswered,
  setOwnRecord,
  tick as dhtTick,
} from "./dht/state.ts";
import { allContacts, closest, K, tableSize } from "./dht/routing-table.ts";
import {
  checkRecord,
  type ProviderRecord,
  RECORD_TTL_MS,
  signProviderRecord,
  storeCount,
} from "./dht/providers.ts";
import { type DhtReply, type DhtRequest, parseDhtMessage } from "./dht/wire.ts";
import {
  applyReachEvent,
  decideDialBack,
  type DialBackBudget,
  emptyDialBackBudget,
  initialReach,
  planReach,
  type ReachState,
} from "./relay/reachability.ts";
import { DEFAULT_RELAY_POLICY, type RelayPolicy } from "./relay/relay.ts";
import { RelayService } from "./relay/service.ts";
import { parseRelayMessage } from "./relay/wire.ts";

/** How long a dht request waits for its reply (ms). Why 5 s: one round trip plus a busy peer. */
export const DHT_TIMEOUT_MS = 5_000;
/** How long a lookup waits for a contact it dialled to connect (ms). */
const DIAL_WAIT_MS = 3_000;
/** How long found providers are reused before a new lookup (ms). Why 1 min: records live 30 min
 * and a request for a popular model must not cost a lookup each. */
const FOUND_TTL_MS = 60_000;
/** Neighbours are asked for the models they hold records of this often (ms). */
const MODELS_ASK_MS = 30_000;
/** … and this often while none is known (ms). */
const MODELS_ASK_EMPTY_MS = 5_000;
/** A model name reported by nobody for this long is forgotten (ms). */
const MODELS_TTL_MS = 5 * 60_000;
/** Most model names kept. */
const MODELS_KEPT = 1024;
/** A peer is asked to test our reachability once connected this long (ms). Why 10 s: dial-back
 * probes connect, send one message and leave within that, and a node that just started may be
 * busy loading its model (a dial-back it cannot answer in time would count as a failure). */
const SETTLE_MS = 10_000;
/** Re-reserve this long before a reservation expires (ms). */
const RESERVE_MARGIN_MS = 60_000;
/** A relay that refused us is not asked again for this long (ms). */
const RELAY_RETRY_MS = 10 * 60_000;

/** What this node serves, to publish. */
export interface Provided {
  /** The model's id (its name key is published too). */
  id: string;
  /** The file's SHA-256 (null while it is being hashed: only the name key is published). */
  sha256: string | null;
  layers: [number, number] | null;
  nLayers: number;
}

/** A provider found, with how to reach it. */
export interface Route {
  target: string;
  /** Dial it here (null = only through `relay`). */
  url: string | null;
  relay: string | null;
  layers: [number, number] | null;
}

/** What the overlay needs. */
export interface OverlayDeps {
  node: P2PNode;
  sign(bytes: Uint8Array): string;
  verify(nodeId: string, bytes: Uint8Array, sigHex: string): boolean;
  clock: { nowMs(): number };
  randomHex(bytes: number): string;
  /** Dials `url` on a fresh connection, expects node `target` there, sends it
   * `reach.dialback {nonce}`; resolves true if that was sent. */
  dialBack(url: string, target: string, nonce: string): Promise<boolean>;
  /** The relay role's limits (default: relaying off). */
  relayPolicy?: RelayPolicy;
  /** Serves requests that arrive through a relay (the node's own request handler). */
  onRequest?: RequestHandler | null;
  /** Tests only: a dishonest relay rewriting what it forwards (see relay/service.ts). */
  tamper?: (frame: string) => string;
  dht?: DhtConfig;
  log?: (entry: Record<string, unknown>) => void;
}

/** Counters for the network view and the tests. */
export interface OverlayStats {
  lookups: number;
  lookupMessages: number;
  published: number;
  answered: number;
}

/** The overlay of one node. */
export class Overlay {
  readonly relay: RelayService;
  readonly stats: OverlayStats = { lookups: 0, lookupMessages: 0, published: 0, answered: 0 };
  readonly #d: OverlayDeps;
  readonly #config: DhtConfig;
  #dht: DhtState;
  #reach: ReachState;
  #budget: DialBackBudget = emptyDialBackBudget();
  #reservation: { relay: string; expiresMs: number } | null = null;
  #reserving = false;
  readonly #relayRefused = new Map<string, number>();
  #provided: readonly Provided[] = [];
  readonly #found = new Map<string, { atMs: number; routes: Promise<Route[]> }>();
  /** Connected peers we have seen, with when (reachability asks only peers connected a while). */
  readonly #known = new Map<string, number>();
  /** Throwaway identities that dialled us back: never asked to test us themselves. */
  readonly #probes = new Set<string>();
  /** Models named by our neighbours' stored records and our own lookups: name -> providers. */
  readonly #models = new Map<string, { providers: number; atMs: number }>();
  #lastModelsAskMs = -Infinity;
  #joined = false;
  #stopped = false;

  /** @param deps node, crypto, clock, randomness, dial-back, relay policy, request handler. */
  constructor(deps: OverlayDeps) {
    this.#d = deps;
    this.#config = deps.dht ?? DEFAULT_DHT;
    this.#dht = initialDht(deps.node.id);
    this.#reach = initialReach(null);
    this.relay = new RelayService({
      node: deps.node,
      sign: deps.sign,
      verify: deps.verify,
      clock: deps.clock,
      randomHex: deps.randomHex,
      policy: deps.relayPolicy ?? { ...DEFAULT_RELAY_POLICY, enabled: false },
      onRequest: deps.onRequest ?? null,
      ...(deps.tamper ? { tamper: deps.tamper } : {}),
      ...(deps.log ? { log: deps.log } : {}),
    });
  }

  /** Starts with the address we listen at (null = we do not listen). Call after node.start(). */
  start(selfUrl: string | null): void {
    this.#reach = initialReach(selfUrl);
  }

  /** Stops timers' work (the node is stopping). */
  stop(): void {
    this.#stopped = true;
  }

  /** What this node serves; its records change on the next tick. */
  provide(models: readonly Provided[]): void {
    this.#provided = models;
  }

  /** The network view's figures. */
  view() {
    const now = this.#d.clock.nowMs();
    return {
      reachability: this.#reach.status,
      /** Dial-back tests of our address: seen by us (ok) or failed, within EVIDENCE_MS. */
      reachEvidence: {
        ok: [...this.#reach.evidence.values()].filter((e) => e.ok).length,
        failed: [...this.#reach.evidence.values()].filter((e) => !e.ok).length,
      },
      url: this.#reach.url,
      relayedBy: this.#reservation && this.#reservation.expiresMs > now
        ? this.#reservation.relay
        : null,
      relaying: {
        enabled: this.#d.relayPolicy?.enabled === true,
        reservations: this.relay.relayState.reservations.size,
        circuits: this.relay.relayState.circuits.size,
        closed: { ...this.relay.closed },
      },
      /** Relayed frames this node refused (changed, replayed, misaddressed), by code. */
      refusedRelayedFrames: { ...this.relay.refusedFrames },
      dht: {
        contacts: tableSize(this.#dht.table),
        storedKeys: this.#dht.store.size,
        storedRecords: storeCount(this.#dht.store),
        ownRecords: this.#dht.own.size,
        ...this.stats,
      },
    };
  }

  /** The routing table's contacts (the network view's "nodes known"). */
  contacts(): { id: string; url: string | null }[] {
    return allContacts(this.#dht.table).map((c) => ({ id: c.id, url: c.url }));
  }

  /** Records stored here for others, by key (the network view's provider counts). */
  storedProviders(): Map<string, ProviderRecord[]> {
    const now = this.#d.clock.nowMs();
    const out = new Map<string, ProviderRecord[]>();
    for (const [key, m] of this.#dht.store) {
      const live = [...m.values()].filter((r) => r.expiresMs > now);
      if (live.length > 0) out.set(key, live);
    }
    return out;
  }

  // ---- ExtensionHandler -------------------------------------------------------------------

  /** A `dht.*`, `reach.*` or `relay.*` message from an authenticated peer. Never throws. */
  onMessage(peer: string, env: Envelope): void {
    if (env.kind.startsWith("dht.")) return this.#onDht(peer, env);
    if (env.kind.startsWith("reach.")) return this.#onReach(peer, env);
    this.relay.onMessage(peer, env);
  }

  /** The peer's connection is gone. */
  onPeerGone(peer: string): void {
    this.relay.onPeerGone(peer);
    this.#known.delete(peer);
    if (this.#reservation?.relay === peer) this.#reservation = null; // reserve elsewhere next tick
  }

  #urlOf(peer: string): string | null {
    return this.#d.node.state.peers.get(peer)?.url ?? null;
  }

  #heard(peer: string): void {
    const h = heard(this.#dht, { id: peer, url: this.#urlOf(peer) }, this.#d.clock.nowMs());
    this.#dht = h.state;
    // the eviction rule: ping the bucket's oldest contact; a contact that does not answer a
    // find_node for our own key within the timeout is replaced
    if (h.ping) void this.#ping(h.ping.id, h.ping.url);
  }

  async #ping(id: string, url: string | null): Promise<void> {
    const reply = await this.#query(peerOf(id, url), {
      kind: "dht.find_node",
      body: { target: this.#selfKeyHex() },
    });
    if (reply === null) this.#dht = noAnswer(this.#dht, peerOf(id, url));
  }

  #selfKeyHex(): string {
    return keyToHex(this.#dht.table.self);
  }

  #onDht(peer: string, env: Envelope): void {
    const parsed = parseDhtMessage(env.kind, env.body);
    if (!parsed.ok) {
      // handled here: a body that does not parse is answered with its reason and otherwise ignored
      this.#d.node.send(peer, {
        kind: "error",
        re: env.id,
        body: { code: "MISSING_FIELDS", message: parsed.error },
      } as Omit<Outgoing, "to" | "id">);
      return;
    }
    const m = parsed.value;
    if (
      m.kind !== "dht.find_node" && m.kind !== "dht.find_providers" &&
      m.kind !== "dht.add_provider" && m.kind !== "dht.list_models"
    ) {
      return; // handled here: a reply we no longer wait for (replies to ours arrive through open())
    }
    this.#heard(peer);
    const a = answer(this.#dht, peer, m, this.#d.clock.nowMs(), this.#d.verify);
    this.#dht = a.state;
    this.stats.answered++;
    this.#d.node.send(peer, { kind: a.reply.kind, body: a.reply.body, re: env.id } as Omit<
      Outgoing,
      "to" | "id"
    >);
  }

  #onReach(peer: string, env: Envelope): void {
    const parsed = parseRelayMessage(env.kind, env.body);
    if (!parsed.ok) {
      this.#d.log?.({ event: "reach_bad_message", peer, reason: parsed.error });
      return; // handled here: dropped and logged
    }
    const m = parsed.value;
    const now = this.#d.clock.nowMs();
    switch (m.kind) {
      case "reach.check": {
        const conn = this.#d.node.connectionOf(peer);
        const d = decideDialBack(this.#budget, {
          peer,
          url: m.body.url,
          observedHost: conn?.host ?? "",
        }, now);
        const reply = (outcome: "dialled" | "failed" | "refused", reason: string) =>
          this.#d.node.send(peer, {
            kind: "reach.result",
            re: env.id,
            body: { nonce: m.body.nonce, outcome, reason },
          });
        this.#d.log?.({ event: "reach_check", peer, decision: d.decision });
        if (d.decision === "refused") return void reply("refused", d.reason);
        this.#budget = d.budget;
        this.#d.dialBack(m.body.url, peer, m.body.nonce).then(
          (ok) => {
            this.#d.log?.({ event: "reach_dialback", peer, ok });
            reply(ok ? "dialled" : "failed", ok ? "" : "no answer");
          },
          // handled here: any dial error is a failed test for the asker
          (err: unknown) => reply("failed", String(err).slice(0, 100)),
        );
        return;
      }
      case "reach.dialback": {
        // handled here: only a nonce that arrives on a connection the far side opened to us
        // proves that our address can be dialled; the sender is a throwaway identity, so the
        // test is matched by its nonce (secret between us and the peer we asked)
        if (this.#d.node.connectionOf(peer)?.direction !== "in") return;
        this.#probes.add(peer);
        if (this.#probes.size > 256) this.#probes.delete(this.#probes.values().next().value!);
        const pending = this.#reach.pending.get(m.body.nonce);
        if (!pending) return;
        this.#reach = applyReachEvent(this.#reach, {
          type: "dialback",
          peer: pending.peer,
          nonce: m.body.nonce,
          now,
        });
        return;
      }
      case "reach.result":
        this.#reach = applyReachEvent(this.#reach, {
          type: "result",
          peer,
          nonce: m.body.nonce,
          outcome: m.body.outcome,
          now,
        });
        return;
      default:
        return;
    }
  }

  // ---- timers ------------------------------------------------------------------------------

  /** Every second: reachability, reservations, own records, dht timers, relay limits. */
  tick(): void {
    if (this.#stopped) return;
    const now = this.#d.clock.nowMs();
    this.relay.tick();
    const connected = this.#d.node.connectedPeers();
    for (const p of connected) {
      if (!this.#known.has(p)) {
        this.#known.set(p, now);
        this.#heard(p);
      }
    }
    this.#tickReach(connected, now);
    // while we know of no model beyond our peers' adverts, ask more often (a node just started)
    const period = this.#models.size === 0 ? MODELS_ASK_EMPTY_MS : MODELS_ASK_MS;
    if (now - this.#lastModelsAskMs >= period) {
      this.#lastModelsAskMs = now;
      void this.#askModels(connected);
    }
    this.#tickReservation(connected, now);
    this.#updateOwnRecords();
    if (!this.#joined && tableSize(this.#dht.table) > 0) {
      this.#joined = true;
      void this.lookup(this.#selfKeyHex(), 0); // join: a lookup of our own key fills the table
    }
    const fill = keyFromHex(this.#d.randomHex(32));
    const t = dhtTick(this.#dht, now, fill, this.#config);
    this.#dht = t.state;
    for (const a of t.actions) {
      if (a.type === "refresh") void this.lookup(keyToHex(a.target), 0);
      else if (a.type === "publish") void this.#publish(a.record);
      else {
        const c = a.contact;
        void this.#query(c, { kind: "dht.find_node", body: { target: this.#selfKeyHex() } }).then(
          (r) => {
            if (r === null) this.#dht = probeUnanswered(this.#dht, c);
            else this.#heard(c.id);
          },
        );
      }
    }
  }

  #tickReach(connected: readonly string[], now: number): void {
    const before = this.#reach.status;
    this.#reach = applyReachEvent(this.#reach, { type: "tick", now });
    if (this.#reach.status !== before) {
      this.#d.log?.({ event: "reachability", status: this.#reach.status });
    }
    if (this.#reach.url === null) return;
    // any connected peer can dial out, including one that does not listen itself; not the
    // throwaway connections of other nodes' dial-backs (they leave at once)
    const candidates = connected.filter((p) =>
      !this.#probes.has(p) && now - (this.#known.get(p) ?? now) >= SETTLE_MS
    );
    for (const peer of planReach(this.#reach, candidates, now)) {
      const nonce = this.#d.randomHex(16);
      if (
        this.#d.node.send(peer, { kind: "reach.check", body: { url: this.#reach.url, nonce } })
      ) {
        this.#reach = applyReachEvent(this.#reach, { type: "check_sent", peer, nonce, now });
        this.#d.log?.({ event: "reach_check_sent", peer });
      }
    }
  }

  #tickReservation(connected: readonly string[], now: number): void {
    if (this.#reach.status !== "unreachable" || this.#reserving) return;
    if (this.#reservation && this.#reservation.expiresMs - RESERVE_MARGIN_MS > now) return;
    const relay = (this.#reservation && connected.includes(this.#reservation.relay))
      ? this.#reservation.relay
      : connected.find((p) => this.#urlOf(p) !== null && (this.#relayRefused.get(p) ?? 0) <= now);
    if (relay === undefined) return;
    this.#reserving = true;
    this.relay.reserve(relay).then(
      (r) => {
        this.#reservation = { relay, expiresMs: r.expiresMs };
        this.#d.log?.({ event: "relay_reserved", relay, expiresMs: r.expiresMs });
      },
      (err: unknown) => {
        // handled here: a refusal (relaying off, full) or a lost connection: try another relay
        this.#relayRefused.set(relay, this.#d.clock.nowMs() + RELAY_RETRY_MS);
        this.#d.log?.({ event: "relay_reserve_refused", relay, error: String(err) });
      },
    ).finally(() => (this.#reserving = false));
  }

  /** The records we should publish now; changed ones replace the old (published next tick). */
  #updateOwnRecords(): void {
    const now = this.#d.clock.nowMs();
    const url = this.#reach.status === "unreachable" ? null : this.#reach.url;
    const relay = url === null && this.#reservation && this.#reservation.expiresMs > now
      ? this.#reservation.relay
      : null;
    const want = new Map<string, OwnRecord>();
    if (url !== null || relay !== null) {
      for (const m of this.#provided) {
        const base = {
          provider: this.#d.node.id,
          model: m.id,
          url,
          relay,
          layers: m.layers,
          nLayers: m.nLayers,
        };
        want.set(modelNameKey(m.id), { key: modelNameKey(m.id), ...base });
        if (m.sha256 !== null) want.set(m.sha256, { key: m.sha256, ...base });
      }
    }
    let s = this.#dht;
    for (const key of s.own.keys()) if (!want.has(key)) s = setOwnRecord(s, key, null);
    for (const [key, r] of want) {
      const old = s.own.get(key)?.record;
      if (!old || JSON.stringify(old) !== JSON.stringify(r)) s = setOwnRecord(s, key, r);
    }
    this.#dht = s;
  }

  /** Asks up to 3 connected peers that listen (those hold records) which models they know. */
  async #askModels(connected: readonly string[]): Promise<void> {
    const ask = connected.filter((p) => this.#urlOf(p) !== null).slice(0, 3);
    const replies = await Promise.all(
      ask.map((p) => this.#query(peerOf(p, this.#urlOf(p)), { kind: "dht.list_models", body: {} })),
    );
    const now = this.#d.clock.nowMs();
    for (const r of replies) {
      if (r?.kind !== "dht.models") continue;
      for (const m of r.body.models) this.#noteModel(m.id, m.providers, now);
    }
  }

  #noteModel(id: string, providers: number, now: number): void {
    const old = this.#models.get(id);
    const fresh = old !== undefined && now - old.atMs < MODELS_TTL_MS;
    this.#models.set(id, { providers: Math.max(providers, fresh ? old.providers : 0), atMs: now });
    // handled here: a peer naming thousands of models cannot grow this without bound
    if (this.#models.size > MODELS_KEPT) this.#models.delete(this.#models.keys().next().value!);
  }

  /**
   * Models known on the network beyond our connected peers' adverts, with their provider counts
   * (the most any neighbour or lookup reported), fresh within MODELS_TTL_MS.
   */
  networkModels(): { id: string; providers: number }[] {
    const now = this.#d.clock.nowMs();
    return [...this.#models].filter(([, m]) => now - m.atMs < MODELS_TTL_MS)
      .map(([id, m]) => ({ id, providers: m.providers }));
  }

  // ---- lookups -----------------------------------------------------------------------------

  /** One dht request and its reply, or null (no connection, refusal, timeout, bad reply). */
  async #query(p: Peer, req: DhtRequest): Promise<DhtReply | null> {
    const node = this.#d.node;
    if (!node.connectedPeers().includes(p.id)) {
      if (p.url === null) return null;
      node.dial(p.id, p.url);
      const end = performance.now() + DIAL_WAIT_MS;
      while (!node.connectedPeers().includes(p.id)) {
        if (performance.now() > end || this.#stopped) return null;
        await Bun.sleep(50);
      }
    }
    let req2: ReturnType<P2PNode["open"]>;
    try {
      req2 = node.open(p.id, req.kind, req.body);
    } catch {
      return null; // handled here: the peer left in between
    }
    this.stats.lookupMessages++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), DHT_TIMEOUT_MS)));
    try {
      const next = await Promise.race([req2.replies.next(), timeout]);
      if (next === null || next.done) return null;
      const m = parseDhtMessage(next.value.kind, next.value.body);
      if (!m.ok) return null; // handled here: a malformed reply counts as no answer
      this.stats.lookupMessages++;
      this.#heard(p.id);
      return m.value as DhtReply;
    } catch {
      return null; // handled here: the peer went away (PEER_GONE)
    } finally {
      clearTimeout(timer);
      req2.close();
    }
  }

  /**
   * An iterative lookup of `target` (hex): a node lookup (wantProviders 0) or a provider lookup.
   *
   * @returns the providers found (each record checked) and the k closest nodes that answered.
   */
  async lookup(
    target: string,
    wantProviders: number,
  ): Promise<{ providers: ProviderRecord[]; closest: Peer[] }> {
    const key = keyFromHex(target);
    const seeds = closest(this.#dht.table, key, K);
    let l: Lookup<ProviderRecord> = startLookup<ProviderRecord>(this.#d.node.id, key, seeds, {
      k: K,
      wantProviders,
    });
    this.stats.lookups++;
    while (!isDone(l) && !this.#stopped) {
      const q = nextQueries(l);
      l = q.lookup;
      if (q.ask.length === 0) break;
      const replies = await Promise.all(
        q.ask.map((p) =>
          this.#query(
            p,
            wantProviders > 0
              ? { kind: "dht.find_providers", body: { key: target } }
              : { kind: "dht.find_node", body: { target } },
          )
        ),
      );
      const now = this.#d.clock.nowMs();
      q.ask.forEach((p, i) => {
        const r = replies[i] ?? null;
        const closer =
          (r && (r.kind === "dht.nodes" || r.kind === "dht.providers") ? r.body.closer : []).map((
            w,
          ) => peerOf(w.id, w.url));
        if (r === null || r.kind === "dht.stored" || r.kind === "dht.models") {
          l = onFailure(l, p.id);
        } else if (r.kind === "dht.providers") {
          // handled here: records are checked on arrival (signature, expiry, key), so a node
          // answering for others cannot forge or alter one
          const good = r.body.providers.filter((x) =>
            x.key === target && checkRecord(x, now, this.#d.verify) === null
          );
          l = onReply(l, p.id, closer, good);
        } else l = onReply(l, p.id, closer);
      });
    }
    const answered = l.candidates.filter((c) => c.state === "answered").map((c) => c.peer.key);
    this.#dht = lookedUp(this.#dht, key, answered, this.#d.clock.nowMs());
    return { providers: [...l.providers.values()], closest: result(l) };
  }

  async #publish(own: OwnRecord): Promise<void> {
    const near = await this.lookup(own.key, 0);
    const record = signProviderRecord(
      { ...own, expiresMs: this.#d.clock.nowMs() + RECORD_TTL_MS },
      this.#d.sign,
    );
    // the k closest dialable nodes store it; a node with no dialable contact yet publishes on the
    // next re-publication (and the peers it is connected to that listen are asked now)
    const targets = near.closest.length > 0
      ? near.closest
      : this.#d.node.connectedPeers().filter((p) => this.#urlOf(p) !== null).map((p) =>
        peerOf(p, this.#urlOf(p))
      );
    await Promise.all(
      targets.map((p) => this.#query(p, { kind: "dht.add_provider", body: { record } })),
    );
    this.stats.published++;
  }

  /**
   * Providers of a model, by name or file SHA-256 (a lookup, reused for a minute).
   *
   * @param model the model id (its name key is looked up) or a 64-hex file hash.
   * @returns routes to the providers found, our own record excluded.
   */
  findProviders(model: string): Promise<Route[]> {
    const key = /^[0-9a-f]{64}$/.test(model) ? model : modelNameKey(model);
    const now = this.#d.clock.nowMs();
    const hit = this.#found.get(key);
    if (hit && now - hit.atMs < FOUND_TTL_MS) return hit.routes;
    const routes = this.lookup(key, K).then((r) => {
      const names = new Set(r.providers.map((p) => p.model));
      for (const name of names) {
        const n = r.providers.filter((p) => p.model === name).length;
        this.#noteModel(name, n, this.#d.clock.nowMs());
      }
      return r.providers.filter((p) => p.provider !== this.#d.node.id).map((p) => ({
        target: p.provider,
        url: p.url,
        relay: p.relay,
        layers: p.layers,
      }));
    });
    this.#found.set(key, { atMs: now, routes });
    if (this.#found.size > 256) this.#found.delete(this.#found.keys().next().value!);
    return routes;
  }

  /**
   * Sends a completion request to a provider found on the overlay: on our connection to it if
   * there is one, else through the relay its record names, else by dialling its address first.
   *
   * @returns its reply stream; a failure (no relay, refusal, limit, a frame that fails its check)
   *   is thrown by the stream as PeerRequestError.
   */
  openRoute(route: Route, body: CompleteRequestBody): PeerStream {
    const node = this.#d.node;
    const connected = () => node.connectedPeers().includes(route.target);
    if (!connected() && route.relay !== null && node.connectedPeers().includes(route.relay)) {
      const gen = this.relay.request(route.relay, route.target, body);
      return { id: "", replies: gen, close: () => void gen.return(undefined) };
    }
    let inner: PeerStream | null = null;
    const stopped = () => this.#stopped;
    async function* direct(): AsyncGenerator<Envelope, void, void> {
      if (!connected()) {
        if (route.url === null) {
          throw new PeerRequestError("PEER_GONE", "No connection to the provider or its relay");
        }
        node.dial(route.target, route.url);
        const end = performance.now() + DIAL_WAIT_MS;
        while (!connected()) {
          if (performance.now() > end || stopped()) {
            throw new PeerRequestError("PEER_GONE", `Cannot connect to ${route.url.slice(0, 80)}`);
          }
          await Bun.sleep(50);
        }
      }
      inner = node.open(route.target, "complete.request", body);
      yield* inner.replies;
    }
    const gen = direct();
    return {
      get id() {
        return inner?.id ?? "";
      },
      replies: gen,
      close: () => {
        inner?.close();
        void gen.return();
      },
    };
  }

  /** Providers found by earlier lookups (the network view; no new lookup). */
  async knownRoutes(): Promise<Map<string, Route[]>> {
    const out = new Map<string, Route[]>();
    for (const [key, f] of this.#found) out.set(key, await f.routes.catch(() => []));
    return out;
  }
}
