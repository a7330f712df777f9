/**
 * @module The weight of blocks and chains under Proof of Useful Work with teeth (docs/ledger.md
 * §3.2): only tokens whose records are open to audit count (record version 2: anyone holding the
 * prompt can re-run the answer and compare it token for token, `aria verify`), and none of a
 * record shown false by a valid fraud proof. The header's `totalTokens` stays what it was, the
 * tokens the producer claims (every chain made before keeps its bytes); the weight is computed
 * from the records. Pure.
 */
import {
  auditableTokens,
  type Block,
  hashRecord,
  isPolicyChange,
  type RecordHash,
} from "./entry.ts";

/** Options of {@link chainWeight}. */
export interface WeightOptions {
  /**
   * True for a record named in a valid fraud proof (the audits' hook: whoever keeps verified
   * fraud proofs passes their record hashes). Such a record weighs nothing and is reported.
   */
  disproved?: (hash: RecordHash) => boolean;
}

/** A record named in a valid fraud proof, where the chain holds it. */
export interface DisprovedRecord {
  height: number;
  recordIndex: number;
  recordHash: RecordHash;
}

/** The weight of a chain (or of one block) and what it leaves out. */
export interface ChainWeight {
  /** Tokens of the auditable, undisproved inference records: what counts. */
  weight: number;
  /** Tokens of every inference record (the sum of the headers' totalTokens). */
  claimedTokens: number;
  /** Inference records open to audit (version 2), disproved ones included. */
  auditableRecords: number;
  /** Inference records that cannot be audited (version 1): they weigh nothing. */
  unauditableRecords: number;
  /** Records named in a valid fraud proof, in chain order. */
  disproved: DisprovedRecord[];
}

/**
 * The weight of blocks (a whole chain, or any run of blocks; genesis weighs nothing).
 *
 * @param blocks the blocks (their records are read; signatures are verifyChain's business).
 * @param options the fraud-proof hook.
 * @returns the weight and the counts behind it.
 */
export function chainWeight(
  blocks: readonly Block[],
  options: Readonly<WeightOptions> = {},
): ChainWeight {
  const w: ChainWeight = {
    weight: 0,
    claimedTokens: 0,
    auditableRecords: 0,
    unauditableRecords: 0,
    disproved: [],
  };
  for (const block of blocks) {
    for (const [recordIndex, { record }] of block.records.entries()) {
      if (isPolicyChange(record)) continue;
      w.claimedTokens += record.promptTokens + record.completionTokens;
      const tokens = auditableTokens(record);
      if (record.version !== 2) {
        w.unauditableRecords++;
        continue;
      }
      w.auditableRecords++;
      const recordHash = options.disproved ? hashRecord(record) : undefined;
      if (recordHash !== undefined && options.disproved!(recordHash)) {
        w.disproved.push({ height: block.header.height, recordIndex, recordHash });
        continue;
      }
      w.weight += tokens;
    }
  }
  return w;
}
