import { describe, expect, test } from "bun:test";
import {
  commonPrefixLength,
  compareDistance,
  isHex64,
  keyFromHex,
  keyInBucket,
  keyToHex,
  modelNameKey,
  nodeKey,
} from "./key.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

const k = (first: number, last = 0) => {
  const b = new Uint8Array(32);
  b[0] = first;
  b[31] = last;
  return b;
};

describe("dht keys", () => {
  test("hex round trip and validation", () => {
    const hex = "ab".repeat(32);
    expect(keyToHex(keyFromHex(hex))).toBe(hex);
    expect(isHex64("AB".repeat(32))).toBe(false);
    expect(() => keyFromHex("ab")).toThrow(RangeError);
    expect(() => nodeKey("zz".repeat(32))).toThrow(RangeError);
  });

  test("node key is SHA-256 of the public key bytes", () => {
    // SHA-256 of 32 zero bytes
    expect(keyToHex(nodeKey("00".repeat(32)))).toBe(
      "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925",
    );
  });

  test("XOR distance ordering", () => {
    const t = k(0b1000_0000);
    expect(compareDistance(t, k(0b1000_0001), k(0b0000_0000))).toBeLessThan(0);
    expect(compareDistance(t, k(0b1100_0000), k(0b1010_0000))).toBeGreaterThan(0);
    expect(compareDistance(t, k(5, 1), k(5, 1))).toBe(0);
    expect(compareDistance(t, k(0x80, 1), k(0x80, 2))).toBeLessThan(0);
  });

  test("common prefix length", () => {
    expect(commonPrefixLength(k(0), k(0x80))).toBe(0);
    expect(commonPrefixLength(k(0), k(0x01))).toBe(7);
    expect(commonPrefixLength(k(0, 0), k(0, 1))).toBe(255);
    expect(commonPrefixLength(k(7, 7), k(7, 7))).toBe(256);
  });

  test("keyInBucket lands in the asked bucket for every index", () => {
    const self = nodeKey("11".repeat(32));
    const fill = nodeKey("22".repeat(32));
    for (let cpl = 0; cpl < 256; cpl++) {
      expect(commonPrefixLength(self, keyInBucket(self, cpl, fill))).toBe(cpl);
    }
    expect(() => keyInBucket(self, 256, fill)).toThrow(RangeError);
    expect(() => keyInBucket(self, 3, new Uint8Array(3))).toThrow(RangeError);
  });
});

describe("modelNameKey", () => {
  test("is a 64-hex key, stable, distinct per name and from the plain hash of the name", () => {
    const a = modelNameKey("aria-nano");
    expect(isHex64(a)).toBe(true);
    expect(modelNameKey("aria-nano")).toBe(a);
    expect(modelNameKey("aria-nano2")).not.toBe(a);
    expect(a).not.toBe(bytesToHex(sha256(new TextEncoder().encode("aria-nano"))));
  });
});
