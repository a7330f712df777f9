import { describe, expect, test } from "bun:test";
import { fixedIdentity } from "../../tests/helpers/ledger.ts";
import type { Hex32, RecordHash } from "./entry.ts";
import { buildRecord, createProvenanceRecorder } from "./provenance.ts";
import { buildReceipt, verifyReceipt } from "./receipt.ts";
import { compareReplay, parseReplayRequest, planReplay, type ReplayRequest } from "./replay.ts";
import { signRecord } from "./sign.ts";

const alice = fixedIdentity(1);
const messages = [{ role: "user", content: "Hi" }];
const replay = {
  contract: 2,
  sampler: 1,
  head: "int8" as const,
  kvType: "f32" as const,
  sampling: {
    temperature: 0.9,
    topK: 0,
    topP: 0.95,
    minP: 0.05,
    repeatPenalty: 1.1,
    repeatLastN: -1,
    frequencyPenalty: 0,
    presencePenalty: 0,
    logitBias: new Map([[5, -100]]),
  },
  grammar: 'root ::= "x"',
  seed: 77,
  promptIds: [1, 2, 3],
  continued: 0,
  outputIds: [10, 11, 12, 13],
};
const base = {
  identity: alice,
  clock: { nowMs: () => 1_700_000_000_000 },
  modelSha256: "ab".repeat(32) as Hex32,
  nLayers: 4,
};

function receiptOf(r: typeof replay = replay, withIds = true) {
  const input = {
    request: { id: "chatcmpl-1", model: "aria-nano", input: { kind: "chat" as const, messages } },
    result: {
      usage: { promptTokens: 3, completionTokens: 4 },
      timings: { queueMs: 0, promptMs: 1, decodeMs: 2 },
      replay: r,
    },
    output: "xyz",
  };
  const signed = signRecord(buildRecord(input, base), alice).signed;
  return JSON.parse(
    JSON.stringify(buildReceipt(signed, undefined, withIds ? r.outputIds : undefined)),
  );
}

const request: ReplayRequest = {
  input: { kind: "chat", messages },
  logitBias: new Map([[5, -100]]),
  grammar: 'root ::= "x"',
};

describe("parseReplayRequest()", () => {
  test("parseReplayRequest() reads messages, chat bodies, completion bodies and raw text", () => {
    expect(parseReplayRequest(JSON.stringify(messages))).toEqual({
      ok: true,
      value: { input: { kind: "chat", messages } },
    });
    const body = {
      model: "m",
      messages: [{
        role: "user",
        content: [{ type: "text", text: "H" }, { type: "text", text: "i" }],
      }],
      logit_bias: { "5": -100 },
      grammar: 'root ::= "x"',
    };
    expect(parseReplayRequest(JSON.stringify(body))).toEqual({ ok: true, value: request });
    expect(parseReplayRequest('{"prompt":"Once"}')).toEqual({
      ok: true,
      value: { input: { kind: "text", prompt: "Once" } },
    });
    expect(parseReplayRequest("Once upon")).toEqual({
      ok: true,
      value: { input: { kind: "text", prompt: "Once upon" } },
    });
  });
  test("parseReplayRequest() names each bad shape", () => {
    const err = (t: string) => {
      const r = parseReplayRequest(t);
      return r.ok ? "" : r.error;
    };
    expect(err('{"model":"m"}')).toMatch(/without "messages"/);
    expect(err("[]")).toMatch(/no messages/);
    expect(err('[{"role":"wizard","content":"x"}]')).toMatch(/message 0 has no role/);
    expect(err('[{"role":"user","content":[{"type":"image_url"}]}]')).toMatch(/not text/);
    expect(err('{"messages":[],"logit_bias":[1]}')).toMatch(/logit_bias/);
    expect(err('{"messages":[],"logit_bias":{"-1":2}}')).toMatch(/logit_bias entry "-1"/);
    expect(err('{"messages":[],"grammar":5}')).toMatch(/grammar is not a string/);
  });
});

