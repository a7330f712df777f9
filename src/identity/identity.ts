/**
 * @module A node's ed25519 identity: the key pair, its id (the public key in hex), and the
 * one place that wires noble-ed25519 to a SHA-512 implementation (STYLE.md C7). Pure: the
 * secret key comes in as bytes; making and storing it is `keystore.ts`'s job.
 */
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

// noble-ed25519's synchronous API needs a SHA-512 provider; set here and nowhere else.
ed.hashes.sha512 = sha512;

/** A node id: 64 lowercase hex characters, the node's ed25519 public key. */
export type NodeId = string & { readonly __brand: "NodeId" };

/** A node's key pair. The secret key never leaves the process. */
export interface NodeIdentity {
  readonly nodeId: NodeId;
  readonly publicKey: Uint8Array;
  /** Signs `message` (ed25519, 64-byte signature). */
  sign(message: Uint8Array): Uint8Array;
}

const NODE_ID_RE = /^[0-9a-f]{64}$/;

/** True if `s` has the shape of a node id (it may still not be a valid curve point). */
export function isNodeId(s: string): s is NodeId {
  return NODE_ID_RE.test(s);
}

/**
 * Builds an identity from a 32-byte secret key.
 *
 * @throws RangeError if the key is not 32 bytes.
 */
export function identityFromSecret(secretKey: Uint8Array): NodeIdentity {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new RangeError(`An ed25519 secret key is 32 bytes (got ${secretKey?.length ?? "none"})`);
  }
  const secret = Uint8Array.from(secretKey);
  const publicKey = ed.getPublicKey(secret);
  return {
    nodeId: bytesToHex(publicKey) as NodeId,
    publicKey,
    sign: (message) => ed.sign(message, secret),
  };
}

/** A new secret key from the platform's CSPRNG (the caller stores it). */
export function newSecretKey(): Uint8Array {
  return ed.utils.randomSecretKey();
}

/**
 * Verifies an ed25519 signature by `nodeId` over `message`. Returns false (never throws) for a
 * malformed id, signature or key that is not a curve point: peer-supplied data is untrusted.
 */
export function verifySignature(
  nodeId: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!isNodeId(nodeId) || !(signature instanceof Uint8Array) || signature.length !== 64) {
    return false;
  }
  try {
    return ed.verify(signature, message, hexToBytes(nodeId));
  } catch {
    return false; // handled here: a public key that does not decode to a point
  }
}
