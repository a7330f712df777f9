/**
 * @module The backend step of a serving node [S]: which model file is served (checked against
 * the owner's max-memory before any weights are mapped or hashed) and the local backend that
 * serves it (native, external or simulation). Moved from src/cli/serve.ts unchanged.
 */
import { statSync } from "node:fs";
import type { ServeConfig } from "../config/index.ts";
import { type ConsentPolicy, engineThreads, modelMemoryDenial } from "../consent/index.ts";
import type { CompletionBackend } from "../contract/index.ts";
import { resolveModelPath } from "../model/index.ts";
import { setKernels } from "../engine/index.ts";
import { ExternalBackend, NativeBackend, SimulationBackend } from "../serve/index.ts";
import { ConsentDeniedError } from "../shared/errors.ts";
import { listOf } from "./peers.ts";
import { modelIdOf } from "./pipeline-roles.ts";

/** The model files a serving node uses. */
export interface ServedModel {
  /** The file the ledger names and hashes: the native backend's or the coordinator's model. */
  ledgerModelPath: string | undefined;
  /** The file whose weights this node loads (a coordinator loads none: its blocks run on stages). */
  modelPath: string | undefined;
}

/**
 * Resolves the served model files and refuses a model larger than the owner's max-memory.
 *
 * @throws {ConsentDeniedError} when the file is larger than the policy's max-memory.
 */
export async function resolveServedModel(
  config: ServeConfig,
  policy: ConsentPolicy,
): Promise<ServedModel> {
  // Provenance only for the native backend: the external backend's work is done by its
  // upstream and the simulation's is canned text; recording either as this node's useful work
  // would be false. A pipeline's coordinator records its pipelined answers (the stages it used
  // are named in each record with their blocks).
  const ledgerModelPath = config.backend === "native"
    ? await resolveModelPath(config.model, config.dataDir)
    : undefined;
  // a coordinator (--pipeline) reads the model's header only: its blocks run on the stages
  const modelPath = config.pipeline === true ? undefined : ledgerModelPath;
  if (modelPath !== undefined) {
    // Refused here, before any weights are mapped or hashed: the owner allowed less memory.
    const denial = modelMemoryDenial(policy, modelPath, statSync(modelPath).size);
    if (denial !== undefined) {
      throw new ConsentDeniedError(`${denial}; raise it with: aria consent set max-memory SIZE`);
    }
  }
  return { ledgerModelPath, modelPath };
}

/**
 * Builds the local backend named by --backend.
 *
 * @param modelPath the native backend's model, resolved by resolveServedModel.
 */
export async function createBackend(
  config: ServeConfig,
  nodeId: string,
  policy: ConsentPolicy,
  modelPath: string | undefined,
): Promise<CompletionBackend> {
  switch (config.backend) {
    case "simulation":
      return new SimulationBackend(nodeId);
    case "external":
      return new ExternalBackend({ upstream: config.upstream!, nodeId });
    case "native": {
      const path = modelPath ?? await resolveModelPath(config.model, config.dataDir);
      // process-wide; refused (ENGINE_UNSUPPORTED) when this CPU or build lacks the table
      if (config.kernels !== "auto") await setKernels(config.kernels);
      return new NativeBackend({
        modelPath: path,
        outputHead: config.outputHead,
        repack: config.repack,
        kvType: config.kvType,
        i2sLayout: config.i2sLayout,
        modelId: modelIdOf(config, path),
        aliases: listOf(config.aliases),
        nodeId,
        threads: engineThreads(policy, config.threads),
        ctx: config.ctx,
        parallel: config.parallel,
        queue: config.queue,
      });
    }
  }
}
