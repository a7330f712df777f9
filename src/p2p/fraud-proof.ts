/**
 * @module Fraud proofs (issue 20): the evidence that a node signed a record of an answer its
 * model does not produce. Pure: re-running the request is a callback (the shell's local
 * backend), signing and the clock come in as arguments. docs/ledger.md §10 is the prose form.
 *
 * Layout (JSON; the `audit.fraud-proof` peer message carries it as its body):
 *   proof = { "claim": <string>, "signature": <128 hex> }
 *   claim = JSON text of {
 *     kind       "aria.fraud-claim"
 *     version    1
 *     reporter   hex32  node id of the auditor; it signs
 *     accused    hex32  node id that signed the record (= receipt.record.record.signer)
 *     request    the complete.request body (protocol.ts) the accused answered: model, input,
 *                sampling, seed, maxTokens, stop; no continueFrom, no grammar
 *     receipt    the accused's receipt for that request (src/ledger/wire.ts receiptSchema):
 *                its record, signed by the accused
 *     observed   hex32  SHA-256 of the output text the reporter's re-execution produced
 *     timestampMs int   when the reporter made the claim
 *   }
 *   signature = ed25519 by `reporter` over utf8(FRAUD_PROOF_DOMAIN) || SHA-256(utf8(claim))
 *   id        = SHA-256(utf8(claim)), hex: the proof's name (deduplication, file name)
 *
 * The claim is signed as the exact bytes it was sent as (like peer frames), so no canonical
 * re-encoding is needed.
 *
 * Checking, in this order (checkFraudProof, no re-execution):
 *   1. the proof and its claim parse (sizes bounded by MAX_CLAIM_CHARS and the schemas);
 *   2. the reporter's signature verifies; reporter != accused;
 *   3. the receipt verifies (record hash, the accused's record signature, any block proof);
 *   4. the record names the request: same model name, same prompt hash, and the request is one
 *      that re-executes deterministically (seeded or greedy, no grammar, no continuation).
 * Judging (judgeFraudProof): re-run the request on the model whose SHA-256 the record names and
 * hash the output text. A hash other than the record's outputHash convicts the accused ("fraud");
 * the record's own hash means the accused answered honestly and the claim is forged ("forged":
 * the reporter is penalised). Exact numerics (engine contract v2) and seeded sampling make the
 * re-run the same on every CPU, so an honest node is never convicted.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { z } from "zod";
import type { CompletionRequest } from "../contract/index.ts";
import { sha256Text } from "../ledger/entry.ts";
import { promptHash, toLedgerText } from "../ledger/provenance.ts";
import { verifyReceipt } from "../ledger/receipt.ts";
import { verifyEd25519 } from "../ledger/sign.ts";
import { type Receipt, receiptSchema } from "../ledger/wire.ts";
import type { Result } from "../shared/result.ts";
import { BODY_SCHEMAS, type CompleteRequestBody } from "./protocol.ts";
import { requestFromWire } from "./serve-peer.ts";

/** Prefix of the signed bytes (domain separation from peer frames and ledger signatures). */
export const FRAUD_PROOF_DOMAIN = "aria-fraud-proof/1\n";
/** Longest claim text accepted. Why 512 KiB: half a peer frame; a prompt of a few thousand
 * tokens and a receipt with its Merkle path are far below it. */
export const MAX_CLAIM_CHARS = 512 * 1024;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** A fraud proof as sent and stored. */
export const fraudProofSchema = z.strictObject({
  claim: z.string().min(2).max(MAX_CLAIM_CHARS),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
});
/** A fraud proof. */
export type FraudProof = z.infer<typeof fraudProofSchema>;

const claimSchema = z.strictObject({
  kind: z.literal("aria.fraud-claim"),
  version: z.literal(1),
  reporter: hex64,
  accused: hex64,
  request: BODY_SCHEMAS["complete.request"],
  receipt: receiptSchema,
  observed: hex64,
  timestampMs: z.number().int().min(0),
});
/** The signed content of a fraud proof. */
export type FraudClaim = z.infer<typeof claimSchema>;

/** What a well-formed proof says (checked signatures, unjudged). */
export interface CheckedProof {
  id: string;
  claim: FraudClaim;
  reporter: string;
  accused: string;
  /** The accused's record hash named by the proof. */
  recordHash: string;
  /** The model file the request must be re-run on (the record's modelSha256). */
  modelSha256: string;
}

/** The verdict after re-running: the accused lied, or the claim is forged. */
export type Verdict = "fraud" | "forged";

/** The id of a proof: SHA-256 of its claim text (hex). */
export function fraudProofId(claim: string): string {
  return bytesToHex(sha256(utf8ToBytes(claim)));
}

/** The bytes the reporter signs for a claim text: the domain, then SHA-256 of the claim. */
export function signedBytes(claim: string): Uint8Array {
  return concatBytes(utf8ToBytes(FRAUD_PROOF_DOMAIN), sha256(utf8ToBytes(claim)));
}

/**
 * Why a request cannot be used in a fraud proof (it would not re-execute the same), if so.
 *
 * @param request the complete.request body.
 * @returns the reason, or undefined when it is deterministic.
 */
