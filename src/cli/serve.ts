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
import type { InferenceInput, WorkFacts } from "../ledger/provenance.ts";
import { openServeProvenance } from "./_provenance.ts";

/** What the composition can plug into `aria serve` (the energy meter and consent engine). */
export interface ServeHooks {
  /** Energy and consent of each inference, for its ledger record (default: 0 mJ estimated). */
  describeWork?: (input: InferenceInput) => WorkFacts;
}
import { BUILTIN_MODEL_NAME, resolveModelPath } from "../model/builtin.ts";

async function createBackend(
  config: ServeConfig,
  nodeId: string,
  modelPath: string | undefined,
): Promise<CompletionBackend> {
  switch (config.backend) {
    case "simulation":
      return new SimulationBackend(nodeId);
    case "external":
      return new ExternalBackend({ upstream: config.upstream!, nodeId });
    case "native":
      return new NativeBackend({
        modelPath: modelPath ?? await resolveModelPath(config.model, config.dataDir),
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
 * @param hooks optional energy/consent source for the ledger records.
 * @returns the exit code (0 after a signal).
 * @throws {ConfigError} for a bad configuration; the backend's error when the model cannot load.
 */
export async function runServe(
  cmd: ServeCommand,
  print: (line: string) => void,
  hooks: ServeHooks = {},
): Promise<number> {
  const config = loadServeConfig(cmd.flags);
  const clock = { nowMs: () => Date.now() };
  // Provenance only for the native backend: the external backend's work is done by its
  // upstream and the simulation's is canned text; recording either as this node's useful work
  // would be false.
  const modelPath = config.backend === "native"
    ? await resolveModelPath(config.model, config.dataDir)
    : undefined;
  const ledger = modelPath === undefined ? undefined : openServeProvenance(
    config.dataDir,
    modelPath,
    { clock, ...(hooks.describeWork ? { describeWork: hooks.describeWork } : {}) },
  );
  const nodeId = ledger?.identity.nodeId ?? `node-${crypto.randomUUID().slice(0, 8)}`;
  const backend = await createBackend(config, nodeId, modelPath);
  const app = createApp({
    backend,
    clock,
    ...(ledger ? { provenance: ledger.sink } : {}),
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
      ledger?.close();
      throw err;
    }
  }
  if (backend instanceof ExternalBackend) await backend.ready;
  const url = `http://${
    config.host.includes(":") ? `[${config.host}]` : config.host
  }:${server.port}`;
  print(`ARIA listening on ${url} (backend ${backend.kind}, node ${nodeId})`);
  if (ledger) {
    print(`ARIA ledger at height ${ledger.store.head().height}: every answer carries a receipt`);
  }
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
  ledger?.close(); // seals pending records into a last block
  return 0;
}
