import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { fixedIdentity } from "../../tests/helpers/ledger.ts";
import type { Block, Hex32, RecordHash, SignedRecord } from "./entry.ts";
import { GENESIS_HEADER } from "./chain.ts";
import {
  buildRecord,
  checkRelayedReceipt,
  createProvenanceRecorder,
  grammarHash,
  logitBiasHash,
  promptHash,
  toLedgerText,
} from "./provenance.ts";
import { buildReceipt, verifyReceipt } from "./receipt.ts";
import { hashTokenIds } from "./entry.ts";
import { signRecord } from "./sign.ts";
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
    expect<string>(promptHash(input.request.input)).toBe(
      createHash("sha256").update(json, "utf8").digest("hex"),
    );
  });
  test("promptHash() covers tools, calls and call ids as documented", () => {
    const sha = (json: string) => createHash("sha256").update(json, "utf8").digest("hex");
    const call = { id: "call_1", name: "f", arguments: '{"a":1}' };
    const chat = {
      kind: "chat" as const,
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "", toolCalls: [call] },
        { role: "tool", content: "2", toolCallId: "call_1" },
      ],
    };
    const messages = '[["user","Hi"],["assistant","",[["call_1","f","{\\"a\\":1}"]],null],' +
      '["tool","2",[],"call_1"]]';
    expect<string>(promptHash(chat)).toBe(sha(`["chat",${messages}]`));
    const tools = [{ name: "f", parameters: { type: "object" } }];
    expect<string>(promptHash({ ...chat, tools })).toBe(
      sha(`["chat",${messages},[["f",null,{"type":"object"}]]]`),
    );
    // each part counts: another argument, call id or tool changes the hash
    const other = {
      ...chat,
      messages: [chat.messages[0]!, {
        ...chat.messages[1]!,
        toolCalls: [{ ...call, arguments: "{}" }],
      }],
    };
    expect(promptHash(other)).not.toBe(promptHash(chat));
    expect(promptHash({ ...chat, tools: [{ name: "g" }] })).not.toBe(
      promptHash({ ...chat, tools }),
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

const replay = {
  contract: 2,
  sampler: 1,
  head: "float" as const,
  kvType: "f32" as const,
  sampling: {
    temperature: 0.9,
    topK: 40,
    topP: 0.95,
    minP: 0,
    repeatPenalty: 1,
    repeatLastN: 64,
    frequencyPenalty: -0,
    presencePenalty: 0,
    logitBias: new Map([[7, -100], [3, 2.5]]),
  },
  grammar: 'root ::= "a"',
  seed: -1,
  promptIds: [1, 2, 3, 4, 5],
  continued: 0,
  outputIds: [9, 8, 7, 6, 5, 4, 3],
};

describe("buildRecord() with replay facts (record version 2)", () => {
  test("buildRecord() writes version 2 with the documented replay facts", () => {
    const r = buildRecord({ ...input, result: { ...input.result, replay } }, base);
    expect(r.version).toBe(2);
    expect(r.replay).toEqual({
      contract: 2,
      sampler: 1,
      head: "float",
      kvType: "f32",
      sampling: {
        temperature: "0.9",
        topK: "40",
        topP: "0.95",
        minP: "0",
        repeatPenalty: "1",
        repeatLastN: "64",
        frequencyPenalty: "0",
        presencePenalty: "0",
      },
      logitBiasHash: createHash("sha256").update('[[3,"2.5"],[7,"-100"]]').digest("hex") as Hex32,
      grammarHash: createHash("sha256").update('root ::= "a"').digest("hex") as Hex32,
      // the seed as the rng uses it: the low 32 bits
      seed: 0xffffffff,
      promptIdCount: 5,
      promptIdsHash: hashTokenIds([1, 2, 3, 4, 5]),
      continued: 0,
      outputIdCount: 7,
      outputIdsHash: hashTokenIds([9, 8, 7, 6, 5, 4, 3]),
    });
    expect(logitBiasHash(new Map())).toBe("0".repeat(64) as Hex32);
    expect(grammarHash(undefined)).toBe("0".repeat(64) as Hex32);
    // signed and wrapped, it is a receipt that verifies; v1 records stay valid beside it
    const v2 = buildReceipt(signRecord(r, alice).signed);
    expect(verifyReceipt(JSON.parse(JSON.stringify(v2))).ok).toBe(true);
    const v1 = buildReceipt(signRecord(buildRecord(input, base), alice).signed);
    expect(verifyReceipt(JSON.parse(JSON.stringify(v1))).ok).toBe(true);
    // a changed replay fact breaks the signature
    const forged = JSON.parse(JSON.stringify(v2));
    forged.record.record.replay.seed = 1;
    expect(verifyReceipt(forged).ok).toBe(false);
  });
  test("a receipt carries the output ids, checked against the signed hash", () => {
    const r = buildRecord({ ...input, result: { ...input.result, replay } }, base);
    const signed = signRecord(r, alice).signed;
    const receipt = JSON.parse(JSON.stringify(buildReceipt(signed, undefined, replay.outputIds)));
    expect(receipt.outputIds).toEqual(replay.outputIds);
    expect(verifyReceipt(receipt).ok).toBe(true);
    receipt.outputIds[3] = 1;
    expect(verifyReceipt(receipt)).toEqual({
      ok: false,
      error: "the output ids are not the ones the record names",
    });
    expect(() => buildReceipt(signed, undefined, [1, 2])).toThrow(RangeError);
    const v1 = signRecord(buildRecord(input, base), alice).signed;
    expect(() => buildReceipt(v1, undefined, replay.outputIds)).toThrow(RangeError);
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

describe("pipeline records", () => {
  test("buildRecord() names each node of a pipeline with its blocks; the signer is among them", () => {
    const stage = fixedIdentity(2).nodeId;
    const layers = [
      { nodeId: alice.nodeId, layerStart: 4, layerEnd: 5 },
      { nodeId: stage, layerStart: 0, layerEnd: 4 },
    ];
    const r = buildRecord({ ...input, result: { ...input.result, layers } }, base);
    expect(r.nodes).toEqual(layers as never);
    expect(r.signer as string).toBe(alice.nodeId);
    const bad = [{ nodeId: "stage-a", layerStart: 0, layerEnd: 4 }];
    expect(() => buildRecord({ ...input, result: { ...input.result, layers: bad } }, base))
      .toThrow(RangeError);
  });
});

describe("checkRelayedReceipt()", () => {
  const bob = fixedIdentity(2);
  const recorder = createProvenanceRecorder({
    ...base,
    identity: bob,
    writer: { append: () => ({ hash: "" as RecordHash }) },
  });
  const { receipt } = recorder.record(input);
  const expectBob = {
    peer: bob.nodeId,
    model: "aria-nano",
    input: input.request.input,
    output: "Hello",
  };

  test("a peer's receipt for the answer passes, with its record hash", () => {
    const checked = checkRelayedReceipt(receipt, expectBob);
    expect(checked.ok).toBe(true);
    if (checked.ok) expect(checked.value.recordHash).toBe(receipt.recordHash);
    // after a fail-over the output is not compared (the peer made only part of it)
    const { output: _, ...partial } = expectBob;
    expect(checkRelayedReceipt(receipt, partial).ok).toBe(true);
  });

  test("a receipt of another node, model, prompt or output is refused with the reason", () => {
    const cases: [Partial<typeof expectBob>, string][] = [
      [{ peer: alice.nodeId }, "the receipt is signed by another node than the one that answered"],
      [{ model: "other" }, "the receipt names another model"],
      [
        { input: { kind: "text", prompt: "Hi" } } as never,
        "the receipt's prompt hash is not the request's",
      ],
      [{ output: "Hello!" }, "the receipt's output hash is not the answer's"],
    ];
    for (const [change, error] of cases) {
      expect(checkRelayedReceipt(receipt, { ...expectBob, ...change })).toEqual({
        ok: false,
        error,
      });
    }
  });

  test("a tampered or malformed receipt is refused, never thrown", () => {
    const forged = structuredClone(receipt);
    forged.record.record.completionTokens += 1000;
    expect(checkRelayedReceipt(forged, expectBob)).toEqual({
      ok: false,
      error: "the record hash does not match the record",
    });
    expect(checkRelayedReceipt("junk", expectBob).ok).toBe(false);
    expect(checkRelayedReceipt(null, expectBob).ok).toBe(false);
  });

  test("a version 2 receipt must name the seed, grammar, bias and settings the request asked", () => {
    const { receipt: v2 } = recorder.record({ ...input, result: { ...input.result, replay } });
    const asked = {
      seed: -1, // the low 32 bits are what the rng used: 0xffffffff
      grammar: replay.grammar,
      settings: {
        temperature: 0.9,
        topP: 0.95,
        topK: 999999, // clamped by a backend: not compared
        logitBias: replay.sampling.logitBias,
      },
    };
    expect(checkRelayedReceipt(v2, { ...expectBob, sampling: asked }).ok).toBe(true);
    const cases: [object, string][] = [
      [{ seed: 5 }, "another seed"],
      [{ grammar: "root ::= [a-z]" }, "another grammar"],
      [{ settings: { ...asked.settings, temperature: 0.8 } }, "another temperature"],
      [{ settings: { ...asked.settings, logitBias: new Map() } }, "another logit bias"],
    ];
    for (const [change, what] of cases) {
      expect(checkRelayedReceipt(v2, { ...expectBob, sampling: { ...asked, ...change } })).toEqual({
        ok: false,
        error: `the receipt's record names ${what} than the request`,
      });
    }
  });
});
