/**
 * @module Shell: the two pipeline roles of `aria serve` on the peer network.
 *
 * - Stage (`--layers A-B` with `--p2p-port` / `--peers`): a node that advertises the model
 *   file's SHA-256, its block count and its block range, and answers tensor frames from
 *   authenticated peers through `StageWire` (src/pipeline/stage-p2p.ts); every new session passes the
 *   consent gate (kind "pipeline-stage", fromPeer true).
 * - Coordinator (`--pipeline`): a `PipelineBackend` (src/serve/pipeline-backend.ts) whose network
 *   is the node's `StageWire`: routes come from the stage adverts it has received (planRoute),
 *   are rebuilt around a stage that dies, and are bounded by PIPELINE_MAX_HOPS.
 *
 * serve.ts composes these with the HTTP server.
 */
import { existsSync } from "node:fs";
import { basename } from "node:path";
import type { ServeConfig } from "../config/index.ts";
import type { NodeIdentity } from "../identity/index.ts";
import { BUILTIN_MODEL_NAME, findModel } from "../model/index.ts";
import { numericsContract } from "../engine/index.ts";
import { type Advert, P2PNode } from "../p2p/index.ts";
import {
  type LayerRange,
  MAX_STAGE_TENSOR_BYTES,
  type StageAdmit,
  stageAdvertModel,
  StageServer,
  StageWire,
} from "../pipeline/index.ts";
import { PipelineBackend } from "../serve/index.ts";
import { listenForPeers, nodeBase, sha256File } from "./peers.ts";

/** Planning interval of a stage node (ms); also how often idle sessions are swept. */
const TICK_MS = 1000;
/** Most stages in a coordinator's route. Why 8: each hop is a round trip per token; beyond 8
 * the network time dominates on the CPUs ARIA runs on (pipeline-plan's cap is 16). */
export const PIPELINE_MAX_HOPS = 8;
/** How long a coordinator waits for one stage's reply (ms). Why 10 s: a 64-token prompt chunk
 * through half of a 2B model takes well under a second on a laptop CPU; a silent stage should
 * be replaced long before a client gives up. */
export const PIPELINE_TIMEOUT_MS = 10_000;

/**
 * The id /v1/models and the consent policy know a model by.
 *
 * @param config the model flag.
 * @param modelPath the resolved file.
 * @returns "aria-nano" for the built-in model, else the file name without .gguf.
 */
export function modelIdOf(config: Pick<ServeConfig, "model">, modelPath: string): string {
  if (config.model === undefined || config.model === BUILTIN_MODEL_NAME) return BUILTIN_MODEL_NAME;
  // a registry name (`--model aria-2b-1bit`, not a file of that name) is what users ask for
  if (findModel(config.model) !== undefined && !existsSync(config.model)) return config.model;
  return basename(modelPath).replace(/\.gguf$/i, "");
}

/**
 * Opens a stage's blocks.
 *
 * @param config context, sessions, output head.
 * @param options the model file, the blocks, worker threads.
 * @returns the stage; frames in and out are capped at what the peer network carries.
 * @throws {EngineError} when the model or the range cannot be loaded.
 */
export async function openStage(
  config: ServeConfig,
  options: Readonly<{ modelPath: string; range: LayerRange; threads: number | undefined }>,
): Promise<StageServer> {
  const { modelPath, range, threads } = options;
  const stage = await StageServer.open(modelPath, {
    layerBegin: range.begin,
    layerEnd: range.end,
    outputHead: config.outputHead,
    repack: config.repack,
    nSessions: config.parallel,
    maxFrameBytes: MAX_STAGE_TENSOR_BYTES,
    ...(config.ctx !== undefined ? { nCtx: config.ctx } : {}),
    ...(threads !== undefined ? { nThreads: threads } : {}),
  });
  if (stage.contextCapped !== undefined) {
    const { asked, used } = stage.contextCapped;
    console.error(JSON.stringify({
      level: "warn",
      msg: `--ctx ${asked} is above the model's context: capped to ${used}`,
    }));
  }
  return stage;
}

