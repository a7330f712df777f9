/**
 * @module The Kademlia routing table as a reducer: 256 k-buckets indexed by the common prefix
 * length with our key, each holding at most k contacts, least recently seen first, plus a
 * replacement cache. The rules are the paper's (§2.2, §4.1): a contact heard from moves to the tail;
 * a new contact for a full bucket goes to the replacement cache and the bucket's least recently seen
 * contact is pinged (the `ping` result asks the shell to do it); a contact that fails to answer is
 * replaced by the newest replacement, and kept (marked stale) while no replacement exists, because
 * old live contacts are the likeliest to stay (the paper's measurements of Gnutella uptimes).
 * Contacts evicted this way are remembered in a short dormant list that the planner re-probes, so
 * two halves of a partition find each other again after it heals.
 * Pure: every function returns a new table and never changes its input; times come in as `now`.
 */
import { commonPrefixLength, compareDistance, KEY_BITS, nodeKey } from "./key.ts";

/** A node we can send requests to. */
export interface Contact {
  /** Node id (ed25519 public key, 64 hex). */
  readonly id: string;
  /** Overlay key: SHA-256 of the public key. */
  readonly key: Uint8Array;
  /** Where it accepts connections; null = it is reached through `relay` or not at all. */
  readonly url: string | null;
  readonly lastSeenMs: number;
  /** Requests in a row it failed to answer. */
  readonly failures: number;
}

/** One k-bucket. */
export interface Bucket {
  /** Least recently seen first. */
  readonly contacts: readonly Contact[];
  /** Candidates heard from while the bucket was full, newest last (at most k). */
  readonly replacements: readonly Contact[];
  /** Id of the contact being pinged to decide an eviction, if any. */
  readonly pinging: string | null;
  /** Last time a lookup went through this bucket's range (for refresh). */
  readonly touchedMs: number;
  /** Last time this bucket's oldest contact was pinged for the eviction rule. */
  readonly pingedMs: number;
}

/** The table. */
export interface RoutingTable {
  readonly selfId: string;
  readonly self: Uint8Array;
  readonly k: number;
  readonly buckets: readonly Bucket[];
  /** Contacts evicted after failing, newest last, for the planner to re-probe. */
  readonly dormant: readonly Contact[];
}

/** Bucket size. Why 20: the paper's and libp2p's k; 20 nodes all leaving within an hour is rare. */
export const K = 20;
/** Dormant contacts kept. Why 32: enough to find the other side of a partition, small in memory. */
export const MAX_DORMANT = 32;
/** A full bucket's least recently seen contact is pinged only if silent this long. Why 5 min:
 * the paper's §4.1 advice to delay probes until they are useful; a contact heard from minutes ago
 * is very likely still there, and each ping is two messages. */
export const PING_IF_SILENT_MS = 5 * 60_000;
/** Failures after which a contact without replacement is dropped anyway. Why 5: the paper's
 * suggestion for tolerating short outages without keeping dead contacts forever. */
export const MAX_FAILURES = 5;

/** `touchedMs` of a bucket never looked up (so a new table refreshes at once). */
export const NEVER = -Number.MAX_SAFE_INTEGER;

const EMPTY: Bucket = {
  contacts: [],
  replacements: [],
  pinging: null,
  touchedMs: NEVER,
  pingedMs: NEVER,
};

/**
 * An empty table.
 *
 * @param selfId our node id (64 hex).
 * @param k bucket size.
 * @throws RangeError if `selfId` is not 64 hex or `k` is not a positive integer.
 */
export function emptyTable(selfId: string, k = K): RoutingTable {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`Bucket size must be at least 1: ${k}`);
  return {
    selfId,
    self: nodeKey(selfId),
    k,
    buckets: Array.from({ length: KEY_BITS }, () => EMPTY),
    dormant: [],
  };
}

/**
 * A contact for a node id seen at `now`.
 *
 * @throws RangeError if `id` is not 64 hex.
 */
export function contactOf(id: string, url: string | null, now: number): Contact {
  return { id, key: nodeKey(id), url, lastSeenMs: now, failures: 0 };
}

function bucketIndex(table: RoutingTable, key: Uint8Array): number {
  return Math.min(KEY_BITS - 1, commonPrefixLength(table.self, key));
}

function withBucket(table: RoutingTable, i: number, b: Bucket): RoutingTable {
  const buckets = table.buckets.slice();
  buckets[i] = b;
  return { ...table, buckets };
}

