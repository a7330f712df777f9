import { describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { commonPrefixLength, compareDistance, nodeKey } from "./key.ts";
import {
  closest,
  contactOf,
  emptyTable,
  failed,
  MAX_FAILURES,
  observe,
  PING_IF_SILENT_MS,
  probeFailed,
  type RoutingTable,
  staleBuckets,
  tableSize,
  touch,
} from "./routing-table.ts";

const id = (i: number) =>
  bytesToHex(new Uint8Array(32).fill(0).map((_, j) => (j === 0 ? i & 0xff : j === 1 ? i >> 8 : 7)));
const SELF = id(0xffff);

/** Ids whose key falls in bucket `cpl` of SELF's table (searching small integers). */
function idsInBucket(cpl: number, n: number): string[] {
  const self = nodeKey(SELF);
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 60000; i++) {
    if (commonPrefixLength(self, nodeKey(id(i))) === cpl) out.push(id(i));
  }
  return out;
}

function fill(t: RoutingTable, ids: string[], now = 0): RoutingTable {
  for (const x of ids) t = observe(t, contactOf(x, `ws://h/${x.slice(0, 4)}`, now)).table;
  return t;
}

describe("k-buckets", () => {
  test("never holds itself; moves a re-seen contact to the tail", () => {
    let t = emptyTable(SELF, 4);
    t = observe(t, contactOf(SELF, "ws://me", 0)).table;
    expect(tableSize(t)).toBe(0);
    const ids = idsInBucket(0, 3);
    t = fill(t, ids);
    t = observe(t, contactOf(ids[0]!, null, 5)).table;
    const b = t.buckets[0]!.contacts;
    expect(b.map((c) => c.id)).toEqual([ids[1]!, ids[2]!, ids[0]!]);
    expect(b[2]!.url).toBe(`ws://h/${ids[0]!.slice(0, 4)}`); // a null url keeps the known one
  });

  test("a full bucket keeps its old contacts; a newcomer goes to the replacement cache", () => {
    const ids = idsInBucket(0, 6);
    let t = fill(emptyTable(SELF, 4), ids.slice(0, 4), 0);
    // head heard from recently: no ping, newcomer cached
    let o = observe(t, contactOf(ids[4]!, "ws://n", 1000));
    expect(o.ping).toBeNull();
    expect(o.table.buckets[0]!.replacements.map((c) => c.id)).toEqual([ids[4]!]);
    // head silent long enough: ping it (once)
    o = observe(o.table, contactOf(ids[5]!, "ws://n5", PING_IF_SILENT_MS + 1));
    expect(o.ping?.id).toBe(ids[0]!);
    expect(observe(o.table, contactOf(ids[5]!, "ws://n5", PING_IF_SILENT_MS + 2)).ping).toBeNull();
    // the head answers: it moves to the tail, the bucket is unchanged otherwise
    t = observe(o.table, contactOf(ids[0]!, "ws://a", PING_IF_SILENT_MS + 3)).table;
    expect(t.buckets[0]!.contacts.map((c) => c.id)).toEqual([ids[1]!, ids[2]!, ids[3]!, ids[0]!]);
    expect(t.buckets[0]!.pinging).toBeNull();
    // the next head is silent too, but this bucket pinged less than PING_IF_SILENT_MS ago: no
    // second ping for the next stranger (one per bucket per period), until the period is over
    expect(observe(t, contactOf(ids[4]!, "ws://n", PING_IF_SILENT_MS + 4)).ping).toBeNull();
    expect(observe(t, contactOf(ids[4]!, "ws://n", 2 * PING_IF_SILENT_MS + 1)).ping?.id)
      .toBe(ids[1]!);
    // a contact that fails is replaced by the newest replacement and remembered as dormant
    t = failed(t, { id: ids[1]!, key: nodeKey(ids[1]!) });
    expect(t.buckets[0]!.contacts.map((c) => c.id)).toEqual([ids[2]!, ids[3]!, ids[0]!, ids[5]!]);
    expect(t.dormant.map((c) => c.id)).toEqual([ids[1]!]);
  });

  test("without replacements a failing contact stays (stale) until MAX_FAILURES", () => {
    const ids = idsInBucket(1, 2);
    let t = fill(emptyTable(SELF, 4), ids);
    const who = { id: ids[0]!, key: nodeKey(ids[0]!) };
    for (let i = 1; i < MAX_FAILURES; i++) {
      t = failed(t, who);
      expect(t.buckets[1]!.contacts.find((c) => c.id === ids[0])?.failures).toBe(i);
    }
    // stale contacts come after live ones in closest()
    expect(closest(t, nodeKey(ids[0]!), 2).map((c) => c.id)).toEqual([ids[1]!, ids[0]!]);
    t = failed(t, who);
    expect(t.buckets[1]!.contacts.map((c) => c.id)).toEqual([ids[1]!]);
    // a failure of an unknown node changes nothing
    expect(failed(t, who)).toBe(t);
  });

  test("closest() equals sorting the whole table by XOR distance", () => {
    let t = emptyTable(SELF, 20);
    for (let i = 0; i < 3000; i += 7) t = observe(t, contactOf(id(i), "ws://x", 0)).table;
    const all = t.buckets.flatMap((b) => b.contacts);
    for (const target of [nodeKey(id(3)), nodeKey(SELF), nodeKey(id(2999)), new Uint8Array(32)]) {
      const want = [...all].sort((a, b) => compareDistance(target, a.key, b.key)).slice(0, 20);
      expect(closest(t, target, 20).map((c) => c.id)).toEqual(want.map((c) => c.id));
    }
    expect(closest(t, nodeKey(id(7)), 5, id(7)).some((c) => c.id === id(7))).toBe(false);
  });

  test("refresh: stale non-full buckets only, up to one past the deepest", () => {
    let t = fill(emptyTable(SELF, 2), [...idsInBucket(0, 2), ...idsInBucket(2, 1)], 0);
    // bucket 0 full (skipped), 1 and 2 non-full, 3 one past the deepest
    expect(staleBuckets(t, 1000, 600)).toEqual([1, 2, 3]);
    t = touch(t, nodeKey(idsInBucket(2, 1)[0]!), 900);
    expect(staleBuckets(t, 1000, 600)).toEqual([1, 3]);
  });

  test("a dormant contact whose probe fails goes back, a few times", () => {
    const ids = idsInBucket(0, 1);
    let t = emptyTable(SELF, 2);
    let c = contactOf(ids[0]!, "ws://d", 0);
    for (let i = 0; i < 7; i++) {
      t = probeFailed(t, c);
      c = t.dormant[0]!;
      t = { ...t, dormant: [] };
    }
    expect(probeFailed(t, c).dormant).toEqual([]);
  });
});
