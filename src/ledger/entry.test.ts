import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  encodeRecord,
  hashHeader,
  hashRecord,
  hashTokenIds,
  type InferenceRecord,
  numberText,
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

const C = "c".repeat(64) as Hex32;
const D = "d".repeat(64) as Hex32;
const REPLAY = {
  contract: 2,
  sampler: 1,
  head: "int8" as const,
  kvType: "f16" as const,
  sampling: {
    temperature: "0.9",
    topK: "40",
    topP: "0.95",
    minP: "0.05",
    repeatPenalty: "1.1",
    repeatLastN: "-1",
    frequencyPenalty: "0",
    presencePenalty: "1e-7",
  },
  logitBiasHash: ZERO_HASH,
  grammarHash: B,
  seed: 4294967295,
  promptIdCount: 5,
  promptIdsHash: C,
  continued: 0,
  outputIdCount: 7,
  outputIdsHash: D,
};
const RECORD_V2: InferenceRecord = { ...RECORD, version: 2, replay: REPLAY };
// Written by hand from the layout in entry.ts (field 15).
const RECORD_V2_JSON = `[2${RECORD_JSON.slice(2, -1)},[2,1,"int8","f16",` +
  `["0.9","40","0.95","0.05","1.1","-1","0","1e-7"],"${ZERO_HASH}","${B}",4294967295,` +
  `5,"${C}",0,7,"${D}"]]`;

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

describe("record version 2", () => {
  test("encodeRecord() appends the replay facts as item 15", () => {
    expect(new TextDecoder().decode(encodeRecord(RECORD_V2))).toBe(RECORD_V2_JSON);
    expect<string>(hashRecord(RECORD_V2)).toBe(
      nodeSha256("aria.ledger.record.v1\n", RECORD_V2_JSON),
    );
  });
  test("recordProblem() names each kind of malformed replay fact", () => {
    const bad = (replay: object) =>
      recordProblem({ ...RECORD_V2, replay: { ...REPLAY, ...replay } as typeof REPLAY });
    expect(bad({ contract: 0 })).toMatch(/contract/);
    expect(bad({ head: "f64" })).toMatch(/head/);
    expect(bad({ kvType: "q8" })).toMatch(/kvType/);
    expect(bad({ seed: 2 ** 32 })).toMatch(/seed/);
    expect(bad({ seed: 1.5 })).toMatch(/seed/);
    expect(bad({ promptIdCount: 0 })).toMatch(/promptIdCount/);
    expect(bad({ continued: 6 })).toMatch(/continued/);
    expect(bad({ outputIdsHash: "AB" })).toMatch(/outputIdsHash/);
    // one value, one text: "0.90", "+1", "NaN" and floats as numbers are refused
    for (const t of ["0.90", "+1", "NaN", ".5", "1E-7", 0.9]) {
      expect(bad({ sampling: { ...REPLAY.sampling, topP: t } })).toMatch(/sampling\.topP/);
    }
  });
  test("numberText() writes the shortest round-trip text; -0 is 0; NaN throws", () => {
    expect([0.9, 40, -1, 1e-7, -0, 1 / 3].map(numberText))
      .toEqual(["0.9", "40", "-1", "1e-7", "0", "0.3333333333333333"]);
    expect(() => numberText(NaN)).toThrow(RangeError);
  });
  test("hashTokenIds() hashes 32-bit little-endian ids", () => {
    const bytes = Uint8Array.from([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0]);
    expect<string>(hashTokenIds([1, 0xffffffff, 256])).toBe(nodeSha256(bytes));
    expect(() => hashTokenIds([-1])).toThrow(RangeError);
    expect(() => hashTokenIds([2 ** 32])).toThrow(RangeError);
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
    expect(recordProblem({ ...RECORD, version: 3 as 1 })).toBe("unsupported record version 3");
    expect(recordProblem({ ...RECORD, version: 2 })).toBe("a version 2 record needs replay");
    expect(recordProblem({ ...RECORD, replay: REPLAY })).toBe("a version 1 record has no replay");
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
