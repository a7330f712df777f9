/**
 * @module Route building for pipeline parallelism: from the adverts of the stages peers offer
 * (node, model file hash, loaded block range, load, measured speed, liveness), choose the stages
 * that together run every block 0..nLayer-1 once, in order, with no gap and no overlap. Pure: the
 * adverts come from discovery (the p2p node), the result goes to the coordinator (pipeline.ts).
 *
 * A stage may run any sub-range of the blocks it has loaded (aria_ctx_eval_layers works within
 * the loaded range), so overlapping adverts such as [0, 4) and [3, 6) still make a route:
 * [0, 4) then [4, 6).
 *
 * Choice, in order: fewest hops (each hop costs a network round trip, which dominates the compute
 * of one stage for the small models ARIA runs), then the lowest estimated time per token, then
 * the node ids in lexicographic order (so that every node computes the same route from the same
 * adverts). `maxHops` bounds the route length: adverts can never make a route loop (every stage
 * moves strictly forward through the blocks), but a swarm of one-block adverts could make a route
 * whose latency is useless; such a plan fails instead.
 *
 * Fail-over is a new plan with the dead node in `exclude`: replicas (other nodes advertising the
 * same blocks of the same model file) take its place.
 */

/** What a peer says it offers for one model (from its advert). */
export interface StageAdvert {
  /** The peer's node id. */
  nodeId: string;
  /** The numerics its blocks run with (absent: not advertised, an older node). */
  numerics?: StageNumerics;
  /** SHA-256 (hex) of the model file: stages of different files never mix. */
  modelHash: string;
  /** Blocks of the whole model. */
  nLayer: number;
  /** First block loaded. */
  layerBegin: number;
  /** End of the blocks loaded (exclusive). */
  layerEnd: number;
  /** Fraction of its session slots in use, 0..1. */
  load: number;
  /** Measured tokens/s through all the blocks it has loaded (one token, batch of one). */
  tokensPerSecond: number;
  /** Whether the peer answered its last liveness check. */
  alive: boolean;
}

/** One stage of a route: the node and the blocks it runs. */
export interface RouteStage {
  nodeId: string;
  layerBegin: number;
  layerEnd: number;
}

/** A route through every block of a model. */
export interface Route {
  stages: RouteStage[];
  /** Estimated milliseconds per token summed over the stages (compute and load only). */
  estimatedMs: number;
}

/** An advert left out of planning, and why. */
export interface IgnoredAdvert {
  nodeId: string;
  reason: string;
}

/** The outcome of planning: a route, or why there is none. */
export type RoutePlan =
  | { ok: true; route: Route; ignored: IgnoredAdvert[] }
  | { ok: false; reason: string; ignored: IgnoredAdvert[] };

/** Options of {@link planRoute}. */
export interface PlanRouteOptions {
  /** The model file every stage must have loaded. */
  modelHash: string;
  /** Blocks of the model. */
  nLayer: number;
  /** Nodes not to use (dead, timed out, refused us). */
  exclude?: Iterable<string>;
  /** Most stages in a route (default DEFAULT_MAX_HOPS). */
  maxHops?: number;
}

/** Default hop limit. Why 16: beyond that, 16 round trips per token make generation too slow. */
export const DEFAULT_MAX_HOPS = 16;
/** A stage at full load is counted this many times slower (never infinitely: it still works). */
const FULL_LOAD_SLOWDOWN = 10;

interface Best {
  hops: number;
  estimatedMs: number;
  stages: RouteStage[];
}

/** Why an advert cannot be used, or undefined when it can. */
function advertProblem(a: StageAdvert, options: Readonly<PlanRouteOptions>): string | undefined {
  if (!a.alive) return "not alive";
  if (a.modelHash !== options.modelHash) return "another model file";
  if (a.nLayer !== options.nLayer) return `model of ${a.nLayer} blocks, expected ${options.nLayer}`;
  const { layerBegin: b, layerEnd: e } = a;
  if (!Number.isInteger(b) || !Number.isInteger(e) || b < 0 || e > a.nLayer || b >= e) {
    return `block range [${b}, ${e}) is not within [0, ${a.nLayer})`;
  }
  if (!(a.tokensPerSecond > 0) || !Number.isFinite(a.tokensPerSecond)) {
    return `tokens/s ${a.tokensPerSecond} is not a positive number`;
  }
  if (!(a.load >= 0 && a.load <= 1)) return `load ${a.load} is outside 0..1`;
  return undefined;
}

/** Estimated milliseconds per token for blocks [begin, end) on the advert's node. */
function stageMs(a: StageAdvert, begin: number, end: number): number {
  const fullMs = 1000 / a.tokensPerSecond;
  const share = (end - begin) / (a.layerEnd - a.layerBegin);
  return fullMs * share * (1 + (FULL_LOAD_SLOWDOWN - 1) * a.load);
}

function routeKey(stages: readonly RouteStage[]): string {
  return stages.map((s) => s.nodeId).join("\n");
}

function isBetter(a: Best, b: Best | undefined): boolean {
  if (b === undefined) return true;
  if (a.hops !== b.hops) return a.hops < b.hops;
  if (a.estimatedMs !== b.estimatedMs) return a.estimatedMs < b.estimatedMs;
  return routeKey(a.stages) < routeKey(b.stages);
}

