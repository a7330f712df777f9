import { describe, expect, test } from "bun:test";
import { identityFromSecret } from "../identity/identity.ts";
import { policyChangedBytes, policyChangedEvent, verifyPolicyChangedEvent } from "./events.ts";

const ME = identityFromSecret(new Uint8Array(32).fill(3));
const A = "a".repeat(64);
const B = "b".repeat(64);

describe("policy changed event", () => {
  test("signed by the node and verifiable", () => {
    const e = policyChangedEvent(ME, A, B, 1_700_000_000_000);
    expect(e).toMatchObject({
      kind: "consent-policy-changed",
      oldHash: A,
      newHash: B,
      signer: ME.nodeId,
    });
    expect(verifyPolicyChangedEvent(e)).toBe(true);
  });
  test("first policy has oldHash null and encodes it as an empty string", () => {
    const e = policyChangedEvent(ME, null, B, 5);
    expect(new TextDecoder().decode(policyChangedBytes(e))).toBe(
      `aria:consent-policy-changed:v1\n[1,"","${B}",5,"${ME.nodeId}"]`,
    );
    expect(verifyPolicyChangedEvent(e)).toBe(true);
  });
  test("any changed field breaks the signature", () => {
    const e = policyChangedEvent(ME, A, B, 5);
    for (const bad of [{ oldHash: B }, { newHash: A }, { atMs: 6 }, { oldHash: null }]) {
      expect(verifyPolicyChangedEvent({ ...e, ...bad })).toBe(false);
    }
    const other = identityFromSecret(new Uint8Array(32).fill(4));
    expect(verifyPolicyChangedEvent({ ...e, signer: other.nodeId })).toBe(false);
    expect(verifyPolicyChangedEvent({ ...e, signature: "zz" })).toBe(false);
  });
  test("a non-integer time is refused", () => {
    expect(() => policyChangedEvent(ME, null, B, 1.5)).toThrow(RangeError);
  });
});
