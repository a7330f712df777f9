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
 *                           (a pipeline's coordinator, which runs no block, is [n, n + 1) for
 *                           an n-block model: docs/ledger.md §2.2)
 *     9  timings            [queueMs int, promptMs int, decodeMs int]
 *    10  energyMj           int, millijoules
 *    11  energySource       "measured" | "estimated"
 *    12  consentHash        hex32  hash of the consent contract in force; all zero = none
 *    13  timestampMs        int, Unix milliseconds when the record was made
 *    14  signer             hex32  node id (ed25519 public key) that signs; must be in `nodes`
 *
 *   record array, version 2 (16 items: the 15 above with version 2, then the replay facts, what
 *   a re-execution needs besides the prompt, which the requester keeps):
 *    15  replay             [contract int, sampler int, head text, kvType text,
 *                            [temperature, topK, topP, minP, repeatPenalty, repeatLastN,
 *                             frequencyPenalty, presencePenalty] (8 texts, see below),
 *                            logitBiasHash hex32, grammarHash hex32, seed int,
 *                            promptIdCount int, promptIdsHash hex32, continued int,
 *                            outputIdCount int, outputIdsHash hex32]
 *       contract        the engine's numerics contract (aria_numerics_contract(), >= 1)
 *       sampler         the sampling pipeline's version (1: src/generation/sampler-ref.ts with
 *                       the portable exp/log of src/generation/portable-math.ts)
 *       head            output head the logits came from: "float" | "int8" | "int4"
 *       kvType          KV cache element type: "f32" | "f16"
 *       the 8 numbers   decimal texts as ECMAScript's Number::toString writes a double (the
 *                       shortest text that parses back to the same double; -0 is written "0"),
 *                       e.g. "0.9", "40", "-1", "1e-7": no floats enter the canonical bytes
 *       logitBiasHash   SHA-256 of utf8(JSON.stringify([[id, "bias"], ...])) over the bias
 *                       entries sorted by id (bias as the decimal text above); all zero = none
 *       grammarHash     SHA-256 of utf8(grammar), the GBNF text the sampler enforced; zero = none
 *       seed            the seed the sampler's rng was made from, 0 .. 2^32-1 (also when the
 *                       client gave none: the one the node chose)
 *       promptIdCount   token ids evaluated before the first sampled token (>= 1)
 *       promptIdsHash   SHA-256 of those ids as 32-bit little-endian unsigned integers
 *       continued       how many of them (the last ones) are another node's output that this
 *                       node continued after a fail-over (0 = none); the sampler took them
 *                       in as prompt (penalty window, not counts)
 *       outputIdCount   token ids this node sampled
 *       outputIdsHash   SHA-256 of the sampled ids, 32-bit little-endian
 *
 *   policy-change record array (6 items; encoding version 2, see below):
 *     0  kind               "policy-change" (a string: an inference array starts with the int 1)
 *     1  version            1 (version of this record kind)
 *     2  oldHash            hex32  consent policy hash in force before; all zero = none recorded
 *     3  newHash            hex32  consent policy hash in force from timestampMs (!= oldHash)
 *     4  timestampMs        int, Unix milliseconds of the change
 *     5  signer             hex32  the node whose policy it is; it signs, and it must be the
 *                           producer of the block that seals the record
 *
 *   block header array (8 items for version 1, 9 for version 2):
 *     0  version            1 = every record is an inference record;
 *                           2 = the block also holds non-inference records (policy changes)
 *     1  height             int (genesis = 0)
 *     2  prevHash           hex32  hash of the previous block header (genesis: all zero)
 *     3  merkleRoot         hex32  RFC 6962 root over the block's leaves (merkle.ts)
 *     4  timestampMs        int
 *     5  producer           hex32  node id that signs the block
 *     6  recordCount        int (>= 1 except genesis)
 *     7  totalTokens        int, sum of prompt + completion tokens of the inference records
 *                           (the weight; policy changes weigh nothing)
 *     8  inferenceCount     int, version 2 only: how many of the records are inference records,
 *                           1 <= inferenceCount < recordCount (a block with only inference
 *                           records is written as version 1, so each block has one encoding)
 *
 * hex32 = 64 lowercase hex characters. Hashes (domain separated, SHA-256):
 *   recordHash = SHA-256(utf8("aria.ledger.record.v1\n") || canonical record bytes)
 *   policyHash = SHA-256(utf8("aria.ledger.policy-change.v1\n") || canonical policy-change
 *                bytes)  (the "record hash" of a policy-change record)
 *   blockHash  = SHA-256(utf8("aria.ledger.block.v1\n")  || canonical header bytes), both versions
 * Signatures (ed25519, 64 bytes, hex in JSON) are over a prefixed hash, never the raw hash,
 * so a signature made for the ledger can never be replayed as a handshake answer or vice versa:
 *   record signature over utf8("aria.ledger.record-sig.v1\n") || recordHash (32 raw bytes),
 *                    for both record kinds (their hashes are domain separated already)
 *   block signature  over utf8("aria.ledger.block-sig.v1\n")  || blockHash  (32 raw bytes)
 * Merkle leaf data = recordHash || record signature (96 bytes), so a block commits to the exact
 * signatures it holds.
 *
 * Proof of Useful Work: a block needs at least one inference record (no policy-only blocks);
 * policy changes wait, pending, until an inference seals them (docs/ledger.md §3).
 *
 * Version history:
 *   1  first version: inference records, version 1 headers.
 *   2  adds the policy-change record kind and version 2 headers (field 8, inferenceCount) for
 *      blocks that hold one. Inference records and version 1 headers are unchanged, byte for
 *      byte: every version 1 chain, record hash and block hash stays valid.
 *   3  adds inference records of version 2 (field 15, the replay facts). Version 1 records stay
 *      valid and are still verified; a node writes version 2 for every inference it runs.
 *      Record hashes keep the same prefix (the array's first item tells the versions apart).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

/** Version of the inference record layout and of a header whose records are all inferences. */
export const LEDGER_VERSION = 1 as const;
/** Version of an inference record that carries replay facts (field 15). */
export const RECORD_V2 = 2 as const;
/** Output heads a record may name (src/engine's OutputHead). */
export const OUTPUT_HEADS = ["float", "int8", "int4"] as const;
/** KV cache types a record may name. */
export const KV_TYPES = ["f32", "f16"] as const;
/** Header version of a block that also holds non-inference records (encoding version 2). */
export const MIXED_HEADER_VERSION = 2 as const;
/** The `kind` of a policy-change record. */
export const POLICY_CHANGE_KIND = "policy-change" as const;

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

/** The sampling settings of a replay, each as a decimal text (module comment, field 15). */
export interface ReplaySampling {
  temperature: string;
  topK: string;
  topP: string;
  minP: string;
  repeatPenalty: string;
  repeatLastN: string;
  frequencyPenalty: string;
  presencePenalty: string;
}

/** The sampling settings in canonical order. */
export const REPLAY_SAMPLING_KEYS = [
  "temperature",
  "topK",
  "topP",
  "minP",
  "repeatPenalty",
  "repeatLastN",
  "frequencyPenalty",
  "presencePenalty",
] as const satisfies readonly (keyof ReplaySampling)[];

/** What re-executing an inference needs besides the prompt (record version 2, field 15). */
export interface ReplayFacts {
  contract: number;
  sampler: number;
  head: (typeof OUTPUT_HEADS)[number];
  kvType: (typeof KV_TYPES)[number];
  sampling: ReplaySampling;
  logitBiasHash: Hex32;
  grammarHash: Hex32;
  seed: number;
  promptIdCount: number;
  promptIdsHash: Hex32;
  continued: number;
  outputIdCount: number;
  outputIdsHash: Hex32;
}

/** The unsigned content of an inference record (version 2 carries `replay`). */
export interface InferenceRecord {
  version: typeof LEDGER_VERSION | typeof RECORD_V2;
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
  /** Version 2 only (required there). */
  replay?: ReplayFacts;
}

/** A record with its signer's signature (128 hex characters). */
export interface SignedRecord {
  record: InferenceRecord;
  signature: string;
}

/** The unsigned content of a consent policy change (encoding version 2). */
export interface PolicyChangeRecord {
  kind: typeof POLICY_CHANGE_KIND;
  version: 1;
  /** The policy hash in force before; ZERO_HASH when this ledger recorded none before. */
  oldHash: Hex32;
  newHash: Hex32;
  timestampMs: number;
  signer: Hex32;
}

/** Any record a block can hold. */
export type LedgerRecord = InferenceRecord | PolicyChangeRecord;

/** Any record with its signer's signature. */
export interface SignedLedgerRecord {
  record: LedgerRecord;
  signature: string;
}

/** The unsigned header of a block. */
export interface BlockHeader {
  /** 1: inference records only; 2: also non-inference records (then inferenceCount is set). */
  version: typeof LEDGER_VERSION | typeof MIXED_HEADER_VERSION;
  height: number;
  prevHash: Hex32;
  merkleRoot: Hex32;
  timestampMs: number;
  producer: Hex32;
  recordCount: number;
  totalTokens: number;
  /** Version 2 only: how many records are inference records (1 .. recordCount - 1). */
  inferenceCount?: number;
}

/** A header with its producer's signature (128 hex characters). */
export interface SignedHeader {
  header: BlockHeader;
  signature: string;
}

/** A block: its signed header and its records, in leaf order. */
export interface Block extends SignedHeader {
  records: readonly SignedLedgerRecord[];
}

/**
 * True for a policy-change record (any other record is an inference record).
 *
 * @param r a record.
 * @returns whether it is a policy change.
 */
export function isPolicyChange(r: LedgerRecord): r is PolicyChangeRecord {
  return (r as { kind?: unknown }).kind === POLICY_CHANGE_KIND;
}

/**
 * The tokens of work a record holds: prompt + completion for an inference, 0 otherwise.
 *
 * @param r a record.
 * @returns its weight.
 */
export function recordTokens(r: LedgerRecord): number {
  return isPolicyChange(r) ? 0 : r.promptTokens + r.completionTokens;
}

/**
 * The tokens of a record that count towards a block's weight (Proof of Useful Work,
 * docs/ledger.md §3.2): those of an inference record open to audit, that is of version 2, whose
 * replay facts let anyone holding its prompt re-run it and compare token for token. A version 1
 * record (no replay facts) and a policy change count nothing.
 *
 * @param r a record.
 * @returns its weight.
 */
export function auditableTokens(r: LedgerRecord): number {
  return isPolicyChange(r) || r.version !== RECORD_V2 ? 0 : r.promptTokens + r.completionTokens;
}

const HEX32_RE = /^[0-9a-f]{64}$/;
const SIG_RE = /^[0-9a-f]{128}$/;
const TEXT_RE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
/** Why 64: a pipeline over more nodes than this is not something ARIA builds. */
export const MAX_NODES = 64;

const RECORD_PREFIX = utf8ToBytes("aria.ledger.record.v1\n");
const POLICY_PREFIX = utf8ToBytes("aria.ledger.policy-change.v1\n");
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
export function recordProblem(r: LedgerRecord): string | undefined {
  if (isPolicyChange(r)) return policyChangeProblem(r);
  if ((r as { kind?: unknown }).kind !== undefined) {
    return `unknown record kind ${JSON.stringify((r as { kind?: unknown }).kind)}`;
  }
  if (r.version !== LEDGER_VERSION && r.version !== RECORD_V2) {
    return `unsupported record version ${String(r.version)}`;
  }
  if (r.version === LEDGER_VERSION && "replay" in r) return "a version 1 record has no replay";
  if (r.version === RECORD_V2) {
    const problem = replayProblem(r.replay);
    if (problem !== undefined) return problem;
    // the weight of a version 2 record is these counts, so each must be bound to a replayed hash
    const f = r.replay!;
    if (r.promptTokens !== f.promptIdCount || r.completionTokens !== f.outputIdCount) {
      return "the token counts are not the replay facts' id counts";
    }
  }
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

// a decimal text as Number::toString writes a double: it parses back to a number whose text is
// itself (so one value has one text)
function isNumberText(s: unknown): s is string {
  return typeof s === "string" && s.length <= 32 && s !== "NaN" && String(Number(s)) === s;
}

function replayProblem(f: ReplayFacts | undefined): string | undefined {
  if (f === undefined || f === null || typeof f !== "object") {
    return "a version 2 record needs replay";
  }
  if (!isCount(f.contract) || f.contract < 1) return "replay.contract is not an integer >= 1";
  if (!isCount(f.sampler) || f.sampler < 1) return "replay.sampler is not an integer >= 1";
  if (!(OUTPUT_HEADS as readonly unknown[]).includes(f.head)) return "replay.head is unknown";
  if (!(KV_TYPES as readonly unknown[]).includes(f.kvType)) return "replay.kvType is unknown";
  if (f.sampling === null || typeof f.sampling !== "object") return "replay.sampling is missing";
  for (const k of REPLAY_SAMPLING_KEYS) {
    if (!isNumberText(f.sampling[k])) return `replay.sampling.${k} is not a decimal number text`;
  }
  for (const k of ["logitBiasHash", "grammarHash", "promptIdsHash", "outputIdsHash"] as const) {
    if (!isHex32(f[k])) return `replay.${k} is not 64 lowercase hex characters`;
  }
  if (!isCount(f.seed) || f.seed > 0xffffffff) return "replay.seed is not an integer 0..2^32-1";
  if (![f.promptIdCount, f.continued, f.outputIdCount].every(isCount)) {
    return "a replay count is not a non-negative integer";
  }
  if (f.promptIdCount < 1) return "replay.promptIdCount is 0: nothing was evaluated";
  if (f.continued > f.promptIdCount) return "replay.continued exceeds replay.promptIdCount";
  return undefined;
}

/**
 * The canonical array of replay facts (field 15 of a version 2 record).
 *
 * @param f the facts.
 * @returns the array that gets serialised.
 */
export function replayArray(f: ReplayFacts): unknown[] {
  return [
    f.contract,
    f.sampler,
    f.head,
    f.kvType,
    REPLAY_SAMPLING_KEYS.map((k) => f.sampling[k]),
    f.logitBiasHash,
    f.grammarHash,
    f.seed,
    f.promptIdCount,
    f.promptIdsHash,
    f.continued,
    f.outputIdCount,
    f.outputIdsHash,
  ];
}

/**
 * A double as a replay decimal text: Number::toString, with -0 written "0".
 *
 * @param x a number (NaN has no text).
 * @returns the text.
 * @throws {RangeError} for NaN.
 */
export function numberText(x: number): string {
  if (Number.isNaN(x)) throw new RangeError("Cannot record NaN as a sampling setting");
  return Object.is(x, -0) ? "0" : String(x);
}

/**
 * SHA-256 of token ids as 32-bit little-endian unsigned integers (replay facts).
 *
 * @param ids token ids, each 0 .. 2^32-1.
 * @returns the hash.
 * @throws {RangeError} for an id outside 0 .. 2^32-1.
 */
export function hashTokenIds(ids: ArrayLike<number>): Hex32 {
  const bytes = new Uint8Array(ids.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new RangeError(`Cannot hash token id ${id}`);
    }
    view.setUint32(i * 4, id, true);
  }
  return bytesToHex(sha256(bytes)) as Hex32;
}

function policyChangeProblem(r: PolicyChangeRecord): string | undefined {
  if (r.version !== 1) return `unsupported policy-change version ${String(r.version)}`;
  for (const k of ["oldHash", "newHash", "signer"] as const) {
    if (!isHex32(r[k])) return `${k} is not 64 lowercase hex characters`;
  }
  if (!isCount(r.timestampMs)) return "the timestamp is not a non-negative integer";
  if (r.oldHash === r.newHash) return "the policy change does not change the policy";
  return undefined;
}

/**
 * Checks the shape of a header (types and ranges only; links are chain.ts's job).
 *
 * @param h the header.
 * @returns a reason, or undefined.
 */
export function headerProblem(h: BlockHeader): string | undefined {
  if (h.version !== LEDGER_VERSION && h.version !== MIXED_HEADER_VERSION) {
    return `unsupported block version ${String(h.version)}`;
  }
  for (const k of ["prevHash", "merkleRoot", "producer"] as const) {
    if (!isHex32(h[k])) return `${k} is not 64 lowercase hex characters`;
  }
  if (![h.height, h.timestampMs, h.recordCount, h.totalTokens].every(isCount)) {
    return "height, timestamp, record count or total tokens is not a non-negative integer";
  }
  if (h.version === LEDGER_VERSION) {
    return "inferenceCount" in h ? "a version 1 header has no inferenceCount" : undefined;
  }
  // Version 2 exists only for blocks that hold a non-inference record: one encoding per block.
  const n = h.inferenceCount;
  if (!isCount(n) || n < 1 || n >= h.recordCount) {
    return "a version 2 header needs 1 <= inferenceCount < recordCount";
  }
  return undefined;
}

/**
 * The canonical array of a record (field order of the module comment).
 *
 * @param r the record.
 * @returns the array that gets serialised.
 */
export function recordArray(r: LedgerRecord): unknown[] {
  if (isPolicyChange(r)) {
    return [r.kind, r.version, r.oldHash, r.newHash, r.timestampMs, r.signer];
  }
  const base = [
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
  return r.version === RECORD_V2 && r.replay ? [...base, replayArray(r.replay)] : base;
}

/**
 * The canonical array of a block header.
 *
 * @param h the header.
 * @returns the array that gets serialised.
 */
export function headerArray(h: BlockHeader): unknown[] {
  const common = [
    h.version,
    h.height,
    h.prevHash,
    h.merkleRoot,
    h.timestampMs,
    h.producer,
    h.recordCount,
    h.totalTokens,
  ];
  return h.version === MIXED_HEADER_VERSION ? [...common, h.inferenceCount] : common;
}

/**
 * The canonical bytes of a record.
 *
 * @param r a well-formed record (see {@link recordProblem}).
 * @returns UTF-8 of the JSON array.
 * @throws {TypeError} when the record is malformed (a float, a bad hex field…).
 */
export function encodeRecord(r: LedgerRecord): Uint8Array {
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
 * @returns SHA-256 of the kind's prefix and the canonical bytes, hex.
 * @throws {TypeError} when the record is malformed.
 */
export function hashRecord(r: LedgerRecord): RecordHash {
  const prefix = isPolicyChange(r) ? POLICY_PREFIX : RECORD_PREFIX;
  return bytesToHex(sha256(concatBytes(prefix, encodeRecord(r)))) as RecordHash;
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
