import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  encodeRecord,
  hashHeader,
  hashRecord,
  type InferenceRecord,
  recordProblem,
  recordSigningMessage,
  sha256Text,
  ZERO_HASH,
} from "./entry.ts";
import { GENESIS_HASH, GENESIS_HEADER } from "./chain.ts";
import type { Hex32 } from "./entry.ts";

const A = "a".repeat(64) as Hex32;
const B = "b".repeat(64) as Hex32;
const RECORD: InferenceRecord = {
  version: 1,
  requestId: "chatcmpl-1",
  modelId: "aria-nano",
  modelSha256: B,
  promptHash: B,
  outputHash: B,
  promptTokens: 5,
  completionTokens: 7,
  nodes: [{ nodeId: A, layerStart: 0, layerEnd: 4 }],
  timings: { queueMs: 1, promptMs: 2, decodeMs: 30 },
  energyMj: 1234,
  energySource: "measured",
  consentHash: ZERO_HASH,
  timestampMs: 1700000000000,
  signer: A,
};
// Written by hand from the layout in entry.ts (not produced by the code under test).
const RECORD_JSON = `[1,"chatcmpl-1","aria-nano","${B}","${B}","${B}",5,7,[["${A}",0,4]],` +
  `[1,2,30],1234,"measured","${ZERO_HASH}",1700000000000,"${A}"]`;

function nodeSha256(...parts: (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

describe("encodeRecord()", () => {
  test("encodeRecord() writes the fixed-order array of the spec", () => {
    expect(new TextDecoder().decode(encodeRecord(RECORD))).toBe(RECORD_JSON);
  });
  test("encodeRecord() throws TypeError for a float, a bad hex or a stray quote", () => {
    expect(() => encodeRecord({ ...RECORD, energyMj: 1.5 })).toThrow(TypeError);
    expect(() => encodeRecord({ ...RECORD, promptHash: "AB" as Hex32 })).toThrow(TypeError);
    expect(() => encodeRecord({ ...RECORD, modelId: 'a"b' })).toThrow(TypeError);
  });
});

describe("hashRecord()", () => {
  test("hashRecord() is SHA-256 of the domain prefix and the canonical bytes", () => {
    expect<string>(hashRecord(RECORD)).toBe(nodeSha256("aria.ledger.record.v1\n", RECORD_JSON));
  });
  test("hashRecord() changes when any field changes", () => {
    const h = hashRecord(RECORD);
    expect(hashRecord({ ...RECORD, completionTokens: 8 })).not.toBe(h);
    expect(hashRecord({ ...RECORD, energySource: "estimated" })).not.toBe(h);
    expect(hashRecord({ ...RECORD, nodes: [{ nodeId: A, layerStart: 0, layerEnd: 3 }] }))
      .not.toBe(h);
  });
});

describe("recordProblem()", () => {
  test("recordProblem() accepts a well-formed record", () => {
    expect(recordProblem(RECORD)).toBeUndefined();
  });
  test("recordProblem() names each kind of malformed record", () => {
    expect(recordProblem({ ...RECORD, signer: B })).toBe("the signer is not among the nodes");
    expect(recordProblem({ ...RECORD, promptTokens: 0, completionTokens: 0 }))
      .toBe("the record holds no tokens of work");
    expect(recordProblem({ ...RECORD, nodes: [{ nodeId: A, layerStart: 4, layerEnd: 4 }] }))
      .toMatch(/empty or malformed layer range/);
    expect(recordProblem({ ...RECORD, nodes: [] })).toMatch(/1\.\.64 nodes/);
    expect(recordProblem({ ...RECORD, energySource: "guessed" as "measured" }))
      .toMatch(/energySource/);
    expect(recordProblem({ ...RECORD, timestampMs: -1 })).toMatch(/non-negative integer/);
    expect(recordProblem({ ...RECORD, version: 2 as 1 })).toBe("unsupported record version 2");
  });
});

describe("hashHeader()", () => {
  test("hashHeader() of the genesis header is the pinned genesis hash", () => {
    const json = `[1,0,"${ZERO_HASH}","${ZERO_HASH}",0,"${ZERO_HASH}",0,0]`;
    expect<string>(hashHeader(GENESIS_HEADER)).toBe(nodeSha256("aria.ledger.block.v1\n", json));
    // Pinned: changing the genesis or the encoding must fail loudly (docs/ledger.md).
    expect<string>(GENESIS_HASH).toBe(
      "0102bcda92b0950c85271a7f13aa54d7c13ea3d663c6d0c9b6332d46cb102d32",
    );
  });
});

describe("recordSigningMessage()", () => {
  test("recordSigningMessage() is the signature prefix followed by the raw hash", () => {
    const msg = recordSigningMessage(hashRecord(RECORD));
    const prefix = "aria.ledger.record-sig.v1\n";
    expect(new TextDecoder().decode(msg.subarray(0, prefix.length))).toBe(prefix);
    expect(Buffer.from(msg.subarray(prefix.length)).toString("hex")).toBe(hashRecord(RECORD));
  });
});

describe("sha256Text()", () => {
  test("sha256Text() hashes UTF-8", () => {
    expect<string>(sha256Text("é🙂")).toBe(nodeSha256(Buffer.from("é🙂", "utf8")));
  });
});
