/**
 * @module The "consent policy changed" event: which policy hash replaced which, when, signed by
 * the node. The ledger appends it (the lead wires `store.ts` → ledger); this file only builds,
 * encodes and verifies it. Pure: the identity and the time come in.
 *
 * Canonical encoding (signed bytes) = CHANGE_DOMAIN + JSON of the fixed-order array
 *   [1 (version), oldHash ("" on first run), newHash, atMs (integer Unix ms), signer]
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { type NodeIdentity, verifySignature } from "../identity/identity.ts";

/** Domain separator of the event signature. */
export const CHANGE_DOMAIN = "aria:consent-policy-changed:v1\n";

/** A signed record of a policy change. */
export interface PolicyChangedEvent {
  kind: "consent-policy-changed";
  version: 1;
  /** Hash of the replaced policy; null when this is the first policy of the node. */
  oldHash: string | null;
  newHash: string;
  atMs: number;
  signer: string;
  /** ed25519 over `policyChangedBytes(event)`, hex. */
  signature: string;
}

/**
 * The canonical bytes of an event (what is signed; also a stable ledger payload).
 *
 * @param e the event (the signature is not part of it).
 * @returns UTF-8 bytes.
 */
export function policyChangedBytes(e: Omit<PolicyChangedEvent, "signature">): Uint8Array {
  const arr = [1, e.oldHash ?? "", e.newHash, e.atMs, e.signer];
  return new TextEncoder().encode(CHANGE_DOMAIN + JSON.stringify(arr));
}

/**
 * Builds and signs a "policy changed" event.
 *
 * @param identity the node's key pair.
 * @param oldHash the previous policy hash, or null on first run.
 * @param newHash the new policy hash.
 * @param atMs when (integer Unix ms).
 * @returns the signed event.
 * @throws {RangeError} when atMs is not a non-negative integer.
 */
export function policyChangedEvent(
  identity: NodeIdentity,
  oldHash: string | null,
  newHash: string,
  atMs: number,
): PolicyChangedEvent {
  if (!Number.isSafeInteger(atMs) || atMs < 0) {
    throw new RangeError(`Event time must be an integer number of ms (got ${atMs})`);
  }
  const unsigned = {
    kind: "consent-policy-changed" as const,
    version: 1 as const,
    oldHash,
    newHash,
    atMs,
    signer: identity.nodeId,
  };
  return { ...unsigned, signature: bytesToHex(identity.sign(policyChangedBytes(unsigned))) };
}

/**
 * Checks an event's signature against the node it names.
 *
 * @param e the event (untrusted).
 * @returns true when `signer` signed exactly these fields.
 */
export function verifyPolicyChangedEvent(e: PolicyChangedEvent): boolean {
  if (!/^[0-9a-f]{128}$/.test(e.signature)) return false;
  return verifySignature(e.signer, policyChangedBytes(e), hexToBytes(e.signature));
}
