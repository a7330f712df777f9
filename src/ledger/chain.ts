/**
 * @module The chain rules: the fixed genesis block, the checks of one block against its parent,
 * `verifyChain` (the only producer of `VerifiedChain`) and `verifyHeaders` for header lists a
 * peer sends. Expected failures are values (`Result`), never exceptions (STYLE.md B7.1). Pure:
 * blocks come in as values; reading them from sqlite is store.ts's job.
 */
import {
  type Block,
  type BlockHash,
  type BlockHeader,
  hashHeader,
  hashRecord,
  headerProblem,
  isPolicyChange,
  leafData,
  LEDGER_VERSION,
  type LedgerRecord,
  recordProblem,
  recordTokens,
  type SignedHeader,
  ZERO_HASH,
} from "./entry.ts";
import { merkleRoot } from "./merkle.ts";
import type { Result } from "../shared/result.ts";
import { verifyHeaderSignature, verifyRecordSignature } from "./sign.ts";

/** `{ ok: true, value }` or `{ ok: false, error }` (the one definition is src/shared/result.ts). */
export type { Result } from "../shared/result.ts";

/**
 * The genesis header, the same on every node: every field zero (no producer, no records, no
 * time). It is never signed (a signature would need a key, and randomness or a key would make
 * nodes differ); its signature field is 128 zeros and is compared, not verified.
 */
export const GENESIS_HEADER: Readonly<BlockHeader> = Object.freeze({
  version: LEDGER_VERSION,
  height: 0,
  prevHash: ZERO_HASH,
  merkleRoot: ZERO_HASH,
  timestampMs: 0,
  producer: ZERO_HASH,
  recordCount: 0,
  totalTokens: 0,
});

/** The genesis block's signature field. */
export const GENESIS_SIGNATURE = "0".repeat(128);

/** The genesis block. */
export const GENESIS_BLOCK: Readonly<Block> = Object.freeze({
  header: GENESIS_HEADER,
  signature: GENESIS_SIGNATURE,
  records: Object.freeze([]),
});

/** The genesis block's hash (pinned by a known-answer test). */
export const GENESIS_HASH: BlockHash = hashHeader(GENESIS_HEADER);

/** Where and why a chain failed: the block height, the record index inside it if any. */
export interface ChainFault {
  height: number;
  recordIndex?: number;
  reason: string;
}

const verified = Symbol("verified");

/** A chain that passed `verifyChain`; only that function makes one. */
export type VerifiedChain = {
  readonly blocks: readonly Block[];
  readonly headHash: BlockHash;
  readonly height: number;
  readonly recordCount: number;
  readonly totalTokens: number;
} & { readonly [verified]: true };

function isGenesis(block: SignedHeader & { records?: readonly unknown[] }): boolean {
  const h = block.header;
  const same = (Object.keys(GENESIS_HEADER) as (keyof BlockHeader)[])
    .every((k) => h[k] === GENESIS_HEADER[k]);
  return same && Object.keys(h).length === Object.keys(GENESIS_HEADER).length &&
    block.signature === GENESIS_SIGNATURE && (block.records?.length ?? 0) === 0;
}

/**
 * Checks a header against its parent: shape, height, link, time, non-emptiness, signature.
 *
 * @param prev the parent header (already trusted).
 * @param block the signed header.
 * @returns a reason, or undefined when it is valid.
 */
export function headerLinkProblem(prev: BlockHeader, block: SignedHeader): string | undefined {
  const h = block.header;
  const shape = headerProblem(h);
  if (shape !== undefined) return shape;
  if (h.height !== prev.height + 1) {
    return `height is ${h.height}, expected ${prev.height + 1}`;
  }
  if (h.prevHash !== hashHeader(prev)) return "previous hash does not match the previous block";
  if (h.timestampMs < prev.timestampMs) return "timestamp is earlier than the previous block's";
  // Proof of Useful Work: a block exists only because signed inference records exist, each
  // with at least one token (version 2: inferenceCount >= 1 is checked by headerProblem).
  if (h.recordCount < 1) return "the block holds no records";
  const inferences = h.inferenceCount ?? h.recordCount;
  if (h.totalTokens < inferences) {
    return "total tokens is smaller than the inference record count";
  }
  if (!verifyHeaderSignature(h, block.signature)) return "the producer's signature is invalid";
  return undefined;
}

