/**
 * @module The ledger's bytes (STYLE.md B0.3: this comment is the spec; docs/ledger.md explains
 * it for third parties). Defines the inference record and the block header, their canonical
 * encodings, their hashes and the messages that get signed. Pure: no I/O, no clock; it never
 * signs (sign.ts does) and never reads a database (store.ts does).
 *
 * Canonical encoding, version 1. A value is encoded as `JSON.stringify` of a fixed-order array
 * (nostr-style, STYLE.md C6), UTF-8. Only two kinds of scalars occur: non-negative safe integers
 * (0 .. 2^53-1, no floats, no exponents) and strings restricted to printable ASCII without `"`
 * and `\` (so every JSON encoder writes them the same way, byte for byte).
 *
 *   record array (15 items):
 *     0  version            1
 *     1  requestId          text, 1..256 chars
 *     2  modelId            text, 1..256 chars
 *     3  modelSha256        hex32  SHA-256 of the GGUF file; all zero = no local GGUF file
 *     4  promptHash         hex32  SHA-256 of the prompt (docs/ledger.md "Prompt and output")
 *     5  outputHash         hex32  SHA-256 of the UTF-8 output text
 *     6  promptTokens       int
 *     7  completionTokens   int     (promptTokens + completionTokens >= 1: useful work)
 *     8  nodes              [[nodeId hex32, layerStart int, layerEnd int], ...] 1..64 entries,
 *                           layers are the half-open range [layerStart, layerEnd), start < end
 *     9  timings            [queueMs int, promptMs int, decodeMs int]
 *    10  energyMj           int, millijoules
 *    11  energySource       "measured" | "estimated"
 *    12  consentHash        hex32  hash of the consent contract in force; all zero = none
 *    13  timestampMs        int, Unix milliseconds when the record was made
 *    14  signer             hex32  node id (ed25519 public key) that signs; must be in `nodes`
 *
 *   block header array (8 items):
 *     0  version            1
 *     1  height             int (genesis = 0)
 *     2  prevHash           hex32  hash of the previous block header (genesis: all zero)
 *     3  merkleRoot         hex32  RFC 6962 root over the block's leaves (merkle.ts)
 *     4  timestampMs        int
 *     5  producer           hex32  node id that signs the block
 *     6  recordCount        int (>= 1 except genesis)
 *     7  totalTokens        int, sum of prompt + completion tokens of the records (the weight)
 *
 * hex32 = 64 lowercase hex characters. Hashes (domain separated, SHA-256):
 *   recordHash = SHA-256(utf8("aria.ledger.record.v1\n") || canonical record bytes)
 *   blockHash  = SHA-256(utf8("aria.ledger.block.v1\n")  || canonical header bytes)
 * Signatures (ed25519, 64 bytes, hex in JSON) are over a prefixed hash, never the raw hash,
 * so a signature made for the ledger can never be replayed as a handshake answer or vice versa:
 *   record signature over utf8("aria.ledger.record-sig.v1\n") || recordHash (32 raw bytes)
 *   block signature  over utf8("aria.ledger.block-sig.v1\n")  || blockHash  (32 raw bytes)
 * Merkle leaf data = recordHash || record signature (96 bytes), so a block commits to the exact
 * signatures it holds.
 *
 * Version history: 1 (this one) — first version.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

/** The encoding version written by this code. */
export const LEDGER_VERSION = 1 as const;

/** 64 zero hex characters: "none" for modelSha256 / consentHash, genesis prevHash. */
export const ZERO_HASH = "0".repeat(64) as Hex32;

/** 64 lowercase hex characters (32 bytes). */
export type Hex32 = string & { readonly __brand: "Hex32" };
/** The hash of a record (hex32). */
export type RecordHash = Hex32 & { readonly __kind: "RecordHash" };
/** The hash of a block header (hex32). */
export type BlockHash = Hex32 & { readonly __kind: "BlockHash" };

/** Where an energy figure comes from: never present an estimate as a measurement. */
export type EnergySource = "measured" | "estimated";

/** One node that took part in an inference and the layers it ran, [layerStart, layerEnd). */
export interface NodeUse {
  nodeId: Hex32;
  layerStart: number;
  layerEnd: number;
}

/** The unsigned content of an inference record. */
export interface InferenceRecord {
  version: typeof LEDGER_VERSION;
  requestId: string;
  modelId: string;
  modelSha256: Hex32;
  promptHash: Hex32;
  outputHash: Hex32;
  promptTokens: number;
  completionTokens: number;
  nodes: readonly NodeUse[];
  timings: { queueMs: number; promptMs: number; decodeMs: number };
  energyMj: number;
  energySource: EnergySource;
  consentHash: Hex32;
  timestampMs: number;
  signer: Hex32;
}

