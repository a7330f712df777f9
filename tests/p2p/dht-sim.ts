/**
 * @module The in-memory simulation harness of the provider-lookup overlay (src/p2p/dht/): N nodes
 * running the production routing table, lookup state machine, request handler and timer planner,
 * with requests delivered by direct calls instead of sockets. Deterministic: one seeded PRNG
 * decides ids, bootstrap choices, churn and partitions; simulated time advances in ticks of one
 * second (a request and its reply complete within a tick; a lookup's rounds are its waves of α
 * requests). Used by tests/p2p/dht.test.ts (small N, asserted bounds) and
 * benchmarks/p2p/dht.bench.ts (1k and 10k nodes).
 *
 * Identities: "stand-in" draws ids from the PRNG and signs provider records with a SHA-256 based
 * stand-in (a forged record still fails); "ed25519" derives ids from real ed25519 key pairs and
 * signs and verifies every provider record with @noble/ed25519. Envelope signatures (one signature
 * and one verification per message in the real node) are counted, not computed, in both modes.
 */
import * as ed from "@noble/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { createPrng, type Prng } from "../../src/model/prng.ts";
import { compareDistance, keyFromHex, nodeKey } from "../../src/p2p/dht/key.ts";
import {
  type Lookup,
  nextQueries,
  onFailure,
  onReply,
  type Peer,
  peerOf,
  startLookup,
} from "../../src/p2p/dht/lookup.ts";
import {
  checkRecord,
  type ProviderRecord,
  RECORD_TTL_MS,
  signProviderRecord,
  storeCount,
} from "../../src/p2p/dht/providers.ts";
import { allContacts, closest, type Contact, K } from "../../src/p2p/dht/routing-table.ts";
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
  tick,
} from "../../src/p2p/dht/state.ts";
import type { DhtReply, DhtRequest, WireContact } from "../../src/p2p/dht/wire.ts";

ed.hashes.sha512 = sha512; // the harness signs outside src/, so it wires noble itself

/** Harness settings. */
export interface SimOptions {
  nodes: number;
  seed: number;
  identities: "stand-in" | "ed25519";
  /** Number of distinct model files. */
  models: number;
  /** Providers per model file. */
  providersPerModel: number;
  k?: number;
  alpha?: number;
  config?: DhtConfig;
  /** How often each node's timer planner runs (ms, a multiple of 1000). Why 5 s by default: the
   * planner's periods are 30 s and longer, and 10,000 nodes ticking every second cost minutes. */
  timerMs?: number;
}

interface SimNode {
  readonly id: string;
  readonly url: string;
  readonly key: Uint8Array;
  alive: boolean;
  side: number;
  state: DhtState;
  /** Messages this node sent and received. */
  traffic: number;
  /** Model key it provides, if any. */
  provides: string | null;
  readonly sign: (bytes: Uint8Array) => string;
}

/** Outcome of one lookup. */
export interface LookupOutcome {
  /** Requests sent + replies received. */
  messages: number;
  /** Waves of up to α requests. */
  rounds: number;
  /** Distinct providers found. */
  providers: number;
  /** Found providers that are alive. */
  liveProviders: number;
  /** Contacts of the result (node lookups). */
  result: Peer[];
}

const standInSig = (id: string, bytes: Uint8Array) => {
  const idb = hexToBytes(id);
  const a = new Uint8Array(idb.length + bytes.length);
  a.set(idb);
  a.set(bytes, idb.length);
  return bytesToHex(sha256(a)) + bytesToHex(sha256(sha256(a)));
};

/** The simulated network. */
export class DhtSim {
  readonly opts: Required<SimOptions>;
  readonly rng: Prng;
  nowMs = 0;
  /** Every message sent (requests, replies, pings, failed requests). */
  messages = 0;
  /** Messages by purpose: lookup, store, ping (eviction rule), probe (dormant re-probe). */
  readonly byPurpose = { lookup: 0, store: 0, ping: 0, probe: 0 };
  readonly nodes: SimNode[] = [];
  readonly #byId = new Map<string, SimNode>();
  readonly #alive: SimNode[] = [];
  partitioned = false;
  /** Model keys (hex). */
  readonly modelKeys: string[] = [];
  readonly #publicKeys = new Map<string, Uint8Array>();
  #serial = 0;

