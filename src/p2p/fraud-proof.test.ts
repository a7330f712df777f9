import { describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { fixedIdentity, makeRecord } from "../../tests/helpers/ledger.ts";
import { type Hex32, sha256Text } from "../ledger/entry.ts";
import { promptHash } from "../ledger/provenance.ts";
import { buildReceipt } from "../ledger/receipt.ts";
import { signRecord } from "../ledger/sign.ts";
import type { Receipt } from "../ledger/wire.ts";
import {
  buildFraudProof,
  checkFraudProof,
  type FraudProof,
  fraudProofId,
  judgeFraudProof,
  notReExecutable,
  requestOfProof,
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
  stop: [],
};
const MODEL = sha256Text("model file");
/** What the model really answers; the cheater signed "lie" instead. */
const TRUTH = " flows to the sea";

function receiptFor(signer = cheater, output = "lie", overrides = {}): Receipt {
  const record = makeRecord(signer, 1, {
    modelSha256: MODEL,
    promptHash: promptHash(request.input),
    outputHash: sha256Text(output),
    ...overrides,
  });
  return buildReceipt(signRecord(record, signer).signed);
}

function proofOf(receipt: Receipt, req = request, reporter = auditor): FraudProof {
  return buildFraudProof(
    {
      reporter: reporter.nodeId,
      request: req,
      receipt,
      observed: sha256Text(TRUTH),
      timestampMs: 1_700_000_000_000,
    },
    (b) => reporter.sign(b),
  );
}

/** A re-run on the model: the truth, or null for another model file. */
const rerun = (_r: unknown, sha: string) => Promise.resolve(sha === MODEL ? TRUTH : null);

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
    const req = requestOfProof(checked.value);
    expect(req).toMatchObject({ model: "aria-nano", seed: 42, maxTokens: 16 });
    expect(judgeFraudProof(checked.value, TRUTH)).toBe("fraud");
    const v = await verifyFraudProof(proof, rerun);
    expect(v.ok && v.value.verdict).toBe("fraud");
  });

  test("a forged proof against an honest record is judged forged", async () => {
    const honest = receiptFor(cheater, TRUTH);
    const v = await verifyFraudProof(proofOf(honest), rerun);
    expect(v.ok && v.value.verdict).toBe("forged");
  });

  test("without the model file, the proof is checked but unjudged", async () => {
    const v = await verifyFraudProof(
      proofOf(receiptFor(cheater, "lie", { modelSha256: sha256Text("other") as Hex32 })),
      rerun,
    );
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
    ["a changed claim", { ...proof, claim: proof.claim.replace("river", "rover") }, ""],
    ["another signature", { ...proof, signature: "0".repeat(128) }, "signature is invalid"],
    ["an unknown field", resign({ ...claim, extra: 1 }), "malformed claim"],
    ["a huge claim", { claim: "x".repeat(600_000), signature: proof.signature }, "malformed"],
  ];
  for (const [name, input, why] of bad) {
    test(`rejected: ${name}`, async () => {
      const c = checkFraudProof(input);
      expect(c.ok).toBe(false);
      if (!c.ok) expect(c.error).toContain(why);
      let ran = false;
      const v = await verifyFraudProof(input, () => {
        ran = true;
        return Promise.resolve(TRUTH);
      });
      expect(v.ok).toBe(false);
      expect(ran).toBe(false); // nothing is re-run for a malformed proof
    });
  }

  test("rejected: a request the record does not name (prompt, model)", () => {
    const other = { ...request, input: { kind: "text" as const, prompt: "The rover" } };
    const c1 = checkFraudProof(proofOf(receiptFor(), other));
    expect(!c1.ok && c1.error).toContain("prompt hash");
    const c2 = checkFraudProof(proofOf(receiptFor(), { ...request, model: "other" }));
    expect(!c2.ok && c2.error).toContain("another model");
  });

  test("rejected: a tampered receipt, or one the accused did not sign", () => {
    const r = receiptFor();
    const tampered = structuredClone(r);
    tampered.record.record.outputHash = sha256Text("other") as Hex32;
    const c = checkFraudProof(proofOf(tampered));
    expect(!c.ok && c.error).toContain("receipt does not verify");
    const self = checkFraudProof(proofOf(receiptFor(auditor)));
    expect(!self.ok && self.error).toContain("accuses itself");
  });

  test("rejected: requests that do not re-execute the same", () => {
    for (
      const [req, why] of [
        [{ ...request, seed: undefined }, "without a seed"],
        [{ ...request, grammar: 'root ::= "a"' }, "grammar"],
        [{ ...request, continueFrom: [1, 2] }, "continues"],
      ] as const
    ) {
      const { seed: _s, ...rest } = req;
      const body = (req.seed === undefined ? rest : req) as CompleteRequestBody;
      expect(notReExecutable(body)).toContain(why);
      const c = checkFraudProof(proofOf(receiptFor(), body));
      expect(!c.ok && c.error).toContain("not re-executable");
    }
    expect(notReExecutable({ ...request, sampling: { temperature: 0 }, seed: undefined } as never))
      .toBeUndefined();
  });
});