/** A record with its signer's signature (128 hex characters). */
export interface SignedRecord {
  record: InferenceRecord;
  signature: string;
}

/** The unsigned header of a block. */
export interface BlockHeader {
  version: typeof LEDGER_VERSION;
  height: number;
  prevHash: Hex32;
  merkleRoot: Hex32;
  timestampMs: number;
  producer: Hex32;
  recordCount: number;
  totalTokens: number;
}

/** A header with its producer's signature (128 hex characters). */
export interface SignedHeader {
  header: BlockHeader;
  signature: string;
}

/** A block: its signed header and its records, in leaf order. */
export interface Block extends SignedHeader {
  records: readonly SignedRecord[];
}

const HEX32_RE = /^[0-9a-f]{64}$/;
const SIG_RE = /^[0-9a-f]{128}$/;
const TEXT_RE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
/** Why 64: a pipeline over more nodes than this is not something ARIA builds. */
export const MAX_NODES = 64;

const RECORD_PREFIX = utf8ToBytes("aria.ledger.record.v1\n");
const BLOCK_PREFIX = utf8ToBytes("aria.ledger.block.v1\n");
const RECORD_SIG_PREFIX = utf8ToBytes("aria.ledger.record-sig.v1\n");
const BLOCK_SIG_PREFIX = utf8ToBytes("aria.ledger.block-sig.v1\n");

/**
 * True if `s` is 64 lowercase hex characters.
 *
 * @param s any value.
 * @returns whether it is a hex32.
 */
export function isHex32(s: unknown): s is Hex32 {
  return typeof s === "string" && HEX32_RE.test(s);
}

/**
 * True if `s` is 128 lowercase hex characters (an ed25519 signature).
 *
 * @param s any value.
 * @returns whether it has the shape of a signature.
 */
export function isSignatureHex(s: unknown): s is string {
  return typeof s === "string" && SIG_RE.test(s);
}

/**
 * True if `s` is a ledger text: 1..256 printable ASCII characters other than `"` and `\`.
 *
 * @param s any value.
 * @returns whether it can go into a record.
 */
export function isLedgerText(s: unknown): s is string {
  return typeof s === "string" && TEXT_RE.test(s);
}

