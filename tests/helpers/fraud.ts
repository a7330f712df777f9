/**
 * @module Helpers for fraud-proof tests: version 2 inference records (with replay facts) of a
 * fixed request, and a fraud proof against one.
 */
import type { NodeIdentity } from "../../src/identity/index.ts";
import { DEFAULT_SAMPLER_OPTIONS } from "../../src/generation/sampler-ref.ts";
import {
  type InferenceRecord,
  RECORD_V2,
  sha256Text,
  type SignedRecord,
} from "../../src/ledger/entry.ts";
import { promptHash, replayFacts } from "../../src/ledger/provenance.ts";
import { buildReceipt } from "../../src/ledger/receipt.ts";
import { signRecord } from "../../src/ledger/sign.ts";
import { buildFraudProof, type FraudProof } from "../../src/p2p/fraud-proof.ts";
import type { CompleteRequestBody } from "../../src/p2p/protocol.ts";
import { makeRecord } from "./ledger.ts";

/** The request every record here answers. */
export const FRAUD_REQUEST: CompleteRequestBody = {
  model: "aria-nano",
  input: { kind: "text", prompt: "The river" },
  sampling: { temperature: 0.9 },
  seed: 42,
  maxTokens: 16,
  stop: [],
};

/** A version 2 record by `signer` answering FRAUD_REQUEST with `outputIds` (n: request id). */
export function makeV2Record(
  signer: NodeIdentity,
  n: number,
  outputIds: readonly number[] = [11, 12, 13],
): InferenceRecord {
  return makeRecord(signer, n, {
    version: RECORD_V2,
    promptHash: promptHash(FRAUD_REQUEST.input),
    // a version 2 record's counts are its replay facts' id counts
    promptTokens: 3,
    completionTokens: outputIds.length,
    replay: replayFacts({
      contract: 2,
      sampler: 1,
      head: "int8",
      kvType: "f32",
      sampling: { ...DEFAULT_SAMPLER_OPTIONS, temperature: 0.9, logitBias: new Map() },
      seed: 42,
      promptIds: [1, 2, 3],
      continued: 0,
      outputIds,
    }),
  });
}

/** The signed version 2 record. */
export function makeV2Signed(signer: NodeIdentity, n: number): SignedRecord {
  return signRecord(makeV2Record(signer, n), signer).signed;
}

/** A fraud proof by `reporter` against a signed record (the record's receipt, unsealed). */
export function fraudProofAgainst(signed: SignedRecord, reporter: NodeIdentity): FraudProof {
  return buildFraudProof({
    reporter: reporter.nodeId,
    request: FRAUD_REQUEST,
    receipt: buildReceipt(signed),
    observed: sha256Text("observed"),
    timestampMs: 1_700_000_000_000,
  }, (b) => reporter.sign(b));
}
