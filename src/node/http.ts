/**
 * @module The HTTP step of a serving node [S]: the dashboard and the OpenAI API over the running
 * modules (`createNodeApp`), and the listening socket (`HttpListener`). The listener takes two
 * places on the node's disposal stack so that shutdown keeps its order: stop accepting first,
 * then (after the peer network and the backend have stopped, which ends in-flight streams) close
 * the remaining connections. Moved from src/cli/serve.ts; `Bun.serve` for the API and the stage
 * is called here only.
 */
import { createApp, createMetrics } from "../api/index.ts";
import { hubSettings, type ServeConfig } from "../config/index.ts";
import type { PolicyChangedEvent, PolicyGate } from "../consent/index.ts";
import type { CompletionBackend, ConsentGate, ProvenanceSink } from "../contract/index.ts";
import { createDashboard, embeddedAssets } from "../dashboard/index.ts";
import type { NodeIdentity } from "../identity/index.ts";
import type { LedgerStore } from "../ledger/index.ts";
import type { Auditor, P2PNode } from "../p2p/index.ts";
import type { NetworkRow } from "../dashboard/index.ts";
import type { Clock } from "../shared/clock.ts";
import type { Log } from "../shared/log.ts";
import { hostname, networkInterfaces } from "node:os";
import { dashboardPorts } from "./dashboard-ports.ts";
import { listOf } from "./peers.ts";

/** What the API and the dashboard are built over. */
export interface NodeAppDeps {
  config: ServeConfig;
  backend: CompletionBackend;
  identity: NodeIdentity;
  clock: Clock;
  log: Log;
  /** The owner's policy (the dashboard's consent page edits it). */
  gate: PolicyGate;
  /** The metered consent gate every request passes. */
  consent: ConsentGate;
  provenance: ProvenanceSink | undefined;
  /** The peer network's node (peers page) and its network view, when it runs. */
  peers: { readonly state: P2PNode["state"]; network?: () => NetworkRow | null } | undefined;
  /** Audits of the peers' answers (peers page), when the peer network runs. */
  auditor: Auditor | undefined;
  /** The provenance ledger's store (ledger and energy pages), when it is open. */
  ledger: LedgerStore | undefined;
  /** The model file this node loads (the models page marks it served). */
  modelPath: string | undefined;
  /** A dashboard consent edit (logged and recorded in the ledger at once). */
  onPolicyChange: (event: PolicyChangedEvent) => void;
}

/**
 * The API with the dashboard mounted.
 *
 * @returns the hono app (no socket).
 */
export function createNodeApp(deps: Readonly<NodeAppDeps>): ReturnType<typeof createApp> {
  const { config, backend, clock, provenance } = deps;
  const metrics = createMetrics(); // shared: the dashboard's overview reads the API's counters
  const newId = () => crypto.randomUUID();
  // The dashboard's pages over the running modules (src/node/dashboard-ports.ts): peers only
  // with the peer network, ledger and energy only with the ledger (native backend); its
  // playground chats pass the same consent gate and are recorded in the same ledger as the API's.
  const dashboard = createDashboard({
    backend,
    nodeId: deps.identity.nodeId,
    // the same-origin token of the dashboard's actions (issue 19, hole 4), fresh per process
    csrfToken: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex"),
    assets: embeddedAssets(),
    metrics,
    newId,
    ports: dashboardPorts({
      clock,
      ...(deps.peers ? { peers: deps.peers } : {}),
      ...(deps.auditor ? { auditor: deps.auditor } : {}),
      ...(deps.ledger ? { ledger: deps.ledger } : {}),
      consent: {
        dataDir: config.dataDir,
        identity: deps.identity,
        clock,
        gate: deps.gate,
        // a dashboard edit is logged and recorded in the ledger at once, at the time it took
        // effect (the file watcher would see it only on its next poll, and merge quick edits)
        onChange: deps.onPolicyChange,
      },
      models: {
        dataDir: config.dataDir,
        hub: hubSettings(),
        servedPath: deps.modelPath ?? null,
      },
    }),
    consent: deps.consent,
    ...(provenance ? { provenance } : {}),
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
  });
  return createApp({
    backend,
    clock,
    metrics,
    dashboard,
    ...(provenance ? { provenance } : {}),
    ...(config.apiKey !== undefined ? { apiKey: config.apiKey } : {}),
    // DNS rebinding and cross-site pages (issue 19, hole 4): Host must be one of our names;
    // CORS only for the origins the owner lists
    allowedHosts: servedNames(config),
    corsOrigins: listOf(config.corsOrigins),
    newId,
    log: deps.log,
    consent: deps.consent,
  });
}

/**
 * The names the API and dashboard answer to besides loopback: --host (the machine's name and
 * addresses when it listens on all of them) and --allowed-host.
 *
 * @param config host and allowed hosts.
 * @returns lowercase names (IPv6 in brackets).
 */
export function servedNames(config: Pick<ServeConfig, "host" | "allowedHosts">): string[] {
  const v6 = (h: string) => (h.includes(":") && !h.startsWith("[") ? `[${h}]` : h);
  const names = [v6(config.host.toLowerCase()), ...listOf(config.allowedHosts)];
  if (config.host === "0.0.0.0" || config.host === "::") {
    names.push(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces())) {
      for (const i of list ?? []) names.push(v6(i.address.toLowerCase()));
    }
  }
  return names;
}

/** Where an HTTP server listens and what it answers. */
export interface ListenOptions {
  port: number;
  hostname: string;
  fetch: (req: Request) => Response | Promise<Response>;
}

/**
 * An HTTP server's two places on a disposal stack. Construct it before the parts whose closing
 * must come before the last connections are cut (the backend, the peer network); `listen` after
 * them.
 */
export class HttpListener {
  #server: ReturnType<typeof Bun.serve> | undefined;
  #stopping: Promise<void> | undefined;

  /** @param stack the node's stack: the final stop (close every connection) goes on it now. */
  constructor(stack: AsyncDisposableStack) {
    stack.defer(async () => {
      if (this.#server === undefined) return;
      await this.#server.stop(true);
      await this.#stopping;
    });
  }

  /**
   * Listens; "stop accepting" goes on the stack (first to run at shutdown).
   *
   * @returns the port it listens on.
   * @throws the listen error (port taken, address not available).
   */
  listen(stack: AsyncDisposableStack, options: Readonly<ListenOptions>): number {
    const server = Bun.serve({
      port: options.port,
      hostname: options.hostname,
      idleTimeout: 0,
      fetch: options.fetch,
    });
    this.#server = server;
    // stop accepting; in-flight streams end when the backend closes
    stack.defer(() => {
      this.#stopping = server.stop();
    });
    return server.port ?? options.port;
  }
}

/**
 * The URL of an HTTP server, with an IPv6 host in brackets.
 */
export function httpUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