function isCount(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Checks the shape of a record: every field's type and range, the nodes, and that the signer
 * is one of them. Returns the first problem, or undefined when the record is well formed.
 *
 * @param r the record.
 * @returns a reason, or undefined.
 */
export function recordProblem(r: InferenceRecord): string | undefined {
  if (r.version !== LEDGER_VERSION) return `unsupported record version ${String(r.version)}`;
  if (!isLedgerText(r.requestId)) return "requestId is not 1..256 printable ASCII characters";
  if (!isLedgerText(r.modelId)) return "modelId is not 1..256 printable ASCII characters";
  for (const k of ["modelSha256", "promptHash", "outputHash", "consentHash", "signer"] as const) {
    if (!isHex32(r[k])) return `${k} is not 64 lowercase hex characters`;
  }
  const ints = [r.promptTokens, r.completionTokens, r.energyMj, r.timestampMs];
  const t = r.timings;
  if (!ints.every(isCount) || !t || ![t.queueMs, t.promptMs, t.decodeMs].every(isCount)) {
    return "a count, timing, energy or timestamp is not a non-negative integer";
  }
  if (r.promptTokens + r.completionTokens < 1) return "the record holds no tokens of work";
  if (r.energySource !== "measured" && r.energySource !== "estimated") {
    return `energySource is "${String(r.energySource)}", not "measured" or "estimated"`;
  }
  if (!Array.isArray(r.nodes) || r.nodes.length < 1 || r.nodes.length > MAX_NODES) {
    return `nodes must list 1..${MAX_NODES} nodes`;
  }
  for (const n of r.nodes) {
    if (!isHex32(n.nodeId)) return "a node id is not 64 lowercase hex characters";
    if (!isCount(n.layerStart) || !isCount(n.layerEnd) || n.layerStart >= n.layerEnd) {
      return `node ${n.nodeId} has an empty or malformed layer range`;
    }
  }
  if (!r.nodes.some((n) => n.nodeId === r.signer)) return "the signer is not among the nodes";
  return undefined;
}

/**
 * Checks the shape of a header (types and ranges only; links are chain.ts's job).
 *
 * @param h the header.
 * @returns a reason, or undefined.
 */
export function headerProblem(h: BlockHeader): string | undefined {
  if (h.version !== LEDGER_VERSION) return `unsupported block version ${String(h.version)}`;
  for (const k of ["prevHash", "merkleRoot", "producer"] as const) {
    if (!isHex32(h[k])) return `${k} is not 64 lowercase hex characters`;
  }
  if (![h.height, h.timestampMs, h.recordCount, h.totalTokens].every(isCount)) {
    return "height, timestamp, record count or total tokens is not a non-negative integer";
  }
  return undefined;
}

/**
 * The canonical array of a record (field order of the module comment).
 *
 * @param r the record.
 * @returns the array that gets serialised.
 */
export function recordArray(r: InferenceRecord): unknown[] {
  return [
    r.version,
    r.requestId,
    r.modelId,
    r.modelSha256,
    r.promptHash,
    r.outputHash,
    r.promptTokens,
    r.completionTokens,
    r.nodes.map((n) => [n.nodeId, n.layerStart, n.layerEnd]),
    [r.timings.queueMs, r.timings.promptMs, r.timings.decodeMs],
    r.energyMj,
    r.energySource,
    r.consentHash,
    r.timestampMs,
    r.signer,
  ];
}

/**
 * The canonical array of a block header.
 *
 * @param h the header.
 * @returns the array that gets serialised.
 */
export function headerArray(h: BlockHeader): unknown[] {
  return [
    h.version,
    h.height,
    h.prevHash,
    h.merkleRoot,
    h.timestampMs,
    h.producer,
    h.recordCount,
    h.totalTokens,
  ];
}

/**
 * The canonical bytes of a record.
 *
 * @param r a well-formed record (see {@link recordProblem}).
 * @returns UTF-8 of the JSON array.
 * @throws {TypeError} when the record is malformed (a float, a bad hex field…).
 */
export function encodeRecord(r: InferenceRecord): Uint8Array {
  const problem = recordProblem(r);
  if (problem !== undefined) throw new TypeError(`Cannot encode record: ${problem}`);
  return utf8ToBytes(JSON.stringify(recordArray(r)));
}

/**
 * The canonical bytes of a block header.
 *
 * @param h a well-formed header.
 * @returns UTF-8 of the JSON array.
 * @throws {TypeError} when the header is malformed.
 */
export function encodeHeader(h: BlockHeader): Uint8Array {
  const problem = headerProblem(h);
  if (problem !== undefined) throw new TypeError(`Cannot encode block header: ${problem}`);
  return utf8ToBytes(JSON.stringify(headerArray(h)));
}

/**
 * The hash of a record.
 *
 * @param r a well-formed record.
 * @returns SHA-256 of the record prefix and the canonical bytes, hex.
 * @throws {TypeError} when the record is malformed.
 */
export function hashRecord(r: InferenceRecord): RecordHash {
  return bytesToHex(sha256(concatBytes(RECORD_PREFIX, encodeRecord(r)))) as RecordHash;
}

/**
 * The hash of a block header.
 *
 * @param h a well-formed header.
 * @returns SHA-256 of the block prefix and the canonical bytes, hex.
 * @throws {TypeError} when the header is malformed.
 */
export function hashHeader(h: BlockHeader): BlockHash {
  return bytesToHex(sha256(concatBytes(BLOCK_PREFIX, encodeHeader(h)))) as BlockHash;
}

/**
 * The message a record's signer signs.
 *
 * @param hash the record hash.
 * @returns the signature prefix followed by the 32 hash bytes.
 */
export function recordSigningMessage(hash: RecordHash): Uint8Array {
  return concatBytes(RECORD_SIG_PREFIX, hexToBytes(hash));
}

/**
 * The message a block's producer signs.
 *
 * @param hash the block hash.
 * @returns the signature prefix followed by the 32 hash bytes.
 */
export function blockSigningMessage(hash: BlockHash): Uint8Array {
  return concatBytes(BLOCK_SIG_PREFIX, hexToBytes(hash));
}

/**
 * The Merkle leaf data of a signed record: the record hash then the signature (96 bytes).
 *
 * @param hash the record hash.
 * @param signature the signature, 128 hex characters.
 * @returns the leaf bytes.
 * @throws {TypeError} when the signature is not 128 hex characters.
 */
export function leafData(hash: RecordHash, signature: string): Uint8Array {
  if (!isSignatureHex(signature)) throw new TypeError("Cannot build a leaf: malformed signature");
  return concatBytes(hexToBytes(hash), hexToBytes(signature));
}

/**
 * SHA-256 of UTF-8 text as hex (output hashes; prompt hashes in sign.ts).
 *
 * @param text any string.
 * @returns the hash.
 */
export function sha256Text(text: string): Hex32 {
  return bytesToHex(sha256(utf8ToBytes(text))) as Hex32;
}
