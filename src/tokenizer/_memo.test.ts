import { describe, expect, test } from "bun:test";
import { memoizeEncoder } from "./_memo.ts";

describe("memoizeEncoder()", () => {
  test("encodes a repeated piece once and appends the same ids", () => {
    let calls = 0;
    const encode = memoizeEncoder((piece, out) => {
      calls++;
      for (const ch of piece) out.push(ch.charCodeAt(0));
    });
    const out: number[] = [1];
    encode("ab", out);
    encode("ab", out);
    expect(out).toEqual([1, 97, 98, 97, 98]);
    expect(calls).toBe(1);
  });

  test("does not memoize long pieces", () => {
    let calls = 0;
    const encode = memoizeEncoder((_piece, out) => {
      calls++;
      out.push(0);
    });
    const long = "x".repeat(65);
    encode(long, []);
    encode(long, []);
    expect(calls).toBe(2);
  });
});
