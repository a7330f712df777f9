/**
 * @module Keys of the structured overlay (Kademlia, Maymounkov & Mazières 2002; libp2p kad-dht
 * spec): 256-bit values compared by XOR distance. A node's key is SHA-256 of its ed25519 public key
 * (as libp2p hashes the peer id), so an attacker cannot place a node next to a chosen key without
 * grinding key pairs; a provider record's key is the model file's SHA-256 itself (already uniform).
 * Pure: no I/O. Keys are `Uint8Array(32)`; on the wire and in maps they are 64 lowercase hex chars.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

/** Bits in a key. */
export const KEY_BITS = 256;
/** Bytes in a key. */
export const KEY_BYTES = 32;

const HEX64 = /^[0-9a-f]{64}$/;

/** True if `s` is 64 lowercase hex characters (a key or a node id on the wire). */
export function isHex64(s: string): boolean {
  return HEX64.test(s);
}

/**
 * A key from 64 hex characters.
 *
 * @throws RangeError if `hex` is not 64 lowercase hex characters.
 */
export function keyFromHex(hex: string): Uint8Array {
  if (!isHex64(hex)) {
    throw new RangeError(`A DHT key is 64 lowercase hex characters: "${hex.slice(0, 70)}"`);
  }
  return hexToBytes(hex);
}

/** The key as 64 lowercase hex characters. */
export function keyToHex(key: Uint8Array): string {
  return bytesToHex(key);
}

/** Node keys computed recently. Why a memo: every reply carries up to 20 contacts whose keys the
 * receiver must compute itself (a claimed key is never trusted); most were seen before. */
const memo = new Map<string, Uint8Array>();
/** Memo entries kept. Why 65536: 6 MB at most, more than any routing table plus lookups. */
const MEMO_MAX = 65_536;

/**
 * The overlay key of a node: SHA-256 of its ed25519 public key (the node id, 64 hex).
 * The returned array is shared: callers must not write to it.
 *
 * @throws RangeError if `nodeId` is not 64 lowercase hex characters.
 */
export function nodeKey(nodeId: string): Uint8Array {
  const hit = memo.get(nodeId);
  if (hit) return hit;
  const key = sha256(keyFromHex(nodeId));
  if (memo.size >= MEMO_MAX) memo.clear(); // bounded: start over rather than track recency
  memo.set(nodeId, key);
  return key;
}

/**
 * Compares the XOR distances of `a` and `b` to `target`.
 *
 * @returns negative if `a` is closer, positive if `b` is closer, 0 if equal (then a = b).
 */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da - db;
  }
  return 0;
}

/**
 * Length of the common prefix of `a` and `b` in bits (256 when equal). The k-bucket of a contact
 * is this number: bucket 0 holds the half of the key space farthest from us.
 */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < KEY_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return KEY_BITS;
}

/**
 * A key sharing exactly `cpl` leading bits with `self` (bit `cpl` flipped, the rest from `fill`):
 * the target of a bucket refresh.
 *
 * @param self our key.
 * @param cpl common prefix length wanted, 0..255.
 * @param fill 32 random bytes (passed in: this module draws no randomness).
 * @throws RangeError if `cpl` is out of range or `fill` is not 32 bytes.
 */
export function keyInBucket(self: Uint8Array, cpl: number, fill: Uint8Array): Uint8Array {
  if (!Number.isInteger(cpl) || cpl < 0 || cpl >= KEY_BITS) {
    throw new RangeError(`A bucket index is an integer in 0..255: ${cpl}`);
  }
  if (fill.length !== KEY_BYTES) throw new RangeError(`Refresh fill is 32 bytes: ${fill.length}`);
  const out = Uint8Array.from(fill);
  const byte = cpl >> 3;
  const bit = 7 - (cpl & 7);
  for (let i = 0; i < byte; i++) out[i] = self[i]!;
  const keepMask = (0xff << (bit + 1)) & 0xff; // bits above `bit` come from self
  const flipped = (self[byte]! ^ (1 << bit)) & (1 << bit);
  out[byte] = (self[byte]! & keepMask) | flipped | (fill[byte]! & ((1 << bit) - 1));
  return out;
}

/** Domain of a model-name key. */
export const MODEL_NAME_DOMAIN = "aria-model-name/1\n";

/**
 * The overlay key of a model name: SHA-256 of a domain string and the name. A node asked for a
 * model by name (the OpenAI `model` field) does not know the file's hash; providers publish a
 * record under this key as well as under the file's SHA-256.
 *
 * @param name the model id as clients name it.
 * @returns 64 hex.
 */
export function modelNameKey(name: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(MODEL_NAME_DOMAIN + name)));
}
