import { describe, expect, test } from "bun:test";
import { NonceCache } from "./replay.ts";

describe("NonceCache", () => {
  test("new, then replay", () => {
    const c = new NonceCache(10, 1000);
    expect(c.remember("a", "n1", 100, 100)).toBe("new");
    expect(c.remember("a", "n1", 100, 101)).toBe("replay");
    expect(c.remember("b", "n1", 100, 101)).toBe("new");
  });

  test("stays bounded and refuses what it can no longer judge", () => {
    const c = new NonceCache(3, 1_000_000);
    for (let i = 0; i < 10; i++) expect(c.remember("a", `n${i}`, 100 + i, 200)).toBe("new");
    expect(c.size).toBe(3);
    // n0 was evicted: its replay must not pass as new
    expect(c.remember("a", "n0", 100, 200)).toBe("stale");
    expect(c.remember("a", "n9", 109, 200)).toBe("replay");
    expect(c.remember("a", "fresh", 150, 200)).toBe("new");
  });

  test("entries older than the window expire and such messages are stale", () => {
    const c = new NonceCache(10, 1000);
    c.remember("a", "n1", 0, 0);
    expect(c.remember("a", "n2", 0, 5000)).toBe("stale");
    expect(c.size).toBe(0);
  });

  test("capacity below 1 is refused", () => {
    expect(() => new NonceCache(0)).toThrow(RangeError);
  });
});