  constructor(opts: SimOptions) {
    this.opts = { k: K, alpha: 3, config: DEFAULT_DHT, timerMs: 5000, ...opts };
    this.rng = createPrng(opts.seed);
    for (let m = 0; m < opts.models; m++) this.modelKeys.push(bytesToHex(this.#bytes(32)));
  }

  #bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.rng.nextU32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }

  #int(n: number): number {
    return Math.floor(this.rng.nextFloat() * n);
  }

  /** The verifier nodes use for provider records. */
  readonly verify = (id: string, bytes: Uint8Array, sig: string): boolean => {
    if (this.opts.identities === "stand-in") return sig === standInSig(id, bytes);
    const pk = this.#publicKeys.get(id);
    if (!pk) return false;
    try {
      return ed.verify(hexToBytes(sig), bytes, pk);
    } catch {
      return false; // handled here: a malformed signature is a failed verification
    }
  };

  #newNode(): SimNode {
    let id: string;
    let sign: (bytes: Uint8Array) => string;
    if (this.opts.identities === "ed25519") {
      const secret = this.#bytes(32);
      const pk = ed.getPublicKey(secret);
      id = bytesToHex(pk);
      this.#publicKeys.set(id, pk);
      sign = (bytes) => bytesToHex(ed.sign(bytes, secret));
    } else {
      id = bytesToHex(this.#bytes(32));
      const me = id;
      sign = (bytes) => standInSig(me, bytes);
    }
    const n: SimNode = {
      id,
      url: `ws://sim/${this.#serial++}`,
      key: nodeKey(id),
      alive: true,
      side: 0,
      state: initialDht(id, this.opts.k),
      traffic: 0,
      provides: null,
      sign,
    };
    this.nodes.push(n);
    this.#byId.set(id, n);
    return n;
  }

  /** Alive nodes. */
  get alive(): readonly SimNode[] {
    return this.#alive;
  }

  #reachable(a: SimNode, b: SimNode): boolean {
    return b.alive && (!this.partitioned || a.side === b.side);
  }

