import { describe, expect, test } from "bun:test";
import type { CompletionResult, ProvenanceInput, ProvenanceSink } from "../contract/index.ts";
import { createProvenanceRecorder, type Hex32, type RecordHash } from "../ledger/index.ts";
import { fixedIdentity } from "../../tests/helpers/ledger.ts";
import { answerProvenance } from "./answer-provenance.ts";

const self = fixedIdentity(1);
const peer = fixedIdentity(2);
const request = {
  id: "chatcmpl-1",
  model: "m",
  input: { kind: "chat" as const, messages: [{ role: "user" as const, content: "Hi" }] },
  sampling: { temperature: 0 },
  stop: [],
};
const result = (over: Partial<CompletionResult>): CompletionResult => ({
  tail: "",
  finishReason: "stop",
  stopReason: "eog",
  usage: { promptTokens: 3, completionTokens: 2 },
  timings: { queueMs: 0, promptMs: 1, decodeMs: 2 },
  servedBy: [self.nodeId],
  ...over,
});
const peerReceipt = createProvenanceRecorder({
  identity: peer,
  writer: { append: () => ({ hash: "" as RecordHash }) },
  clock: { nowMs: () => 1_700_000_000_000 },
  modelSha256: "ab".repeat(32) as Hex32,
  nLayers: 4,
}).record({ request, result: result({}), output: "Hello" }).receipt;

function setup() {
  const recorded: ProvenanceInput[] = [];
  const local: ProvenanceSink = {
    record: (input) => (recorded.push(input), { recordHash: "own", receipt: { own: true } }),
  };
  const logged: Record<string, unknown>[] = [];
  const sink = answerProvenance({ nodeId: self.nodeId, local, log: (e) => logged.push(e) });
  return { sink, recorded, logged };
}

describe("answerProvenance", () => {
  test("this node's own work, alone or as a pipeline's coordinator, goes to its ledger", () => {
    const { sink, recorded } = setup();
    expect(sink.record({ request, result: result({}), output: "Hello" })?.recordHash).toBe("own");
    const layers = [{ nodeId: self.nodeId, layerStart: 4, layerEnd: 5 }];
    const piped = result({ servedBy: [self.nodeId, peer.nodeId], layers });
    expect(sink.record({ request, result: piped, output: "Hello" })?.recordHash).toBe("own");
    // peers failed and this node finished the answer: its own record
    const finished = result({ servedBy: [peer.nodeId, self.nodeId] });
    expect(sink.record({ request, result: finished, output: "Hello" })?.recordHash).toBe("own");
    expect(recorded).toHaveLength(3);
  });

  test("a peer's checked receipt is passed on and nothing is recorded here", () => {
    const { sink, recorded } = setup();
    const routed = result({
      servedBy: [peer.nodeId],
      relayed: { from: peer.nodeId, receipt: peerReceipt },
    });
    expect(sink.record({ request, result: routed, output: "Hello" })).toEqual({
      recordHash: peerReceipt.recordHash,
      receipt: peerReceipt,
    });
    expect(recorded).toHaveLength(0);
  });

  test("a peer's answer without a receipt that checks out gets none, and is never signed here", () => {
    const { sink, recorded, logged } = setup();
    const wrongOutput = result({
      servedBy: [peer.nodeId],
      relayed: { from: peer.nodeId, receipt: peerReceipt },
    });
    expect(sink.record({ request, result: wrongOutput, output: "Bye" })).toBeNull();
    expect(logged[0]).toMatchObject({
      msg: "peer receipt refused",
      error: "the receipt's output hash is not the answer's",
    });
    const noReceipt = result({ servedBy: [peer.nodeId] });
    expect(sink.record({ request, result: noReceipt, output: "Hello" })).toBeNull();
    expect(recorded).toHaveLength(0);
  });

  test("a node without a ledger passes peers' receipts and has none of its own", () => {
    const sink = answerProvenance({ nodeId: self.nodeId, log: () => {} });
    expect(sink.record({ request, result: result({}), output: "Hello" })).toBeNull();
    const routed = result({
      servedBy: [peer.nodeId],
      relayed: { from: peer.nodeId, receipt: peerReceipt },
    });
    expect(sink.record({ request, result: routed, output: "Hello" })?.recordHash)
      .toBe(peerReceipt.recordHash);
  });
});
