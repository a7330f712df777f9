/**
 * @module Signing and checking ledger records and block headers. Signing goes through the
 * injected `NodeIdentity` (src/identity: noble-ed25519, wired to SHA-512 in its one place); this
 * file decides WHAT is signed (entry.ts's prefixed messages) and builds blocks from signed
 * records. Pure: no I/O; the timestamp comes in as a number.
 *
 * Verification uses the runtime's native Ed25519 (node:crypto, RFC 8032 as OpenSSL/BoringSSL
 * implement it) because verifying a long chain is verification-bound: measured on the 2-core
 * dev machine under load, ~4,900 verifications/s native against ~130/s with noble
 * (benchmarks/ledger). noble's `verifySignature` stays the oracle: sign.test.ts checks both
 * agree on valid, altered and malformed signatures.
 */
import { createPublicKey, type KeyObject, verify as nativeVerify } from "node:crypto";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { isNodeId, type NodeIdentity } from "../identity/identity.ts";
import {
  type Block,
  type BlockHeader,
  blockSigningMessage,
  hashHeader,
  hashRecord,
  type Hex32,
  isPolicyChange,
  isSignatureHex,
  leafData,
  LEDGER_VERSION,
  type LedgerRecord,
  MIXED_HEADER_VERSION,
  type RecordHash,
  recordSigningMessage,
  recordTokens,
  type SignedHeader,
  type SignedLedgerRecord,
} from "./entry.ts";
import { merkleRoot } from "./merkle.ts";

/** Why 4096: bounds memory when a peer sends many distinct keys; honest chains have few. */
const MAX_CACHED_KEYS = 4096;
const keyCache = new Map<string, KeyObject | null>();

function publicKeyOf(nodeId: string): KeyObject | null {
  let key = keyCache.get(nodeId);
  if (key !== undefined) return key;
  try {
    const x = Buffer.from(hexToBytes(nodeId)).toString("base64url");
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
  } catch {
    key = null; // handled here: bytes that are not a public key verify nothing
  }
  if (keyCache.size >= MAX_CACHED_KEYS) keyCache.clear();
  keyCache.set(nodeId, key);
  return key;
}

/**
 * Verifies an ed25519 signature by `nodeId` (native Ed25519). Never throws.
 *
 * @param nodeId the signer's node id (public key hex).
 * @param message the signed message.
 * @param signature the 64-byte signature.
 * @returns whether it is valid.
 */
export function verifyEd25519(
  nodeId: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (!isNodeId(nodeId) || signature.length !== 64) return false;
  const key = publicKeyOf(nodeId);
  if (key === null) return false;
  try {
    return nativeVerify(null, message, key, signature);
  } catch {
    return false; // handled here: a malformed signature is simply invalid
  }
}

/**
 * Signs a record (an inference or a policy change) as `identity`.
 *
 * @param record the record; its `signer` must be `identity.nodeId`.
 * @param identity the signing node.
 * @returns the signed record and its hash.
 * @throws {TypeError} when the record is malformed or names another signer.
 */
export function signRecord<R extends LedgerRecord>(
  record: R,
  identity: NodeIdentity,
): { signed: { record: R; signature: string }; hash: RecordHash } {
  if (record.signer !== (identity.nodeId as string)) {
    throw new TypeError(`Cannot sign record: its signer is ${record.signer}, not this node`);
  }
  const hash = hashRecord(record);
  const signature = bytesToHex(identity.sign(recordSigningMessage(hash)));
  return { signed: { record, signature }, hash };
}

/**
 * Checks a record's signature against its own `signer`. Never throws.
 *
 * @param hash the record's hash (recomputed by the caller).
 * @param signer the signer's node id.
 * @param signature hex signature.
 * @returns whether the signature is valid.
 */
export function verifyRecordSignature(
  hash: RecordHash,
  signer: string,
  signature: string,
): boolean {
  if (!isSignatureHex(signature)) return false;
  return verifyEd25519(signer, recordSigningMessage(hash), hexToBytes(signature));
}

/**
 * Checks a header's signature against its producer. Never throws.
 *
 * @param header the header.
 * @param signature hex signature.
 * @returns whether the signature is valid (false for a malformed header).
 */
export function verifyHeaderSignature(header: BlockHeader, signature: string): boolean {
  if (!isSignatureHex(signature)) return false;
  let hash;
  try {
    hash = hashHeader(header);
  } catch {
    return false; // handled here: a malformed header has no valid signature
  }
  return verifyEd25519(header.producer, blockSigningMessage(hash), hexToBytes(signature));
}

/**
 * Signs a header as its producer.
 *
 * @param header the header; `producer` must be `identity.nodeId`.
 * @param identity the producing node.
 * @returns the signed header.
 * @throws {TypeError} when the header is malformed or names another producer.
 */
export function signHeader(header: BlockHeader, identity: NodeIdentity): SignedHeader {
  if (header.producer !== (identity.nodeId as string)) {
    throw new TypeError(`Cannot sign block: its producer is ${header.producer}, not this node`);
  }
  const signature = bytesToHex(identity.sign(blockSigningMessage(hashHeader(header))));
  return { header, signature };
}

/**
 * The Merkle leaves of a list of signed records (entry.ts `leafData`).
 *
 * @param records the records, in block order.
 * @returns their leaf data.
 * @throws {TypeError} when a record is malformed.
 */
export function leavesOf(records: readonly SignedLedgerRecord[]): Uint8Array[] {
  return records.map((r) => leafData(hashRecord(r.record), r.signature));
}

/**
 * Seals signed records into the next block: the Merkle root, the count and the weight (tokens)
 * come from the records; the header is signed by `identity`. A block without an inference
 * record cannot be made (Proof of Useful Work: no work, no block). The header is version 1
 * when every record is an inference, else version 2 with `inferenceCount`.
 *
 * @param prev the previous block's header (the genesis header for the first block).
 * @param records signed records, at least one of them an inference.
 * @param options the producer and the block's timestamp.
 * @returns the new block.
 * @throws {RangeError} when `records` holds no inference record.
 * @throws {TypeError} when a record is malformed.
 */
export function sealBlock(
  prev: BlockHeader,
  records: readonly SignedLedgerRecord[],
  options: Readonly<{ identity: NodeIdentity; timestampMs: number }>,
): Block {
  if (records.length === 0) throw new RangeError("Cannot seal a block: there are no records");
  const inferenceCount = records.filter((r) => !isPolicyChange(r.record)).length;
  if (inferenceCount === 0) {
    throw new RangeError("Cannot seal a block: it holds no inference record (no useful work)");
  }
  const header: BlockHeader = {
    version: inferenceCount === records.length ? LEDGER_VERSION : MIXED_HEADER_VERSION,
    height: prev.height + 1,
    prevHash: hashHeader(prev),
    merkleRoot: merkleRoot(leavesOf(records)),
    // Why max: a block is never older than its parent or its records, even if the clock
    // stepped back (chain.ts checks both).
    timestampMs: records.reduce(
      (t, r) => Math.max(t, r.record.timestampMs),
      Math.max(options.timestampMs, prev.timestampMs),
    ),
    producer: options.identity.nodeId as string as Hex32,
    recordCount: records.length,
    totalTokens: records.reduce((sum, r) => sum + recordTokens(r.record), 0),
    ...(inferenceCount === records.length ? {} : { inferenceCount }),
  };
  return { ...signHeader(header, options.identity), records };
}
