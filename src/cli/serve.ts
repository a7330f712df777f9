/**
 * @module `aria serve`, the composition root: loads the configuration (src/config) and the
 * node's consent policy (src/consent: refused at start if the file is broken; threads capped at
 * max-threads; a model larger than max-memory is not loaded; the policy file is re-read every few
 * seconds so `aria consent set` takes effect without a restart, except for threads), sets up the
 * energy meter (RAPL, else CPU time × W/core), builds the backend (native, external or simulation;
 * `--pipeline`: a coordinator whose blocks run on stages found on the peer network; `--layers`: a
 * pipeline stage, src/node/pipeline-roles.ts), the HTTP app with the consent gate, and calls
 * Bun.serve. Prints the URLs when ready. SIGINT / SIGTERM: stop accepting, cancel in-flight generations, close the backend,
 * exit 0.
 */
import type { CompletionBackend } from "../contract/index.ts";
import { hubSettings, loadServeConfig } from "../config/load.ts";
import type { ServeConfig } from "../config/schema.ts";
import { createApp, createMetrics } from "../api/index.ts";
import { createDashboard, embeddedAssets } from "../dashboard/index.ts";
import { ExternalBackend } from "../serve/external-backend.ts";
import { NativeBackend } from "../serve/native-backend.ts";
import { SimulationBackend } from "../serve/simulation-backend.ts";
import type { ServeCommand } from "./args.ts";
import type { InferenceInput, WorkFacts } from "../ledger/provenance.ts";
import { openServeProvenance } from "../node/provenance.ts";
import { answerProvenance } from "../node/answer-provenance.ts";
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
  policySummary,
  readPolicy,
  type RequestEnergy,
  resolvePowerProfile,
  SOURCE_RAPL,
  summaryRefusal,
  sysfsPowerSource,
  withEnergy,
} from "../consent/index.ts";
import { loadOrCreateIdentity, type NodeIdentity } from "../identity/index.ts";
import { ConsentBusyError, ConsentDeniedError } from "../shared/errors.ts";
import { ConfigError } from "../config/schema.ts";
import { parseLayerRange } from "./layers-args.ts";
import { createStageHandler, STAGE_PATH } from "../pipeline/index.ts";
import { type PeerNetwork, startPeerNetwork } from "../node/peers.ts";
import { dashboardPorts } from "../node/dashboard-ports.ts";
import {
  createCoordinator,
  modelIdOf,
  openStage,
  type StagePeer,
  startStagePeer,
} from "../node/pipeline-roles.ts";
import { recordConsentChange, recordPolicyInLedger } from "../node/policy-ledger.ts";
import { blockAttester } from "../node/block-energy.ts";
import { LEDGER_FILE, type LedgerStore, openLedger } from "../ledger/index.ts";
import { join } from "node:path";

/** What a caller can plug into `aria serve` (tests: a fixed energy figure). */
export interface ServeHooks {
  /** Energy and consent of each inference, for its ledger record (default: the energy meter's
   * figure for the request and the hash of the consent policy that admitted it). */
  describeWork?: (input: InferenceInput) => WorkFacts;
}

/**
 * The ledger facts of one finished request from what the metered consent gate saw (and forgets
 * it). RAPL is "measured"; the CPU-time estimate is "estimated"; when neither is available the
 * record says 0 mJ "estimated" (the ledger has no "unavailable"; the serve log says why).
 */
function workFacts(work: Map<string, RequestEnergy>, requestId: string): WorkFacts {
  const used = work.get(requestId);
  work.delete(requestId);
  if (used === undefined) return { energyMj: 0, energySource: "estimated" };
  const mj = used.energy.mj ?? 0;
  return {
    energyMj: Math.max(0, Math.round(mj)),
    energySource: used.energy.source === SOURCE_RAPL ? "measured" : "estimated",
    consentHash: used.policyHash,
  };
}

/** Most finished requests whose energy waits for its ledger record. Why 1024: far more than
 * can finish between a generator's end and its receipt, even with many slots. */
const MAX_PENDING_WORK = 1024;

/** How often the policy file is checked for changes. Why 5 s: a changed policy applies within
 * seconds, and one stat per 5 s costs nothing. */
const POLICY_POLL_MS = 5000;