/** What earlier blocks tell the checks of the next one. */
interface ChainMemory {
  /** Hashes of every record so far (no replays). */
  seen: Set<string>;
  /** The newest recorded policy hash per signer (policy changes must follow each other). */
  policy: Map<string, string>;
}

/**
 * The problem of one record inside a block, other than its signature: its time, a replay, and
 * for a policy change its signer (the producer) and its link to the previous change.
 */
function recordPlaceProblem(
  h: BlockHeader,
  signed: Block["records"][number],
  hash: string,
  memory: ChainMemory,
): string | undefined {
  const record = signed.record;
  if (record.timestampMs > h.timestampMs) return "the record is newer than its block";
  if (memory.seen.has(hash)) return `record ${hash} already appears earlier in the chain`;
  if (isPolicyChange(record)) {
    if (record.signer !== h.producer) {
      return "a policy change is signed by a node other than the block's producer";
    }
    const last = memory.policy.get(record.signer);
    if (last !== undefined && record.oldHash !== last) {
      return `the policy change starts from ${record.oldHash}, the previous one ended at ${last}`;
    }
  }
  return undefined;
}

/**
 * Checks a block's records against its header: count, each record's shape and signature, its
 * time, no record seen before, policy changes in sequence, the Merkle root, the weight and the
 * number of inference records.
 *
 * @param block the block.
 * @param memory what earlier blocks recorded (extended with this block's records).
 * @returns the fault, or undefined.
 */
function recordsFault(block: Block, memory: ChainMemory): ChainFault | undefined {
  const h = block.header;
  if (block.records.length !== h.recordCount) {
    return {
      height: h.height,
      reason: `the header counts ${h.recordCount} records, the block holds ${block.records.length}`,
    };
  }
  const leaves: Uint8Array[] = [];
  let tokens = 0;
  let inferences = 0;
  for (const [i, signed] of block.records.entries()) {
    const fault = (reason: string): ChainFault => ({ height: h.height, recordIndex: i, reason });
    const { record, signature } = signed;
    const shape = recordProblem(record);
    if (shape !== undefined) return fault(shape);
    const hash = hashRecord(record);
    if (!verifyRecordSignature(hash, record.signer, signature)) {
      return fault("the signer's signature is invalid");
    }
    const place = recordPlaceProblem(h, signed, hash, memory);
    if (place !== undefined) return fault(place);
    memory.seen.add(hash);
    if (isPolicyChange(record)) memory.policy.set(record.signer, record.newHash);
    else inferences++;
    leaves.push(leafData(hash, signature));
    tokens += recordTokens(record);
  }
  if (merkleRoot(leaves) !== h.merkleRoot) {
    return { height: h.height, reason: "the Merkle root does not match the records" };
  }
  if (tokens !== h.totalTokens) {
    return { height: h.height, reason: `total tokens is ${h.totalTokens}, records hold ${tokens}` };
  }
  const counted = h.inferenceCount ?? h.recordCount;
  if (inferences !== counted) {
    return {
      height: h.height,
      reason: `the header counts ${counted} inference records, the block holds ${inferences}`,
    };
  }
  return undefined;
}

/**
 * Verifies a whole chain from genesis: genesis, then for each block the header link and
 * signature, then its records. Stops at the first fault.
 *
 * @param blocks the chain, genesis first.
 * @returns the verified chain, or the first bad block (and record) with a reason.
 * @example
 * ```ts
 * const r = verifyChain([GENESIS_BLOCK]);
 * if (r.ok) console.log(r.value.headHash);
 * ```
 */
