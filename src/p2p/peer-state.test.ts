import { describe, expect, test } from "bun:test";
import {
  applyPeerEvent,
  initialPeerState,
  type PeerEvent,
  peerHints,
  type PeerState,
  providersOf,
} from "./peer-state.ts";
import type { Advert } from "./protocol.ts";

const advert = (models: string[], listen: string | null = null): Advert => ({
  models: models.map((id) => ({ id, sha256: "", layers: null, nLayers: 0 })),
  slots: 4,
  freeSlots: 4,
  tokensPerSecond: 50,
  consent: {},
  listen,
});
const P = "p".repeat(64);
const Q = "q".repeat(64);
const run = (events: PeerEvent[], s: PeerState = initialPeerState("s".repeat(64), "ws://self:1")) =>
  events.reduce(applyPeerEvent, s);
const conn = (
  id: string,
  url: string | null,
  now = 0,
  dialedUrl: string | null = null,
): PeerEvent => ({
  type: "connected",
  id,
  url,
  dialedUrl,
  direction: dialedUrl ? "out" : "in",
  now,
});

describe("applyPeerEvent", () => {
  test("does not mutate its input", () => {
    const s0 = run([]);
    const s1 = applyPeerEvent(s0, conn(P, "ws://p:1"));
    expect(s0.peers.size).toBe(0);
    expect(s1.peers.size).toBe(1);
  });

  const table: [string, PeerEvent[], (s: PeerState) => void][] = [
    ["bootstrap adds dialable addresses, never our own", [{
      type: "bootstrap",
      urls: ["ws://a:1", "ws://self:1"],
    }], (s) => {
      expect([...s.addresses.keys()]).toEqual(["ws://a:1"]);
      expect(s.addresses.get("ws://a:1")!.bootstrap).toBe(true);
    }],
    ["a dial that fails backs off", [{ type: "bootstrap", urls: ["ws://a:1"] }, {
      type: "dial_started",
      url: "ws://a:1",
    }, { type: "dial_failed", url: "ws://a:1", now: 100 }], (s) => {
      const a = s.addresses.get("ws://a:1")!;
      expect(a.dialing).toBe(false);
      expect(a.failures).toBe(1);
      expect(a.notBeforeMs).toBe(1100);
    }],
    [
      "learned addresses are forgotten after repeated failures",
      [
        { type: "peers_learned", hints: [{ id: Q, url: "ws://q:1", models: [] }] },
        ...[1, 2, 3, 4].map((n) => ({ type: "dial_failed", url: "ws://q:1", now: n } as PeerEvent)),
      ],
      (s) => {
        expect(s.addresses.has("ws://q:1")).toBe(false);
      },
    ],
    ["connect settles the dial", [{ type: "bootstrap", urls: ["ws://p:1"] }, {
      type: "dial_started",
      url: "ws://p:1",
    }, conn(P, "ws://p:1", 5, "ws://p:1")], (s) => {
      expect(s.peers.get(P)!.direction).toBe("out");
      expect(s.addresses.get("ws://p:1")!.dialing).toBe(false);
    }],
    ["a second connection to a known peer keeps the first entry", [
      conn(P, "ws://p:1", 1),
      conn(P, "ws://other:1", 2),
    ], (s) => {
      expect(s.peers.get(P)!.connectedMs).toBe(1);
    }],
    ["disconnect remembers the address with a backoff", [conn(P, "ws://p:1"), {
      type: "advert",
      id: P,
      advert: advert(["m"]),
      now: 1,
    }, { type: "disconnected", id: P, now: 10 }], (s) => {
      expect(s.peers.size).toBe(0);
      expect(s.addresses.get("ws://p:1")).toMatchObject({
        id: P,
        models: ["m"],
        notBeforeMs: 1010,
      });
    }],
    ["pong sets the RTT only for the ping in flight", [
      conn(P, null),
      { type: "ping_sent", id: P, pingId: "x", now: 100 },
      { type: "pong", id: P, re: "old", now: 120 },
      { type: "pong", id: P, re: "x", now: 130 },
    ], (s) => {
      expect(s.peers.get(P)!.rttMs).toBe(30);
      expect(s.peers.get(P)!.pendingPing).toBeNull();
    }],
    ["events for unknown peers change nothing", [{ type: "seen", id: P, now: 1 }, {
      type: "request_outcome",
      id: P,
      ok: true,
    }], (s) => {
      expect(s.peers.size).toBe(0);
    }],
    ["advert records models and the listen address", [conn(P, null), {
      type: "advert",
      id: P,
      advert: advert(["m"], "ws://p:9"),
      now: 1,
    }], (s) => {
      expect(providersOf(s, "m").map((p) => p.id)).toEqual([P]);
      expect(s.peers.get(P)!.url).toBe("ws://p:9");
    }],
    ["outcomes and in-flight counts", [
      conn(P, null),
      { type: "request_outcome", id: P, ok: true },
      { type: "request_outcome", id: P, ok: false },
      { type: "inflight", id: P, delta: 1 },
      { type: "inflight", id: P, delta: -1 },
      { type: "inflight", id: P, delta: -1 },
    ], (s) => {
      expect(s.peers.get(P)).toMatchObject({ ok: 1, failed: 1, inflight: 0 });
    }],
    ["peer exchange skips ourselves", [{
      type: "peers_learned",
      hints: [{ id: "s".repeat(64), url: "ws://x:1", models: [] }, {
        id: Q,
        url: "ws://self:1",
        models: [],
      }, { id: Q, url: "ws://q:1", models: ["m"] }],
    }], (s) => {
      expect([...s.addresses.keys()]).toEqual(["ws://q:1"]);
    }],
    ["local advert bumps the version", [{ type: "local_advert", advert: advert(["m"]) }, {
      type: "local_advert",
      advert: advert(["m", "n"]),
    }], (s) => {
      expect(s.advertVersion).toBe(2);
    }],
  ];
  for (const [name, events, check] of table) test(name, () => check(run(events)));

  test("peerHints lists listening peers except the asker", () => {
    const s = run([conn(P, "ws://p:1"), conn(Q, null), {
      type: "advert",
      id: P,
      advert: advert(["m"], "ws://p:1"),
      now: 0,
    }]);
    expect(peerHints(s, "x")).toEqual([{ id: P, url: "ws://p:1", models: ["m"] }]);
    expect(peerHints(s, P)).toEqual([]);
  });
});