  #heard(n: SimNode, from: SimNode): void {
    const h = heard(n.state, { id: from.id, url: from.url }, this.nowMs);
    n.state = h.state;
    if (h.ping) this.#ping(n, h.ping);
  }

  /** The eviction rule's ping of a bucket's least recently seen contact. */
  #ping(n: SimNode, c: Contact): void {
    const m0 = this.messages;
    this.#pingInner(n, c);
    this.byPurpose.ping += this.messages - m0;
  }

  #pingInner(n: SimNode, c: Contact): void {
    this.messages++;
    n.traffic++;
    const target = this.#byId.get(c.id);
    if (target && this.#reachable(n, target)) {
      this.messages++;
      n.traffic++;
      target.traffic++;
      this.#heard(n, target);
    } else {
      n.state = noAnswer(n.state, c);
    }
  }

  /** One request and its reply (null = no answer). */
  #rpc(from: SimNode, to: Peer, req: DhtRequest): DhtReply | null {
    this.byPurpose[req.kind === "dht.add_provider" ? "store" : "lookup"] += 1;
    const r = this.#rpcInner(from, to, req);
    if (r !== null) this.byPurpose[req.kind === "dht.add_provider" ? "store" : "lookup"] += 1;
    return r;
  }

  #rpcInner(from: SimNode, to: Peer, req: DhtRequest): DhtReply | null {
    this.messages++;
    from.traffic++;
    const target = this.#byId.get(to.id);
    if (!target || !this.#reachable(from, target)) {
      from.state = noAnswer(from.state, to);
      return null;
    }
    target.traffic += 2;
    this.#heard(target, from);
    const a = answer(target.state, from.id, req, this.nowMs, this.verify);
    target.state = a.state;
    this.messages++;
    from.traffic++;
    this.#heard(from, target);
    return a.reply;
  }

  #peers(ws: readonly WireContact[]): Peer[] {
    return ws.map((w) => peerOf(w.id, w.url));
  }

  /**
   * Runs a lookup from `n` to completion.
   *
   * @param n the node.
   * @param target key (hex).
   * @param wantProviders 0 = node lookup.
   */
  lookup(n: SimNode, target: string, wantProviders = 0): LookupOutcome {
    const key = keyFromHex(target);
    const seeds = closest(n.state.table, key, this.opts.k);
    let l: Lookup<ProviderRecord> = startLookup<ProviderRecord>(n.id, key, seeds, {
      k: this.opts.k,
      alpha: this.opts.alpha,
      wantProviders,
    });
    const before = this.messages;
    let rounds = 0;
    for (;;) {
      const q = nextQueries(l);
      l = q.lookup;
      if (q.ask.length === 0) break;
      rounds++;
      for (const p of q.ask) {
        const req: DhtRequest = wantProviders > 0
          ? { kind: "dht.find_providers", body: { key: target } }
          : { kind: "dht.find_node", body: { target } };
        const reply = this.#rpc(n, p, req);
        if (reply === null) l = onFailure(l, p.id);
        else if (reply.kind === "dht.providers") {
          const good = reply.body.providers.filter((r) =>
            r.key === target && checkRecord(r, this.nowMs, this.verify) === null
          );
          l = onReply(l, p.id, this.#peers(reply.body.closer), good);
        } else if (reply.kind === "dht.nodes") l = onReply(l, p.id, this.#peers(reply.body.closer));
        else l = onFailure(l, p.id);
      }
    }
    const answered = l.candidates.filter((c) => c.state === "answered").map((c) => c.peer.key);
    n.state = lookedUp(n.state, key, answered, this.nowMs);
    const found = [...l.providers.values()];
    return {
      messages: this.messages - before,
      rounds,
      providers: found.length,
      liveProviders: found.filter((r) => this.#byId.get(r.provider)?.alive === true).length,
      result: l.candidates.filter((c) => c.state === "answered").slice(0, this.opts.k).map((c) =>
        c.peer
      ),
    };
  }

  #publish(n: SimNode, own: OwnRecord): void {
    const near = this.lookup(n, own.key);
    const record = signProviderRecord({ ...own, expiresMs: this.nowMs + RECORD_TTL_MS }, n.sign);
    for (const p of near.result) this.#rpc(n, p, { kind: "dht.add_provider", body: { record } });
  }

  /** Adds a node that joins through a random live node (self-lookup, as the paper's join). */
  join(): SimNode {
    const boot = this.#alive.length > 0 ? this.#alive[this.#int(this.#alive.length)]! : null;
    const n = this.#newNode();
    if (boot) {
      this.#heard(n, boot);
      this.lookup(n, bytesToHex(n.key));
    }
    this.#alive.push(n);
    return n;
  }

  /** Makes `n` provide `model` (published on its next tick). */
  provide(n: SimNode, model: string): void {
    n.provides = model;
    n.state = setOwnRecord(n.state, model, {
      key: model,
      provider: n.id,
      model: "m",
      url: n.url,
      relay: null,
      layers: null,
      nLayers: 30,
    });
  }

  #leave(n: SimNode): void {
    n.alive = false;
    const i = this.#alive.indexOf(n);
    this.#alive[i] = this.#alive.at(-1)!;
    this.#alive.pop();
  }

  /** Runs every live node's timers once and executes their actions. */
  #tickAll(): void {
    for (const n of [...this.#alive]) {
      if (!n.alive) continue;
      const t = tick(n.state, this.nowMs, this.#bytes(32), this.opts.config);
      n.state = t.state;
      for (const a of t.actions) {
        if (a.type === "refresh") this.lookup(n, bytesToHex(a.target));
        else if (a.type === "publish") this.#publish(n, a.record);
        else {
          const c = a.contact;
          this.byPurpose.probe++;
          this.messages++;
          n.traffic++;
          const target = this.#byId.get(c.id);
          if (target && this.#reachable(n, target)) {
            this.byPurpose.probe++;
            this.messages++;
            n.traffic++;
            target.traffic++;
            this.#heard(n, target);
            this.#heard(target, n);
          } else n.state = probeUnanswered(n.state, c);
        }
      }
    }
  }

  /**
   * Builds the network: nodes join over `spreadMs` of simulated time while timers run, then
   * the providers are chosen.
   */
  build(spreadMs = 60_000): void {
    const perTick = Math.max(1, Math.ceil(this.opts.nodes / (spreadMs / 1000)));
    while (this.nodes.length < this.opts.nodes) {
      for (let i = 0; i < perTick && this.nodes.length < this.opts.nodes; i++) this.join();
      this.advance(1000);
    }
    for (const model of this.modelKeys) {
      let chosen = 0;
      while (chosen < this.opts.providersPerModel) {
        const n = this.#alive[this.#int(this.#alive.length)]!;
        if (n.provides !== null) continue;
        this.provide(n, model);
        chosen++;
      }
    }
  }

  /**
   * Advances simulated time, one tick per second, with optional churn.
   *
   * @param ms how long.
   * @param churnPerMinute fraction of nodes that leave (and as many that join) per minute.
   */
  advance(ms: number, churnPerMinute = 0): void {
    const end = this.nowMs + ms;
    let carry = 0;
    while (this.nowMs < end) {
      this.nowMs += 1000;
      if (churnPerMinute > 0) {
        carry += (this.#alive.length * churnPerMinute) / 60;
        for (; carry >= 1; carry--) {
          const gone = this.#alive[this.#int(this.#alive.length)]!;
          this.#leave(gone);
          const fresh = this.join();
          if (this.partitioned) fresh.side = this.#int(2);
          if (gone.provides !== null) this.provide(fresh, gone.provides); // keep P providers live
        }
      }
      if (this.nowMs % this.opts.timerMs === 0) this.#tickAll();
    }
  }

  /** Splits the live nodes into two random halves that cannot reach each other. */
  partition(): void {
    for (const n of this.#alive) n.side = this.#int(2);
    this.partitioned = true;
  }

  /** Ends the partition. */
  heal(): void {
    this.partitioned = false;
  }

  /** A random live node. */
  randomNode(): SimNode {
    return this.#alive[this.#int(this.#alive.length)]!;
  }

  /** A random model key. */
  randomModel(): string {
    return this.modelKeys[this.#int(this.modelKeys.length)]!;
  }

  /** A random key. */
  randomKey(): string {
    return bytesToHex(this.#bytes(32));
  }

  /**
   * Fraction of the true k closest live nodes to `target` that a node lookup found (1 = all).
   */
  lookupAccuracy(n: SimNode, target: string): number {
    const key = keyFromHex(target);
    const truth = [...this.#alive].sort((a, b) => compareDistance(key, a.key, b.key))
      .filter((x) => x.id !== n.id).slice(0, this.opts.k).map((x) => x.id);
    const got = new Set(this.lookup(n, target).result.map((p) => p.id));
    return truth.filter((id) => got.has(id)).length / truth.length;
  }

  /** Routing-table and store figures over live nodes. */
  tables(): { meanContacts: number; maxContacts: number; meanRecords: number; meanBytes: number } {
    let sum = 0, max = 0, rec = 0, bytes = 0;
    for (const n of this.#alive) {
      const cs = allContacts(n.state.table);
      sum += cs.length;
      max = Math.max(max, cs.length);
      rec += storeCount(n.state.store);
      // payload bytes, without JS object overhead: key 32 + id 64 + url + 3 numbers
      const cbytes = (c: Contact) => 32 + 64 + (c.url?.length ?? 0) + 24;
      for (const b of n.state.table.buckets) {
        for (const c of b.contacts) bytes += cbytes(c);
        for (const c of b.replacements) bytes += cbytes(c);
      }
      for (const c of n.state.table.dormant) bytes += cbytes(c);
      for (const m of n.state.store.values()) {
        for (const r of m.values()) bytes += JSON.stringify(r).length;
      }
    }
    const a = this.#alive.length;
    return { meanContacts: sum / a, maxContacts: max, meanRecords: rec / a, meanBytes: bytes / a };
  }

  /** Resets every node's traffic counter (start of a measurement window). */
  resetTraffic(): {
    at: number;
    messages: number;
    lookup: number;
    store: number;
    ping: number;
    probe: number;
  } {
    for (const n of this.nodes) n.traffic = 0;
    return { at: this.nowMs, messages: this.messages, ...this.byPurpose };
  }

  /** Messages per live node per minute since `mark`, and the busiest node's sent+received. */
  trafficSince(mark: ReturnType<DhtSim["resetTraffic"]>): {
    perNodePerMin: number;
    maxNodePerMin: number;
    byPurposePerNodePerMin: Record<string, number>;
  } {
    const minutes = (this.nowMs - mark.at) / 60_000;
    let max = 0;
    for (const n of this.#alive) max = Math.max(max, n.traffic);
    const per = (v: number) => Math.round((v / this.#alive.length / minutes) * 100) / 100;
    return {
      byPurposePerNodePerMin: {
        lookup: per(this.byPurpose.lookup - mark.lookup),
        store: per(this.byPurpose.store - mark.store),
        ping: per(this.byPurpose.ping - mark.ping),
        probe: per(this.byPurpose.probe - mark.probe),
      },
      perNodePerMin: (this.messages - mark.messages) / this.#alive.length / minutes,
      maxNodePerMin: max / minutes,
    };
  }
}
