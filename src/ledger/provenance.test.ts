import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { fixedIdentity } from "../../tests/helpers/ledger.ts";
import type { Block, Hex32, RecordHash, SignedRecord } from "./entry.ts";
import { GENESIS_HEADER } from "./chain.ts";
import { buildRecord, createProvenanceRecorder, promptHash, toLedgerText } from "./provenance.ts";
import { verifyReceipt } from "./receipt.ts";
import { sealBlock } from "./sign.ts";

const alice = fixedIdentity(1);
const input = {
  request: {
    id: "chatcmpl-1",
    model: "aria-nano",
    input: { kind: "chat" as const, messages: [{ role: "user", content: "Hi é" }] },
  },
  result: {
    usage: { promptTokens: 5, completionTokens: 7 },
    timings: { queueMs: 0.4, promptMs: 2.6, decodeMs: 30 },
  },
  output: "Hello",
};
const base = {
  identity: alice,
  clock: { nowMs: () => 1_700_000_000_000 },
  modelSha256: "ab".repeat(32) as Hex32,
  nLayers: 4,
};

describe("promptHash()", () => {
  test("promptHash() is SHA-256 of the documented JSON", () => {
    const json = '["chat",[["user","Hi é"]]]';
    expect(promptHash(input.request.input)).toBe(
      createHash("sha256").update(json, "utf8").digest("hex"),
    );
  });
});

describe("buildRecord()", () => {
  test("buildRecord() rounds timings, names this node with all layers, marks energy estimated", () => {
    const r = buildRecord(input, base);
    expect(r.timings).toEqual({ queueMs: 0, promptMs: 3, decodeMs: 30 });
    expect(r.nodes).toEqual([{
      nodeId: alice.nodeId as string as Hex32,
      layerStart: 0,
      layerEnd: 4,
    }]);
    expect([r.energyMj, r.energySource]).toEqual([0, "estimated"]);
  });
  test("buildRecord() refuses a measured 0 mJ and a fractional energy", () => {
    const measured0 = () => ({ energyMj: 0, energySource: "measured" as const });
    expect(() => buildRecord(input, { ...base, describeWork: measured0 })).toThrow(RangeError);
    const half = () => ({ energyMj: 0.5, energySource: "estimated" as const });
    expect(() => buildRecord(input, { ...base, describeWork: half })).toThrow(RangeError);
  });
  test("toLedgerText() replaces characters the encoding forbids", () => {
    expect(toLedgerText('mödel "x"\\')).toBe("m_del _x__");
    expect(toLedgerText("")).toBe("_");
  });
});

describe("createProvenanceRecorder()", () => {
  test("record() appends a signed record and returns a receipt that verifies, sealed or not", () => {
    const appended: SignedRecord[] = [];
    let sealNext = false;
    const writer = {
      append(signed: SignedRecord): { hash: RecordHash; block?: Block } {
        appended.push(signed);
        if (!sealNext) return { hash: "" as RecordHash };
        return {
          hash: "" as RecordHash,
          block: sealBlock(GENESIS_HEADER, appended, { identity: alice, timestampMs: 0 }),
        };
      },
    };
    const measured = () => ({ energyMj: 1500, energySource: "measured" as const });
    const rec = createProvenanceRecorder({ ...base, writer, describeWork: measured });
    const first = verifyReceipt(rec.record(input).receipt);
    expect(first.ok && first.value.block).toBeUndefined();
    sealNext = true;
    const second = verifyReceipt(rec.record({ ...input, output: "Bye" }).receipt);
    expect(second.ok && second.value.block?.height).toBe(1);
    expect(appended[0]!.record.energySource).toBe("measured");
  });
});