/** A stage node on the peer network. */
export interface StagePeer {
  url: string;
  wire: StageWire;
  stop(): Promise<void>;
}

/**
 * Starts the stage's node: advertises the model hash, block count and range, serves frames.
 *
 * @param config peer port, bootstrap peers, TLS, host.
 * @param identity the key pair.
 * @param stage the loaded blocks.
 * @param options model file and id, consent for each session, consent summary for adverts.
 * @returns the running node.
 * @throws {AriaError} P2P_LISTEN when the peer port cannot be bound.
 */
export async function startStagePeer(
  config: ServeConfig,
  identity: NodeIdentity,
  stage: StageServer,
  options: Readonly<{
    modelPath: string;
    modelId: string;
    admit: StageAdmit;
    consentSummary: () => Record<string, unknown>;
  }>,
): Promise<StagePeer> {
  let sha256 = "";
  // terminated: a file that cannot be hashed is advertised with "" (no coordinator will use it)
  sha256File(options.modelPath).then((h) => (sha256 = h)).catch(() => {});
  const base = nodeBase(config, identity);
  const wire = new StageWire({ stage, admit: options.admit, log: base.log });
  // how the blocks compute, so a coordinator can sign a re-executable record (issue 20)
  const numerics = {
    contract: await numericsContract(),
    head: stage.outputHead,
    kvType: stage.kvType,
  };
  const advert = (): Advert => ({
    models: [stageAdvertModel({
      modelId: options.modelId,
      sha256,
      nLayer: stage.nLayer,
      layerBegin: stage.layerBegin,
      layerEnd: stage.layerEnd,
      numerics,
    })],
    slots: stage.slotCount,
    freeSlots: Math.max(0, stage.slotCount - stage.sessionCount),
    // whole tokens/s: finer changes would re-announce the advert at every tick
    tokensPerSecond: Math.round(wire.tokensPerSecond),
    consent: options.consentSummary(),
    listen: null,
  });
  const node = new P2PNode({ ...base, advert });
  wire.attach(node);
  const url = await listenForPeers(node, config);
  const timer = setInterval(() => {
    node.tick();
    wire.sweep();
  }, TICK_MS);
  return {
    url: url ?? "",
    wire,
    async stop() {
      clearInterval(timer);
      await node.stop();
    },
  };
}

/**
 * The coordinator's backend and the extension its node needs.
 *
 * @param config context, parallel requests.
 * @param options this node's id (first in servedBy); the model file (its header: tokenizer,
 *   template, blocks; and its SHA-256); the log, which receives fail-over events.
 * @returns the backend, the StageWire to attach to the node, the file's hash.
 * @throws {GgufFormatError} when the file is not a GGUF with a block count.
 */
export async function createCoordinator(
  config: ServeConfig,
  options: Readonly<{
    nodeId: string;
    modelPath: string;
    /** The file's SHA-256 when already known (the ledger hashed it): not hashed again. */
    sha256?: string;
    log: (entry: Record<string, unknown>) => void;
  }>,
): Promise<{ backend: PipelineBackend; wire: StageWire; sha256: string }> {
  const { nodeId, modelPath, log } = options;
  const sha256 = options.sha256 ?? await sha256File(modelPath);
  const wire = new StageWire();
  const backend = new PipelineBackend({
    modelPath,
    modelHash: sha256,
    modelId: modelIdOf(config, modelPath),
    nodeId,
    network: wire.network(),
    ctx: config.ctx,
    parallel: config.parallel,
    pipeline: {
      maxHops: PIPELINE_MAX_HOPS,
      timeoutMs: PIPELINE_TIMEOUT_MS,
      // fail-overs are invisible to clients, so the log is where an owner sees a flaky stage
      onEvent: (e) => {
        if (e.kind === "failover") log({ level: "warn", msg: "pipeline fail-over", ...e });
      },
    },
  });
  return { backend, wire, sha256 };
}
