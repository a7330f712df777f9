/**
 * @module The planner (STYLE.md C8, exo's plan): `decide(state, now, config)` returns what the
 * node should do next — drop silent peers, trim surplus connections, ping, exchange peers, send
 * adverts, dial. A chain of small rule functions; pure. The shell executes the actions and feeds
 * back the matching events (ping_sent, exchange_sent, …), so deciding twice does not repeat work.
 */
import { type PeerInfo, type PeerState, providersOf } from "./peer-state.ts";

/** What the node should do. */
export type Action =
  | { type: "dial"; url: string }
  | { type: "drop"; id: string; reason: string }
  | { type: "ping"; id: string }
  | { type: "exchange"; id: string }
  | { type: "advertise"; id: string };

/** Planner settings. */
export interface PlanConfig {
  /** Connections we aim for. */
  targetPeers: number;
  /** Above this many connections, the least useful are dropped. */
  maxPeers: number;
  /** Providers of each known model we want connected (k). */
  providersWanted: number;
  pingIntervalMs: number;
  /** A peer heard nothing from for this long is dropped. */
  silenceMs: number;
  exchangeIntervalMs: number;
  /** Adverts are resent this often even without changes (they carry live load numbers). */
  advertIntervalMs: number;
  /** A new connection is not trimmed for this long, so it can first learn peers from us. */
  graceMs: number;
}

/** Defaults. Why: pings every 5 s and a 20 s silence limit find a dead peer within 4 missed
 * pings; 8 peers keep the network connected (a random 8-regular graph has diameter ~log n). */
export const DEFAULT_PLAN: PlanConfig = {
  targetPeers: 8,
  maxPeers: 32,
  providersWanted: 3,
  pingIntervalMs: 5_000,
  silenceMs: 20_000,
  exchangeIntervalMs: 10_000,
  advertIntervalMs: 5_000,
  graceMs: 10_000,
};

const due = (last: number | null, now: number, every: number) =>
  last === null || now - last >= every;

/**
 * Model ids known anywhere in the table (our own, peers' adverts, address hints).
 *
 * @param state the table.
 * @returns the ids, sorted.
 */
export function knownModels(state: PeerState): string[] {
  const ids = new Set<string>();
  for (const m of state.advert?.models ?? []) ids.add(m.id);
  for (const p of state.peers.values()) for (const m of p.advert?.models ?? []) ids.add(m.id);
  for (const a of state.addresses.values()) for (const m of a.models) ids.add(m);
  return [...ids].sort();
}

/**
 * Models with fewer than k connected providers.
 *
 * @param state the table.
 * @param k providers wanted.
 * @returns the model ids lacking providers.
 */
export function missingModels(state: PeerState, k: number): string[] {
  return knownModels(state).filter((m) => providersOf(state, m).length < k);
}

function silent(state: PeerState, now: number, c: PlanConfig): Action[] {
  return [...state.peers.values()]
    .filter((p) => now - p.lastSeenMs > c.silenceMs)
    .map((p) => ({ type: "drop", id: p.id, reason: "silent" }));
}

/**
 * Trims connections beyond maxPeers. A peer's slack is how many providers each of its models would
 * still have above k without it (its smallest such margin; no models = unbounded): the peer with
 * the most slack goes first (newest first on ties), recounting after each drop, so a model is
 * never trimmed below k providers while others have spare ones.
 */
function surplus(state: PeerState, now: number, c: PlanConfig, dropped: Set<string>): Action[] {
  const live = [...state.peers.values()].filter((p) => !dropped.has(p.id));
  if (live.length <= c.maxPeers) return [];
  const count = new Map<string, number>();
  for (const p of live) {
    for (const m of p.advert?.models ?? []) count.set(m.id, (count.get(m.id) ?? 0) + 1);
  }
  const slack = (p: PeerInfo) =>
    Math.min(
      Infinity,
      ...(p.advert?.models ?? []).map((m) => (count.get(m.id) ?? 0) - c.providersWanted),
    );
  const eligible = live.filter((p) => now - p.connectedMs >= c.graceMs);
  const out: Action[] = [];
  for (let excess = live.length - c.maxPeers; excess > 0 && eligible.length > 0; excess--) {
    // peers we dialled go before peers that dialled us (they likely came because they need us)
    const rank = (p: PeerInfo) => (slack(p) > 0 ? (p.direction === "out" ? 2 : 1) : 0);
    eligible.sort((a, b) =>
      rank(b) - rank(a) || slack(b) - slack(a) || b.connectedMs - a.connectedMs ||
      (a.id < b.id ? -1 : 1)
    );
    const p = eligible.shift()!;
    for (const m of p.advert?.models ?? []) count.set(m.id, (count.get(m.id) ?? 0) - 1);
    out.push({ type: "drop", id: p.id, reason: "too many peers" });
  }
  return out;
}

