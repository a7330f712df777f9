/**
 * @module Provider records: "node P serves model file H (layers [a, b] or all)", stored at the k
 * nodes closest to H (the model file's SHA-256) and found with FIND_PROVIDERS (libp2p kad-dht's
 * ADD_PROVIDER / GET_PROVIDERS; paper §2.5 store/republish). A record is signed by its provider,
 * so a storing node can drop or withhold records but cannot forge or alter one; it expires, and
 * the provider re-publishes it before then. The store is bounded against floods. Pure: signing
 * and verifying come in as functions, times as arguments.
 */
import { z } from "zod";

/** How long a record lives. Why 30 min: with 10 % of nodes leaving per minute, half of a key's k
 * holders are gone after 7 minutes; re-publishing every 10 min (REPUBLISH_MS) keeps each record
 * on about k live nodes, and a departed provider drops out of answers within 30 min. (libp2p uses
 * 48 h / 22 h, tuned for far lower churn.) */
export const RECORD_TTL_MS = 30 * 60_000;
/** Re-publication period of our own records. */
export const REPUBLISH_MS = 10 * 60_000;
/** Most keys a node stores for others. Why 4096: models in a network are few; bounded memory. */
export const MAX_KEYS = 4096;
/** Most providers kept per key. Why 64: a lookup wants k = 20; more add nothing but memory. */
export const MAX_PROVIDERS_PER_KEY = 64;
/** Domain separation of provider signatures. */
export const PROVIDER_SIGN_DOMAIN = "aria-dht-provider/1\n";

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));

/** A provider record as it travels (dht.add_provider, dht.providers). */
export const providerRecordSchema = z.object({
  /** The model file's SHA-256 (the DHT key). */
  key: hex(64),
  /** The provider's node id. */
  provider: hex(64),
  /** The model's name as clients ask for it (the OpenAI `model` field). */
  model: z.string().min(1).max(128),
  /** Where the provider accepts connections; null = through `relay`. */
  url: z.string().max(300).regex(/^wss?:\/\/[^\s]+$/).nullable(),
  /** A reachable node relaying for it (node id), if it is not reachable itself. */
  relay: hex(64).nullable(),
  /** Layers served, [first, last] inclusive; null = the whole model. */
  layers: z.tuple([z.number().int().min(0), z.number().int().min(0)]).nullable(),
  nLayers: z.number().int().min(0).max(100_000),
  /** Unix ms after which the record is void. */
  expiresMs: z.number().int().min(0),
  /** ed25519 signature by `provider` over `providerSigningBytes`. */
  sig: hex(128),
}).refine((r) => r.layers === null || r.layers[0] <= r.layers[1], "layers first > last");
/** A provider record. */
export type ProviderRecord = z.infer<typeof providerRecordSchema>;

const encoder = new TextEncoder();

/** The bytes a provider signs: domain + a fixed-order JSON array of every field but `sig`. */
export function providerSigningBytes(r: Omit<ProviderRecord, "sig">): Uint8Array {
  const fields = [r.key, r.provider, r.model, r.url, r.relay, r.layers, r.nLayers, r.expiresMs];
  return encoder.encode(PROVIDER_SIGN_DOMAIN + JSON.stringify(fields));
}

/**
 * Builds and signs our own record.
 *
 * @param fields everything but the signature.
 * @param sign our signer (hex signature).
 */
export function signProviderRecord(
  fields: Omit<ProviderRecord, "sig">,
  sign: (bytes: Uint8Array) => string,
): ProviderRecord {
  return { ...fields, sig: sign(providerSigningBytes(fields)) };
}

/** Why a record was refused. */
export type RecordRefusal = "expired" | "too_far_ahead" | "bad_signature" | "not_sender" | "full";

/**
 * Checks a record received from the network.
 *
 * @param r the record (shape already checked by the schema).
 * @param now clock reading.
 * @param verify ed25519 verification (id, bytes, sig hex) -> boolean.
 * @param sender when set, the record must be the sender's own (ADD_PROVIDER: nobody announces
 *   another node).
 * @returns null when acceptable, or the reason.
 */
