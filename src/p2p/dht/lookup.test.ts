import { describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { compareDistance } from "./key.ts";
import { isDone, nextQueries, onFailure, onReply, peerOf, result, startLookup } from "./lookup.ts";

const id = (i: number) =>
  bytesToHex(new Uint8Array(32).map((_, j) => (j === 0 ? i : j === 1 ? i >> 8 : 1)));
const peers = Array.from({ length: 60 }, (_, i) => peerOf(id(i), `ws://p/${i}`));
const SELF = id(999);

describe("iterative lookup", () => {
  test("asks α at a time, closest first, and ends when the k closest answered", () => {
    const target = peers[5]!.key;
    const sorted = [...peers].sort((a, b) => compareDistance(target, a.key, b.key));
    let l = startLookup(SELF, target, peers.slice(0, 10), { k: 4, alpha: 3 });
    const q = nextQueries(l);
    expect(q.ask.length).toBe(3);
    // nothing more while three are in flight
    expect(nextQueries(q.lookup).ask).toEqual([]);
    l = q.lookup;
    // every reply returns the globally closest peers
    let rounds = 0;
    for (let step = nextQueries(l);; step = nextQueries(l)) {
      l = step.lookup;
      for (const p of step.ask.length ? step.ask : []) l = onReply(l, p.id, sorted.slice(0, 8));
      if (step.ask.length === 0) {
        // the first three are still waiting on the first pass
        const waiting = l.candidates.filter((c) => c.state === "waiting").map((c) => c.peer.id);
        if (waiting.length === 0) break;
        for (const w of waiting) l = onReply(l, w, sorted.slice(0, 8));
      }
      if (++rounds > 20) throw new Error("did not end");
    }
    expect(isDone(l)).toBe(true);
    expect(result(l).map((p) => p.id)).toEqual(sorted.slice(0, 4).map((p) => p.id));
  });

  test("failures are skipped, self and unsolicited replies ignored", () => {
    const target = peers[0]!.key;
    let l = startLookup(SELF, target, [peerOf(SELF, null), ...peers.slice(0, 3)], {
      k: 2,
      alpha: 3,
    });
    expect(l.candidates.some((c) => c.peer.id === SELF)).toBe(false);
    const q = nextQueries(l);
    l = q.lookup;
    expect(q.ask.length).toBe(2); // only the k = 2 closest are asked
    const before = l;
    expect(onReply(l, id(50), peers)).toBe(before); // not asked
    l = onFailure(l, q.ask[0]!.id);
    l = onReply(l, q.ask[1]!.id, []);
    expect(isDone(l)).toBe(false); // a failed one leaves room: the third closest is asked next
    const q2 = nextQueries(l);
    expect(q2.ask.length).toBe(1);
    l = onReply(q2.lookup, q2.ask[0]!.id, []);
    expect(isDone(l)).toBe(true);
    expect(result(l).map((p) => p.id)).toEqual([q.ask[1]!.id, q2.ask[0]!.id]);
  });

  test("a provider lookup stops as soon as enough providers are known", () => {
    let l = startLookup<{ provider: string }>(SELF, peers[0]!.key, peers.slice(0, 5), {
      k: 20,
      wantProviders: 2,
    });
    const q = nextQueries(l);
    l = onReply(q.lookup, q.ask[0]!.id, [], [{ provider: "a" }, { provider: "a" }, {
      provider: "b",
    }]);
    expect(l.providers.size).toBe(2);
    expect(isDone(l)).toBe(true);
    expect(nextQueries(l).ask).toEqual([]);
  });

  test("the candidate list stays bounded against junk replies", () => {
    let l = startLookup(SELF, peers[0]!.key, peers.slice(0, 1), { k: 2, alpha: 1 });
    const q = nextQueries(l);
    l = onReply(q.lookup, q.ask[0]!.id, peers);
    expect(l.candidates.length).toBe(8);
  });
});