export function notReExecutable(request: CompleteRequestBody): string | undefined {
  if (request.continueFrom !== undefined && request.continueFrom.length > 0) {
    return "the request continues another node's tokens";
  }
  if (request.grammar !== undefined) return "the request has a grammar";
  if (request.seed === undefined && request.sampling.temperature > 0) {
    return "the request samples without a seed";
  }
  return undefined;
}

/**
 * Makes and signs a fraud proof.
 *
 * @param input the reporter, the request, the accused's receipt, the reporter's output hash and
 *   the time.
 * @param sign ed25519 signing as the reporter (NodeIdentity.sign).
 * @returns the proof.
 */
export function buildFraudProof(
  input: Readonly<{
    reporter: string;
    request: CompleteRequestBody;
    receipt: Receipt;
    observed: string;
    timestampMs: number;
  }>,
  sign: (bytes: Uint8Array) => Uint8Array,
): FraudProof {
  const claim: FraudClaim = {
    kind: "aria.fraud-claim",
    version: 1,
    reporter: input.reporter,
    accused: input.receipt.record.record.signer,
    request: input.request,
    receipt: input.receipt,
    observed: input.observed,
    timestampMs: input.timestampMs,
  };
  const text = JSON.stringify(claim);
  return { claim: text, signature: bytesToHex(sign(signedBytes(text))) };
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid";
}

/**
 * Checks a fraud proof without re-running it (steps 1-4 of the module comment). Never throws:
 * every bad input (hostile bytes from a peer, a damaged file) is handled here as an error.
 *
 * @param input the parsed JSON of a proof.
 * @returns what it claims, or why it is malformed.
 */
export function checkFraudProof(input: unknown): Result<CheckedProof, string> {
  const proof = fraudProofSchema.safeParse(input);
  if (!proof.success) return { ok: false, error: `malformed proof: ${issueText(proof.error)}` };
  let json: unknown;
  try {
    json = JSON.parse(proof.data.claim);
  } catch {
    return { ok: false, error: "malformed proof: the claim is not JSON" };
  }
  const parsed = claimSchema.safeParse(json);
  if (!parsed.success) return { ok: false, error: `malformed claim: ${issueText(parsed.error)}` };
  const claim = parsed.data;
  if (claim.reporter === claim.accused) return { ok: false, error: "the reporter accuses itself" };
  const sig = hexToBytes(proof.data.signature);
  if (!verifyEd25519(claim.reporter, signedBytes(proof.data.claim), sig)) {
    return { ok: false, error: "the reporter's signature is invalid" };
  }
  const receipt = verifyReceipt(claim.receipt);
  if (!receipt.ok) return { ok: false, error: `the receipt does not verify: ${receipt.error}` };
  const record = claim.receipt.record.record;
  if (record.signer !== claim.accused) {
    return { ok: false, error: "the receipt is signed by another node than the accused" };
  }
  if (record.modelId !== toLedgerText(claim.request.model)) {
    return { ok: false, error: "the record names another model than the request" };
  }
  if (record.promptHash !== promptHash(claim.request.input)) {
    return { ok: false, error: "the record's prompt hash is not the request's" };
  }
  const why = notReExecutable(claim.request);
  if (why !== undefined) return { ok: false, error: `not re-executable: ${why}` };
  return {
    ok: true,
    value: {
      id: fraudProofId(proof.data.claim),
      claim,
      reporter: claim.reporter,
      accused: claim.accused,
      recordHash: receipt.value.recordHash,
      modelSha256: record.modelSha256,
    },
  };
}

/**
 * The request a proof's claim stands for, to re-run locally.
 *
 * @param checked a checked proof.
 * @returns the completion request (id "audit-" + the proof id's first 16 hex characters).
 */
export function requestOfProof(checked: CheckedProof): CompletionRequest {
  return requestFromWire(`audit-${checked.id.slice(0, 16)}`, checked.claim.request);
}

/**
 * Judges a checked proof by the output text of a re-run of its request.
 *
 * @param checked the checked proof.
 * @param output the whole output text the re-run produced (chunks + tail).
 * @returns "fraud" when the accused's record names another output, else "forged".
 */
export function judgeFraudProof(checked: CheckedProof, output: string): Verdict {
  return sha256Text(output) === checked.claim.receipt.record.record.outputHash ? "forged" : "fraud";
}

/**
 * Checks and judges a proof: {@link checkFraudProof}, then a re-run through `rerun` (the only
 * effect; it runs the request on the model file named by `modelSha256`, or returns null when
 * this node does not hold that file).
 *
 * @param input the parsed JSON of a proof.
 * @param rerun re-executes a request and returns its whole output text, or null.
 * @returns the verdict, "unjudged" when this node cannot re-run it, or why it is malformed.
 */
export async function verifyFraudProof(
  input: unknown,
  rerun: (request: CompletionRequest, modelSha256: string) => Promise<string | null>,
): Promise<
  Result<{ checked: CheckedProof; verdict: Verdict | "unjudged" }, string>
> {
  const checked = checkFraudProof(input);
  if (!checked.ok) return checked;
  const output = await rerun(requestOfProof(checked.value), checked.value.modelSha256);
  if (output === null) return { ok: true, value: { checked: checked.value, verdict: "unjudged" } };
  return {
    ok: true,
    value: { checked: checked.value, verdict: judgeFraudProof(checked.value, output) },
  };
}