export function verifyChain(blocks: readonly Block[]): Result<VerifiedChain, ChainFault> {
  const first = blocks[0];
  if (first === undefined) return { ok: false, error: { height: 0, reason: "the chain is empty" } };
  if (!isGenesis(first)) {
    return { ok: false, error: { height: 0, reason: "the first block is not the genesis block" } };
  }
  const memory: ChainMemory = { seen: new Set(), policy: new Map() };
  let prev = first.header;
  let recordCount = 0;
  let totalTokens = 0;
  for (const [i, block] of blocks.entries()) {
    if (i === 0) continue;
    const link = headerLinkProblem(prev, block);
    if (link !== undefined) {
      return { ok: false, error: { height: block.header?.height ?? i, reason: link } };
    }
    const fault = recordsFault(block, memory);
    if (fault !== undefined) return { ok: false, error: fault };
    prev = block.header;
    recordCount += block.header.recordCount;
    totalTokens += block.header.totalTokens;
  }
  return {
    ok: true,
    value: {
      blocks,
      headHash: hashHeader(prev),
      height: prev.height,
      recordCount,
      totalTokens,
      [verified]: true,
    },
  };
}

/** A peer's header list that passed `verifyHeaders`. */
export interface AcceptedHeaders {
  headHash: BlockHash;
  height: number;
  totalTokens: number;
}

/** Why a peer's header list was rejected: the index in the list and the reason. */
export interface HeaderFault {
  index: number;
  height: number | undefined;
  reason: string;
}

/**
 * Verifies block headers received from a peer (links, heights, times, signatures, weights).
 * Merkle roots cannot be checked without the records: ask for the blocks for that.
 *
 * @param headers consecutive headers, oldest first; may start with the genesis header.
 * @param anchor a header we already trust that the list continues (default: genesis).
 * @returns the new head, or the first bad header with a reason.
 */
export function verifyHeaders(
  headers: readonly SignedHeader[],
  anchor: BlockHeader = GENESIS_HEADER,
): Result<AcceptedHeaders, HeaderFault> {
  let prev = anchor;
  let totalTokens = 0;
  for (const [index, block] of headers.entries()) {
    if (index === 0 && block.header?.height === 0 && anchor.height === 0) {
      if (!isGenesis(block)) {
        return { ok: false, error: { index, height: 0, reason: "not the genesis block" } };
      }
      continue;
    }
    const reason = headerLinkProblem(prev, block);
    if (reason !== undefined) {
      return { ok: false, error: { index, height: block.header?.height, reason } };
    }
    prev = block.header;
    totalTokens += prev.totalTokens;
  }
  return { ok: true, value: { headHash: hashHeader(prev), height: prev.height, totalTokens } };
}

/**
 * Checks that pending policy changes continue the sealed ones: each one's `oldHash` is the
 * `newHash` of the same signer's previous change (in the chain or earlier in `pending`).
 *
 * @param blocks the verified chain, genesis first.
 * @param pending the pending records, in append order.
 * @returns the index of the first pending record out of sequence and why, or undefined.
 */
export function pendingPolicyFault(
  blocks: readonly Block[],
  pending: readonly LedgerRecord[],
): { index: number; reason: string } | undefined {
  const last = new Map<string, string>();
  for (const b of blocks) {
    for (const { record } of b.records) {
      if (isPolicyChange(record)) last.set(record.signer, record.newHash);
    }
  }
  for (const [index, record] of pending.entries()) {
    if (!isPolicyChange(record)) continue;
    const before = last.get(record.signer);
    if (before !== undefined && record.oldHash !== before) {
      return {
        index,
        reason:
          `the policy change starts from ${record.oldHash}, the previous one ended at ${before}`,
      };
    }
    last.set(record.signer, record.newHash);
  }
  return undefined;
}

/**
 * Checks one block's records against its header alone (count, shapes, signatures, policy-change
 * signer, Merkle root, weight, inference count), for a block fetched from a peer whose header
 * was verified already. Replays and policy-change sequence across blocks need the whole chain
 * (`verifyChain`) and are not checked here.
 *
 * @param block the block.
 * @returns the fault, or undefined.
 */
export function blockBodyFault(block: Block): ChainFault | undefined {
  return recordsFault(block, { seen: new Set(), policy: new Map() });
}
