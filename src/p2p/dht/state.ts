/**
 * @module A node's part in the provider-lookup overlay: its routing table, the records it stores
 * for others and the records it publishes, with the request handler (what to answer) and the
 * timer planner (`tick`: which buckets to refresh, which records to re-publish, which dormant
 * contact to re-probe). Lookups themselves are lookup.ts state machines the shell drives. Pure:
 * times, random fill and the signature verifier come in as arguments.
 */
import { keyFromHex, keyInBucket, keyToHex } from "./key.ts";
import {
  closest,
  type Contact,
  contactOf,
  emptyTable,
  failed,
  forgetDormant,
  K,
  observe,
  probeFailed,
  type RoutingTable,
  staleBuckets,
  touch,
} from "./routing-table.ts";
import {
  checkRecord,
  emptyStore,
  type ProviderRecord,
  providersFor,
  type ProviderStore,
  pruneStore,
  REPUBLISH_MS,
  storedModels,
  storeRecord,
} from "./providers.ts";
import { type DhtReply, type DhtRequest, K_MAX, MODELS_MAX, type WireContact } from "./wire.ts";

/** Timer settings. */
export interface DhtConfig {
  /** A bucket with no lookup for this long is refreshed. Why 10 min: libp2p's refresh period. */
  refreshMs: number;
  /** Own records are re-published this often. */
  republishMs: number;
  /** One dormant contact is re-probed this often. Why 30 s: a healed partition is found within
   * a minute at a cost of one ping per node per 30 s. */
  probeMs: number;
  /** At most this many bucket refreshes start per tick (bounds the burst after start-up). */
  refreshPerTick: number;
}

/** Defaults. */
export const DEFAULT_DHT: DhtConfig = {
  refreshMs: 10 * 60_000,
  republishMs: REPUBLISH_MS,
  probeMs: 30_000,
  refreshPerTick: 1,
};

/** What the node publishes about itself (a record without expiry and signature). */
export type OwnRecord = Omit<ProviderRecord, "expiresMs" | "sig">;

/** The overlay state of one node. */
export interface DhtState {
  readonly table: RoutingTable;
  readonly store: ProviderStore;
  /** Our own records by key, with when each was last published. */
  readonly own: ReadonlyMap<string, { record: OwnRecord; publishedMs: number }>;
  readonly lastProbeMs: number;
}

/**
 * A fresh state.
 *
 * @param selfId our node id.
 * @param k bucket size.
 */
export function initialDht(selfId: string, k = K): DhtState {
  return { table: emptyTable(selfId, k), store: emptyStore(), own: new Map(), lastProbeMs: 0 };
}

/** A node we heard from: id, and its url only if it is dialable (otherwise it is not stored). */
export interface Sender {
  id: string;
  url: string | null;
}

/**
 * Records that we heard from `sender` (any request or reply). Undialable senders are not added to
 * the routing table: others could not reach them through it (libp2p's client mode).
 *
 * @returns the state and a contact to ping for the eviction rule, if any.
 */
export function heard(
  s: DhtState,
  sender: Sender,
  now: number,
): { state: DhtState; ping: Contact | null } {
  if (sender.url === null) return { state: s, ping: null };
  const o = observe(s.table, contactOf(sender.id, sender.url, now));
  return { state: o.table === s.table ? s : { ...s, table: o.table }, ping: o.ping };
}

/** Records that `who` did not answer (request timeout, refused dial, failed eviction ping). */
export function noAnswer(s: DhtState, who: { id: string; key: Uint8Array }): DhtState {
  const table = failed(s.table, who);
  return table === s.table ? s : { ...s, table };
}

const toWire = (cs: readonly Contact[]): WireContact[] =>
  cs.filter((c) => c.url !== null).map((c) => ({ id: c.id, url: c.url! }));

/**
 * Answers a request (after `heard` for the sender).
 *
 * @param s the state.
 * @param from the sender's node id (authenticated by the envelope).
 * @param req the request.
 * @param now clock reading.
 * @param verify ed25519 verification for provider records.
 * @returns the state (a stored record) and the reply.
 */
