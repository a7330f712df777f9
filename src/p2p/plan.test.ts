import { describe, expect, test } from "bun:test";
import { applyPeerEvent, initialPeerState, type PeerEvent, type PeerState } from "./peer-state.ts";
import { type Action, decide, DEFAULT_PLAN, missingModels, type PlanConfig } from "./plan.ts";
import type { Advert } from "./protocol.ts";

const advert = (models: string[]): Advert => ({
  models: models.map((id) => ({ id, sha256: "", layers: null, nLayers: 0 })),
  slots: 1,
  freeSlots: 1,
  tokensPerSecond: 0,
  consent: {},
  listen: null,
});
const id = (c: string) => c.repeat(64);
const run = (events: PeerEvent[]) =>
  events.reduce(applyPeerEvent, initialPeerState(id("s"), "ws://self:1"));
const conn = (c: string, now = 0): PeerEvent => ({
  type: "connected",
  id: id(c),
  url: `ws://${c}:1`,
  dialedUrl: null,
  direction: "in",
  now,
});
const cfg: PlanConfig = {
  ...DEFAULT_PLAN,
  targetPeers: 2,
  maxPeers: 3,
  providersWanted: 1,
  graceMs: 0,
};
const types = (actions: Action[], t: Action["type"]) => actions.filter((a) => a.type === t);

/** A peer that is fully up to date at time `now` (pinged, advertised, exchanged). */
function settled(c: string, now: number): PeerEvent[] {
  return [conn(c, now), { type: "ping_sent", id: id(c), pingId: "p", now }, {
    type: "pong",
    id: id(c),
    re: "p",
    now,
  }, { type: "exchange_sent", id: id(c), now }];
}

describe("decide", () => {
  test("a fresh node dials its bootstrap peers", () => {
    const s = run([{ type: "bootstrap", urls: ["ws://a:1", "ws://b:1", "ws://c:1"] }]);
    expect(types(decide(s, 0, cfg), "dial")).toEqual([{ type: "dial", url: "ws://a:1" }, {
      type: "dial",
      url: "ws://b:1",
    }]);
  });

  test("addresses being dialled or backing off are not dialled", () => {
    const s = run([{ type: "bootstrap", urls: ["ws://a:1", "ws://b:1"] }, {
      type: "dial_started",
      url: "ws://a:1",
    }, { type: "dial_failed", url: "ws://b:1", now: 0 }]);
    expect(types(decide(s, 500, cfg), "dial")).toEqual([]);
    expect(types(decide(s, 1000, cfg), "dial")).toEqual([{ type: "dial", url: "ws://b:1" }]);
  });

  test("a new peer is pinged, sent our advert and asked for peers; then nothing until due", () => {
    let s = run([{ type: "local_advert", advert: advert(["m"]) }, conn("p")]);
    expect(decide(s, 0, cfg).map((a) => a.type).sort()).toEqual(["advertise", "exchange", "ping"]);
    s = [
      { type: "ping_sent", id: id("p"), pingId: "x", now: 0 },
      { type: "advert_sent", id: id("p"), version: 1, now: 0 },
      { type: "exchange_sent", id: id("p"), now: 0 },
    ].reduce((st: PeerState, e) => applyPeerEvent(st, e as PeerEvent), s);
    expect(decide(s, 1, cfg).filter((a) => a.type !== "dial")).toEqual([]);
    // with fewer peers than the target, peers are asked for ten times as often
    expect(decide(s, cfg.exchangeIntervalMs / 10, cfg).map((a) => a.type)).toEqual(["exchange"]);
    const full = run([...settled("q", 0), ...settled("r", 0)]);
    expect(decide(full, cfg.exchangeIntervalMs / 10, cfg).filter((a) => a.type === "exchange"))
      .toEqual([]);
    const later = decide(s, cfg.exchangeIntervalMs, cfg).map((a) => a.type).sort();
    expect(later).toEqual(["advertise", "exchange"]); // ping waits for its pong
  });

  test("a silent peer is dropped", () => {
    const s = run([...settled("p", 0)]);
    expect(types(decide(s, cfg.silenceMs + 1, cfg), "drop")).toEqual([{
      type: "drop",
      id: id("p"),
      reason: "silent",
    }]);
    expect(types(decide(s, cfg.silenceMs, cfg), "drop")).toEqual([]);
  });

  test("beyond maxPeers the least useful peers are trimmed, never a needed provider", () => {
    const s = run([
      ...settled("a", 0),
      ...settled("b", 1),
      ...settled("c", 2),
      ...settled("d", 3),
      { type: "advert", id: id("a"), advert: advert(["rare"]), now: 4 },
    ]);
    const drops = types(decide(s, 5, cfg), "drop");
    expect(drops).toEqual([{ type: "drop", id: id("d"), reason: "too many peers" }]);
  });

  test("new connections are not trimmed during their grace period", () => {
    const s = run([...settled("a", 0), ...settled("b", 0), ...settled("c", 0), ...settled("d", 0)]);
    const graced = { ...cfg, graceMs: 100 };
    expect(types(decide(s, 99, graced), "drop")).toEqual([]);
    expect(types(decide(s, 100, graced), "drop").length).toBe(1);
  });

  test("hinted providers of a model we lack are dialled first, even above the target", () => {
    const s = run([
      ...settled("a", 0),
      ...settled("b", 0),
      {
        type: "peers_learned",
        hints: [
          { id: id("x"), url: "ws://x:1", models: [] },
          { id: id("y"), url: "ws://y:1", models: ["m"] },
        ],
      },
    ]);
    expect(missingModels(s, 1)).toEqual(["m"]);
    expect(types(decide(s, 0, cfg), "dial")).toEqual([{ type: "dial", url: "ws://y:1" }]);
  });

  test("an address of a connected peer is not dialled again", () => {
    const s = run([...settled("a", 0), {
      type: "peers_learned",
      hints: [{ id: id("a"), url: "ws://a2:1", models: [] }],
    }]);
    expect(types(decide(s, 0, cfg), "dial")).toEqual([]);
  });

  test("with enough peers, bootstrap addresses are left alone", () => {
    const s = run([
      { type: "bootstrap", urls: ["ws://boot:1"] },
      ...settled("a", 0),
      ...settled("b", 0),
    ]);
    expect(types(decide(s, 0, cfg), "dial")).toEqual([]);
  });
});
