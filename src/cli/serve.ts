/**
 * @module `aria serve`, the composition root: loads the configuration (src/config) and the
 * node's consent policy (src/consent: refused at start if the file is broken; threads capped at
 * max-threads; a model larger than max-memory is not loaded; the policy file is re-read every few
 * seconds so `aria consent set` takes effect without a restart, except for threads), sets up the
 * energy meter (RAPL, else CPU time × W/core), builds the backend (native, external or simulation), the HTTP app with the consent gate, and calls
 * Bun.serve. Prints the URLs when ready. SIGINT / SIGTERM: stop accepting, cancel in-flight generations, close the backend,
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
import { statSync } from "node:fs";
import { availableParallelism } from "node:os";
import {
  consentPath,
  type ConsentPolicy,
  EnergyMeter,
  engineThreads,
  loadOrCreatePolicy,
  modelMemoryDenial,
  type PolicyChangedEvent,
  PolicyGate,
  readPolicy,
  resolvePowerProfile,
  sysfsPowerSource,
  withEnergy,
} from "../consent/index.ts";
import { loadOrCreateIdentity, type NodeIdentity } from "../identity/index.ts";
import { ConsentDeniedError } from "../shared/errors.ts";

/** How often the policy file is checked for changes. Why 5 s: a changed policy applies within
 * seconds, and one stat per 5 s costs nothing. */
const POLICY_POLL_MS = 5000;

async function createBackend(
  config: ServeConfig,
  nodeId: string,
  policy: ConsentPolicy,
): Promise<CompletionBackend> {
  switch (config.backend) {
    case "simulation":
      return new SimulationBackend(nodeId);
    case "external":
      return new ExternalBackend({ upstream: config.upstream!, nodeId });
    case "native": {
      const modelPath = await resolveModelPath(config.model, config.dataDir);
      // Refused here, before any weights are mapped: the owner allowed less memory than this.
      const denial = modelMemoryDenial(policy, modelPath, statSync(modelPath).size);
      if (denial !== undefined) {
        throw new ConsentDeniedError(`${denial}; raise it with: aria consent set max-memory SIZE`);
      }
      return new NativeBackend({
        modelPath,
        outputInt8: config.outputHead === "int8",
        modelId: config.model === undefined || config.model === BUILTIN_MODEL_NAME
          ? BUILTIN_MODEL_NAME
          : undefined,
        nodeId,
        threads: engineThreads(policy, config.threads),
        ctx: config.ctx,
        parallel: config.parallel,
        queue: config.queue,
      });
    }
  }
}

/**
 * Re-reads the policy file when it changes and swaps it into the gate. A file that became
 * invalid is logged and the policy in force is kept (handled here: serving never stops on it).
 */
function watchPolicy(
  dataDir: string,
  identity: NodeIdentity,
  gate: PolicyGate,
  log: (entry: Record<string, unknown>) => void,
): () => void {
  const path = consentPath(dataDir);
  let seen = statSync(path).mtimeMs;
  const timer = setInterval(() => {
    try {
      // A removed file reads as mtime 0: logged once, and the policy in force stays.
      const mtime = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (mtime === seen) return;
      seen = mtime;
      const signed = readPolicy(dataDir, identity);
      if (signed === undefined) {
        log({ level: "error", msg: "consent policy file removed; the policy in force stays" });
        return;
      }
      gate.setPolicy(signed.policy);
      log({ level: "info", msg: "consent policy reloaded", policyHash: signed.policyHash });
    } catch (err: unknown) {
      // Terminated: logged once per change of the file; the policy in force stays until the
      // file is fixed.
      log({ level: "error", msg: "consent policy not reloaded", error: String(err) });
    }
  }, POLICY_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Records a "policy changed" event. Until the ledger is wired in, the event goes to the log.
 */
function recordPolicyChange(
  event: PolicyChangedEvent,
  log: (entry: Record<string, unknown>) => void,
): void {
  log({ level: "info", msg: "consent policy changed", ...event });
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
  const log = (entry: Record<string, unknown>) => console.error(JSON.stringify(entry));
  const clock = { nowMs: () => Date.now() };
  const identity = loadOrCreateIdentity(config.dataDir);
  const consent = loadOrCreatePolicy(config.dataDir, identity, clock.nowMs());
  if (consent.changed) recordPolicyChange(consent.changed, log);
  const gate = new PolicyGate(consent.signed.policy, clock);
  const power = sysfsPowerSource();
  const meter = new EnergyMeter(
    power,
    clock,
    resolvePowerProfile(power, availableParallelism(), config.tdpWatts),
  );
  // Energy per request, measured from admission to release; logged until the ledger records it.
  const meteredGate = withEnergy(
    gate,
    meter,
    ({ request, policyHash, tokens, energy }) =>
      log({
        level: "info",
        msg: "request energy",
        requestId: request.requestId,
        model: request.model,
        policyHash,
        tokens,
        ...energy,
      }),
  );
  const stopWatching = watchPolicy(config.dataDir, identity, gate, log);
  let backend: CompletionBackend;
  try {
    backend = await createBackend(config, nodeId, consent.signed.policy);
  } catch (err: unknown) {
    stopWatching(); // converted: reported by main.ts; nothing is left running
    throw err;
  }
  const app = createApp({
    backend,
    clock,
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
    newId: () => crypto.randomUUID(),
    log,
    consent: meteredGate,
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
  print(`ARIA consent policy ${consent.signed.policyHash.slice(0, 16)} (aria consent show)`);
  print(
    `ARIA energy: ${
      meter.method === "rapl"
        ? "measured: rapl"
        : meter.method === "cpu-time"
        ? "estimated: cpu-time × W/core"
        : "unavailable (no readable RAPL counters; set --tdp-watts for an estimate)"
    }`,
  );
  print(
    `ARIA peer port ${config.p2pPort}: not listening yet (the peer network comes in a later version)`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  print("ARIA shutting down");
  stopWatching();
  const stopping = server.stop(); // stop accepting; in-flight streams end when the backend closes
  await backend.close();
  await server.stop(true);
  await stopping;
  return 0;
}
