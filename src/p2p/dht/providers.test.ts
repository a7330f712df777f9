import { describe, expect, test } from "bun:test";
import * as ed from "@noble/ed25519";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { identityFromSecret, verifySignature } from "../../identity/identity.ts";
import { hexToBytes as h2b } from "@noble/hashes/utils.js";

const verify = (id: string, bytes: Uint8Array, sig: string) => verifySignature(id, bytes, h2b(sig));
import {
  checkRecord,
  emptyStore,
  MAX_PROVIDERS_PER_KEY,
  type ProviderRecord,
  providerRecordSchema,
  providersFor,
  pruneStore,
  RECORD_TTL_MS,
  signProviderRecord,
  storeCount,
  storeRecord,
} from "./providers.ts";

const me = identityFromSecret(new Uint8Array(32).fill(3));
const other = identityFromSecret(new Uint8Array(32).fill(4));
const KEY = "ab".repeat(32);
const sign = (bytes: Uint8Array) => bytesToHex(me.sign(bytes));
const record = (over: Partial<ProviderRecord> = {}, now = 1000): ProviderRecord =>
  signProviderRecord({
    key: KEY,
    provider: me.nodeId,
    model: "m",
    url: "ws://a:1",
    relay: null,
    layers: [0, 11],
    nLayers: 30,
    expiresMs: now + RECORD_TTL_MS,
    ...over,
  }, sign);

describe("provider records", () => {
  test("a signed record checks; any altered field fails", () => {
    const r = record();
    expect(providerRecordSchema.safeParse(r).success).toBe(true);
    expect(checkRecord(r, 1000, verify)).toBeNull();
    expect(checkRecord({ ...r, url: "ws://evil:1" }, 1000, verify)).toBe("bad_signature");
    expect(checkRecord({ ...r, layers: [0, 29] }, 1000, verify)).toBe("bad_signature");
    expect(checkRecord({ ...r, provider: other.nodeId }, 1000, verify)).toBe("bad_signature");
    expect(checkRecord(r, 1000, verify, other.nodeId)).toBe("not_sender");
    expect(checkRecord(r, 1000 + RECORD_TTL_MS, verify)).toBe("expired");
    const far = record({ expiresMs: 1000 + 2 * RECORD_TTL_MS });
    expect(checkRecord(far, 1000, verify)).toBe("too_far_ahead");
    expect(ed.verify(hexToBytes(r.sig), new Uint8Array(1), me.publicKey)).toBe(false);
  });

  test("schema refuses bad shapes", () => {
    const r = record();
    expect(providerRecordSchema.safeParse({ ...r, layers: [5, 2] }).success).toBe(false);
    expect(providerRecordSchema.safeParse({ ...r, url: "http://x" }).success).toBe(false);
    expect(providerRecordSchema.safeParse({ ...r, key: "AB".repeat(32) }).success).toBe(false);
  });

  test("store: newer copy replaces, older is ignored, expiry prunes, bounds hold", () => {
    const a = record({}, 1000);
    const b = record({}, 2000);
    let s = storeRecord(emptyStore(), a);
    if (s === "full") throw new Error("full");
    const s2 = storeRecord(s, b);
    if (s2 === "full") throw new Error("full");
    expect(providersFor(s2, KEY, 2000)[0]!.expiresMs).toBe(b.expiresMs);
    expect(storeRecord(s2, a)).toBe(s2);
    expect(providersFor(s2, KEY, b.expiresMs)).toEqual([]);
    expect(storeCount(pruneStore(s2, b.expiresMs))).toBe(0);
    s = s2;
    for (let i = 0; i < MAX_PROVIDERS_PER_KEY - 1; i++) {
      const next = storeRecord(s, { ...a, provider: bytesToHex(new Uint8Array(32).fill(i + 10)) });
      if (next === "full") throw new Error("full early");
      s = next;
    }
    expect(storeRecord(s, { ...a, provider: "ee".repeat(32) })).toBe("full");
  });
});
