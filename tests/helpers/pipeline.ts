/**
 * @module Test helpers for pipeline parallelism: stages of a model in this process, a
 * `StageNetwork` over them whose links can be made to fail (reject) or hang (never answer), and
 * the single-node reference generation to compare against.
 */
import { type NativeModel, openModel } from "../../src/engine/index.ts";
import { createGenerationEngine } from "../../src/engine/index.ts";
import {
  generate,
  type GenerateOptions,
  type GenerationEngine,
} from "../../src/generation/index.ts";
import { openGguf } from "../../src/model/open.ts";
import type { StageAdvert, StageNumerics } from "../../src/pipeline/pipeline-plan.ts";
import type { StageLink, StageNetwork } from "../../src/pipeline/pipeline.ts";
import { createInProcessLink, StageServer } from "../../src/pipeline/stage.ts";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";

/** Stand-in for the model file's SHA-256 (the tests use one file). */
export const TEST_MODEL_HASH = "5e".repeat(32);

/** How a test stage's link behaves. */
export type LinkMode = "ok" | "fail" | "hang";

/** A stage in this process with a switch on its link. */
export interface TestStage {
  nodeId: string;
  stage: StageServer;
  mode: LinkMode;
  /** Requests the link has received. */
  calls: number;
  /** Switches the mode when `calls` reaches this number (once). */
  failAfter?: { calls: number; mode: LinkMode };
}

/**
 * Opens stages of a model, one per [begin, end) range (end -1 = last block).
 *
 * @param path the model.
 * @param specs node ids and block ranges.
 * @returns the stages (close them with `closeStages`).
 */
export async function openStages(
  path: string,
  specs: readonly { nodeId: string; begin: number; end: number }[],
): Promise<TestStage[]> {
  const out: TestStage[] = [];
  for (const s of specs) {
    const stage = await StageServer.open(path, {
      layerBegin: s.begin,
      layerEnd: s.end,
      nThreads: 1,
      nCtx: 256,
      nSessions: 2,
    });
    out.push({ nodeId: s.nodeId, stage, mode: "ok", calls: 0 });
  }
  return out;
}

/** Closes every stage. */
export function closeStages(stages: readonly TestStage[]): void {
  for (const s of stages) s.stage.close();
}

/**
 * A network over test stages: adverts from what they loaded (speed 100 t/s unless given), links
 * that obey each stage's mode.
 */
export function testNetwork(
  stages: readonly TestStage[],
  speeds: Readonly<Record<string, number>> = {},
  numerics?: StageNumerics,
): StageNetwork {
  return {
    adverts(): StageAdvert[] {
      return stages.map((s) => ({
        ...(numerics ? { numerics } : {}),
        nodeId: s.nodeId,
        modelHash: TEST_MODEL_HASH,
        nLayer: s.stage.nLayer,
        layerBegin: s.stage.layerBegin,
        layerEnd: s.stage.layerEnd,
        load: 0,
        tokensPerSecond: speeds[s.nodeId] ?? 100,
        alive: true, // discovery has not noticed a failure yet: the coordinator must
      }));
    },
    link(nodeId: string): StageLink {
      const s = stages.find((x) => x.nodeId === nodeId);
      if (!s) throw new Error(`No test stage "${nodeId}"`);
      const inner = createInProcessLink(nodeId, s.stage);
      return {
        nodeId,
        request(frame: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
          s.calls++;
          if (s.failAfter && s.calls >= s.failAfter.calls) {
            s.mode = s.failAfter.mode;
            delete s.failAfter;
          }
          if (s.mode === "fail") return Promise.reject(new Error(`Connection to ${nodeId} lost`));
          if (s.mode === "hang") {
            return new Promise((_, reject) => {
              signal.addEventListener("abort", () => reject(signal.reason));
            });
          }
          return inner.request(frame, signal);
        },
      };
    },
  };
}

/** The model's tokenizer. */
export function tokenizerOf(path: string): Tokenizer {
  return createTokenizer(vocabSourceFromGguf(openGguf(path).file));
}

/**
 * Runs generate() to the end.
 *
 * @returns the generated ids.
 */
export async function generateIds(
  engine: GenerationEngine,
  tokenizer: Tokenizer,
  prompt: readonly number[],
  options: Readonly<GenerateOptions>,
): Promise<number[]> {
  const gen = generate({ engine, tokenizer }, prompt, options);
  for (let r = await gen.next();; r = await gen.next()) {
    if (r.done) return r.value.tokens;
  }
}

/**
 * Greedy (or seeded) generation on one node with the whole model: the reference.
 *
 * @returns the generated ids.
 */
export async function singleNodeIds(
  path: string,
  prompt: readonly number[],
  options: Readonly<GenerateOptions>,
): Promise<number[]> {
  using model: NativeModel = await openModel(path);
  using ctx = model.createContext({ nCtx: 256, nThreads: 1 });
  return await generateIds(createGenerationEngine(ctx), tokenizerOf(path), prompt, options);
}

/** A stage served by a child `aria serve --layers` process. */
export interface StageProcess {
  nodeId: string;
  url: string;
  process: ReturnType<typeof Bun.spawn>;
}

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/**
 * Spawns `bun src/main.ts serve --layers A-B --port 0` and waits for its "listening" line.
 *
 * @param path the model.
 * @param nodeId the id the route knows it by.
 * @param layers "A-B" or "A-end".
 * @param threads worker threads of the stage.
 * @returns the process and its base URL; kill it when done.
 */
export async function spawnStage(
  path: string,
  nodeId: string,
  layers: string,
  threads = 1,
): Promise<StageProcess> {
  const flags = ["--model", path, "--layers", layers, "--port", "0", "--threads", String(threads)];
  const proc = Bun.spawn(
    [process.execPath, MAIN, "serve", ...flags, "--output-head", "float", "--ctx", "256"],
    { stdout: "pipe", stderr: "pipe" },
  );
  const reader = proc.stdout.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      const err = await new Response(proc.stderr).text();
      throw new Error(`Stage ${nodeId} exited before listening: ${text}${err}`);
    }
    text += new TextDecoder().decode(value);
    const m = /listening on (http:\/\/[^/\s]+)\/stage/.exec(text);
    if (m) {
      reader.releaseLock();
      return { nodeId, url: m[1]!, process: proc };
    }
  }
}