/** Result of `observe`: the table, and the contact to ping before anyone is evicted. */
export interface Observed {
  table: RoutingTable;
  ping: Contact | null;
}

/**
 * Records that we heard from a node (a request or reply it sent us): the paper's update rule.
 *
 * @param table the table.
 * @param contact the node (its `lastSeenMs` is the time heard).
 * @returns the table, and a contact to ping if the bucket is full, none is being pinged and its
 *   least recently seen contact has been silent for PING_IF_SILENT_MS.
 */
export function observe(table: RoutingTable, contact: Contact): Observed {
  if (contact.id === table.selfId) return { table, ping: null }; // handled here: never ourselves
  const i = bucketIndex(table, contact.key);
  const b = table.buckets[i]!;
  const at = b.contacts.findIndex((c) => c.id === contact.id);
  const fresh: Contact = { ...contact, failures: 0 };
  if (at >= 0) {
    const old = b.contacts[at]!;
    const moved = { ...fresh, url: contact.url ?? old.url };
    const contacts = [...b.contacts.slice(0, at), ...b.contacts.slice(at + 1), moved];
    const pinging = b.pinging === contact.id ? null : b.pinging;
    return { table: withBucket(table, i, { ...b, contacts, pinging }), ping: null };
  }
  const dormant = table.dormant.filter((c) => c.id !== contact.id);
  const t = dormant.length === table.dormant.length ? table : { ...table, dormant };
  if (b.contacts.length < table.k) {
    return { table: withBucket(t, i, { ...b, contacts: [...b.contacts, fresh] }), ping: null };
  }
  const replacements = [...b.replacements.filter((c) => c.id !== contact.id), fresh]
    .slice(-table.k);
  const head = b.contacts[0]!;
  // at most one eviction ping per bucket per PING_IF_SILENT_MS: under churn a full bucket hears
  // from many strangers, and each would otherwise ping the next silent head (the ping share of
  // churn traffic then grew with N); a dead head is also found by a lookup's failed request
  if (
    b.pinging !== null || contact.lastSeenMs - head.lastSeenMs < PING_IF_SILENT_MS ||
    contact.lastSeenMs - b.pingedMs < PING_IF_SILENT_MS
  ) {
    return { table: withBucket(t, i, { ...b, replacements }), ping: null };
  }
  return {
    table: withBucket(t, i, {
      ...b,
      replacements,
      pinging: head.id,
      pingedMs: contact.lastSeenMs,
    }),
    ping: head,
  };
}

function evict(table: RoutingTable, i: number, id: string): RoutingTable {
  const b = table.buckets[i]!;
  const gone = b.contacts.find((c) => c.id === id);
  if (!gone) return table;
  const contacts = b.contacts.filter((c) => c.id !== id);
  const promoted = b.replacements.at(-1);
  const next: Bucket = promoted
    ? { ...b, contacts: [...contacts, promoted], replacements: b.replacements.slice(0, -1) }
    : { ...b, contacts };
  const dormant = [...table.dormant.filter((c) => c.id !== id), gone].slice(-MAX_DORMANT);
  return withBucket({ ...table, dormant }, i, {
    ...next,
    pinging: b.pinging === id ? null : b.pinging,
  });
}

/**
 * Records that a node did not answer a request or ping.
 *
 * @param table the table.
 * @param who the node (id and key).
 * @returns the table: the contact replaced by the newest replacement if there is one, otherwise
 *   kept with one more failure (dropped after MAX_FAILURES).
 */
export function failed(table: RoutingTable, who: { id: string; key: Uint8Array }): RoutingTable {
  const i = bucketIndex(table, who.key);
  const b = table.buckets[i]!;
  const c = b.contacts.find((x) => x.id === who.id);
  if (!c) {
    // handled here: a failure of a node we do not hold changes nothing (except the cache)
    if (!b.replacements.some((x) => x.id === who.id)) return table;
    return withBucket(table, i, {
      ...b,
      replacements: b.replacements.filter((x) => x.id !== who.id),
    });
  }
  if (b.replacements.length > 0 || c.failures + 1 >= MAX_FAILURES) return evict(table, i, who.id);
  const contacts = b.contacts.map((
    x,
  ) => (x.id === who.id ? { ...x, failures: x.failures + 1 } : x));
  return withBucket(table, i, { ...b, contacts, pinging: b.pinging === who.id ? null : b.pinging });
}

