import { describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { fixedIdentity, makeRecord } from "../../tests/helpers/ledger.ts";
import { DEFAULT_SAMPLER_OPTIONS } from "../generation/sampler-ref.ts";
import { type Hex32, RECORD_V2, sha256Text } from "../ledger/entry.ts";
import { promptHash, replayFacts } from "../ledger/provenance.ts";
import { buildReceipt } from "../ledger/receipt.ts";
import { signRecord } from "../ledger/sign.ts";
import type { Receipt } from "../ledger/wire.ts";
import {
  bindRequest,
  buildFraudProof,
  checkFraudProof,
  type FraudProof,
  fraudProofId,
  judgeRerun,
  type Rerun,
  signedBytes,
  verifyFraudProof,
} from "./fraud-proof.ts";
import type { CompleteRequestBody } from "./protocol.ts";

const cheater = fixedIdentity(1);
const auditor = fixedIdentity(2);
const request: CompleteRequestBody = {
  model: "aria-nano",
  input: { kind: "text", prompt: "The river" },
  sampling: { temperature: 0.9 },
  seed: 42,
  maxTokens: 16,
  stop: ["\n"],
};
const MODEL = sha256Text("model file");
const PROMPT_IDS = [1, 450, 8580];
/** What the model really samples; the cheater signed LIE instead. */
const TRUTH = [11, 12, 13, 14];
const LIE = [11, 12, 99, 14];

/** The re-run of an honest engine with the same head, KV type and contract. */
const honestRun: Rerun = {
  contract: 2,
  sampler: 1,
  head: "int8",
  kvType: "f32",
  promptIds: PROMPT_IDS,
  outputIds: TRUTH,
};

function receiptFor(
  signer = cheater,
  outputIds = LIE,
  overrides: { grammar?: string; continued?: number; seed?: number } = {},
): Receipt {
  const replay = replayFacts({
    contract: 2,
    sampler: 1,
    head: "int8",
    kvType: "f32",
    sampling: { ...DEFAULT_SAMPLER_OPTIONS, temperature: 0.9, logitBias: new Map() },
    ...(overrides.grammar !== undefined ? { grammar: overrides.grammar } : {}),
    seed: overrides.seed ?? 42,
    promptIds: PROMPT_IDS,
    continued: overrides.continued ?? 0,
    outputIds,
  });
  const record = makeRecord(signer, 1, {
    version: RECORD_V2,
    modelSha256: MODEL,
    promptHash: promptHash(request.input),
    outputHash: sha256Text("some text"),
    promptTokens: PROMPT_IDS.length,
    completionTokens: outputIds.length,
    replay,
  });
  return buildReceipt(signRecord(record, signer).signed);
}

function proofOf(receipt: Receipt, req = request, reporter = auditor): FraudProof {
  return buildFraudProof(
    {
      reporter: reporter.nodeId,
      request: req,
      receipt,
      observed: sha256Text("observed"),
      timestampMs: 1_700_000_000_000,
    },
    (b) => reporter.sign(b),
  );
}

/** A re-run on the model: the honest engine's ids, or null for another model file. */
const rerun = (_r: unknown, sha: string) => Promise.resolve(sha === MODEL ? honestRun : null);

describe("fraud proofs", () => {
  test("a proof against a lying record checks, names the accused, and judges fraud", async () => {
    const proof = proofOf(receiptFor());
    const checked = checkFraudProof(JSON.parse(JSON.stringify(proof)));
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(checked.value.accused).toBe(cheater.nodeId);
    expect(checked.value.reporter).toBe(auditor.nodeId);
    expect(checked.value.id).toBe(fraudProofId(proof.claim));
    expect(checked.value.modelSha256).toBe(MODEL);
    expect(judgeRerun(checked.value, honestRun)).toBe("fraud");
    const v = await verifyFraudProof(proof, rerun);
    expect(v.ok && v.value.verdict).toBe("fraud");
  });

  test("the re-run takes sampling, seed and length from the record, and no stop strings", () => {
    const b = bindRequest({ ...request, seed: 7, sampling: { temperature: 0.1 } }, receiptFor());
    expect(b.ok).toBe(true);
    if (!b.ok) return;
    expect(b.value.request).toMatchObject({
      model: "aria-nano",
      input: request.input,
      seed: 42,
      maxTokens: LIE.length,
      stop: [],
      sampling: { temperature: 0.9, topK: DEFAULT_SAMPLER_OPTIONS.topK },
    });
  });

  test("a forged proof against an honest record is judged forged", async () => {
    const v = await verifyFraudProof(proofOf(receiptFor(cheater, TRUTH)), rerun);
    expect(v.ok && v.value.verdict).toBe("forged");
  });

  test("another head, KV type, contract or prompt ids here: unjudged, never fraud", () => {
    const b = bindRequest(request, receiptFor());
    if (!b.ok) throw new Error(b.error);
    for (
      const other of [
        { head: "float" as const },
        { kvType: "f16" as const },
        { contract: 1 },
        { sampler: 2 },
        { promptIds: [1, 450] },
      ]
    ) {
      expect(judgeRerun(b.value, { ...honestRun, ...other })).toBe("unjudged");
    }
  });

  test("without the model file, the proof is checked but unjudged", async () => {
    const receipt = receiptFor();
    receipt.record.record.modelSha256 = sha256Text("other") as Hex32;
    const resigned = buildReceipt(signRecord(receipt.record.record, cheater).signed);
    const v = await verifyFraudProof(proofOf(resigned), rerun);
    expect(v.ok && v.value.verdict).toBe("unjudged");
  });

  const proof = proofOf(receiptFor());
  const claim = JSON.parse(proof.claim) as Record<string, unknown>;
  const resign = (c: Record<string, unknown>): FraudProof => {
    const text = JSON.stringify(c);
    return { claim: text, signature: bytesToHex(auditor.sign(signedBytes(text))) };
  };
  const bad: [string, unknown, string][] = [
    ["not an object", "x", "malformed proof"],
    ["claim not JSON", { claim: "{x", signature: proof.signature }, "not JSON"],
    ["a changed claim", { ...proof, claim: proof.claim.replace("river", "rover") }, "signature"],
    ["another signature", { ...proof, signature: "0".repeat(128) }, "signature is invalid"],
    ["an unknown field", resign({ ...claim, extra: 1 }), "malformed claim"],
    ["another accused", resign({ ...claim, accused: "ab".repeat(32) }), "another node"],
    ["a huge claim", { claim: "x".repeat(600_000), signature: proof.signature }, "malformed"],
    [
      "another prompt",
      proofOf(receiptFor(), { ...request, input: { kind: "text", prompt: "x" } }),
      "prompt hash",
    ],
    ["another model", proofOf(receiptFor(), { ...request, model: "other" }), "another model"],
    [
      "a grammar the record lacks",
      proofOf(receiptFor(), { ...request, grammar: 'root ::= "a"' }),
      "grammar hash",
    ],
    [
      "no grammar where the record has one",
      proofOf(receiptFor(cheater, LIE, { grammar: "g" })),
      "grammar hash",
    ],
    [
      "a logit bias the record lacks",
      proofOf(receiptFor(), { ...request, sampling: { temperature: 0.9, logitBias: [[5, 1]] } }),
      "logit-bias",
    ],
    [
      "a lazy grammar's trigger (not in the record)",
      proofOf(receiptFor(cheater, LIE, { grammar: "g" }), {
        ...request,
        grammar: "g",
        grammarTrigger: "<tool_call>",
      }),
      "trigger",
    ],
    ["a fail-over continuation", proofOf(receiptFor(cheater, LIE, { continued: 2 })), "continues"],
    [
      "a request continuing tokens",
      proofOf(receiptFor(), { ...request, continueFrom: [1] }),
      "continues",
    ],
    ["the reporter accusing itself", proofOf(receiptFor(auditor)), "accuses itself"],
  ];
  for (const [name, input, why] of bad) {
    test(`rejected: ${name}`, async () => {
      const c = checkFraudProof(input);
      expect(c.ok).toBe(false);
      if (!c.ok) expect(c.error).toContain(why);
      let ran = false;
      const v = await verifyFraudProof(input, () => {
        ran = true;
        return Promise.resolve(honestRun);
      });
      expect(v.ok).toBe(false);
      expect(ran).toBe(false); // nothing is re-run for a malformed proof
    });
  }

  test("rejected: a tampered receipt, and a version 1 record (no replay facts)", () => {
    const tampered = structuredClone(receiptFor());
    tampered.record.record.outputHash = sha256Text("other") as Hex32;
    const c = checkFraudProof(proofOf(tampered));
    expect(!c.ok && c.error).toContain("receipt does not verify");
    const v1 = makeRecord(cheater, 1, { promptHash: promptHash(request.input) });
    const c1 = checkFraudProof(proofOf(buildReceipt(signRecord(v1, cheater).signed)));
    expect(!c1.ok && c1.error).toContain("version 1");
  });
});
