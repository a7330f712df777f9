/**
 * The provider-lookup overlay in the in-memory harness (tests/p2p/dht-sim.ts): production code of
 * src/p2p/dht/, simulated time, seeded. Small networks with bounds the design must meet; the 1k /
 * 10k figures are benchmarks/p2p/dht.bench.ts.
 */
import { describe, expect, test } from "bun:test";
import { DhtSim } from "./dht-sim.ts";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("dht simulation", () => {
  test("same seed, same run", () => {
    const run = () => {
      const sim = new DhtSim({
        nodes: 80,
        seed: 7,
        identities: "stand-in",
        models: 2,
        providersPerModel: 5,
      });
      sim.build(20_000);
      sim.advance(60_000, 0.1);
      return [sim.messages, sim.lookup(sim.randomNode(), sim.randomModel(), 5).messages];
    };
    expect(run()).toEqual(run());
  });

  test("real ed25519 identities: providers found through signed records", () => {
    const sim = new DhtSim({
      nodes: 60,
      seed: 3,
      identities: "ed25519",
      models: 2,
      providersPerModel: 6,
    });
    sim.build(20_000);
    sim.advance(30_000);
    for (let i = 0; i < 5; i++) {
      const o = sim.lookup(sim.randomNode(), sim.randomModel(), 6);
      expect(o.providers).toBe(6);
    }
  }, 120_000);

  // one 600-node network through steady state, churn and a partition (about 20 s)
  test("600 nodes: O(log N) lookups, bounded upkeep, churn, partition heal", () => {
    const N = 600;
    const log2N = Math.log2(N);
    const sim = new DhtSim({
      nodes: N,
      seed: 11,
      identities: "stand-in",
      models: 4,
      providersPerModel: 30,
    });
    sim.build();
    sim.advance(120_000);

    let mark = sim.resetTraffic();
    sim.advance(10 * 60_000);
    const steady = sim.trafficSince(mark);
    // refreshes touch only the few non-full buckets near our key: a constant, not a flood
    expect(steady.perNodePerMin).toBeLessThan(40);

    const pm: number[] = [], pr: number[] = [];
    for (let i = 0; i < 60; i++) {
      const o = sim.lookup(sim.randomNode(), sim.randomModel(), 20);
      expect(o.providers).toBeGreaterThanOrEqual(20);
      pm.push(o.messages);
      pr.push(o.rounds);
    }
    expect(mean(pm)).toBeLessThan(2 * log2N);
    expect(Math.max(...pr)).toBeLessThanOrEqual(Math.ceil(log2N));
    const nm: number[] = [];
    for (let i = 0; i < 30; i++) {
      const before = sim.messages;
      expect(sim.lookupAccuracy(sim.randomNode(), sim.randomKey())).toBeGreaterThanOrEqual(0.95);
      nm.push(sim.messages - before);
    }
    // a node lookup must hear from the k closest (2k messages) plus O(log N) on the way there
    expect(mean(nm)).toBeLessThan(2 * 20 + 4 * log2N);

    mark = sim.resetTraffic();
    sim.advance(3 * 60_000, 0.1);
    const churn = sim.trafficSince(mark);
    expect(churn.perNodePerMin).toBeLessThan(80);
    let found = 0;
    for (let i = 0; i < 40; i++) {
      if (sim.lookup(sim.randomNode(), sim.randomModel(), 20).providers >= 20) found++;
    }
    expect(found / 40).toBeGreaterThanOrEqual(0.95);

    sim.partition();
    sim.advance(3 * 60_000);
    const during = mean(
      Array.from({ length: 10 }, () => sim.lookupAccuracy(sim.randomNode(), sim.randomKey())),
    );
    expect(during).toBeLessThan(0.7); // the partition is real: half the closest nodes are out of reach
    sim.heal();
    sim.advance(30_000);
    const after = mean(
      Array.from({ length: 20 }, () => sim.lookupAccuracy(sim.randomNode(), sim.randomKey())),
    );
    expect(after).toBeGreaterThanOrEqual(0.95);
  }, 300_000);
});
