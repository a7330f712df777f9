/**
 * @module Pipeline parallelism in one process, on the built-in aria-nano model (6 blocks): the
 * engine's stage calls compose to the whole model; a coordinator over 2 and 3 stages generates
 * the same tokens as one node; a stage that dies, hangs or loses its session mid-generation is
 * replaced by a replica (or replayed) and the output stays identical.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openModel } from "../../src/engine/index.ts";
import {
  createPipelineEngine,
  PipelineError,
  type PipelineEvent,
  type PipelineOptions,
} from "../../src/pipeline/pipeline.ts";
import type { StageAdvert } from "../../src/pipeline/pipeline-plan.ts";
import type { Tokenizer } from "../../src/tokenizer/index.ts";
import {
  closeStages,
  generateIds,
  openStages,
  singleNodeIds,
  TEST_MODEL_HASH,
  testNetwork,
  type TestStage,
  tokenizerOf,
} from "../helpers/pipeline.ts";

const NANO = join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf");
const N_LAYER = 6;
const MAX_TOKENS = 24;
let tokenizer: Tokenizer;
let prompt: number[];
let reference: number[];
const open: TestStage[][] = [];

beforeAll(async () => {
  tokenizer = tokenizerOf(NANO);
  prompt = tokenizer.encode("Once upon a time there was a little robot who", { addBos: true });
  reference = await singleNodeIds(NANO, prompt, { maxTokens: MAX_TOKENS });
});

afterAll(() => {
  for (const stages of open) closeStages(stages);
});

async function stages(specs: [string, number, number][]): Promise<TestStage[]> {
  const s = await openStages(NANO, specs.map(([nodeId, begin, end]) => ({ nodeId, begin, end })));
  open.push(s);
  return s;
}

function options(more: Partial<PipelineOptions> = {}): PipelineOptions {
  return { modelHash: TEST_MODEL_HASH, nLayer: N_LAYER, nCtx: 256, chunkTokens: 4, ...more };
}

describe("engine stage calls", () => {
  // exact equality on purpose: same kernels, same thread count, same order of sums — the
  // split only moves where the hidden state lives (STYLE.md B5: the determinism exception)
  test("embed(), evalLayers() and output() over 2 and 3 stages equal the whole model exactly", async () => {
    using whole = await openModel(NANO);
    using wctx = whole.createContext({ nCtx: 64, nThreads: 1 });
    wctx.decode(prompt);
    const want = [wctx.logits(0).slice()];
    wctx.decode([42]);
    want.push(wctx.logits(0).slice());
    expect(whole.info.nLayer).toBe(N_LAYER);
    for (const cuts of [[0, 3, 6], [0, 2, 4, 6], [0, 1, 6]]) {
      const models = [];
      for (let i = 0; i + 1 < cuts.length; i++) {
        models.push(await openModel(NANO, { layerBegin: cuts[i]!, layerEnd: cuts[i + 1]! }));
      }
      const ctxs = models.map((m) => m.createContext({ nCtx: 64, nThreads: 1 }));
      const n = whole.info.nEmbd;
      const run = (tokens: number[]) => {
        const h = new Float32Array(tokens.length * n);
        ctxs[0]!.embed(tokens, h);
        ctxs.forEach((c, i) => c.evalLayers(h, { begin: cuts[i]!, end: cuts[i + 1]! }));
        return ctxs.at(-1)!.output(h.subarray(h.length - n));
      };
      expect([run(prompt), run([42])]).toEqual(want);
      expect(models[0]!.info.nLayer).toBe(N_LAYER);
      for (const m of models) m.close();
    }
  });
});

describe("createPipelineEngine()", () => {
  test("the reference generation is long enough to compare", () => {
    expect(reference.length).toBeGreaterThanOrEqual(8);
  });

  test("greedy output through 2 stages equals one node token for token", async () => {
    const s = await stages([["a", 0, 3], ["b", 3, -1]]);
    const engine = createPipelineEngine(testNetwork(s), options());
    expect(await generateIds(engine, tokenizer, prompt, { maxTokens: MAX_TOKENS })).toEqual(
      reference,
    );
    expect(engine.route?.stages.map((x) => x.nodeId)).toEqual(["a", "b"]);
    await engine.close();
    expect(s.map((x) => x.stage.sessionCount)).toEqual([0, 0]);
  });

  test("greedy output through 3 stages equals one node token for token", async () => {
    const s = await stages([["a", 0, 2], ["b", 2, 4], ["c", 4, -1]]);
    const engine = createPipelineEngine(testNetwork(s), options({ chunkTokens: 64 }));
    expect(await generateIds(engine, tokenizer, prompt, { maxTokens: MAX_TOKENS })).toEqual(
      reference,
    );
    expect(engine.route?.stages.map((x) => `${x.layerBegin}-${x.layerEnd}`)).toEqual([
      "0-2",
      "2-4",
      "4-6",
    ]);
    await engine.close();
  });

  test("a stage killed mid-generation is replaced by its replica, output identical", async () => {
    const s = await stages([["a", 0, 2], ["b", 2, 4], ["b2", 2, 4], ["c", 4, -1]]);
    // b: prompt chunks (4 tokens each) then one call per token; dies at its 8th call
    s[1]!.failAfter = { calls: 8, mode: "fail" };
    const events: PipelineEvent[] = [];
    const engine = createPipelineEngine(
      testNetwork(s, { b2: 50 }),
      options({ onEvent: (e) => events.push(e) }),
    );
    expect(await generateIds(engine, tokenizer, prompt, { maxTokens: MAX_TOKENS })).toEqual(
      reference,
    );
    expect(engine.failovers).toBe(1);
    expect([...engine.excluded]).toEqual(["b"]);
    expect(engine.route?.stages.map((x) => x.nodeId)).toEqual(["a", "b2", "c"]);
    const failover = events.find((e) => e.kind === "failover");
    expect(failover).toMatchObject({ kind: "failover", nodeId: "b", code: "UNREACHABLE" });
    expect(failover?.kind === "failover" && failover.replayTokens).toBeGreaterThan(prompt.length);
    await engine.close();
  });

  test("a stage that stops answering times out and fails over, output identical", async () => {
    const s = await stages([["a", 0, 3], ["b", 3, -1], ["b2", 3, -1]]);
    s[1]!.failAfter = { calls: 10, mode: "hang" };
    const engine = createPipelineEngine(testNetwork(s, { b2: 50 }), options({ timeoutMs: 200 }));
    expect(await generateIds(engine, tokenizer, prompt, { maxTokens: MAX_TOKENS })).toEqual(
      reference,
    );
    expect([...engine.excluded]).toEqual(["b"]);
    await engine.close();
  });

  test("a first stage killed mid-generation fails over too, with seeded sampling identical", async () => {
    const sampled = { maxTokens: MAX_TOKENS, sampling: { temperature: 0.9, topK: 40 } };
    const want = await singleNodeIds(NANO, prompt, sampled);
    const s = await stages([["a", 0, 3], ["a2", 0, 3], ["b", 3, -1]]);
    s[0]!.failAfter = { calls: 12, mode: "fail" };
    const engine = createPipelineEngine(testNetwork(s, { a2: 50 }), options());
    expect(await generateIds(engine, tokenizer, prompt, sampled)).toEqual(want);
    expect(engine.route?.stages.map((x) => x.nodeId)).toEqual(["a2", "b"]);
    await engine.close();
  });

  test("a stage that lost the session (SESSION_GAP) is replayed, not excluded", async () => {
    const s = await stages([["a", 0, 3], ["b", 3, -1]]);
    const session = "0123456789abcdef0123456789abcdef";
    const engine = createPipelineEngine(testNetwork(s), options({ session }));
    let steps = 0;
    const watched = {
      nCtx: engine.nCtx,
      evalPrompt: (t: readonly number[]) => engine.evalPrompt(t),
      evalToken: (t: number) => {
        // stage b "restarts" after 5 generated tokens: it no longer holds the session
        if (++steps === 5) s[1]!.stage.closeSession(session);
        return engine.evalToken(t);
      },
    };
    expect(await generateIds(watched, tokenizer, prompt, { maxTokens: MAX_TOKENS })).toEqual(
      reference,
    );
    expect(engine.failovers).toBe(1);
    expect(engine.excluded.size).toBe(0);
    await engine.close();
  });

  test("a stage whose advert lies is excluded after its error frame, output identical", async () => {
    const s = await stages([["a", 0, 3], ["liar", 0, 3], ["b", 3, -1]]);
    const net = testNetwork(s);
    const events: PipelineEvent[] = [];
    const lying = {
      // "liar" holds blocks [0, 3) but claims [3, 6), faster than b: the planner prefers it
      adverts: () =>
        (net.adverts("") as StageAdvert[]).map((a) =>
          a.nodeId === "liar" ? { ...a, layerBegin: 3, layerEnd: 6, tokensPerSecond: 1000 } : a
        ),
      link: net.link,
    };
    const engine = createPipelineEngine(lying, options({ onEvent: (e) => events.push(e) }));
    expect(await generateIds(engine, tokenizer, prompt, { maxTokens: MAX_TOKENS })).toEqual(
      reference,
    );
    expect(events.filter((e) => e.kind === "failover")).toMatchObject([
      { nodeId: "liar", code: "WRONG_LAYERS", replayTokens: 0 },
    ]);
    expect(engine.route?.stages.map((x) => x.nodeId)).toEqual(["a", "b"]);
    await engine.close();
  });

  test("without a replica the failure is a PipelineError naming the gap", async () => {
    const s = await stages([["a", 0, 3], ["b", 3, -1]]);
    s[1]!.failAfter = { calls: 3, mode: "fail" };
    const engine = createPipelineEngine(testNetwork(s), options());
    let caught: unknown;
    try {
      await generateIds(engine, tokenizer, prompt, { maxTokens: MAX_TOKENS });
    } catch (err: unknown) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PipelineError);
    expect((caught as PipelineError).code).toBe("PIPELINE_FAILED");
    expect((caught as PipelineError).message).toContain("no live stage runs block 3");
    expect((caught as PipelineError).message).toContain("excluded after failures: b");
  });

  test("a route that cannot be planned fails before any stage is called", async () => {
    const s = await stages([["a", 0, 3]]);
    const engine = createPipelineEngine(testNetwork(s), options());
    await expect(engine.evalPrompt(prompt)).rejects.toThrow("no live stage runs block 3");
    expect(s[0]!.calls).toBe(0);
  });
});
