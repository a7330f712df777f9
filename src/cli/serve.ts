/**
 * @module `aria serve`, the composition root: loads the configuration (src/config), builds the
 * backend (native, external or simulation), the HTTP app, and calls Bun.serve. Prints the URLs
 * when ready. SIGINT / SIGTERM: stop accepting, cancel in-flight generations, close the backend,
 * exit 0.
 */
import type { CompletionBackend } from "../api/port.ts";
import { loadServeConfig } from "../config/load.ts";
import type { ServeConfig } from "../config/schema.ts";
import { createApp } from "../api/index.ts";
import { ExternalBackend } from "../serve/external-backend.ts";
import { NativeBackend } from "../serve/native-backend.ts";
import { SimulationBackend } from "../serve/simulation-backend.ts";
import type { ServeCommand } from "./args.ts";
import { BUILTIN_MODEL_NAME, resolveModelPath } from "../model/builtin.ts";
import { ConfigError } from "../config/schema.ts";
import { parseLayerRange } from "./layers-args.ts";
import { createStageHandler, STAGE_PATH, StageServer } from "../p2p/index.ts";

async function createBackend(config: ServeConfig, nodeId: string): Promise<CompletionBackend> {
  switch (config.backend) {
    case "simulation":
      return new SimulationBackend(nodeId);
    case "external":
      return new ExternalBackend({ upstream: config.upstream!, nodeId });
    case "native":
      return new NativeBackend({
        modelPath: await resolveModelPath(config.model, config.dataDir),
        outputInt8: config.outputHead === "int8",
        modelId: config.model === undefined || config.model === BUILTIN_MODEL_NAME
          ? BUILTIN_MODEL_NAME
          : undefined,
        nodeId,
        threads: config.threads,
        ctx: config.ctx,
        parallel: config.parallel,
        queue: config.queue,
      });
  }
}

/**
 * Runs the server until SIGINT or SIGTERM.
 *
 * @param cmd the flags.
 * @param print receives the status lines.
 * @returns the exit code (0 after a signal).
 * @throws {ConfigError} for a bad configuration; the backend's error when the model cannot load.
 */
export async function runServe(cmd: ServeCommand, print: (line: string) => void): Promise<number> {
  const config = loadServeConfig(cmd.flags);
  const nodeId = `node-${crypto.randomUUID().slice(0, 8)}`;
  if (config.layers !== undefined) return await serveStage(config, nodeId, print);
  const backend = await createBackend(config, nodeId);
  const app = createApp({
    backend,
    clock: { nowMs: () => Date.now() },
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
    newId: () => crypto.randomUUID(),
    log: (entry) => console.error(JSON.stringify(entry)),
  });
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    idleTimeout: 0,
    fetch: (req) => app.fetch(req),
  });
  if (backend instanceof NativeBackend) {
    print(`ARIA loading ${config.model ?? `${BUILTIN_MODEL_NAME} (built-in)`}`);
    try {
      await backend.ready;
    } catch (err: unknown) {
      // converted: stop listening, then report the load failure to main.ts
      await server.stop(true);
      throw err;
    }
  }
  if (backend instanceof ExternalBackend) await backend.ready;
  const url = `http://${
    config.host.includes(":") ? `[${config.host}]` : config.host
  }:${server.port}`;
  print(`ARIA listening on ${url} (backend ${backend.kind}, node ${nodeId})`);
  if (backend.kind === "simulation") {
    print("ARIA simulation backend: canned text, for protocol tests only");
  }
  print(`ARIA OpenAI API: ${url}/v1`);
  print(
    `ARIA peer port ${config.p2pPort}: not listening yet (the peer network comes in a later version)`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  print("ARIA shutting down");
  const stopping = server.stop(); // stop accepting; in-flight streams end when the backend closes
  await backend.close();
  await server.stop(true);
  await stopping;
  return 0;
}

/**
 * `aria serve --layers A-B`: the pipeline-stage role. Loads only those blocks and answers tensor
 * frames on POST /stage (src/p2p/stage-http.ts) until SIGINT / SIGTERM. The OpenAI API is not
 * served: a partial model cannot complete a prompt on its own. The p2p node will carry the same
 * frames over its WebSocket (binary messages) and advertise the range; see docs/pipeline.md.
 *
 * @returns the exit code (0 after a signal).
 * @throws {ConfigError} for a bad range or a backend other than native.
 * @throws {EngineError} when the model or the range cannot be loaded.
 */
async function serveStage(
  config: ServeConfig,
  nodeId: string,
  print: (line: string) => void,
): Promise<number> {
  const range = parseLayerRange(config.layers!);
  if (config.backend !== "native") {
    throw new ConfigError(
      `Cannot use --layers with --backend ${config.backend}: stages run the native engine`,
    );
  }
  const stage = await StageServer.open(await resolveModelPath(config.model, config.dataDir), {
    layerBegin: range.begin,
    layerEnd: range.end,
    outputInt8: config.outputHead === "int8",
    nSessions: config.parallel,
    ...(config.ctx !== undefined ? { nCtx: config.ctx } : {}),
    ...(config.threads !== undefined ? { nThreads: config.threads } : {}),
  });
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    idleTimeout: 0,
    fetch: createStageHandler(stage, nodeId),
  });
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  print(
    `ARIA stage listening on http://${host}:${server.port}${STAGE_PATH} (blocks ${stage.layerBegin}-${stage.layerEnd} of ${stage.nLayer}, node ${nodeId})`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  print("ARIA shutting down");
  await server.stop(true);
  stage.close();
  return 0;
}
