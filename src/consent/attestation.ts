/**
 * @module The per-block energy attestation of Proof of Sobriety: how many tokens a block's
 * records hold, how much energy they took (split by source), energy per token, and — only when
 * the operator configured a baseline with its source — a rating against it. Signed by the node.
 * Pure: records, baseline and identity come in. Never compares with anything unstated: without
 * a baseline the rating is null.
 *
 * Canonical encoding (signed bytes) = ATTESTATION_DOMAIN + JSON of the fixed-order array
 *   [1, blockHeight, blockHash, tokens, energyMj, measuredMj, estimatedMj, unmeasuredTokens,
 *    ujPerToken ([0] when unknown, else [1, n]), sources (sorted),
 *    rating ([0] or [1, name, ujPerToken, source, ratioPermille])]
 * integers only; optional values are a 0/1 flag followed by the value (no magic numbers).
 */
import { z } from "zod";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { type NodeIdentity, verifySignature } from "../identity/identity.ts";
import { type EnergyMeasurement, SOURCE_CPU_TIME, SOURCE_RAPL } from "./energy.ts";

/** Domain separator of the attestation signature. */
export const ATTESTATION_DOMAIN = "aria:energy-attestation:v1\n";

/** A reference figure to compare with: what it is, its energy per token, and where it is from. */
export const energyBaselineSchema = z.object({
  /** E.g. "GPU <model>, <LLM> fp16, batch 1". */
  name: z.string().min(1),
  /** Integer microjoules per generated-or-prompt token. */
  ujPerToken: z.number().int().min(1),
  /** Citation or URL of the measurement; required, a baseline without a source is refused. */
  source: z.string().min(1),
}).strict();

/** A stated baseline. */
export type EnergyBaseline = z.infer<typeof energyBaselineSchema>;

/** One inference record as far as energy goes. */
export interface EnergyRecord {
  tokens: number;
  energy: EnergyMeasurement;
}

/** The attestation of one block. */
export interface EnergyAttestation {
  version: 1;
  blockHeight: number;
  blockHash: string;
  /** All tokens of the block's records. */
  tokens: number;
  /** measuredMj + estimatedMj. */
  energyMj: number;
  measuredMj: number;
  estimatedMj: number;
  /** Tokens of records with no energy figure (not in ujPerToken). */
  unmeasuredTokens: number;
  /** Energy per token over the records that have a figure, in µJ (mJ × 1000); null if none. */
  ujPerToken: number | null;
  /** Distinct "source (basis)" labels. */
  sources: string[];
  /** Against the configured baseline; null without one. ratioPermille = baseline / ours × 1000. */
  rating: { baseline: EnergyBaseline; ratioPermille: number } | null;
}

/**
 * Sums a block's records into an attestation.
 *
 * @param block height and hash of the block the records are sealed in.
 * @param records the block's records.
 * @param baseline the operator's stated baseline, if any.
 * @returns the attestation (unsigned).
 */
export function energyAttestation(
  block: { height: number; hash: string },
  records: readonly EnergyRecord[],
  baseline?: EnergyBaseline,
): EnergyAttestation {
  let tokens = 0, measuredMj = 0, estimatedMj = 0, unmeasuredTokens = 0;
  const sources = new Set<string>();
  for (const r of records) {
    tokens += r.tokens;
    sources.add(`${r.energy.source} (${r.energy.basis})`);
    if (r.energy.source === SOURCE_RAPL) measuredMj += r.energy.mj;
    else if (r.energy.source === SOURCE_CPU_TIME) estimatedMj += r.energy.mj;
    else unmeasuredTokens += r.tokens;
  }
  const energyMj = measuredMj + estimatedMj;
  const counted = tokens - unmeasuredTokens;
  const ujPerToken = counted > 0 ? Math.round((energyMj * 1000) / counted) : null;
  const rating = baseline !== undefined && ujPerToken !== null && ujPerToken > 0
    ? { baseline, ratioPermille: Math.round((baseline.ujPerToken * 1000) / ujPerToken) }
    : null;
  return {
    version: 1,
    blockHeight: block.height,
    blockHash: block.hash,
    tokens,
    energyMj,
    measuredMj,
    estimatedMj,
    unmeasuredTokens,
    ujPerToken,
    sources: [...sources].sort(),
    rating,
  };
}

/**
 * The canonical bytes of an attestation (what is signed).
 *
 * @param a the attestation.
 * @returns UTF-8 bytes.
 */
export function attestationBytes(a: EnergyAttestation): Uint8Array {
  const opt = <T>(v: T | null) => (v === null ? [0] : [1, v]);
  const rating = a.rating === null ? [0] : [
    1,
    a.rating.baseline.name,
    a.rating.baseline.ujPerToken,
    a.rating.baseline.source,
    a.rating.ratioPermille,
  ];
  const arr = [
    1,
    a.blockHeight,
    a.blockHash,
    a.tokens,
    a.energyMj,
    a.measuredMj,
    a.estimatedMj,
    a.unmeasuredTokens,
    opt(a.ujPerToken),
    [...a.sources].sort(),
    rating,
  ];
  return new TextEncoder().encode(ATTESTATION_DOMAIN + JSON.stringify(arr));
}

/** An attestation with its signer and signature. */
export interface SignedAttestation {
  attestation: EnergyAttestation;
  signer: string;
  signature: string;
}

/**
 * Signs an attestation with the node's key.
 *
 * @param identity the node's key pair.
 * @param a the attestation.
 * @returns the signed attestation.
 */
export function signAttestation(identity: NodeIdentity, a: EnergyAttestation): SignedAttestation {
  return {
    attestation: a,
    signer: identity.nodeId,
    signature: bytesToHex(identity.sign(attestationBytes(a))),
  };
}

/**
 * Verifies a signed attestation (untrusted input: never throws).
 *
 * @param s the signed attestation.
 * @returns true when `signer` signed exactly this attestation.
 */
export function verifyAttestation(s: SignedAttestation): boolean {
  if (!/^[0-9a-f]{128}$/.test(s.signature)) return false;
  return verifySignature(s.signer, attestationBytes(s.attestation), hexToBytes(s.signature));
}

/**
 * One line for people: tokens, energy, per token, sources, and the rating with its baseline.
 *
 * @param a the attestation.
 * @returns the text.
 */
export function describeAttestation(a: EnergyAttestation): string {
  const per = a.ujPerToken === null ? "n/a" : `${(a.ujPerToken / 1000).toFixed(3)} mJ/token`;
  const head = `block ${a.blockHeight}: ${a.tokens} tokens, ${a.energyMj} mJ ` +
    `(${a.measuredMj} measured, ${a.estimatedMj} estimated), ${per}; ${a.sources.join("; ")}`;
  if (a.rating === null) return `${head}; no baseline configured, no rating`;
  const b = a.rating.baseline;
  return `${head}; baseline "${b.name}" (${(b.ujPerToken / 1000).toFixed(3)} mJ/token, ` +
    `source: ${b.source}) uses ${
      (a.rating.ratioPermille / 1000).toFixed(3)
    }× this energy per token`;
}
