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
import { loadOrCreateIdentity } from "../identity/index.ts";
import { type PeerNetwork, startPeerNetwork } from "./p2p-serve.ts";

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

/** The model file to hash for adverts (native backend only). */
async function modelPathOf(config: ServeConfig): Promise<string | null> {
  return config.backend === "native" ? await resolveModelPath(config.model, config.dataDir) : null;
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
  const identity = loadOrCreateIdentity(config.dataDir);
  const nodeId = identity.nodeId;
  const local = await createBackend(config, nodeId);
  // the peer network starts only when asked for (--p2p-port / --peers): src/cli/p2p-serve.ts
  let p2p: PeerNetwork | null = null;
  if (config.p2pPort !== undefined || config.peers !== undefined) {
    p2p = await startPeerNetwork(config, identity, local, await modelPathOf(config));
  }
  const backend = p2p?.backend ?? local;
  const app = createApp({
    backend,
    clock: { nowMs: () => Date.now() },
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
    newId: () => crypto.randomUUID(),
    log: (entry) => console.error(JSON.stringify(entry)),
  });
  if (p2p) app.route("/", p2p.route);
  const server = Bun.serve({
    port: config.port,
    hostname: config.host,
    idleTimeout: 0,
    fetch: (req) => app.fetch(req),
  });
  if (local instanceof NativeBackend) {
    print(`ARIA loading ${config.model ?? `${BUILTIN_MODEL_NAME} (built-in)`}`);
    try {
      await local.ready;
    } catch (err: unknown) {
      // converted: stop listening, then report the load failure to main.ts
      await server.stop(true);
      await p2p?.stop();
      throw err;
    }
  }
  if (local instanceof ExternalBackend) await local.ready;
  const url = `http://${
    config.host.includes(":") ? `[${config.host}]` : config.host
  }:${server.port}`;
  if (p2p) print(`ARIA peer node listening on ${p2p.url} (node ${nodeId})`);
  print(`ARIA listening on ${url} (backend ${backend.kind}, node ${nodeId})`);
  if (backend.kind === "simulation") {
    print("ARIA simulation backend: canned text, for protocol tests only");
  }
  print(`ARIA OpenAI API: ${url}/v1`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  print("ARIA shutting down");
  const stopping = server.stop(); // stop accepting; in-flight streams end when the backend closes
  await p2p?.stop();
  await backend.close();
  await server.stop(true);
  await stopping;
  return 0;
}