export function checkRecord(
  r: ProviderRecord,
  now: number,
  verify: (id: string, bytes: Uint8Array, sig: string) => boolean,
  sender: string | null = null,
): RecordRefusal | null {
  if (sender !== null && r.provider !== sender) return "not_sender";
  if (r.expiresMs <= now) return "expired";
  // handled here: a record claiming to live longer than one TTL (plus clock skew) is refused,
  // so a provider that left cannot linger for days
  if (r.expiresMs > now + RECORD_TTL_MS + 60_000) return "too_far_ahead";
  if (!verify(r.provider, providerSigningBytes(r), r.sig)) return "bad_signature";
  return null;
}

/** Records stored for others: key -> provider id -> record. */
export type ProviderStore = ReadonlyMap<string, ReadonlyMap<string, ProviderRecord>>;

/** An empty store. */
export function emptyStore(): ProviderStore {
  return new Map();
}

/**
 * Stores a checked record (replacing the provider's older one for the key).
 *
 * @returns the store, or "full" when no key or provider slot is free.
 */
export function storeRecord(store: ProviderStore, r: ProviderRecord): ProviderStore | "full" {
  const forKey = store.get(r.key);
  if (!forKey && store.size >= MAX_KEYS) return "full";
  const old = forKey?.get(r.provider);
  if (old && old.expiresMs >= r.expiresMs) return store; // handled here: an older copy changes nothing
  if (!old && (forKey?.size ?? 0) >= MAX_PROVIDERS_PER_KEY) return "full";
  const next = new Map(store);
  const m = new Map(forKey ?? []);
  m.set(r.provider, r);
  next.set(r.key, m);
  return next;
}

/**
 * The live records for a key, soonest-expiring last.
 *
 * @param store the store.
 * @param key model file SHA-256 (hex).
 * @param now clock reading.
 * @param max most records returned.
 */
export function providersFor(
  store: ProviderStore,
  key: string,
  now: number,
  max = MAX_PROVIDERS_PER_KEY,
): ProviderRecord[] {
  const m = store.get(key);
  if (!m) return [];
  return [...m.values()].filter((r) => r.expiresMs > now).sort((a, b) => b.expiresMs - a.expiresMs)
    .slice(0, max);
}

/** Drops expired records (and keys left empty). */
export function pruneStore(store: ProviderStore, now: number): ProviderStore {
  let changed = false;
  const next = new Map<string, ReadonlyMap<string, ProviderRecord>>();
  for (const [key, m] of store) {
    const live = [...m.values()].filter((r) => r.expiresMs > now);
    if (live.length !== m.size) changed = true;
    if (live.length > 0) {
      next.set(key, live.length === m.size ? m : new Map(live.map((r) => [r.provider, r])));
    }
  }
  return changed ? next : store;
}

/** Number of records held (for memory figures). */
export function storeCount(store: ProviderStore): number {
  let n = 0;
  for (const m of store.values()) n += m.size;
  return n;
}

/**
 * The models named by the live records in a store, with how many distinct providers each has
 * (`dht.models`: the network view of a node's neighbours).
 *
 * @param store the store.
 * @param now clock reading.
 * @param max most models returned (those with the most providers).
 * @returns models sorted by provider count, then name.
 */
export function storedModels(
  store: ProviderStore,
  now: number,
  max: number,
): { id: string; providers: number }[] {
  const by = new Map<string, Set<string>>();
  for (const records of store.values()) {
    for (const r of records.values()) {
      if (r.expiresMs <= now) continue;
      let set = by.get(r.model);
      if (!set) by.set(r.model, set = new Set());
      set.add(r.provider);
    }
  }
  return [...by].map(([id, p]) => ({ id, providers: p.size }))
    .sort((a, b) => b.providers - a.providers || (a.id < b.id ? -1 : 1))
    .slice(0, max);
}
