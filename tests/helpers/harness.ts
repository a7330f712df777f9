/**
 * @module The discovery harness: N nodes running the real P2PNode (handshake, signed envelopes,
 * nonces, reducer, planner) over the in-memory transport with a manual clock, one bootstrap node,
 * in gossip rounds. A round = the clock moves by `roundMs`, every node runs one planning tick,
 * then every message that causes is delivered. Crypto is the fast stand-in (tests/helpers/p2p.ts)
 * so that 200 nodes run in seconds; everything else is the production code.
 */
import { P2PNode } from "../../src/p2p/node.ts";
import { DEFAULT_PLAN, type PlanConfig } from "../../src/p2p/plan.ts";
import { providersOf } from "../../src/p2p/peer-state.ts";
import type { Advert } from "../../src/p2p/protocol.ts";
import { MemoryNetwork } from "../../src/p2p/transport.ts";
import { fastCrypto, ManualClock, seededHex } from "./p2p.ts";

/** Harness settings. */
export interface HarnessOptions {
  nodes: number;
  models: number;
  /** Providers of each model every node must reach. */
  k: number;
  maxRounds: number;
  roundMs?: number;
  plan?: Partial<PlanConfig>;
}

/** What a run measured. */
export interface HarnessResult {
  /** Rounds until every node had k providers of each model (null = not within maxRounds). */
  rounds: number | null;
  messagesPerNode: number;
  maxConnections: number;
  meanConnections: number;
  /** Nodes still short of k providers for some model at the end. */
  short: number;
}

function advert(model: string): Advert {
  return {
    models: [{ id: model, sha256: "", layers: null, nLayers: 0 }],
    slots: 4,
    freeSlots: 4,
    tokensPerSecond: 50,
    consent: {},
    listen: null,
  };
}

/**
 * Runs discovery until it converges or maxRounds pass.
 *
 * @param o sizes and settings.
 * @returns rounds, messages per node, connection counts.
 */
export async function runDiscovery(o: HarnessOptions): Promise<HarnessResult> {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const roundMs = o.roundMs ?? 1000;
  const plan: PlanConfig = {
    ...DEFAULT_PLAN,
    providersWanted: o.k,
    exchangeIntervalMs: roundMs,
    graceMs: roundMs,
    ...o.plan,
  };
  const models = Array.from({ length: o.models }, (_, i) => `m${i}`);
  const nodes: P2PNode[] = [];
  let bootstrap: string | null = null;
  for (let i = 0; i < o.nodes; i++) {
    const ad = advert(models[i % o.models]!);
    const node = new P2PNode({
      crypto: fastCrypto(i),
      transport: net.transport(`n${i}`),
      clock,
      randomHex: seededHex(i + 1),
      bootstrap: bootstrap ? [bootstrap] : [],
      plan,
      rate: { ratePerSec: 1000, burst: 2000 },
      advert: () => ad,
    });
    const url = await node.start();
    bootstrap ??= url;
    nodes.push(node);
  }
  const short = () =>
    nodes.filter((n) => models.some((m) => providersOf(n.state, m).length < o.k)).length;
  let rounds: number | null = null;
  for (let r = 1; r <= o.maxRounds; r++) {
    clock.now += roundMs;
    for (const n of nodes) n.tick();
    net.flush();
    await new Promise((res) => setTimeout(res, 0)); // dial failures settle on the microtask queue
    net.flush();
    if (short() === 0) {
      rounds = r;
      break;
    }
  }
  const sizes = nodes.map((n) => n.state.peers.size);
  return {
    rounds,
    messagesPerNode: Math.round(net.delivered / o.nodes),
    maxConnections: Math.max(...sizes),
    meanConnections: Math.round((sizes.reduce((a, b) => a + b, 0) / o.nodes) * 10) / 10,
    short: short(),
  };
}
