/**
 * @module The iterative lookup of Kademlia (paper §2.3; libp2p kad-dht "peer routing") as a pure
 * state machine: the shell asks `nextQueries` whom to ask, sends FIND_NODE / FIND_PROVIDERS to
 * them, and feeds back `onReply` or `onFailure`. At most α requests are in flight; each reply's
 * closer contacts join the candidate list (sorted by XOR distance); the lookup ends when the k
 * closest candidates that did not fail have all answered (no closer node is left to ask), or, for
 * a provider lookup, as soon as enough providers are known. Pure: no I/O, no clock.
 */
import { compareDistance, nodeKey } from "./key.ts";

/** Parallelism. Why 3: the paper's α; more cuts latency little and costs messages. */
export const ALPHA = 3;

/** Someone to ask. */
export interface Peer {
  readonly id: string;
  readonly key: Uint8Array;
  readonly url: string | null;
}

/** One candidate and what we know of it. */
interface Candidate {
  readonly peer: Peer;
  readonly state: "new" | "waiting" | "answered" | "failed";
}

/** A provider found (the record's fields the lookup needs; verified before it is fed in). */
export interface FoundProvider {
  readonly provider: string;
}

/** An iterative lookup. */
export interface Lookup<P extends FoundProvider = FoundProvider> {
  readonly selfId: string;
  readonly target: Uint8Array;
  readonly k: number;
  readonly alpha: number;
  /** Providers wanted before stopping (0 = a node lookup). */
  readonly wantProviders: number;
  /** Sorted by distance to target, closest first; bounded to the 4k closest. */
  readonly candidates: readonly Candidate[];
  readonly providers: ReadonlyMap<string, P>;
  /** Requests sent so far. */
  readonly sent: number;
}

const byDistance = (target: Uint8Array) => (a: Candidate, b: Candidate) =>
  compareDistance(target, a.peer.key, b.peer.key);

function merge<P extends FoundProvider>(l: Lookup<P>, peers: readonly Peer[]): Lookup<P> {
  const known = new Set(l.candidates.map((c) => c.peer.id));
  const added: Candidate[] = [];
  for (const p of peers) {
    if (p.id === l.selfId || known.has(p.id)) continue;
    known.add(p.id);
    added.push({ peer: p, state: "new" });
  }
  if (added.length === 0) return l;
  // why 4k: candidates beyond the 4k closest can never be among the k closest survivors unless
  // 3k of those fail; dropping them bounds memory against a peer that answers with junk
  const candidates = [...l.candidates, ...added].sort(byDistance(l.target)).slice(0, 4 * l.k);
  return { ...l, candidates };
}

/**
 * Starts a lookup.
 *
 * @param selfId our node id (never asked).
 * @param target the key looked up.
 * @param seeds the closest contacts of our own table.
 * @param options k, α, providers wanted (0 = find nodes).
 * @returns the lookup.
 */
export function startLookup<P extends FoundProvider = FoundProvider>(
  selfId: string,
  target: Uint8Array,
  seeds: readonly Peer[],
  options: { k: number; alpha?: number; wantProviders?: number },
): Lookup<P> {
  const l: Lookup<P> = {
    selfId,
    target,
    k: options.k,
    alpha: options.alpha ?? ALPHA,
    wantProviders: options.wantProviders ?? 0,
    candidates: [],
    providers: new Map(),
    sent: 0,
  };
  return merge(l, seeds);
}

/** The k closest candidates that have not failed. */
function frontier(l: Lookup<FoundProvider>): Candidate[] {
  const out: Candidate[] = [];
  for (const c of l.candidates) {
    if (c.state === "failed") continue;
    out.push(c);
    if (out.length === l.k) break;
  }
  return out;
}

/**
 * True when the lookup is over: enough providers, or every one of the k closest live candidates
 * answered and nothing is in flight.
 */
export function isDone(l: Lookup<FoundProvider>): boolean {
  if (l.wantProviders > 0 && l.providers.size >= l.wantProviders) return true;
  if (l.candidates.some((c) => c.state === "waiting")) return false;
  return frontier(l).every((c) => c.state === "answered");
}

/**
 * The next peers to ask, up to α in flight, closest unasked first among the k closest.
 *
 * @returns the lookup with them marked waiting, and the peers.
 */
export function nextQueries<P extends FoundProvider>(
  l: Lookup<P>,
): { lookup: Lookup<P>; ask: Peer[] } {
  if (isDone(l)) return { lookup: l, ask: [] };
  const waiting = l.candidates.filter((c) => c.state === "waiting").length;
  let room = l.alpha - waiting;
  if (room <= 0) return { lookup: l, ask: [] };
  const pick = new Set<string>();
  for (const c of frontier(l)) {
    if (room === 0) break;
    if (c.state === "new") {
      pick.add(c.peer.id);
      room--;
    }
  }
  if (pick.size === 0) return { lookup: l, ask: [] };
  const candidates = l.candidates.map((
    c,
  ) => (pick.has(c.peer.id) ? { ...c, state: "waiting" as const } : c));
  const ask = candidates.filter((c) => pick.has(c.peer.id)).map((c) => c.peer);
  return { lookup: { ...l, candidates, sent: l.sent + ask.length }, ask };
}

function mark<P extends FoundProvider>(
  l: Lookup<P>,
  id: string,
  state: Candidate["state"],
): Lookup<P> | null {
  const at = l.candidates.findIndex((c) => c.peer.id === id && c.state === "waiting");
  if (at < 0) return null;
  const candidates = l.candidates.slice();
  candidates[at] = { ...candidates[at]!, state };
  return { ...l, candidates };
}

/**
 * Feeds a reply.
 *
 * @param l the lookup.
 * @param from who answered (must be one we asked and are waiting for; others are ignored).
 * @param closer the contacts it returned (the caller has checked their shape).
 * @param providers provider records it returned (verified by the caller).
 * @returns the lookup.
 */
export function onReply<P extends FoundProvider>(
  l: Lookup<P>,
  from: string,
  closer: readonly Peer[],
  providers: readonly P[] = [],
): Lookup<P> {
  const marked = mark(l, from, "answered");
  if (!marked) return l; // handled here: an unsolicited or duplicate reply changes nothing
  let next = merge(marked, closer);
  if (providers.length > 0) {
    const found = new Map(next.providers);
    for (const p of providers) if (!found.has(p.provider)) found.set(p.provider, p);
    next = { ...next, providers: found };
  }
  return next;
}

/** Feeds a timeout or refusal of a request to `from`. */
export function onFailure<P extends FoundProvider>(l: Lookup<P>, from: string): Lookup<P> {
  return mark(l, from, "failed") ?? l;
}

/** The k closest peers that answered (the lookup's result). */
export function result(l: Lookup<FoundProvider>): Peer[] {
  return l.candidates.filter((c) => c.state === "answered").slice(0, l.k).map((c) => c.peer);
}

/**
 * A peer from wire fields (id and url), with its key computed.
 *
 * @throws RangeError if `id` is not 64 hex.
 */
export function peerOf(id: string, url: string | null): Peer {
  return { id, key: nodeKey(id), url };
}
