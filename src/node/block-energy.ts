/**
 * @module Shell glue of Proof of Sobriety per block: when the ledger seals a block, the energy
 * attestation of its inference records (src/consent/attestation.ts: tokens, energy split by
 * source, µJ per token, rating only against a configured baseline with its source) is signed by
 * the producer and stored with the block (store.ts `attestBlock`, same transaction). Anyone with
 * the block can check it offline: the signature, the signer (the block's producer), and that
 * recomputing it from the block's records gives the same bytes. The figures come only from the
 * records: "measured" = RAPL, "estimated" = CPU-time estimate; a record with 0 mJ "estimated"
 * counts as having no figure (aria serve writes that when no meter was available), so it never
 * lowers the mJ per token.
 */
import {
  attestationBytes,
  energyAttestation,
  type EnergyBaseline,
  type EnergyRecord,
  signAttestation,
  type SignedAttestation,
  SOURCE_CPU_TIME,
  SOURCE_NONE,
  SOURCE_RAPL,
  verifyAttestation,
} from "../consent/index.ts";
import type { NodeIdentity } from "../identity/index.ts";
import { type Block, hashHeader, isPolicyChange } from "../ledger/index.ts";

/** Where the figures of an attestation come from: the block's own records. */
const BASIS = "ledger record";

/**
 * The energy facts of a block's inference records (policy changes hold no work).
 *
 * @param block the block.
 * @returns one entry per inference record, in block order.
 */
export function blockEnergyRecords(block: Block): EnergyRecord[] {
  return block.records.flatMap(({ record: r }): EnergyRecord[] => {
    if (isPolicyChange(r)) return [];
    const tokens = r.promptTokens + r.completionTokens;
    const durationMs = r.timings.queueMs + r.timings.promptMs + r.timings.decodeMs;
    if (r.energySource === "measured") {
      return [{
        tokens,
        energy: { source: SOURCE_RAPL, mj: r.energyMj, durationMs, basis: BASIS },
      }];
    }
    if (r.energyMj > 0) {
      return [{
        tokens,
        energy: { source: SOURCE_CPU_TIME, mj: r.energyMj, durationMs, basis: BASIS },
      }];
    }
    return [{ tokens, energy: { source: SOURCE_NONE, mj: null, durationMs, basis: BASIS } }];
  });
}

/**
 * The store's `attestBlock` hook: signs a block's energy attestation as its producer.
 *
 * @param identity the producing node.
 * @param baseline the operator's stated baseline (none: no rating).
 * @returns the hook.
 */
export function blockAttester(
  identity: NodeIdentity,
  baseline?: EnergyBaseline,
): (block: Block) => SignedAttestation {
  return (block) =>
    signAttestation(
      identity,
      energyAttestation(
        { height: block.header.height, hash: hashHeader(block.header) },
        blockEnergyRecords(block),
        baseline,
      ),
    );
}

/** The outcome of checking a stored attestation. */
export type AttestationCheck =
  | { ok: true; value: SignedAttestation }
  | { ok: false; reason: string };

function isSigned(x: unknown): x is SignedAttestation {
  const s = x as Partial<SignedAttestation> | null;
  return typeof s === "object" && s !== null && typeof s.signer === "string" &&
    typeof s.signature === "string" && typeof s.attestation === "object" &&
    s.attestation !== null;
}

/**
 * Checks a stored attestation against its block, offline. Never throws (handled here: any
 * malformed value is a reason).
 *
 * @param block the block (its records are the only source of the figures).
 * @param stored what the store kept for it.
 * @returns the attestation, or why it does not hold.
 */
export function checkBlockAttestation(block: Block, stored: unknown): AttestationCheck {
  if (!isSigned(stored)) return { ok: false, reason: "the attestation is malformed" };
  try {
    if (stored.signer !== block.header.producer) {
      return { ok: false, reason: "the attestation is not signed by the block's producer" };
    }
    if (!verifyAttestation(stored)) return { ok: false, reason: "the signature is invalid" };
    const again = energyAttestation(
      { height: block.header.height, hash: hashHeader(block.header) },
      blockEnergyRecords(block),
      stored.attestation.rating?.baseline,
    );
    const same = Buffer.from(attestationBytes(again))
      .equals(Buffer.from(attestationBytes(stored.attestation)));
    return same
      ? { ok: true, value: stored }
      : { ok: false, reason: "the figures differ from the block's records" };
  } catch {
    return { ok: false, reason: "the attestation is malformed" };
  }
}
