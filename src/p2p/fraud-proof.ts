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
 *                sampling, seed, maxTokens, stop, grammar and grammarTrigger (tools feature:
 *                the lazy tool call grammar) as it had them; no continueFrom
 *     receipt    the accused's receipt for that request (src/ledger/wire.ts receiptSchema):
 *                its record, signed by the accused
 *     observed   hex32  hash of the output ids the reporter's re-execution produced (32-bit
 *                       little-endian, like the record's outputIdsHash)
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
 *   4. the record binds the request (bindRequest): a version 2 record (replay facts: a version 1
 *      record commits to no sampling and cannot be re-executed), same model name, same prompt
 *      hash, same grammar hash and logit-bias hash, no fail-over continuation, no lazy-grammar
 *      trigger (tools feature: the trigger is not in the record).
 * Re-execution (requestOfBinding): the prompt, grammar and logit bias of the request, and from
 * the record's replay facts the sampling settings, the seed and the number of output ids
 * (maxTokens); no stop strings (they are not in the record: a forger could add one to cut the
 * re-run short; without them the same ids come out, and a stop string only ever ends an answer).
 * Judging (judgeRerun), on the model file whose SHA-256 the record names:
 *   - the re-run's numerics contract, sampler version, head or KV type differ from the record's,
 *     or its prompt ids do: "unjudged" (this node cannot reproduce the setting; it accuses no one);
 *   - the re-run's output ids hash to the record's outputIdsHash: "forged" (the accused's answer
 *     reproduces; the reporter is penalised);
 *   - otherwise "fraud": the accused signed ids its model does not produce.
 * Exact numerics (engine contract 2) and seeded sampling make the re-run the same on every CPU
 * and kernel table, so an honest node is never convicted. The text a node sent is not part of
 * the verdict (stop strings shape it and are not committed); a requester that finds text and ids
 * disagree drops the node itself (src/p2p/auditor.ts).
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { z } from "zod";
import type { CompletionReplay, CompletionRequest } from "../contract/index.ts";
import {
  type Block,
  hashRecord,
  hashTokenIds,
  RECORD_V2,
  type ReplayFacts,
} from "../ledger/entry.ts";
import { grammarHash, logitBiasHash, promptHash, toLedgerText } from "../ledger/provenance.ts";
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

/** A request bound to the accused's record: what to re-run and what to compare. */
export interface Binding {
  accused: string;
  /** The accused's record hash. */
  recordHash: string;
  /** The model file the request must be re-run on (the record's modelSha256). */
  modelSha256: string;
  replay: ReplayFacts;
  /** The request to re-run (requestOfBinding). */
  request: CompletionRequest;
}

/** What a well-formed proof says (checked signatures, unjudged). */
export interface CheckedProof extends Binding {
  id: string;
  claim: FraudClaim;
  reporter: string;
}

/** The verdict after re-running: the accused lied, the claim is forged, or no verdict here. */
export type Verdict = "fraud" | "forged" | "unjudged";

/** What a re-run produced (the native backend's CompletionResult.replay fits). */
export type Rerun = Pick<
  CompletionReplay,
  "contract" | "sampler" | "head" | "kvType" | "promptIds" | "outputIds"
>;

/** The id of a proof: SHA-256 of its claim text (hex). */
export function fraudProofId(claim: string): string {
  return bytesToHex(sha256(utf8ToBytes(claim)));
}

/** The bytes the reporter signs for a claim text: the domain, then SHA-256 of the claim. */
export function signedBytes(claim: string): Uint8Array {
  return concatBytes(utf8ToBytes(FRAUD_PROOF_DOMAIN), sha256(utf8ToBytes(claim)));
}

/**
 * Binds a request to the accused's receipt (step 3 and 4 of the module comment). Never throws.
 *
 * @param request the complete.request body the accused answered.
 * @param receipt the accused's receipt (unchecked JSON).
 * @returns what to re-run and compare, or why the pair cannot make a fraud proof.
 */
export function bindRequest(
  request: CompleteRequestBody,
  receipt: unknown,
): Result<Binding, string> {
  const checked = verifyReceipt(receipt);
  if (!checked.ok) return { ok: false, error: `the receipt does not verify: ${checked.error}` };
  const record = (receipt as Receipt).record.record;
  if (record.version !== RECORD_V2 || record.replay === undefined) {
    return { ok: false, error: "a version 1 record commits to no sampling: not re-executable" };
  }
  if (record.modelId !== toLedgerText(request.model)) {
    return { ok: false, error: "the record names another model than the request" };
  }
  if (record.promptHash !== promptHash(request.input)) {
    return { ok: false, error: "the record's prompt hash is not the request's" };
  }
  const replay = record.replay;
  if (replay.continued !== 0 || (request.continueFrom?.length ?? 0) > 0) {
    return { ok: false, error: "the answer continues another node's tokens: not re-executable" };
  }
  // handled here: a lazy grammar's trigger (tools feature) is not in the record, so a forger
  // could add or drop one and change the re-run; such answers cannot make a proof
  if (request.grammarTrigger !== undefined) {
    return { ok: false, error: "a lazy grammar's trigger is not in the record: not re-executable" };
  }
  if (replay.grammarHash !== grammarHash(request.grammar)) {
    return { ok: false, error: "the record's grammar hash is not the request's" };
  }
  const bias = request.sampling.logitBias ? new Map(request.sampling.logitBias) : undefined;
  let biasHash: string;
  try {
    biasHash = logitBiasHash(bias);
  } catch {
    return { ok: false, error: "the request's logit bias cannot be hashed" }; // handled: NaN
  }
  if (replay.logitBiasHash !== biasHash) {
    return { ok: false, error: "the record's logit-bias hash is not the request's" };
  }
  const binding = {
    accused: record.signer,
    recordHash: checked.value.recordHash,
    modelSha256: record.modelSha256,
    replay,
  };
  return { ok: true, value: { ...binding, request: requestOfBinding(request, replay) } };
}

