/**
 * @module PipelineBackend: the OpenAI-facing backend over pipeline stages gives the same greedy
 * text as the native backend, reports the stages in `servedBy`, refuses requests beyond
 * `parallel`, and closes the stages' sessions when the client goes away.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type {
  CompletionBackend,
  CompletionRequest,
  CompletionResult,
} from "../../src/contract/index.ts";
import { NativeBackend } from "../../src/serve/native-backend.ts";
import { PipelineBackend } from "../../src/serve/pipeline-backend.ts";
import { CapacityError } from "../../src/shared/errors.ts";
import {
  closeStages,
  openStages,
  TEST_MODEL_HASH,
  testNetwork,
  type TestStage,
} from "../helpers/pipeline.ts";

const NANO = join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf");
let stages: TestStage[];

beforeAll(async () => {
  stages = await openStages(NANO, [{ nodeId: "a", begin: 0, end: 2 }, {
    nodeId: "b",
    begin: 2,
    end: -1,
  }]);
});

afterAll(() => closeStages(stages));

const REQUEST: CompletionRequest = {
  id: "cmpl-1",
  model: "aria-nano",
  input: { kind: "chat", messages: [{ role: "user", content: "Tell me about robots." }] },
  maxTokens: 20,
  sampling: { temperature: 0 },
  seed: 1,
  stop: [],
};

async function collect(backend: CompletionBackend, request: CompletionRequest) {
  const gen = backend.complete(request, new AbortController().signal);
  let text = "";
  const servedBy: (readonly string[] | undefined)[] = [];
  for (let r = await gen.next();; r = await gen.next()) {
    if (r.done) return { text: text + r.value.tail, result: r.value as CompletionResult, servedBy };
    text += r.value.text;
    servedBy.push(r.value.servedBy);
  }
}

function backend(parallel = 2): PipelineBackend {
  return new PipelineBackend({
    modelPath: NANO,
    modelHash: TEST_MODEL_HASH,
    modelId: "aria-nano",
    nodeId: "coordinator",
    network: testNetwork(stages),
    parallel,
  });
}

describe("PipelineBackend", () => {
  test("complete() gives the native backend's greedy text and names the stages", async () => {
    const native = new NativeBackend({
      modelPath: NANO,
      outputHead: "float",
      nodeId: "local",
      threads: 1,
      parallel: 1,
      queue: 1,
      ctx: 256,
    });
    const want = await collect(native, REQUEST);
    await native.close();
    const got = await collect(backend(), REQUEST);
    expect(got.text).toBe(want.text);
    expect(got.text.length).toBeGreaterThan(0);
    // the native backend also reports its prompt-cache reuse; the pipeline keeps no cache
    const { cachedTokens: _, ...counts } = want.result.usage;
    expect(got.result.usage).toEqual(counts);
    expect(got.result.servedBy).toEqual(["coordinator", "a", "b"]);
    expect(got.servedBy[0]).toEqual(["coordinator", "a", "b"]);
    // the ledger's node map: the coordinator (no block: [n, n + 1)), then each stage's blocks
    const n = stages[1]!.stage.layerEnd;
    expect(got.result.layers).toEqual([
      { nodeId: "coordinator", layerStart: n, layerEnd: n + 1 },
      { nodeId: "a", layerStart: 0, layerEnd: 2 },
      { nodeId: "b", layerStart: 2, layerEnd: n },
    ]);
    expect(stages.map((s) => s.stage.sessionCount)).toEqual([0, 0]);
  });

  test("replay facts: none without the stages' numerics; with them, a native run's, also when continuing", async () => {
    expect((await collect(backend(), REQUEST)).result.replay).toBeUndefined();
    const native = new NativeBackend({
      modelPath: NANO,
      outputHead: "float",
      nodeId: "local",
      threads: 1,
      parallel: 1,
      queue: 1,
      ctx: 256,
    });
    const pipeline = new PipelineBackend({
      modelPath: NANO,
      modelHash: TEST_MODEL_HASH,
      modelId: "aria-nano",
      nodeId: "coordinator",
      network: testNetwork(stages, {}, { contract: 2, head: "float", kvType: "f32" }),
      parallel: 2,
    });
    const sampled: CompletionRequest = {
      ...REQUEST,
      sampling: { temperature: 0.9, topP: 0.95 },
      seed: 99,
    };
    const whole = await collect(native, sampled);
    // a fail-over continuation: the first 5 tokens came from another node
    const continued = { ...sampled, continueFrom: whole.result.replay!.outputIds.slice(0, 5) };
    try {
      for (const request of [sampled, continued]) {
        const want = await collect(native, request);
        const got = await collect(pipeline, request);
        expect(got.text).toBe(want.text);
        expect(got.result.replay).toEqual({ ...want.result.replay!, contract: 2 });
      }
      expect((await collect(pipeline, continued)).result.replay!.continued).toBe(5);
    } finally {
      await native.close();
    }
  });

  test("complete() beyond parallel is a CapacityError", async () => {
    const b = backend(1);
    const first = b.complete(REQUEST, new AbortController().signal);
    await first.next();
    await expect(b.complete(REQUEST, new AbortController().signal).next()).rejects.toBeInstanceOf(
      CapacityError,
    );
    await first.return(undefined as never);
    expect(b.stats().activeSequences).toBe(0);
  });

  test("complete() without a route over every block is a CapacityError naming the gap", async () => {
    const b = new PipelineBackend({
      modelPath: NANO,
      modelHash: TEST_MODEL_HASH,
      modelId: "aria-nano",
      nodeId: "coordinator",
      network: testNetwork(stages.slice(0, 1)), // blocks 0-2 only
      parallel: 1,
    });
    const err = await b.complete(REQUEST, new AbortController().signal).next().catch((e) => e);
    expect(err).toBeInstanceOf(CapacityError);
    expect(String(err.message)).toStartWith('Cannot serve "aria-nano" through a pipeline: ');
    expect(b.stats().activeSequences).toBe(0);
  });

  test("an aborted request stops and closes its sessions on the stages", async () => {
    const controller = new AbortController();
    const gen = backend().complete(REQUEST, controller.signal);
    await gen.next();
    expect(stages.map((s) => s.stage.sessionCount)).toEqual([1, 1]);
    controller.abort(new Error("client gone"));
    await expect(gen.next()).rejects.toThrow("client gone");
    expect(stages.map((s) => s.stage.sessionCount)).toEqual([0, 0]);
  });
});
