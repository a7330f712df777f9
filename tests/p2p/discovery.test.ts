/**
 * 200 nodes find providers: through one bootstrap node and peer exchange, every node reaches at
 * least k = 3 connected providers of each of 4 models within the stated number of gossip rounds.
 */
import { expect, test } from "bun:test";
import { runDiscovery } from "../helpers/harness.ts";

/** The bound stated in docs/protocol.md: measured 3 rounds (the test prints its numbers). */
const STATED_ROUNDS = 6;

test("200 nodes: every node reaches 3 providers of each of 4 models", async () => {
  const r = await runDiscovery({ nodes: 200, models: 4, k: 3, maxRounds: STATED_ROUNDS });
  console.log(`discovery 200 nodes: ${JSON.stringify(r)}`);
  expect(r.short).toBe(0);
  expect(r.rounds).not.toBeNull();
  expect(r.rounds!).toBeLessThanOrEqual(STATED_ROUNDS);
  expect(r.maxConnections).toBeLessThanOrEqual(32 + 3); // maxPeers + k (plan.ts)
}, 60_000);
