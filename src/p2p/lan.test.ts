import { describe, expect, test } from "bun:test";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { identityFromSecret, verifySignature } from "../identity/index.ts";
import {
  checkAnnouncement,
  encodeAnnouncement,
  LAN_MAX_BYTES,
  LAN_MAX_SKEW_MS,
  type LanCheck,
} from "./lan.ts";

const alice = identityFromSecret(new Uint8Array(32).fill(7));
const me = identityFromSecret(new Uint8Array(32).fill(8));
const sign = (b: Uint8Array) => bytesToHex(alice.sign(b));
const verify = (id: string, b: Uint8Array, s: string) => verifySignature(id, b, hexToBytes(s));
const NOW = 1_700_000_000_000;
const ctx = (over: Partial<LanCheck> = {}): LanCheck => ({
  self: me.nodeId,
  now: NOW,
  source: "192.168.1.20",
  ownAddresses: new Set(["192.168.1.10"]),
  verify,
  lastBySender: new Map(),
  ...over,
});
const enc = (url: string, ts = NOW) => encodeAnnouncement(alice.nodeId, url, ts, sign);
const why = (bytes: Uint8Array, over: Partial<LanCheck> = {}) => {
  const r = checkAnnouncement(bytes, ctx(over));
  return r.ok ? "ok" : r.error;
};

describe("LAN announcements", () => {
  test("a signed announcement of the sender's own address is accepted", () => {
    const r = checkAnnouncement(enc("ws://192.168.1.20:9001"), ctx());
    expect(r.ok && r.value).toMatchObject({ id: alice.nodeId, url: "ws://192.168.1.20:9001" });
  });

  test("hostile datagrams are ignored, each with its reason", () => {
    expect(why(new Uint8Array(LAN_MAX_BYTES + 1))).toBe("too_large");
    expect(why(new TextEncoder().encode("{nope"))).toBe("not_json");
    expect(why(new Uint8Array([0xff, 0xfe]))).toBe("not_json");
    expect(why(new TextEncoder().encode(JSON.stringify({ v: 1, id: "x" })))).toBe("bad_shape");
    // a third party's address: aiming the LAN's nodes at someone else
    expect(why(enc("ws://10.0.0.5:9001"))).toBe("foreign_address");
    // loopback only from this machine
    expect(why(enc("ws://127.0.0.1:9001"))).toBe("foreign_address");
    expect(why(enc("ws://127.0.0.1:9001"), { source: "192.168.1.10" })).toBe("ok");
    expect(why(enc("ws://192.168.1.20:9001", NOW - LAN_MAX_SKEW_MS - 1))).toBe("stale");
    expect(why(enc("ws://192.168.1.20:9001"), { self: alice.nodeId })).toBe("self");
    expect(
      why(enc("ws://192.168.1.20:9001"), { lastBySender: new Map([[alice.nodeId, NOW - 1000]]) }),
    ).toBe("rate");
    // one changed character of the signed address
    const forged = new TextDecoder().decode(enc("ws://192.168.1.20:9001")).replace("9001", "9002");
    expect(why(new TextEncoder().encode(forged))).toBe("bad_signature");
  });
});
