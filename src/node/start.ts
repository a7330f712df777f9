/**
 * @module The one place a node is assembled [S]: `startNode(config)` runs the steps in order —
 * identity, consent, model and ledger, backend, peers (and the pipeline roles), HTTP — and puts
 * everything each step starts on ONE disposal stack (`AsyncDisposableStack`, Bun 1.4). The
 * handle it returns is async-disposable: disposing it runs the stack in reverse, which is the
 * shutdown order (stop accepting, stop the peer network, close the backend so in-flight
 * streams end, close the last connections, stop the policy watcher, seal and close the ledger).
 * A step that fails disposes what the earlier steps started and rethrows.
 *
 * Two roles: the API node (the OpenAI API, the dashboard, optionally peers and a pipeline
 * coordinator with --pipeline) and the pipeline stage (--layers, src/node/stage-role.ts).
 * It never waits for a signal or exits: src/cli/serve.ts does.
 */
import type { ServeConfig } from "../config/index.ts";
import {
  type ConsentPolicy,
  loadOrCreatePolicy,
  PolicyGate,
  policySummary,
  summaryRefusal,
} from "../consent/index.ts";
import { DEFAULT_RELAY_POLICY, type RelayPolicy } from "../p2p/index.ts";
import type { CompletionBackend } from "../contract/index.ts";
import { loadOrCreateIdentity, type NodeIdentity } from "../identity/index.ts";
import type { InferenceInput, WorkFacts } from "../ledger/index.ts";
import { BUILTIN_MODEL_NAME, resolveModelPath } from "../model/index.ts";
import { ExternalBackend, NativeBackend } from "../serve/index.ts";
import { type Clock, systemClock } from "../shared/clock.ts";
import { ConsentBusyError, ConsentDeniedError } from "../shared/errors.ts";
import { type Log, logJson } from "../shared/log.ts";
import { answerProvenance } from "./answer-provenance.ts";
import { createBackend, resolveServedModel } from "./backend.ts";
import { createNodeApp, HttpListener, httpUrl } from "./http.ts";
import { openLedgers } from "./ledgers.ts";
import { meterConsent } from "./metering.ts";
import { type PeerNetwork, startPeerNetwork } from "./peers.ts";
import { createCoordinator } from "./pipeline-roles.ts";
import { recordPolicyInLedger } from "./policy-ledger.ts";
import { logPolicyChange, watchPolicy } from "./policy-watch.ts";
import { startStageRole } from "./stage-role.ts";

/** What a caller can plug into a node besides its configuration. */
export interface StartOptions {
  /** Receives the status lines ("ARIA listening on …"). */
  print: (line: string) => void;
  /** The JSON log (default: one line per entry on stderr). */
  log?: Log;
  /** The clock (default: the system clock). */
  clock?: Clock;
  /** Energy and consent of each inference, for its ledger record (default: the energy meter's
   * figure for the request and the hash of the consent policy that admitted it; tests: a fixed
   * energy figure). */
  describeWork?: (input: InferenceInput) => WorkFacts;
}

/** A running node. Dispose it (`await using`) to shut it down. */
export interface RunningNode extends AsyncDisposable {
  /** "api": the OpenAI API and the dashboard; "stage": a pipeline stage's blocks. */
  readonly role: "api" | "stage";
  readonly nodeId: string;
  /** The HTTP URL: the API's base (without /v1), or the stage endpoint. */
  readonly url: string;
}

/** What every step after the first two gets. */
interface NodeBase {
  config: ServeConfig;
  identity: NodeIdentity;
  gate: PolicyGate;
  policyHash: string;
  /** When the policy in force took effect, if it was written at this start. */
  changedAtMs: number | undefined;
  clock: Clock;
  log: Log;
  print: (line: string) => void;
}

/**
 * Starts a node: every step, on one disposal stack.
 *
 * @param config the validated configuration (src/config/load.ts).
 * @param options status lines, log, clock, the ledger's work facts.
 * @returns the running node; dispose it to stop it.
 * @throws {ConfigError} for a bad configuration; {ConsentDeniedError} when the owner's policy
 *   refuses what the configuration asks (a stage, a model over max-memory); the backend's error
 *   when the model cannot load; {AriaError} P2P_LISTEN when the peer port cannot be bound. What
 *   was started is stopped first.
 */
