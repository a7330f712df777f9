/**
 * @module Pipeline stages in child processes (`aria serve --layers`, HTTP links on loopback,
 * port 0): a 3-stage pipeline equals single-node greedy output, and `kill -9` of the middle stage
 * mid-generation with a replica present gives the identical output.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createPipelineEngine, type PipelineEvent } from "../../src/pipeline/pipeline.ts";
import type { StageAdvert } from "../../src/pipeline/pipeline-plan.ts";
import { createHttpStageLink } from "../../src/pipeline/stage-http.ts";
import {
  generateIds,
  singleNodeIds,
  spawnStage,
  type StageProcess,
  TEST_MODEL_HASH,
  tokenizerOf,
} from "../helpers/pipeline.ts";

const NANO = join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf");
const RANGES: Record<string, [number, number]> = { a: [0, 2], b: [2, 4], b2: [2, 4], c: [4, 6] };
let procs: StageProcess[] = [];

beforeAll(async () => {
  procs = await Promise.all([
    spawnStage(NANO, "a", "0-2"),
    spawnStage(NANO, "b", "2-4"),
    spawnStage(NANO, "b2", "2-4"),
    spawnStage(NANO, "c", "4-end"),
  ]);
});

afterAll(() => {
  for (const p of procs) p.process.kill(9);
});

function network(killBAtCall?: number) {
  let bCalls = 0;
  return {
    adverts: (): StageAdvert[] =>
      procs.map((p) => ({
        nodeId: p.nodeId,
        modelHash: TEST_MODEL_HASH,
        nLayer: 6,
        layerBegin: RANGES[p.nodeId]![0],
        layerEnd: RANGES[p.nodeId]![1],
        load: 0,
        tokensPerSecond: p.nodeId === "b2" ? 50 : 100,
        alive: true,
      })),
    link: (nodeId: string) => {
      const p = procs.find((x) => x.nodeId === nodeId)!;
      const http = createHttpStageLink(nodeId, p.url);
      return {
        nodeId,
        async request(frame: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
          if (nodeId === "b" && ++bCalls === killBAtCall) {
            p.process.kill(9);
            await p.process.exited;
          }
          return await http.request(frame, signal);
        },
      };
    },
  };
}

describe("pipeline over child processes", () => {
  test("3 stage processes give single-node greedy output; kill -9 of one fails over identically", async () => {
    const tokenizer = tokenizerOf(NANO);
    const prompt = tokenizer.encode("Once upon a time there was a little robot who", {
      addBos: true,
    });
    const want = await singleNodeIds(NANO, prompt, { maxTokens: 24 });
    const options = { modelHash: TEST_MODEL_HASH, nLayer: 6, nCtx: 256, timeoutMs: 10_000 };

    const plain = createPipelineEngine(network(), options);
    expect(await generateIds(plain, tokenizer, prompt, { maxTokens: 24 })).toEqual(want);
    expect(plain.route?.stages.map((s) => s.nodeId)).toEqual(["a", "b", "c"]);
    await plain.close();

    const events: PipelineEvent[] = [];
    const killed = createPipelineEngine(network(10), {
      ...options,
      onEvent: (e) => events.push(e),
    });
    expect(await generateIds(killed, tokenizer, prompt, { maxTokens: 24 })).toEqual(want);
    expect(killed.route?.stages.map((s) => s.nodeId)).toEqual(["a", "b2", "c"]);
    expect(events.filter((e) => e.kind === "failover")).toMatchObject([{ nodeId: "b" }]);
    await killed.close();
  });
});