describe("planReplay()", () => {
  test("planReplay() turns a verified v2 receipt and its request into a plan", () => {
    const plan = planReplay(receiptOf(), request);
    if (!plan.ok) throw new Error(plan.error);
    expect(plan.value).toMatchObject({
      contract: 2,
      sampler: 1,
      head: "int8",
      kvType: "f32",
      seed: 77,
      grammar: 'root ::= "x"',
      promptIdCount: 3,
      outputIdCount: 4,
      outputIds: [10, 11, 12, 13],
    });
    expect(plan.value.sampling).toEqual(replay.sampling);
  });
  test("planReplay() keeps a lazy grammar's trigger (tool_choice auto), only with a grammar", () => {
    const lazy = planReplay(receiptOf(), { ...request, grammarTrigger: "<tool_call>" });
    if (!lazy.ok) throw new Error(lazy.error);
    expect(lazy.value.grammarTrigger).toBe("<tool_call>");
    const plain = planReplay(receiptOf(), request);
    if (!plain.ok) throw new Error(plain.error);
    expect(plain.value.grammarTrigger).toBeUndefined();
  });
  test("planReplay() refuses a forged receipt, a v1 record, another prompt, bias or grammar", () => {
    const err = (receipt: unknown, req: ReplayRequest) => {
      const r = planReplay(receipt, req);
      return r.ok ? "" : r.error;
    };
    const forged = receiptOf();
    forged.record.record.replay.seed = 78;
    expect(err(forged, request)).toMatch(/^the receipt does not verify: the record hash/);
    const v1Input = {
      request: { id: "chatcmpl-1", model: "aria-nano", input: { kind: "chat" as const, messages } },
      result: {
        usage: { promptTokens: 3, completionTokens: 4 },
        timings: { queueMs: 0, promptMs: 1, decodeMs: 2 },
      },
      output: "xyz",
    };
    const v1 = buildReceipt(signRecord(buildRecord(v1Input, base), alice).signed);
    expect(err(v1, request)).toMatch(/record is version 1: it names no replay facts/);
    const other = {
      ...request,
      input: { kind: "chat" as const, messages: [{ role: "user", content: "Hi!" }] },
    };
    expect(err(receiptOf(), other)).toMatch(/prompt is not the one/);
    expect(err(receiptOf(), { ...request, logitBias: new Map([[5, -99]]) })).toMatch(/logit_bias/);
    const { grammar: _, ...noGrammar } = request;
    expect(err(receiptOf(), noGrammar)).toMatch(/record names a grammar/);
    expect(err(receiptOf({ ...replay, continued: 1 }), request)).toMatch(
      /continued 1 tokens another node generated \(a fail-over\), and the receipt carries 0/,
    );
  });
});

describe("a record that continued another node's tokens (fail-over)", () => {
  // the node evaluated the prompt [1, 2, 3] and then [7, 8], which another node had generated
  const cont = { ...replay, promptIds: [1, 2, 3, 7, 8], continued: 2 };
  const recorded = () => {
    const input = {
      request: { id: "chatcmpl-1", model: "aria-nano", input: { kind: "chat" as const, messages } },
      result: {
        usage: { promptTokens: 5, completionTokens: 4 },
        timings: { queueMs: 0, promptMs: 1, decodeMs: 2 },
        replay: cont,
      },
      output: "xyz",
    };
    const writer = { append: () => ({ hash: "00".repeat(32) as unknown as RecordHash }) };
    const { receipt } = createProvenanceRecorder({ ...base, writer }).record(input);
    return JSON.parse(JSON.stringify(receipt));
  };
  test("its receipt carries the continued ids, and the replay evaluates prompt + them", () => {
    const receipt = recorded();
    expect(receipt.continuedIds).toEqual([7, 8]);
    expect(verifyReceipt(receipt).ok).toBe(true);
    const p = planReplay(receipt, request);
    if (!p.ok) throw new Error(p.error);
    expect(p.value.continuedIds).toEqual([7, 8]);
    expect(compareReplay(p.value, { promptIds: [1, 2, 3, 7, 8], outputIds: [10, 11, 12, 13] }))
      .toEqual({ kind: "reproduced", tokens: 4 });
    // other continued ids (the prompt's own ids alone, or changed ones) are not the record's
    for (const promptIds of [[1, 2, 3], [1, 2, 3, 7, 9]]) {
      expect(compareReplay(p.value, { promptIds, outputIds: [10, 11, 12, 13] }).kind)
        .toBe("prompt-differs");
    }
  });
  test("a receipt with another count of continued ids does not verify", () => {
    const receipt = recorded();
    for (const ids of [[7], [7, 8, 9]]) {
      const bad = { ...receipt, continuedIds: ids };
      expect(verifyReceipt(bad)).toEqual({
        ok: false,
        error: `the receipt carries ${ids.length} continued ids; the record continued 2`,
      });
    }
    const { continuedIds: _, ...without } = receipt;
    expect(planReplay(without, request).ok).toBe(false);
  });
});

describe("compareReplay()", () => {
  const plan = (withIds: boolean) => {
    const p = planReplay(receiptOf(replay, withIds), request);
    if (!p.ok) throw new Error(p.error);
    return p.value;
  };
  test("compareReplay() says reproduced for the same ids", () => {
    expect(compareReplay(plan(true), { promptIds: [1, 2, 3], outputIds: [10, 11, 12, 13] }))
      .toEqual({ kind: "reproduced", tokens: 4 });
  });
  test("compareReplay() names the first differing token with both ids, or a prompt mismatch", () => {
    expect(compareReplay(plan(true), { promptIds: [1, 2, 3], outputIds: [10, 11, 99, 13] }))
      .toEqual({ kind: "output-differs", index: 2, expected: 12, actual: 99 });
    expect(compareReplay(plan(true), { promptIds: [1, 2, 3], outputIds: [10, 11, 12] }))
      .toEqual({ kind: "output-differs", index: 3, expected: 13 });
    expect(compareReplay(plan(false), { promptIds: [1, 2, 3], outputIds: [10, 11, 99, 13] }))
      .toEqual({ kind: "output-differs" });
    expect(compareReplay(plan(true), { promptIds: [1, 2, 4], outputIds: [10, 11, 12, 13] }))
      .toEqual({ kind: "prompt-differs", expectedCount: 3, actualCount: 3 });
  });
});
