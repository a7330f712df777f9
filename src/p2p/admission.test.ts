import { describe, expect, test } from "bun:test";
import { admit, type PendingConnection } from "./admission.ts";

const limits = { maxSessions: 10, maxPending: 4, maxPendingPerAddress: 2 };
const conn = (key: string, address: string, openedMs: number): PendingConnection => ({
  key,
  address,
  openedMs,
});

describe("admit (issue 19, hole 7)", () => {
  test("below the limits a newcomer is admitted and nobody is evicted", () => {
    expect(admit([conn("a", "1", 0)], 0, "2", limits)).toEqual({ admit: true, evict: [] });
  });
  test("at the per-address limit the oldest of that address gives way", () => {
    const p = [conn("a", "1", 5), conn("b", "1", 1), conn("c", "2", 0)];
    expect(admit(p, 0, "1", limits)).toEqual({ admit: true, evict: ["b"] });
  });
  test("at the overall limit the oldest of the busiest address gives way, not another's", () => {
    const p = [conn("x", "9", 0), conn("a", "1", 1), conn("b", "1", 2), conn("y", "8", 3)];
    expect(admit(p, 0, "7", limits)).toEqual({ admit: true, evict: ["a"] });
  });
  test("sessions full of authenticated peers: the newcomer is refused", () => {
    expect(admit([], 10, "1", limits)).toEqual({ admit: false, reason: "Too many connections" });
  });
  test("pending plus authenticated at the session cap: a pending one is evicted", () => {
    expect(admit([conn("a", "1", 0)], 9, "2", limits)).toEqual({ admit: true, evict: ["a"] });
  });
});
