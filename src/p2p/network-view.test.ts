import { describe, expect, test } from "bun:test";
import { formatNetworkSummary, networkSummary, type OverlayFigures } from "./network-view.ts";
import type { PeerRow } from "./peer-table.ts";

const row = (id: string, over: Partial<PeerRow> = {}): PeerRow => ({
  id,
  url: `ws://${id}:1`,
  direction: "out",
  rttMs: null,
  lastSeenMsAgo: 0,
  models: [],
  slots: null,
  freeSlots: null,
  tokensPerSecond: null,
  ok: 0,
  failed: 0,
  ...over,
});
const model = (id: string, layers: [number, number] | null = null) => ({ id, sha256: "", layers });
const overlay = (over: Partial<OverlayFigures> = {}): OverlayFigures => ({
  reachability: "reachable",
  relayedBy: null,
  relaying: { enabled: false, reservations: 0, circuits: 0 },
  contacts: [],
  networkModels: [],
  ...over,
});

describe("networkSummary", () => {
  test("counts nodes, reachability, providers, slots and latency", () => {
    const peers = [
      row("a", { rttMs: 30, models: [model("m1"), model("m2", [0, 3])], slots: 4, freeSlots: 1 }),
      row("b", {
        rttMs: 10,
        url: null,
        direction: "in",
        models: [model("m1")],
        slots: 2,
        freeSlots: 2,
      }),
      row("c", { rttMs: 20 }),
    ];
    const n = networkSummary(
      peers,
      overlay({
        contacts: [{ id: "a", url: "ws://a:1" }, { id: "d", url: "ws://d:1" }],
        networkModels: [{ id: "m1", providers: 1 }, { id: "m3", providers: 5 }],
      }),
    );
    expect(n.nodesKnown).toBe(4);
    expect([n.reachablePeers, n.dialOutOnlyPeers]).toEqual([2, 1]);
    // m2 is only a stage range; m1 has two providers among the peers (the overlay saw one)
    expect(n.models).toEqual([{ id: "m3", providers: 5 }, { id: "m1", providers: 2 }]);
    expect([n.freeSlots, n.slots]).toEqual([3, 6]);
    expect(n.latencyMs).toEqual({ median: 20, max: 30 });
  });

  test("an unreachable node names its relay; text lines replace control characters", () => {
    const n = networkSummary(
      [],
      overlay({
        reachability: "unreachable",
        relayedBy: "f".repeat(64),
        networkModels: [{ id: "evil\u001b[31m", providers: 1 }],
      }),
    );
    const text = formatNetworkSummary(n).join("\n");
    expect(text).toContain(`unreachable, relayed by ${"f".repeat(16)}`);
    expect(text).toContain("latency not measured yet");
    expect(text).toContain("evil?[31m (1 provider)");
    expect(text).not.toContain("\u001b");
  });
});