/**
 * The request a re-execution runs: the request's prompt, grammar and logit bias, the record's
 * sampling settings and seed, as many tokens as the record has output ids, no stop strings.
 */
function requestOfBinding(body: CompleteRequestBody, replay: ReplayFacts): CompletionRequest {
  const s = replay.sampling;
  const sampling: CompleteRequestBody["sampling"] = {
    temperature: Number(s.temperature),
    topK: Number(s.topK),
    topP: Number(s.topP),
    minP: Number(s.minP),
    repeatPenalty: Number(s.repeatPenalty),
    repeatLastN: Number(s.repeatLastN),
    frequencyPenalty: Number(s.frequencyPenalty),
    presencePenalty: Number(s.presencePenalty),
    ...(body.sampling.logitBias ? { logitBias: body.sampling.logitBias } : {}),
  };
  const { continueFrom: _c, ...rest } = body;
  const wire: CompleteRequestBody = {
    ...rest,
    sampling,
    seed: replay.seed,
    maxTokens: replay.outputIdCount,
    stop: [],
  };
  return requestFromWire(`audit-${replay.outputIdsHash.slice(0, 16)}`, wire);
}

/**
 * Judges a binding by a re-run (see the module comment).
 *
 * @param binding the request bound to the accused's record.
 * @param rerun what re-running `binding.request` on the record's model file produced.
 * @returns the verdict.
 */
export function judgeRerun(binding: Binding, rerun: Readonly<Rerun>): Verdict {
  const r = binding.replay;
  if (
    rerun.contract !== r.contract || rerun.sampler !== r.sampler || rerun.head !== r.head ||
    rerun.kvType !== r.kvType
  ) return "unjudged";
  if (
    rerun.promptIds.length !== r.promptIdCount || hashTokenIds(rerun.promptIds) !== r.promptIdsHash
  ) {
    return "unjudged";
  }
  return hashTokenIds(rerun.outputIds) === r.outputIdsHash ? "forged" : "fraud";
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
  if (claim.receipt.record.record.signer !== claim.accused) {
    return { ok: false, error: "the receipt is signed by another node than the accused" };
  }
  const bound = bindRequest(claim.request, claim.receipt);
  if (!bound.ok) return bound;
  return {
    ok: true,
    value: { ...bound.value, id: fraudProofId(proof.data.claim), claim, reporter: claim.reporter },
  };
}

/**
 * Checks and judges a proof: {@link checkFraudProof}, then a re-run through `rerun` (the only
 * effect; it runs the request on the model file named by `modelSha256`, or returns null when
 * this node does not hold that file or cannot run it now).
 *
 * @param input the parsed JSON of a proof.
 * @param rerun re-executes a request and returns what it computed, or null.
 * @returns the verdict ("unjudged" when this node cannot re-run it), or why it is malformed.
 */
export async function verifyFraudProof(
  input: unknown,
  rerun: (request: CompletionRequest, modelSha256: string) => Promise<Rerun | null>,
): Promise<Result<{ checked: CheckedProof; verdict: Verdict }, string>> {
  const checked = checkFraudProof(input);
  if (!checked.ok) return checked;
  const got = await rerun(checked.value.request, checked.value.modelSha256);
  const verdict = got === null ? "unjudged" : judgeRerun(checked.value, got);
  return { ok: true, value: { checked: checked.value, verdict } };
}

/** A record of a chain that a fraud proof names. */
export interface ConvictedRecord {
  height: number;
  recordHash: string;
  proofId: string;
  accused: string;
}

/**
 * The records of a chain named in fraud proofs (`aria ledger verify`: such a chain holds work
 * that does not count).
 *
 * @param blocks the chain, genesis first.
 * @param proofs checked proofs (checkFraudProof; judged by re-run when they were accepted).
 * @returns each named record with its block height and the proof naming it, in chain order.
 */
export function convictedRecords(
  blocks: readonly Block[],
  proofs: readonly CheckedProof[],
): ConvictedRecord[] {
  const named = new Map(proofs.map((p) => [p.recordHash, p]));
  const out: ConvictedRecord[] = [];
  if (named.size === 0) return out;
  for (const b of blocks) {
    for (const r of b.records) {
      const hash = hashRecord(r.record);
      const p = named.get(hash);
      if (p) {
        out.push({ height: b.header.height, recordHash: hash, proofId: p.id, accused: p.accused });
      }
    }
  }
  return out;
}
