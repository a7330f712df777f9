import { describe, expect, test } from "bun:test";
import { newBucket, takeToken } from "./rate-limit.ts";

describe("token bucket", () => {
  const limit = { ratePerSec: 10, burst: 3 };
  test("a burst passes, then refusals, then refill", () => {
    let b = newBucket(limit, 0);
    const got: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const t = takeToken(b, limit, 0);
      got.push(t.ok);
      b = t.bucket;
    }
    expect(got).toEqual([true, true, true, false, false]);
    expect(takeToken(b, limit, 99).ok).toBe(false); // 0.99 tokens
    expect(takeToken(b, limit, 100).ok).toBe(true); // 1 token after 100 ms at 10/s
  });

  test("never more than the burst, and a clock going back adds nothing", () => {
    let b = newBucket(limit, 1000);
    b = takeToken(b, limit, 1_000_000).bucket;
    expect(b.tokens).toBe(2);
    const back = takeToken({ tokens: 0, updatedMs: 5000 }, limit, 0);
    expect(back.ok).toBe(false);
    expect(back.bucket.updatedMs).toBe(5000);
  });
});
