/**
 * Provider lookup at scale: the in-memory harness (tests/p2p/dht-sim.ts) running the production
 * overlay code (src/p2p/dht/) with N nodes. Simulated time, seeded: the figures are counts
 * (messages, rounds, contacts), not wall-clock speed, so a shared machine does not change them;
 * only `buildSeconds` is wall time. Phases, in one network:
 *  1. build: nodes join over 60 s (each through a random live node, then a self-lookup and bucket
 *     refreshes), 2 min warm-up; P providers per model publish their records;
 *  2. steady: 20 min (--steady-min) with no churn: messages per node per minute, by purpose;
 *  3. lookups: provider lookups (want k = 20 providers) and node lookups (accuracy = share of the
 *     true k closest live nodes found) from random nodes;
 *  4. churn: 10 min (--churn-min) with 10 % of the nodes leaving and as many joining per minute (a leaving
 *     provider's role goes to a newcomer): traffic, then lookups;
 *  5. partition: two random halves for 15 min (--partition-min), then healed; node-lookup accuracy every 5 s
 *     until it is back at >= 0.99 twice in a row.
 * One JSON object per run goes to benchmarks/results/dht.json (keyed by nodes and identities).
 *
 * Usage: bun benchmarks/p2p/dht.bench.ts --nodes 10000 [--identities stand-in|ed25519] [--seed 1]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DhtSim } from "../../tests/p2p/dht-sim.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string" },
    identities: { type: "string" },
    seed: { type: "string" },
    lookups: { type: "string" },
    "steady-min": { type: "string" },
    "churn-min": { type: "string" },
    "partition-min": { type: "string" },
  },
});
const N = Number(values.nodes ?? 1000);
const IDS = values.identities === "ed25519" ? "ed25519" : "stand-in";
const SEED = Number(values.seed ?? 1);
const LOOKUPS = Number(values.lookups ?? 200);
const STEADY_MIN = Number(values["steady-min"] ?? 20);
const CHURN_MIN = Number(values["churn-min"] ?? 10);
const PARTITION_MIN = Number(values["partition-min"] ?? 15);
const OUT = join(import.meta.dir, "..", "results", "dht.json");

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { mean: Math.round(mean * 100) / 100, p50: q(0.5), p95: q(0.95), max: s.at(-1)! };
};

function lookups(sim: DhtSim, count: number) {
  const pm: number[] = [], pr: number[] = [], live: number[] = [];
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const o = sim.lookup(sim.randomNode(), sim.randomModel(), 20);
    pm.push(o.messages);
    pr.push(o.rounds);
    live.push(o.liveProviders);
    if (o.providers >= 20) ok++;
  }
  const nm: number[] = [], acc: number[] = [];
  for (let i = 0; i < count / 2; i++) {
    const before = sim.messages;
    const a = sim.lookupAccuracy(sim.randomNode(), sim.randomKey());
    nm.push(sim.messages - before);
    acc.push(a);
  }
  return {
    providerLookup: {
      messages: stats(pm),
      rounds: stats(pr),
      foundK: ok / count,
      liveProvidersFound: stats(live),
    },
    nodeLookup: { messages: stats(nm), accuracy: stats(acc) },
  };
}

Bun.gc(true);
const heap0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
const sim = new DhtSim({ nodes: N, seed: SEED, identities: IDS, models: 8, providersPerModel: 40 });
sim.build();
const buildMessagesPerNode = Math.round(sim.messages / N);
sim.advance(120_000);
const buildSeconds = Math.round((performance.now() - t0) / 100) / 10;
Bun.gc(true);
// the whole harness (JS objects included) over N: an upper bound on one node's tables
const heapPerNode = Math.round((process.memoryUsage().heapUsed - heap0) / N);
console.log(`built ${N} nodes in ${buildSeconds} s`);

let mark = sim.resetTraffic();
sim.advance(STEADY_MIN * 60_000);
const steady = { traffic: sim.trafficSince(mark), tables: sim.tables(), ...lookups(sim, LOOKUPS) };
console.log("steady", JSON.stringify(steady));

mark = sim.resetTraffic();
sim.advance(CHURN_MIN * 60_000, 0.1);
const churn = { traffic: sim.trafficSince(mark), tables: sim.tables(), ...lookups(sim, LOOKUPS) };
console.log("churn", JSON.stringify(churn));

sim.advance(60_000);
sim.partition();
const during: number[] = [];
for (let m = 0; m < PARTITION_MIN; m++) {
  sim.advance(60_000);
  if (m % 5 === 4 || m === PARTITION_MIN - 1) {
    let a = 0;
    for (let i = 0; i < 20; i++) a += sim.lookupAccuracy(sim.randomNode(), sim.randomKey());
    during.push(Math.round((a / 20) * 1000) / 1000);
  }
}
sim.heal();
const after: { s: number; accuracy: number }[] = [];
let good = 0;
for (let s = 5; s <= 600 && good < 2; s += 5) {
  sim.advance(5_000);
  let a = 0;
  for (let i = 0; i < 20; i++) a += sim.lookupAccuracy(sim.randomNode(), sim.randomKey());
  after.push({ s, accuracy: Math.round((a / 20) * 1000) / 1000 });
  good = a / 20 >= 0.99 ? good + 1 : 0;
}
const partition = { minutes: PARTITION_MIN, accuracyDuring: during, afterHeal: after };
console.log("partition", JSON.stringify(partition));

const cpu = cpus()[0]?.model ?? "unknown";
const row = {
  bench: "dht",
  nodes: N,
  identities: IDS,
  seed: SEED,
  k: 20,
  alpha: 3,
  models: 8,
  providersPerModel: 40,
  date: new Date().toISOString(),
  machine:
    `${cpu}, ${cpus().length} cores, shared with other jobs (only buildSeconds is wall time)`,
  buildSeconds,
  buildMessagesPerNode,
  heapBytesPerNode: heapPerNode,
  steady,
  steadyMinutes: STEADY_MIN,
  churn: { perMinute: 0.1, minutes: CHURN_MIN, ...churn },
  partition,
};
let all: Record<string, unknown> = {};
try {
  all = JSON.parse(readFileSync(OUT, "utf8")) as Record<string, unknown>;
} catch {
  all = {}; // handled here: first run, or an unreadable file is replaced
}
all[`${N}-${IDS}`] = row;
writeFileSync(OUT, JSON.stringify(all, null, 2) + "\n");
console.log(`wrote ${OUT}`);
