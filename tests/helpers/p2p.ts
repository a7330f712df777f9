/**
 * @module Test helpers for the peer network: real ed25519 node crypto, a cheap stand-in for the
 * 200-node harness (documented there), a manual clock and seeded random hex.
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { identityFromSecret, verifySignature } from "../../src/identity/index.ts";
import type { NodeCrypto } from "../../src/p2p/node.ts";

/** Real ed25519 crypto for a node made from a seed byte. */
export function edCrypto(seed: number): NodeCrypto {
  const id = identityFromSecret(new Uint8Array(32).fill(seed));
  return {
    nodeId: id.nodeId,
    sign: (b) => bytesToHex(id.sign(b)),
    verify: (n, b, s) => s.length === 128 && verifySignature(n, b, hexToBytes(s)),
  };
}

/**
 * A fast stand-in: the "signature" is a 32-bit FNV-1a hash of (id, bytes), repeated to 64 bytes.
 * It is forgeable and exists only so that 200 nodes exchanging many thousands of messages run in
 * seconds; every other line of the protocol (envelopes, handshake, nonces, replay) is production.
 */
export function fastCrypto(n: number): NodeCrypto {
  const nodeId = bytesToHex(sha256(new TextEncoder().encode(`node-${n}`)));
  const sig = (id: string, b: Uint8Array) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    return (h >>> 0).toString(16).padStart(8, "0").repeat(16);
  };
  return { nodeId, sign: (b) => sig(nodeId, b), verify: (id, b, s) => sig(id, b) === s };
}

/** A clock the test moves. */
export class ManualClock {
  now = 1_700_000_000_000;
  nowMs = (): number => this.now;
}

/** Deterministic random hex (xorshift). */
export function seededHex(seed: number): (bytes: number) => string {
  let x = seed >>> 0 || 1;
  return (bytes) => {
    let out = "";
    for (let i = 0; i < bytes; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out += ((x >>> 0) & 0xff).toString(16).padStart(2, "0");
    }
    return out;
  };
}