export async function startNode(
  config: ServeConfig,
  options: Readonly<StartOptions>,
): Promise<RunningNode> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? logJson;
  const stack = new AsyncDisposableStack();
  try {
    const base = openIdentityAndConsent(config, { clock, log, print: options.print });
    const nodeId = base.identity.nodeId;
    let role: RunningNode["role"];
    let url: string;
    if (config.layers !== undefined) {
      // A pipeline stage: the owner must allow stages (consent pipelineStages).
      if (!base.gate.policy.pipelineStages) {
        throw new ConsentDeniedError(
          "Cannot serve a pipeline stage: the consent policy does not allow pipeline stages; allow them with: aria consent set pipeline-stages yes",
        );
      }
      role = "stage";
      url = await startStageRole(config, base, stack);
    } else {
      role = "api";
      url = await startApiRole(base, options.describeWork, stack);
    }
    const owned = stack.move();
    return { role, nodeId, url, [Symbol.asyncDispose]: () => owned.disposeAsync() };
  } catch (err: unknown) {
    // converted: everything started is stopped, then the error goes on to the caller
    await stack.disposeAsync().catch((cleanup: unknown) => {
      log({ level: "error", msg: "node start clean-up failed", error: String(cleanup) });
    });
    throw err;
  }
}

/**
 * Steps 1 and 2: the node's key pair (made at first start) and its consent policy (written at
 * first start, refused if the file is broken), with the gate every request passes.
 */
function openIdentityAndConsent(
  config: ServeConfig,
  io: Readonly<{ clock: Clock; log: Log; print: (line: string) => void }>,
): NodeBase {
  const identity = loadOrCreateIdentity(config.dataDir);
  const consent = loadOrCreatePolicy(config.dataDir, identity, io.clock.nowMs());
  if (consent.changed) logPolicyChange(consent.changed, io.log);
  const gate = new PolicyGate(consent.signed.policy, io.clock);
  return {
    config,
    identity,
    gate,
    policyHash: consent.signed.policyHash,
    changedAtMs: consent.changed?.atMs,
    ...io,
  };
}

/**
 * The API node: metering, model and ledgers, the policy watcher, the backend (or a pipeline
 * coordinator), the peer network when asked for, then HTTP; waits for the model to load.
 *
 * @returns the API's base URL.
 */
async function startApiRole(
  base: NodeBase,
  describeWork: StartOptions["describeWork"],
  stack: AsyncDisposableStack,
): Promise<string> {
  const { config, identity, gate, clock, log, print } = base;
  const nodeId = identity.nodeId;
  const metering = meterConsent(gate, { clock, log, tdpWatts: config.tdpWatts });
  const { ledgerModelPath, modelPath } = await resolveServedModel(config, gate.policy);
  const ledgers = openLedgers(config, ledgerModelPath, {
    identity,
    clock,
    describeWork: describeWork ?? ((input) => metering.workFacts(input.request.id)),
  }, stack);
  const ledger = ledgers.provenance;
  // At start: the policy in force is recorded unless the ledger's newest change already names
  // it (a change made while no server ran, by hand or by a first run, is caught here).
  recordPolicyInLedger(ledgers.policy, base.policyHash, base.changedAtMs ?? clock.nowMs(), log);
  stack.defer(watchPolicy(
    config.dataDir,
    identity,
    gate,
    log,
    (hash) => recordPolicyInLedger(ledgers.policy, hash, clock.nowMs(), log),
  ));
  // before the backend: the last connections are closed after it has ended their streams
  const http = new HttpListener(stack);
  // the pipeline coordinator: stages found on the peer network (src/node/pipeline-roles.ts)
  const coordinator = config.pipeline === true
    ? await createCoordinator(config, {
      nodeId,
      modelPath: ledgerModelPath ?? await resolveModelPath(config.model, config.dataDir),
      ...(ledger ? { sha256: ledger.modelSha256 } : {}),
      log,
    })
    : undefined;
  const local = coordinator?.backend ??
    await createBackend(config, nodeId, gate.policy, modelPath);
  stack.defer(() => local.close());
  // the peer network starts only when asked for (--p2p-port / --peers): src/node/peers.ts
  const p2p = config.p2pPort !== undefined || config.peers !== undefined ||
      config.relay === true || config.lanDiscovery === true
    ? await startPeers(base, local, {
      modelPath,
      coordinator,
      knownSha256: coordinator?.sha256 ?? ledger?.modelSha256,
      metered: metering.gate,
      ledgers,
    })
    : null;
  if (p2p) stack.defer(() => p2p.stop()); // before the ledger closes: the header exchange uses it
  const backend = p2p?.backend ?? local;
  // The receipts of the API and the playground: this node's own work from its ledger, a peer's
  // work with the receipt that peer signed (checked). Without a ledger or a peer network there
  // is nothing to give.
  const provenance = ledger || p2p
    ? answerProvenance({ nodeId, ...(ledger ? { local: ledger.sink } : {}), log })
    : undefined;
  const app = createNodeApp({
    config,
    backend,
    identity,
    clock,
    log,
    gate,
    consent: metering.gate,
    provenance,
    // the state is read on each request (a getter, not a copy)
    peers: p2p
      ? {
        get state() {
          return p2p.node.state;
        },
        network: () => p2p.network(),
      }
      : undefined,
    auditor: p2p?.auditor,
    ledger: ledger?.store,
    modelPath,
    onPolicyChange: (event) => {
      logPolicyChange(event, log);
      recordPolicyInLedger(ledgers.policy, event.newHash, event.atMs, log);
    },
  });
  if (p2p) app.route("/", p2p.route);
  const port = http.listen(stack, {
    port: config.port,
    hostname: config.host,
    fetch: (req) => app.fetch(req),
  });
  if (local instanceof NativeBackend) {
    print(`ARIA loading ${config.model ?? `${BUILTIN_MODEL_NAME} (built-in)`}`);
    await local.ready; // a load failure stops what started (startNode) and is reported
  }
  if (local instanceof ExternalBackend) await local.ready;
  const url = httpUrl(config.host, port);
  printBanner(base, { url, backend, p2p, ledgerHeight: ledger?.store.head().height, metering });
  return url;
}

