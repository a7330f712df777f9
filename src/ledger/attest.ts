/**
 * @module Head attestations: a peer (the witness) countersigns the head of another node's chain
 * ("I saw height H with hash X"). A node that later rewrites its history, even re-signing every
 * block with its own key, can no longer match what witnesses signed, and `findRewrite` names
 * the first height where the chain and an attestation disagree. Pure.
 *
 * Canonical bytes (version 1): utf8(JSON) of
 *   [1, producer hex32, height int, headHash hex32, witness hex32, timestampMs int]
 * Signature: ed25519 by `witness` over utf8("aria.ledger.head-attest.v1\n") || canonical bytes.
 */
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import type { NodeIdentity } from "../identity/identity.ts";
import { type BlockHeader, hashHeader, type Hex32, isHex32, isSignatureHex } from "./entry.ts";
import { verifyEd25519 } from "./sign.ts";

/** A witness's signed statement about another node's chain head. */
export interface HeadAttestation {
  version: 1;
  producer: Hex32;
  height: number;
  headHash: Hex32;
  witness: Hex32;
  timestampMs: number;
  signature: string;
}

const PREFIX = utf8ToBytes("aria.ledger.head-attest.v1\n");

function message(a: Omit<HeadAttestation, "signature">): Uint8Array {
  const fields = [a.version, a.producer, a.height, a.headHash, a.witness, a.timestampMs];
  return concatBytes(PREFIX, utf8ToBytes(JSON.stringify(fields)));
}

const isCount = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/**
 * Countersigns a chain head as `witness`.
 *
 * @param head the producer, height and head hash seen.
 * @param options the witness and the time of the statement.
 * @returns the attestation.
 * @throws {TypeError} when a field is malformed.
 */
export function signHeadAttestation(
  head: Readonly<{ producer: string; height: number; headHash: string }>,
  options: Readonly<{ witness: NodeIdentity; timestampMs: number }>,
): HeadAttestation {
  const unsigned = {
    version: 1 as const,
    producer: head.producer as Hex32,
    height: head.height,
    headHash: head.headHash as Hex32,
    witness: options.witness.nodeId as string as Hex32,
    timestampMs: options.timestampMs,
  };
  if (!isHex32(unsigned.producer) || !isHex32(unsigned.headHash)) {
    throw new TypeError("Cannot attest a head: producer and head hash must be hex32");
  }
  if (!isCount(unsigned.height) || !isCount(unsigned.timestampMs)) {
    throw new TypeError("Cannot attest a head: height and timestamp must be integers >= 0");
  }
  return { ...unsigned, signature: bytesToHex(options.witness.sign(message(unsigned))) };
}

/**
 * Checks an attestation's shape and its witness's signature. Never throws.
 *
 * @param a the attestation (untrusted).
 * @returns whether it is valid.
 */
export function verifyHeadAttestation(a: HeadAttestation): boolean {
  if (a?.version !== 1 || !isHex32(a.producer) || !isHex32(a.headHash) || !isHex32(a.witness)) {
    return false;
  }
  if (!isCount(a.height) || !isCount(a.timestampMs) || !isSignatureHex(a.signature)) return false;
  return verifyEd25519(a.witness, message(a), hexToBytes(a.signature));
}

/**
 * Compares a chain with the attestations witnesses signed about its producer's heads.
 *
 * @param headers the chain's headers, genesis first (index = height).
 * @param attestations attestations about this producer (invalid ones are ignored).
 * @returns undefined when the chain agrees with every valid attestation it is long enough to
 *   answer, else the first disagreement (lowest height) with the witness.
 */
export function findRewrite(
  headers: readonly BlockHeader[],
  attestations: readonly HeadAttestation[],
): { height: number; witness: Hex32; reason: string } | undefined {
  const valid = attestations.filter(verifyHeadAttestation).sort((a, b) => a.height - b.height);
  for (const a of valid) {
    const h = headers[a.height];
    if (h === undefined) {
      return {
        height: a.height,
        witness: a.witness,
        reason: `the chain ends below height ${a.height}, which witness ${a.witness} saw`,
      };
    }
    if (hashHeader(h) !== a.headHash) {
      return {
        height: a.height,
        witness: a.witness,
        reason: `block ${a.height} differs from the one witness ${a.witness} countersigned`,
      };
    }
  }
  return undefined;
}