async function createBackend(
  config: ServeConfig,
  nodeId: string,
  policy: ConsentPolicy,
  modelPath: string | undefined,
): Promise<CompletionBackend> {
  // modelPath: resolved by runServe for the native backend (checked against max-memory there)
  switch (config.backend) {
    case "simulation":
      return new SimulationBackend(nodeId);
    case "external":
      return new ExternalBackend({ upstream: config.upstream!, nodeId });
    case "native": {
      return new NativeBackend({
        modelPath: modelPath ?? await resolveModelPath(config.model, config.dataDir),
        outputHead: config.outputHead,
        repack: config.repack,
        kvType: config.kvType,
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
  onChange: (policyHash: string) => void,
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
      onChange(signed.policyHash);
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
 * Logs a "policy changed" event (first run: the default policy was written). The ledger record
 * of the change is made by `recordPolicyInLedger` (src/node/policy-ledger.ts).
 */
function logPolicyChange(
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
  const log = (entry: Record<string, unknown>) => console.error(JSON.stringify(entry));
  const clock = { nowMs: () => Date.now() };
  const identity = loadOrCreateIdentity(config.dataDir);
  // The node id is the identity's public key: x-aria-served-by names the node that signs.
  const nodeId = identity.nodeId;
  const consent = loadOrCreatePolicy(config.dataDir, identity, clock.nowMs());
  if (consent.changed) logPolicyChange(consent.changed, log);
  const gate = new PolicyGate(consent.signed.policy, clock);
  if (config.layers !== undefined) {
    // A pipeline stage: the owner must allow stages (consent pipelineStages).
    if (!consent.signed.policy.pipelineStages) {
      throw new ConsentDeniedError(
        "Cannot serve a pipeline stage: the consent policy does not allow pipeline stages; allow them with: aria consent set pipeline-stages yes",
      );
    }
    return await serveStage(config, { identity, gate, log }, print);
  }
  const power = sysfsPowerSource();
  const meter = new EnergyMeter(
    power,
    clock,
    resolvePowerProfile(power, availableParallelism(), config.tdpWatts),
  );
  // Energy per request, measured from admission to release. It is known when the generator
  // ends, just before the API asks the ledger for the receipt, so it waits here for its record.
  // Bounded: requests that end without a record (other backends, failures) are dropped oldest
  // first instead of accumulating.
  const work = new Map<string, RequestEnergy>();
  const meteredGate = withEnergy(gate, meter, (used) => {
    // a request without an id gets no ledger record, so its energy is only logged
    if (used.request.requestId !== undefined) work.set(used.request.requestId, used);
    if (work.size > MAX_PENDING_WORK) work.delete(work.keys().next().value!);
    log({
      level: "info",
      msg: "request energy",
      requestId: used.request.requestId,
      model: used.request.model,
      policyHash: used.policyHash,
      tokens: used.tokens,
      ...used.energy,
    });
  });
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
    const denial = modelMemoryDenial(consent.signed.policy, modelPath, statSync(modelPath).size);
    if (denial !== undefined) {
      throw new ConsentDeniedError(`${denial}; raise it with: aria consent set max-memory SIZE`);
    }
  }
  const ledger = ledgerModelPath === undefined ? undefined : openServeProvenance(
    config.dataDir,
    ledgerModelPath,
    {
      clock,
      identity,
      describeWork: hooks.describeWork ?? ((input) => workFacts(work, input.request.id)),
      // Proof of Sobriety: each sealed block carries its signed energy attestation
      attestBlock: blockAttester(identity, config.energyBaseline),
    },
  );
  // Policy changes go into the ledger whatever the backend: consent is about the node, not its
  // engine. With the native backend this is the provenance ledger's own store.
  let policyLedger: LedgerStore;
  try {
    policyLedger = ledger?.store ??
      openLedger(join(config.dataDir, LEDGER_FILE), { identity, clock });
  } catch (err: unknown) {
    ledger?.close(); // converted: reported by main.ts; nothing is left open
    throw err;
  }
  const closePolicyLedger = () => {
    if (!ledger) policyLedger.close();
  };
  // At start: the policy in force is recorded unless the ledger's newest change already names
  // it (a change made while no server ran, by hand or by a first run, is caught here).
  recordPolicyInLedger(
    policyLedger,
    consent.signed.policyHash,
    consent.changed?.atMs ?? clock.nowMs(),
    log,
  );
  const stopWatching = watchPolicy(
    config.dataDir,
    identity,
    gate,
    log,
    (hash) => recordPolicyInLedger(policyLedger, hash, clock.nowMs(), log),
  );
  let local: CompletionBackend;
  // the peer network starts only when asked for (--p2p-port / --peers): src/node/peers.ts
  let p2p: PeerNetwork | null = null;
  try {
    // the pipeline coordinator: stages found on the peer network (src/node/pipeline-roles.ts)
    const coordinator = config.pipeline === true
      ? await createCoordinator(config, {
        nodeId,
        modelPath: ledgerModelPath ?? await resolveModelPath(config.model, config.dataDir),
        ...(ledger ? { sha256: ledger.modelSha256 } : {}),
        log,
      })
      : undefined;
    local = coordinator?.backend ??
      await createBackend(config, nodeId, consent.signed.policy, modelPath);
    if (config.p2pPort !== undefined || config.peers !== undefined) {
      const knownSha256 = coordinator?.sha256 ?? ledger?.modelSha256;
      p2p = await startPeerNetwork(config, identity, local, modelPath ?? null, {
        ...(coordinator ? { extension: coordinator.wire } : {}),
        // the file is hashed once: by the coordinator, or by the ledger when it opened
        ...(knownSha256 !== undefined ? { sha256: knownSha256 } : {}),
        // a peer's request is checked against the owner's policy when it arrives (servePeers,
        // models, schedule, quota, concurrency) and holds its admission until it ends, so it
        // counts against concurrency and the daily quota, and its energy is measured for the
        // record this node makes of it
        consent: (_peer, body, requestId) => {
          try {
            const ticket = meteredGate.admit({
              model: body.model,
              kind: "peer-request",
              fromPeer: true,
              requestId,
            });
            return { allow: true, ticket };
          } catch (err: unknown) {
            // converted: the refusal goes back to the peer as BUSY or CONSENT_DENIED
            return {
              allow: false,
              code: err instanceof ConsentBusyError ? "BUSY" : "CONSENT_DENIED",
              reason: err instanceof Error ? err.message : String(err),
            };
          }
        },
        consentSummary: () => ({ ...policySummary(gate.policy) }),
        // the router does not send a request to a peer whose advertised policy refuses it
        refuses: (summary, model) => summaryRefusal(summary, model, clock.nowMs()),
        // this node's work for a peer is recorded in its ledger; the receipt goes back to it
        ...(ledger
          ? {
            provenance: (request, result, output) =>
              // null: nothing was recorded (the sink says why in the log); no receipt is sent
              ledger.sink.record({ request, result, output })?.receipt,
          }
          : {}),
        // block headers are exchanged with peers and each peer's verified chain kept here
        ledger: policyLedger,
      });
    }
  } catch (err: unknown) {
    stopWatching(); // converted: reported by main.ts; nothing is left running
    ledger?.close();
    closePolicyLedger();
    throw err;
  }
  const backend = p2p?.backend ?? local;
  // The receipts of the API and the playground: this node's own work from its ledger, a peer's
  // work with the receipt that peer signed (checked). Without a ledger or a peer network there
  // is nothing to give.
  const provenance = ledger || p2p
    ? answerProvenance({ nodeId, ...(ledger ? { local: ledger.sink } : {}), log })
    : undefined;
  const metrics = createMetrics(); // shared: the dashboard's overview reads the API's counters
  const newId = () => crypto.randomUUID();
  // The dashboard's pages over the running modules (src/node/dashboard-ports.ts): peers only
  // with the peer network, ledger and energy only with the ledger (native backend); its
  // playground chats pass the same consent gate and are recorded in the same ledger as the API's.
  const dashboard = createDashboard({
    backend,
    nodeId,
    assets: embeddedAssets(),
    metrics,
    newId,
    ports: dashboardPorts({
      clock,
      ...(p2p ? { peers: p2p.node } : {}),
      ...(ledger ? { ledger: ledger.store } : {}),
      consent: {
        dataDir: config.dataDir,
        identity,
        clock,
        gate,
        // a dashboard edit is logged and recorded in the ledger at once, at the time it took
        // effect (the file watcher would see it only on its next poll, and merge quick edits)
        onChange: (event) => {
          logPolicyChange(event, log);
          recordPolicyInLedger(policyLedger, event.newHash, event.atMs, log);
        },
      },
      models: { dataDir: config.dataDir, hub: hubSettings(), servedPath: modelPath ?? null },
    }),
    consent: meteredGate,
    ...(provenance ? { provenance } : {}),
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
  });
  const app = createApp({
    backend,
    clock,
    metrics,
    dashboard,
    ...(provenance ? { provenance } : {}),
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
    newId,
    log,
    consent: meteredGate,
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
      stopWatching();
      await server.stop(true);
      await p2p?.stop(); // before the ledger closes: the header exchange uses it
      ledger?.close();
      closePolicyLedger();
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
  if (ledger) {
    print(`ARIA ledger at height ${ledger.store.head().height}: every answer carries a receipt`);
  }
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
  print(`ARIA dashboard: ${url}/`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  print("ARIA shutting down");
  stopWatching();
  const stopping = server.stop(); // stop accepting; in-flight streams end when the backend closes
  await p2p?.stop();
  await backend.close();
  await server.stop(true);
  await stopping;
  ledger?.close(); // seals pending records into a last block (policy changes alone: none)
  closePolicyLedger();
  return 0;
}

/**
 * `aria serve --layers A-B`: the pipeline-stage role. Loads only those blocks. With --p2p-port /
 * --peers it joins the peer network, advertises its blocks and answers tensor frames from
 * authenticated peers, each session admitted by the consent gate (src/node/pipeline-roles.ts).
 * POST /stage answers the same frames on 127.0.0.1 only, whatever --host says: it has no
 * authentication (src/pipeline/stage-http.ts). The OpenAI API is not served: a partial model cannot
 * complete a prompt on its own. Runs until SIGINT / SIGTERM.
 *
 * @returns the exit code (0 after a signal).
 * @throws {ConfigError} for a bad range or a backend other than native.
 * @throws {EngineError} when the model or the range cannot be loaded.
 */
async function serveStage(
  config: ServeConfig,
  node: Readonly<{
    identity: NodeIdentity;
    gate: PolicyGate;
    log: (entry: Record<string, unknown>) => void;
  }>,
  print: (line: string) => void,
): Promise<number> {
  const range = parseLayerRange(config.layers!);
  if (config.backend !== "native") {
    throw new ConfigError(
      `Cannot use --layers with --backend ${config.backend}: stages run the native engine`,
    );
  }
  const { identity, gate, log } = node;
  const nodeId = identity.nodeId;
  const modelPath = await resolveModelPath(config.model, config.dataDir);
  const threads = engineThreads(gate.policy, config.threads);
  const stage = await openStage(config, { modelPath, range, threads });
  const modelId = modelIdOf(config, modelPath);
  // a stage keeps no provenance ledger open: each change is recorded in the node's ledger file
  // by opening it for that one record (as `aria consent set` does)
  const stopWatching = watchPolicy(config.dataDir, identity, gate, log, (policyHash) => {
    recordConsentChange(config.dataDir, { newHash: policyHash, atMs: Date.now() }, log);
  });
  let peer: StagePeer | null = null;
  try {
    if (config.p2pPort !== undefined || config.peers !== undefined) {
      peer = await startStagePeer(config, identity, stage, {
        modelPath,
        modelId,
        admit: () => gate.admit({ model: modelId, kind: "pipeline-stage", fromPeer: true }),
        consentSummary: () => ({ ...policySummary(gate.policy) }),
      });
    }
  } catch (err: unknown) {
    stopWatching(); // converted: reported by main.ts; nothing is left running
    stage.close();
    throw err;
  }
  // loopback only: POST /stage has no authentication (peers use the p2p port)
  const server = Bun.serve({
    port: config.port,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch: createStageHandler(stage, nodeId),
  });
  if (peer) print(`ARIA peer node listening on ${peer.url} (node ${nodeId})`);
  print(
    `ARIA stage listening on http://127.0.0.1:${server.port}${STAGE_PATH} (blocks ${stage.layerBegin}-${stage.layerEnd} of ${stage.nLayer}, node ${nodeId})`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  print("ARIA shutting down");
  stopWatching();
  await peer?.stop();
  await server.stop(true);
  stage.close();
  return 0;
}
