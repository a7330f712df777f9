/**
 * @module Helpers for ledger tests: fixed identities (secret keys 0x01.., 0x02..), a record
 * factory with valid defaults, and a small signed chain builder.
 */
import { identityFromSecret, type NodeIdentity } from "../../src/identity/index.ts";
import { GENESIS_BLOCK } from "../../src/ledger/chain.ts";
import {
  type Block,
  type Hex32,
  type InferenceRecord,
  isPolicyChange,
  type PolicyChangeRecord,
  sha256Text,
  type SignedLedgerRecord,
  type SignedRecord,
  ZERO_HASH,
} from "../../src/ledger/entry.ts";
import { sealBlock, signRecord } from "../../src/ledger/sign.ts";

/** A deterministic identity: secret key = 32 bytes of `byte`. */
export function fixedIdentity(byte: number): NodeIdentity {
  return identityFromSecret(new Uint8Array(32).fill(byte));
}

/** A valid record by `signer` (overrides applied on top). */
export function makeRecord(
  signer: NodeIdentity,
  n: number,
  overrides: Partial<InferenceRecord> = {},
): InferenceRecord {
  const nodeId = signer.nodeId as string as Hex32;
  return {
    version: 1,
    requestId: `chatcmpl-${n}`,
    modelId: "aria-nano",
    modelSha256: sha256Text("model"),
    promptHash: sha256Text(`prompt ${n}`),
    outputHash: sha256Text(`output ${n}`),
    promptTokens: 5,
    completionTokens: 7,
    nodes: [{ nodeId, layerStart: 0, layerEnd: 4 }],
    timings: { queueMs: 1, promptMs: 2, decodeMs: 30 },
    energyMj: 0,
    energySource: "estimated",
    consentHash: ZERO_HASH,
    timestampMs: 1_700_000_000_000 + n,
    signer: nodeId,
    ...overrides,
  };
}

/** A signed record. */
export function makeSigned(signer: NodeIdentity, n: number): SignedRecord {
  return signRecord(makeRecord(signer, n), signer).signed;
}

/** A chain: genesis plus one block per entry of `sizes`, each with that many records. */
export function makeChain(producer: NodeIdentity, sizes: readonly number[]): Block[] {
  const blocks: Block[] = [GENESIS_BLOCK];
  let n = 0;
  for (const size of sizes) {
    const records = Array.from({ length: size }, () => makeSigned(producer, n++));
    const prev = blocks[blocks.length - 1]!.header;
    blocks.push(sealBlock(prev, records, { identity: producer, timestampMs: 1_700_000_100_000 }));
  }
  return blocks;
}

/** A signed policy change by `signer` (old hash -> new hash at `timestampMs`). */
export function makePolicyChange(
  signer: NodeIdentity,
  oldHash: Hex32,
  newHash: Hex32,
  timestampMs = 1_700_000_000_500,
): SignedLedgerRecord {
  const record: PolicyChangeRecord = {
    kind: "policy-change",
    version: 1,
    oldHash,
    newHash,
    timestampMs,
    signer: signer.nodeId as string as Hex32,
  };
  return signRecord(record, signer).signed;
}

/**
 * The inference record a test put in a block (makeChain makes only those); a policy change there
 * is a mistake in the test, so it throws.
 *
 * @param r a record of a block.
 * @returns it, typed as an inference record.
 */
export function inferenceOf(r: SignedLedgerRecord | undefined): SignedRecord {
  if (r === undefined || isPolicyChange(r.record)) {
    throw new Error("test setup: expected an inference record");
  }
  return { record: r.record, signature: r.signature };
}
