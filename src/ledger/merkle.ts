/**
 * @module Merkle trees as in RFC 6962 section 2.1 (RFC 9162 section 2.1): leaf hash =
 * SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right); a list of n > 1 leaves is
 * split at k, the largest power of two smaller than n. The root of no leaves is SHA-256 of the
 * empty string (a sealed block never has none; genesis uses the zero hash instead, chain.ts).
 * Inclusion proofs are the RFC's audit paths; verification follows RFC 9162 2.1.3.2. Pure.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js";
import type { Hex32 } from "./entry.ts";

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

/** An audit path: sibling hashes from the leaf up to the root. */
export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  path: Hex32[];
}

/**
 * The hash of one leaf.
 *
 * @param data the leaf data.
 * @returns SHA-256(0x00 || data).
 */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF, data));
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE, left, right));
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOfHashes(hashes: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n === 1) return hashes[lo]!;
  const k = splitPoint(n);
  return nodeHash(rootOfHashes(hashes, lo, lo + k), rootOfHashes(hashes, lo + k, hi));
}

/**
 * The Merkle tree hash of a list of leaves.
 *
 * @param leaves the leaf data, in order.
 * @returns the root, hex.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Hex32 {
  if (leaves.length === 0) return bytesToHex(sha256(new Uint8Array(0))) as Hex32;
  return bytesToHex(rootOfHashes(leaves.map(leafHash), 0, leaves.length)) as Hex32;
}

function auditPath(hashes: readonly Uint8Array[], m: number, lo: number, hi: number): Uint8Array[] {
  const n = hi - lo;
  if (n === 1) return [];
  const k = splitPoint(n);
  if (m < k) {
    return [...auditPath(hashes, m, lo, lo + k), rootOfHashes(hashes, lo + k, hi)];
  }
  return [...auditPath(hashes, m - k, lo + k, hi), rootOfHashes(hashes, lo, lo + k)];
}

/**
 * The inclusion proof of leaf `index`.
 *
 * @param leaves the leaf data of the whole tree.
 * @param index the leaf, 0-based.
 * @returns the proof.
 * @throws {RangeError} when `index` is outside the tree.
 */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): InclusionProof {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`Cannot prove leaf ${index}: the tree has ${leaves.length} leaves`);
  }
  const hashes = leaves.map(leafHash);
  return {
    leafIndex: index,
    treeSize: leaves.length,
    path: auditPath(hashes, index, 0, hashes.length).map((h) => bytesToHex(h) as Hex32),
  };
}

/**
 * Checks an inclusion proof (RFC 9162 2.1.3.2). Never throws: a malformed proof is false.
 *
 * @param data the leaf data.
 * @param proof the proof.
 * @param root the expected root, hex.
 * @returns whether `data` is leaf `proof.leafIndex` of a tree of `proof.treeSize` with `root`.
 */
export function verifyInclusion(data: Uint8Array, proof: InclusionProof, root: string): boolean {
  const { leafIndex, treeSize, path } = proof;
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize)) return false;
  if (leafIndex < 0 || leafIndex >= treeSize || !Array.isArray(path)) return false;
  if (!path.every((h) => typeof h === "string" && /^[0-9a-f]{64}$/.test(h))) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash(data);
  for (const p of path) {
    if (sn === 0) return false; // handled here: a path longer than the tree is deep
    const sibling = hexToBytes(p);
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(sibling, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesToHex(r) === root;
}
