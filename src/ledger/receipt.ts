/**
 * @module Provenance receipts: what an API response carries so that its client can check,
 * offline, that a named node signed a record of this exact inference and, once the record is
 * sealed, that a signed block holds it (Merkle inclusion proof). Format in wire.ts
 * (`receiptSchema`) and docs/ledger.md. Pure.
 */
import {
  type Block,
  hashHeader,
  hashRecord,
  hashTokenIds,
  leafData,
  type RecordHash,
  recordProblem,
} from "./entry.ts";
import type { SignedRecord } from "./entry.ts";
import { inclusionProof, verifyInclusion } from "./merkle.ts";
import { leavesOf, verifyHeaderSignature, verifyRecordSignature } from "./sign.ts";
import type { Result } from "./chain.ts";
import { type Receipt, receiptSchema } from "./wire.ts";

/**
 * Builds the receipt of a signed record, with the block that holds it when it is sealed.
 *
 * @param signed the signed record.
 * @param block the block holding it, if sealed.
 * @param outputIds the sampled token ids of a version 2 record (must match its outputIdsHash).
 * @param continuedIds the ids of another node the record continued (a fail-over): as many as
 *   its `continued`.
 * @returns the receipt.
 * @throws {RangeError} when `block` does not hold the record, or the ids are not the record's.
 */
export function buildReceipt(
  signed: SignedRecord,
  block?: Block,
  outputIds?: readonly number[],
  continuedIds?: readonly number[],
): Receipt {
  const recordHash = hashRecord(signed.record);
  const receipt: Receipt = { kind: "aria.receipt", version: 1, recordHash, record: signed };
  if (outputIds !== undefined) {
    const problem = outputIdsProblem(signed.record, outputIds);
    if (problem !== undefined) throw new RangeError(`Cannot build a receipt: ${problem}`);
    receipt.outputIds = [...outputIds];
  }
  if (continuedIds !== undefined && continuedIds.length > 0) {
    const problem = continuedIdsProblem(signed.record, continuedIds);
    if (problem !== undefined) throw new RangeError(`Cannot build a receipt: ${problem}`);
    receipt.continuedIds = [...continuedIds];
  }
  if (block === undefined) return receipt;
  const index = block.records.findIndex((r) => hashRecord(r.record) === recordHash);
  if (index < 0) {
    throw new RangeError(`Cannot build a receipt: block ${block.header.height} lacks the record`);
  }
  receipt.block = {
    hash: hashHeader(block.header),
    header: block.header,
    signature: block.signature,
    proof: inclusionProof(leavesOf(block.records), index),
  };
  return receipt;
}

function outputIdsProblem(
  record: SignedRecord["record"],
  ids: readonly number[],
): string | undefined {
  const replay = record.replay;
  if (record.version !== 2 || replay === undefined) return "output ids need a version 2 record";
  if (ids.length !== replay.outputIdCount || hashTokenIds(ids) !== replay.outputIdsHash) {
    return "the output ids are not the ones the record names";
  }
  return undefined;
}

// the count only: the hash that binds them covers the requester's prompt too (replay.ts)
function continuedIdsProblem(
  record: SignedRecord["record"],
  ids: readonly number[],
): string | undefined {
  const replay = record.replay;
  if (record.version !== 2 || replay === undefined) return "continued ids need a version 2 record";
  if (ids.length !== replay.continued) {
    return `the receipt carries ${ids.length} continued ids; the record continued ${replay.continued}`;
  }
  return undefined;
}

/** What a valid receipt proves. */
export interface ReceiptCheck {
  recordHash: string;
  signer: string;
  /** Present when the receipt proves inclusion in a signed block. */
  block?: { height: number; hash: string; producer: string };
}

/**
 * Verifies a receipt offline: its shape, the record hash, the record's signature by a node it
 * names, the output ids against the record's hash when the receipt carries them, and when a block is present the block hash, the producer's signature and the Merkle
 * inclusion proof against the block's root and record count. Never throws.
 *
 * @param input the parsed JSON of a receipt.
 * @returns what it proves, or the reason it fails.
 */
export function verifyReceipt(input: unknown): Result<ReceiptCheck, string> {
  const parsed = receiptSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      error: `malformed receipt at "${issue?.path.join(".")}": ${issue?.message}`,
    };
  }
  const { record: signed, block } = parsed.data;
  const recordHash = parsed.data.recordHash as RecordHash; // checked against the record below
  const problem = recordProblem(signed.record);
  if (problem !== undefined) return { ok: false, error: `malformed record: ${problem}` };
  if (hashRecord(signed.record) !== recordHash) {
    return { ok: false, error: "the record hash does not match the record" };
  }
  if (!verifyRecordSignature(recordHash, signed.record.signer, signed.signature)) {
    return { ok: false, error: "the record signature is invalid" };
  }
  const ids = parsed.data.outputIds;
  const idsProblem = ids === undefined ? undefined : outputIdsProblem(signed.record, ids);
  if (idsProblem !== undefined) return { ok: false, error: idsProblem };
  const cont = parsed.data.continuedIds;
  const contProblem = cont === undefined ? undefined : continuedIdsProblem(signed.record, cont);
  if (contProblem !== undefined) return { ok: false, error: contProblem };
  const check: ReceiptCheck = { recordHash, signer: signed.record.signer };
  if (block === undefined) return { ok: true, value: check };
  if (hashHeader(block.header) !== block.hash) {
    return { ok: false, error: "the block hash does not match the block header" };
  }
  if (!verifyHeaderSignature(block.header, block.signature)) {
    return { ok: false, error: "the block signature is invalid" };
  }
  if (block.proof.treeSize !== block.header.recordCount) {
    return { ok: false, error: "the proof's tree size is not the block's record count" };
  }
  const leaf = leafData(recordHash, signed.signature);
  if (!verifyInclusion(leaf, block.proof, block.header.merkleRoot)) {
    return { ok: false, error: "the Merkle inclusion proof does not lead to the block's root" };
  }
  const { height, producer } = block.header;
  return { ok: true, value: { ...check, block: { height, hash: block.hash, producer } } };
}