export function answer(
  s: DhtState,
  from: string,
  req: DhtRequest,
  now: number,
  verify: (id: string, bytes: Uint8Array, sig: string) => boolean,
): { state: DhtState; reply: DhtReply } {
  switch (req.kind) {
    case "dht.find_node": {
      const closer = toWire(closest(s.table, keyFromHex(req.body.target), K_MAX, from));
      return { state: s, reply: { kind: "dht.nodes", body: { closer } } };
    }
    case "dht.find_providers": {
      const closer = toWire(closest(s.table, keyFromHex(req.body.key), K_MAX, from));
      const providers = providersFor(s.store, req.body.key, now, K_MAX);
      return { state: s, reply: { kind: "dht.providers", body: { providers, closer } } };
    }
    case "dht.list_models":
      return {
        state: s,
        reply: { kind: "dht.models", body: { models: storedModels(s.store, now, MODELS_MAX) } },
      };
    case "dht.add_provider": {
      // handled here: a record that is not the sender's own, expired, too long-lived or badly
      // signed is refused with its reason; a full store refuses with "full"
      const refusal = checkRecord(req.body.record, now, verify, from);
      const stored = refusal === null ? storeRecord(s.store, req.body.record) : refusal;
      if (typeof stored === "string") {
        return { state: s, reply: { kind: "dht.stored", body: { ok: false, reason: stored } } };
      }
      return {
        state: { ...s, store: stored },
        reply: { kind: "dht.stored", body: { ok: true, reason: "" } },
      };
    }
  }
}

/** Records that a re-probed dormant contact did not answer (it is retried later, a few times). */
export function probeUnanswered(s: DhtState, contact: Contact): DhtState {
  return { ...s, table: probeFailed(s.table, contact) };
}

/**
 * Starts (or stops, with null) publishing a record about ourselves.
 *
 * @returns the state; the next `tick` publishes it.
 */
export function setOwnRecord(s: DhtState, key: string, record: OwnRecord | null): DhtState {
  const own = new Map(s.own);
  if (record === null) own.delete(key);
  else own.set(key, { record, publishedMs: -Infinity });
  return { ...s, own };
}

/** What the timers ask the shell to do. */
export type DhtAction =
  | { type: "refresh"; target: Uint8Array }
  | { type: "publish"; record: OwnRecord }
  | { type: "probe"; contact: Contact };

/**
 * The timer planner: prunes expired records, and returns bucket refreshes, (re-)publications and
 * a dormant re-probe that are due, recording them as started so a second tick does not repeat them.
 *
 * @param s the state.
 * @param now clock reading.
 * @param fill 32 random bytes for refresh targets.
 * @param c settings.
 */
export function tick(
  s: DhtState,
  now: number,
  fill: Uint8Array,
  c: DhtConfig = DEFAULT_DHT,
): { state: DhtState; actions: DhtAction[] } {
  const actions: DhtAction[] = [];
  let table = s.table;
  for (const cpl of staleBuckets(table, now, c.refreshMs).slice(0, c.refreshPerTick)) {
    const target = keyInBucket(table.self, cpl, fill);
    table = touch(table, target, now);
    actions.push({ type: "refresh", target });
  }
  let own = s.own;
  for (const [key, o] of s.own) {
    if (now - o.publishedMs < c.republishMs) continue;
    if (own === s.own) own = new Map(s.own);
    (own as Map<string, { record: OwnRecord; publishedMs: number }>).set(key, {
      ...o,
      publishedMs: now,
    });
    actions.push({ type: "publish", record: o.record });
  }
  let lastProbeMs = s.lastProbeMs;
  const dormant = table.dormant.at(-1);
  if (dormant && now - s.lastProbeMs >= c.probeMs) {
    table = forgetDormant(table, dormant.id);
    lastProbeMs = now;
    actions.push({ type: "probe", contact: dormant });
  }
  return { state: { table, store: pruneStore(s.store, now), own, lastProbeMs }, actions };
}

/**
 * Marks buckets as fresh after a lookup: the target's, and that of every node that answered (a
 * lookup that heard from nodes in a bucket's range has just checked that range). One lookup near
 * our own key thereby refreshes every deep bucket at once.
 *
 * @param s the state.
 * @param target the key looked up.
 * @param answered keys of the nodes that answered.
 * @param now clock reading.
 */
export function lookedUp(
  s: DhtState,
  target: Uint8Array,
  answered: readonly Uint8Array[],
  now: number,
): DhtState {
  let table = touch(s.table, target, now);
  for (const k of answered) table = touch(table, k, now);
  return { ...s, table };
}

/** Hex of a key (re-exported for shells). */
export const hexOf = keyToHex;
