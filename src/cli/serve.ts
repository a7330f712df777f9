/**
 * @module `aria serve`, the composition root: loads the configuration (src/config), builds the
 * backend (native, external or simulation), the HTTP app, and calls Bun.serve. Prints the URLs
 * when ready. SIGINT / SIGTERM: stop accepting, cancel in-flight generations, close the backend,
 * exit 0.
 */
import type { CompletionBackend } from "../api/port.ts";
import { loadServeConfig } from "../config/load.ts";
import type { ServeConfig } from "../config/schema.ts";
import { createApp, createMetrics } from "../api/index.ts";
import { createDashboard, embeddedAssets } from "../dashboard/index.ts";
import { ExternalBackend } from "../serve/external-backend.ts";
import { NativeBackend } from "../serve/native-backend.ts";
import { SimulationBackend } from "../serve/simulation-backend.ts";
import type { ServeCommand } from "./args.ts";
import { BUILTIN_MODEL_NAME, resolveModelPath } from "../model/builtin.ts";

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
  const backend = await createBackend(config, nodeId);
  const metrics = createMetrics(); // shared: the dashboard's overview reads the API's counters
  const newId = () => crypto.randomUUID();
  // The dashboard's other ports (peers, ledger, energy, consent, models) are wired here once
  // those modules exist; until then their pages say the feature is not available.
  const dashboard = createDashboard({
    backend,
    nodeId,
    assets: embeddedAssets(),
    metrics,
    newId,
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
  });
  const app = createApp({
    backend,
    clock: { nowMs: () => Date.now() },
    metrics,
    dashboard,
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
    newId,
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
  print(`ARIA dashboard: ${url}/`);
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