/**
 * Plans a route over every block of a model.
 *
 * @param adverts what peers offer (any order; duplicates and junk are tolerated).
 * @param options the model, the nodes to avoid, the hop limit.
 * @returns the best route, or the reason there is none (a gap in the blocks, or too many hops);
 *   adverts left out are listed with their reason either way. Bad adverts are data, not errors.
 * @example
 * ```ts
 * const plan = planRoute(adverts, { modelHash, nLayer: 30, exclude: [deadNode] });
 * if (plan.ok) for (const s of plan.route.stages) console.log(s.nodeId, s.layerBegin, s.layerEnd);
 * ```
 */
export function planRoute(
  adverts: readonly StageAdvert[],
  options: Readonly<PlanRouteOptions>,
): RoutePlan {
  const n = options.nLayer;
  const maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
  const exclude = new Set(options.exclude ?? []);
  const ignored: IgnoredAdvert[] = [];
  const usable: StageAdvert[] = [];
  for (const a of adverts) {
    const problem = exclude.has(a.nodeId) ? "excluded" : advertProblem(a, options);
    if (problem === undefined) usable.push(a);
    else ignored.push({ nodeId: a.nodeId, reason: problem });
  }
  if (!Number.isInteger(n) || n < 1) {
    return { ok: false, reason: `Cannot plan a route: the model has ${n} blocks`, ignored };
  }
  const best: (Best | undefined)[] = new Array(n + 1);
  best[0] = { hops: 0, estimatedMs: 0, stages: [] };
  // positions ascend and every edge goes forward, so best[p] is final when p is reached
  for (let p = 0; p < n; p++) {
    const from = best[p];
    if (from === undefined || from.hops >= maxHops) continue;
    for (const a of usable) {
      if (a.layerBegin > p || a.layerEnd <= p) continue;
      for (let e = p + 1; e <= a.layerEnd; e++) {
        const cand: Best = {
          hops: from.hops + 1,
          estimatedMs: from.estimatedMs + stageMs(a, p, e),
          stages: [...from.stages, { nodeId: a.nodeId, layerBegin: p, layerEnd: e }],
        };
        if (isBetter(cand, best[e])) best[e] = cand;
      }
    }
  }
  const done = best[n];
  if (done !== undefined) {
    return { ok: true, route: { stages: done.stages, estimatedMs: done.estimatedMs }, ignored };
  }
  return { ok: false, reason: unreachableReason(best, n, maxHops), ignored };
}

function unreachableReason(
  best: readonly (Best | undefined)[],
  n: number,
  maxHops: number,
): string {
  let reached = 0;
  for (let p = 0; p <= n; p++) if (best[p] !== undefined) reached = p;
  const capped = best[reached]!.hops >= maxHops && reached < n;
  return capped
    ? `Cannot plan a route: block ${reached} is reached only after the hop limit of ${maxHops}`
    : `Cannot plan a route: no live stage runs block ${reached} (blocks 0..${
      reached - 1
    } are covered)`;
}

/**
 * Checks that a route runs blocks 0..nLayer-1 once each, in order.
 *
 * @param route the route.
 * @param nLayer blocks of the model.
 * @returns true when the stages are contiguous from 0 to nLayer and none is empty.
 */
export function isCompleteRoute(route: Readonly<Route>, nLayer: number): boolean {
  let at = 0;
  for (const s of route.stages) {
    if (s.layerBegin !== at || s.layerEnd <= s.layerBegin) return false;
    at = s.layerEnd;
  }
  return at === nLayer && route.stages.length > 0;
}

/** What a stage advertises of how it computes: enough to name a pipeline's answer in a record. */
export interface StageNumerics {
  /** The engine's numerics contract (`aria_numerics_contract()`). */
  contract: number;
  /** Its output head (only the last stage's matters: it computes the logits). */
  head: "float" | "int8" | "int4";
  /** Its KV cache element type. */
  kvType: "f32" | "f16";
}

/**
 * The numerics a route's answer was computed with, when one machine running the whole model can
 * reproduce it bit for bit: every stage of the route advertises its numerics, all under the same
 * contract and KV cache type (a single-node replay has one of each), and the stage that ends at
 * the last block names the head. The hidden states travel between stages as exact f32 (tensor
 * frames), and under the contract the logits do not depend on how the blocks are split, batched or
 * threaded, so the route's logits are the whole model's.
 *
 * @param route the stages that finished the answer (after any fail-over: the whole history ran
 *   on them).
 * @param adverts the stages' adverts (by node id and block range).
 * @param nLayer blocks of the model.
 * @returns the numerics, or undefined when the route cannot promise a replay (a stage without
 *   numerics, two contracts or KV types, no last stage).
 */
export function routeNumerics(
  route: readonly RouteStage[],
  adverts: readonly StageAdvert[],
  nLayer: number,
): StageNumerics | undefined {
  let out: StageNumerics | undefined;
  let head: StageNumerics["head"] | undefined;
  for (const st of route) {
    // the advert the stage was planned from: it loaded a range that covers what it ran
    const a = adverts.find((x) =>
      x.nodeId === st.nodeId && x.layerBegin <= st.layerBegin && x.layerEnd >= st.layerEnd
    );
    const n = a?.numerics;
    if (n === undefined) return undefined;
    if (out !== undefined && (n.contract !== out.contract || n.kvType !== out.kvType)) {
      return undefined;
    }
    out ??= n;
    if (st.layerEnd === nLayer) head = n.head;
  }
  if (out === undefined || head === undefined) return undefined;
  return { contract: out.contract, head, kvType: out.kvType };
}
