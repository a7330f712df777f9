/**
 * @module The ledger store's pure half: the checks a record passes before it is written, the
 * errors for a chain fault, and the export file's line format with its parser. Pure; moved from
 * store.ts unchanged (store.ts re-exports integrityError and describeFault).
 */
import { z } from "zod";
import { AriaError } from "../shared/errors.ts";
import type { ChainFault } from "./chain.ts";
import {
  type Block,
  hashRecord,
  type RecordHash,
  recordProblem,
  type SignedLedgerRecord,
} from "./entry.ts";
import { verifyRecordSignature } from "./sign.ts";
import { blockSchema, exportHeadSchema, signedLedgerRecordSchema } from "./wire.ts";

/** A record as read back, with the block that holds it once sealed. */
export interface StoredRecord {
  hash: RecordHash;
  signed: SignedLedgerRecord;
  block?: Block;
}

/** An export line after the head line. */
const exportLineSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("block"), block: blockSchema }),
  z.strictObject({ kind: z.literal("pending"), record: signedLedgerRecordSchema }),
  // a block's stored attestation (e.g. its energy attestation), checked by `ledger verify`
  z.strictObject({
    kind: z.literal("attestation"),
    height: z.number().int().min(1),
    attestation: z.unknown(),
  }),
]);

export function parseSigned(json: string): SignedLedgerRecord {
  return signedLedgerRecordSchema.parse(JSON.parse(json));
}

export function invalidRecord(reason: string): AriaError {
  return new AriaError("LEDGER_INVALID_RECORD", `Cannot append the record: ${reason}`);
}

/** Handled here: a malformed or badly signed record is refused before anything is written. */
export function checkRecord(signed: SignedLedgerRecord): RecordHash {
  const parsed = signedLedgerRecordSchema.safeParse(signed);
  if (!parsed.success) throw invalidRecord(parsed.error.issues[0]?.message ?? "malformed");
  const problem = recordProblem(signed.record);
  if (problem !== undefined) throw invalidRecord(problem);
  const hash = hashRecord(signed.record);
  if (!verifyRecordSignature(hash, signed.record.signer, signed.signature)) {
    throw invalidRecord("the signature is invalid");
  }
  return hash;
}

export function pendingProblem(p: StoredRecord): string | undefined {
  const problem = recordProblem(p.signed.record);
  if (problem !== undefined) return problem;
  const hash = hashRecord(p.signed.record);
  if (hash !== p.hash) return "the stored hash does not match the record";
  if (!verifyRecordSignature(hash, p.signed.record.signer, p.signed.signature)) {
    return "the signer's signature is invalid";
  }
  return undefined;
}

/**
 * An error for a chain fault.
 *
 * @param fault the fault.
 * @param code the error code.
 * @returns the error, naming the block and record.
 */
export function integrityError(fault: ChainFault, code = "LEDGER_INTEGRITY"): AriaError {
  return new AriaError(code, `The ledger does not verify: ${describeFault(fault)}`);
}

/**
 * A fault in words: "block 3, record 1: the signer's signature is invalid".
 *
 * @param fault the fault.
 * @returns the text.
 */
export function describeFault(fault: ChainFault): string {
  const where = fault.recordIndex === undefined
    ? `block ${fault.height}`
    : `block ${fault.height}, record ${fault.recordIndex}`;
  return `${where}: ${fault.reason}`;
}

/** Handled here: every malformed line is refused with its line number, before any write. */
export function parseExport(lines: readonly string[]) {
  const nonEmpty = lines.map((l, i) => ({ l: l.trim(), n: i + 1 })).filter((x) => x.l !== "");
  const parseLine = <T>(schema: z.ZodType<T>, x: { l: string; n: number }): T => {
    let json: unknown;
    try {
      json = JSON.parse(x.l);
    } catch (err: unknown) {
      // converted: the JSON error names the line
      throw new AriaError("LEDGER_IMPORT", `Cannot import: line ${x.n} is not JSON`, {
        cause: err,
      });
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new AriaError(
        "LEDGER_IMPORT",
        `Cannot import: line ${x.n} at "${issue?.path.join(".")}": ${issue?.message}`,
      );
    }
    return r.data;
  };
  const first = nonEmpty[0];
  if (first === undefined) throw new AriaError("LEDGER_IMPORT", "Cannot import: the file is empty");
  const head = parseLine(exportHeadSchema, first);
  const blocks: Block[] = [];
  const pending: SignedLedgerRecord[] = [];
  const attestations: { height: number; attestation: unknown }[] = [];
  for (const x of nonEmpty.slice(1)) {
    const line = parseLine(exportLineSchema, x);
    if (line.kind === "attestation") {
      // handled here: an attestation for a block the file does not hold is refused
      if (!blocks.some((b) => b.header.height === line.height)) {
        throw new AriaError(
          "LEDGER_IMPORT",
          `Cannot import: line ${x.n} attests block ${line.height}, which the file does not hold before it`,
        );
      }
      attestations.push({ height: line.height, attestation: line.attestation });
    } else if (line.kind === "block") {
      if (pending.length > 0) {
        throw new AriaError(
          "LEDGER_IMPORT",
          `Cannot import: line ${x.n} has a block after pending records`,
        );
      }
      blocks.push(line.block);
    } else pending.push(line.record);
  }
  return { head, blocks, pending, attestations };
}