/** The peers step of the API node. */
async function startPeers(
  base: NodeBase,
  local: CompletionBackend,
  parts: Readonly<{
    modelPath: string | undefined;
    coordinator: Awaited<ReturnType<typeof createCoordinator>> | undefined;
    knownSha256: string | undefined;
    metered: ReturnType<typeof meterConsent>["gate"];
    ledgers: ReturnType<typeof openLedgers>;
  }>,
): Promise<PeerNetwork> {
  const { config, identity, gate, clock } = base;
  const ledger = parts.ledgers.provenance;
  return await startPeerNetwork(config, identity, local, parts.modelPath ?? null, {
    ...(parts.coordinator ? { extension: parts.coordinator.wire } : {}),
    // the file is hashed once: by the coordinator, or by the ledger when it opened
    ...(parts.knownSha256 !== undefined ? { sha256: parts.knownSha256 } : {}),
    // a peer's request is checked against the owner's policy when it arrives (servePeers,
    // models, schedule, quota, concurrency) and holds its admission until it ends, so it
    // counts against concurrency and the daily quota, and its energy is measured for the
    // record this node makes of it
    consent: (_peer, body, requestId) => {
      try {
        const ticket = parts.metered.admit({
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
    ledger: parts.ledgers.policy,
    // an audit re-executes a peer's answer: work for the network, admitted like a peer's request
    // (servePeers, schedule, quota, concurrency), so the owner's policy bounds it too
    admitAudit: (request) =>
      parts.metered.admit({
        model: request.model,
        kind: "peer-request",
        fromPeer: true,
        requestId: request.id,
      }),
    // --relay: the owner's relay-limits (consent policy), or relay.ts's defaults
    ...(config.relay === true ? { relayPolicy: relayPolicyOf(gate.policy.relay) } : {}),
  });
}

/** The relay role's limits from the consent policy's relay-limits (absent: the defaults). */
function relayPolicyOf(limits: ConsentPolicy["relay"]): RelayPolicy {
  if (limits === undefined) return { ...DEFAULT_RELAY_POLICY, enabled: true };
  return {
    ...DEFAULT_RELAY_POLICY,
    enabled: true,
    maxReservations: limits.maxReservations,
    maxCircuitsPerNode: limits.maxCircuits,
    maxCircuitBytes: limits.maxCircuitBytes,
    maxCircuitMs: limits.maxCircuitSeconds * 1000,
    maxBytesPerSecond: limits.maxBytesPerSecond,
  };
}

/** The API node's status lines once it serves. */
function printBanner(
  base: NodeBase,
  s: Readonly<{
    url: string;
    backend: CompletionBackend;
    p2p: PeerNetwork | null;
    ledgerHeight: number | undefined;
    metering: ReturnType<typeof meterConsent>;
  }>,
): void {
  const { print } = base;
  const nodeId = base.identity.nodeId;
  if (s.p2p && s.p2p.url !== "") print(`ARIA peer node listening on ${s.p2p.url} (node ${nodeId})`);
  else if (s.p2p) print(`ARIA peer node not listening: dials out only (node ${nodeId})`);
  print(`ARIA listening on ${s.url} (backend ${s.backend.kind}, node ${nodeId})`);
  if (s.backend.kind === "simulation") {
    print("ARIA simulation backend: canned text, for protocol tests only");
  }
  print(`ARIA OpenAI API: ${s.url}/v1`);
  if (s.ledgerHeight !== undefined) {
    print(`ARIA ledger at height ${s.ledgerHeight}: every answer carries a receipt`);
  }
  print(`ARIA consent policy ${base.policyHash.slice(0, 16)} (aria consent show)`);
  const method = s.metering.meter.method;
  print(
    `ARIA energy: ${
      method === "rapl"
        ? "measured: rapl"
        : method === "cpu-time"
        ? "estimated: cpu-time × W/core"
        : "unavailable (no readable RAPL counters; set --tdp-watts for an estimate)"
    }`,
  );
  print(`ARIA dashboard: ${s.url}/`);
}
