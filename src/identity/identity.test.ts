import { describe, expect, test } from "bun:test";
import { identityFromSecret, isNodeId, verifySignature } from "./identity.ts";

const SECRET = new Uint8Array(32).map((_, i) => i + 1);
const MSG = new TextEncoder().encode("aria");

describe("identity", () => {
  test("node id is the public key in hex, stable for a secret", () => {
    const a = identityFromSecret(SECRET);
    const b = identityFromSecret(SECRET);
    expect(isNodeId(a.nodeId)).toBe(true);
    expect(a.nodeId).toBe(b.nodeId);
    expect(Buffer.from(a.publicKey).toString("hex")).toBe(a.nodeId);
  });

  test("a signature verifies for its signer and message only", () => {
    const a = identityFromSecret(SECRET);
    const other = identityFromSecret(new Uint8Array(32).fill(9));
    const sig = a.sign(MSG);
    expect(sig.length).toBe(64);
    expect(verifySignature(a.nodeId, MSG, sig)).toBe(true);
    expect(verifySignature(other.nodeId, MSG, sig)).toBe(false);
    expect(verifySignature(a.nodeId, new TextEncoder().encode("arib"), sig)).toBe(false);
    const bad = Uint8Array.from(sig);
    bad[10]! ^= 1;
    expect(verifySignature(a.nodeId, MSG, bad)).toBe(false);
  });

  test("malformed ids and signatures are false, not exceptions", () => {
    const a = identityFromSecret(SECRET);
    const sig = a.sign(MSG);
    expect(verifySignature("zz", MSG, sig)).toBe(false);
    expect(verifySignature("ff".repeat(32), MSG, sig)).toBe(false);
    expect(verifySignature(a.nodeId, MSG, sig.subarray(0, 63))).toBe(false);
  });

  test("secret keys of the wrong length are refused", () => {
    expect(() => identityFromSecret(new Uint8Array(31))).toThrow(RangeError);
  });
});