/**
 * The `n` contacts closest to `target` (XOR), closest first; stale ones (that failed) only after
 * every live one. Visits buckets in distance order instead of sorting the whole table: with
 * c = cpl(self, target), bucket c is closest, then every bucket deeper than c (their distances
 * all have their leading bit at c), then buckets c-1, c-2, … 0.
 *
 * @param table the table.
 * @param target the key.
 * @param n how many.
 * @param exclude a node id to leave out (the asker).
 */
export function closest(
  table: RoutingTable,
  target: Uint8Array,
  n: number,
  exclude: string | null = null,
): Contact[] {
  const c = bucketIndex(table, target);
  const live: Contact[] = [];
  const stale: Contact[] = [];
  const sorted = (cs: Contact[]) => cs.sort((a, b) => compareDistance(target, a.key, b.key));
  const take = (group: Contact[]) => {
    for (const x of sorted(group)) (x.failures > 0 ? stale : live).push(x);
  };
  const into = (out: Contact[], i: number) => {
    for (const x of table.buckets[i]!.contacts) if (x.id !== exclude) out.push(x);
    return out;
  };
  take(into([], c));
  if (live.length < n) {
    const deeper: Contact[] = [];
    for (let i = c + 1; i < KEY_BITS; i++) {
      if (table.buckets[i]!.contacts.length > 0) into(deeper, i);
    }
    take(deeper);
  }
  for (let i = c - 1; i >= 0 && live.length < n; i--) {
    if (table.buckets[i]!.contacts.length > 0) take(into([], i));
  }
  return live.length >= n ? live.slice(0, n) : [...live, ...sorted(stale)].slice(0, n);
}

/** Number of contacts in the table. */
export function tableSize(table: RoutingTable): number {
  let n = 0;
  for (const b of table.buckets) n += b.contacts.length;
  return n;
}

/** Every contact (for views and tests). */
export function allContacts(table: RoutingTable): Contact[] {
  return table.buckets.flatMap((b) => b.contacts);
}

/**
 * Marks the bucket that holds `target` as looked up at `now`.
 *
 * @param table the table.
 * @param target the key a lookup just resolved.
 * @param now clock reading.
 */
export function touch(table: RoutingTable, target: Uint8Array, now: number): RoutingTable {
  const i = bucketIndex(table, target);
  return withBucket(table, i, { ...table.buckets[i]!, touchedMs: now });
}

/**
 * Buckets to refresh: those not looked up for `intervalMs` that are not full or hold a contact
 * that failed, from bucket 0 up to one past the deepest non-empty bucket (deeper ones are empty in
 * any network smaller than 2^index·k). A full bucket of live contacts needs no refresh: it is
 * complete, and its contacts are checked when used. Why: the far buckets are always full, so
 * this keeps the maintenance cost to the few buckets near our own key, whatever the network size.
 *
 * @returns bucket indexes, most stale first.
 */
export function staleBuckets(table: RoutingTable, now: number, intervalMs: number): number[] {
  let deepest = -1;
  table.buckets.forEach((b, i) => (b.contacts.length > 0 ? (deepest = i) : 0));
  const limit = Math.min(KEY_BITS - 1, deepest + 1);
  const out: number[] = [];
  for (let i = 0; i <= limit; i++) {
    const b = table.buckets[i]!;
    if (now - b.touchedMs < intervalMs) continue;
    if (b.contacts.length >= table.k && b.contacts.every((c) => c.failures === 0)) continue;
    out.push(i);
  }
  return out.sort((a, b) => table.buckets[a]!.touchedMs - table.buckets[b]!.touchedMs || a - b);
}

/** Re-probes a dormant contact gets before it is forgotten. Why 8: with 32 dormant contacts probed
 * one per 30 s, a contact is retried for about two hours, longer than a typical network outage. */
export const MAX_PROBES = 8;

/**
 * Puts a dormant contact whose re-probe failed back at the front (oldest) of the dormant list,
 * until it has failed MAX_PROBES times.
 */
export function probeFailed(table: RoutingTable, contact: Contact): RoutingTable {
  if (contact.failures + 1 >= MAX_PROBES) return table;
  if (table.dormant.some((c) => c.id === contact.id)) return table;
  const back = { ...contact, failures: contact.failures + 1 };
  return { ...table, dormant: [back, ...table.dormant].slice(-MAX_DORMANT) };
}

/**
 * Removes a dormant contact (after a re-probe, whatever its outcome: a live one comes back
 * through `observe`).
 */
export function forgetDormant(table: RoutingTable, id: string): RoutingTable {
  return { ...table, dormant: table.dormant.filter((c) => c.id !== id) };
}