function upkeep(state: PeerState, now: number, c: PlanConfig, dropped: Set<string>): Action[] {
  const out: Action[] = [];
  // a node short of peers or providers asks for peers ten times as often
  const hungry = state.peers.size < c.targetPeers ||
    missingModels(state, c.providersWanted).length > 0;
  const exchangeEvery = hungry ? c.exchangeIntervalMs / 10 : c.exchangeIntervalMs;
  for (const p of state.peers.values()) {
    if (dropped.has(p.id)) continue;
    if (p.pendingPing === null && due(p.lastPingMs, now, c.pingIntervalMs)) {
      out.push({ type: "ping", id: p.id });
    }
    if (
      state.advert &&
      (p.advertSent < state.advertVersion || due(p.lastAdvertMs, now, c.advertIntervalMs))
    ) {
      out.push({ type: "advertise", id: p.id });
    }
    if (due(p.lastExchangeMs, now, exchangeEvery)) out.push({ type: "exchange", id: p.id });
  }
  return out;
}

/** Per model, how many more providers to dial: k minus connected minus being dialled. */
function deficits(state: PeerState, k: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of missingModels(state, k)) out.set(m, k - providersOf(state, m).length);
  for (const a of state.addresses.values()) {
    if (!a.dialing) continue;
    for (const m of a.models) if (out.has(m)) out.set(m, out.get(m)! - 1);
  }
  return out;
}

function dials(state: PeerState, now: number, c: PlanConfig, dropped: number): Action[] {
  const connectedUrls = new Set([...state.peers.values()].map((p) => p.url));
  const candidates = [...state.addresses.values()].filter((a) =>
    !a.dialing && a.notBeforeMs <= now && !connectedUrls.has(a.url) &&
    (a.id === null || (!state.peers.has(a.id) && a.id !== state.self))
  );
  const dialing = [...state.addresses.values()].filter((a) => a.dialing).length;
  const count = state.peers.size - dropped + dialing;
  const chosen = new Set<string>();
  // rule 1: for each model short of k providers, dial just enough hinted providers (this may take
  // us k above maxPeers; trimming then sheds peers whose models have providers to spare)
  const need = deficits(state, c.providersWanted);
  let budget = Math.max(0, c.maxPeers + c.providersWanted - count);
  for (const a of candidates) {
    if (budget === 0) break;
    if (a.bootstrap || !a.models.some((m) => (need.get(m) ?? 0) > 0)) continue;
    chosen.add(a.url);
    budget--;
    for (const m of a.models) if (need.has(m)) need.set(m, need.get(m)! - 1);
  }
  // rule 2: below the target, the bootstrap addresses first, then anything
  let room = Math.max(0, c.targetPeers - count - chosen.size);
  const ordered = [
    ...candidates.filter((a) => a.bootstrap),
    ...candidates.filter((a) => !a.bootstrap),
  ];
  for (const a of ordered) {
    if (room === 0) break;
    if (chosen.has(a.url)) continue;
    if (a.bootstrap && state.peers.size > 0 && count >= c.targetPeers) continue;
    chosen.add(a.url);
    room--;
  }
  return [...chosen].map((url) => ({ type: "dial", url }));
}

/**
 * Decides the next actions.
 *
 * @param state the peer table.
 * @param now clock reading (ms).
 * @param config settings (default {@link DEFAULT_PLAN}).
 * @returns the actions, drops first.
 */
export function decide(state: PeerState, now: number, config: PlanConfig = DEFAULT_PLAN): Action[] {
  const drops = silent(state, now, config);
  const dropped = new Set(drops.map((d) => (d as { id: string }).id));
  const trims = surplus(state, now, config, dropped);
  for (const t of trims) dropped.add((t as { id: string }).id);
  return [
    ...drops,
    ...trims,
    ...upkeep(state, now, config, dropped),
    ...dials(state, now, config, dropped.size),
  ];
}
