/**
 * @module `createDashboard(deps)`: the browser dashboard as a hono app, mounted at `/` by
 * `createApp` (src/api/app.ts). A GET of a page answers the whole document, or only the page's
 * live region when htmx asks (`HX-Request: true`, except history restores, which need the whole
 * page). Pages whose port is absent say the feature is not available. The chat playground
 * streams from the completion backend as server-sent events (`token` events with the text, one
 * `done` event with the usage and, when the node keeps a ledger, the provenance receipt, or one
 * `error` event), admitted by the consent gate when one is given. Non-GET routes refuse cross-site browser requests (CSRF). When the node has an API
 * key, every non-GET route requires it as a Bearer header
 * (pages themselves stay readable: they show no prompts or outputs). Static files come from the
 * injected asset source. Pure given the deps (no clock, no I/O of its own).
 */
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import {
  type CompletionBackend,
  type ConsentGate,
  constantTimeEqual,
  type Metrics,
  type ProvenanceSink,
} from "../api/index.ts";
import type { DashboardPorts, MaybePromise, NodeStatus } from "./port.ts";
import { csrfGuard } from "./_csrf.ts";
import { chatPage } from "./views/chat.ts";
import { consentPage, consentResult } from "./views/consent.ts";
import { energyLive, energyPage } from "./views/energy.ts";
import { unavailable } from "./views/layout.ts";
import { LEDGER_ROWS, ledgerLive, ledgerPage, verifyResult } from "./views/ledger.ts";
import { overviewLive, overviewPage } from "./views/overview.ts";
import { peersLive, peersPage } from "./views/peers.ts";
import { startChat } from "./_chat.ts";
import { formField, type Pages, pages, send } from "./_http.ts";
import { mountModels } from "./_models.ts";

export { wantsFragment } from "./_http.ts";

/** A static file. */
export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
}

/** Where static files come from (src/dashboard/assets.ts reads the embedded static/ folder). */
export interface AssetSource {
  /** @param name a file name such as "htmx.min.js"; undefined when there is no such file. */
  get(name: string): MaybePromise<Asset | undefined>;
}

/** What `createDashboard` needs. */
export interface DashboardDeps {
  backend: CompletionBackend;
  nodeId: string;
  assets: AssetSource;
  /** The API's counters: the overview reads them and the chat records into them. */
  metrics?: Metrics;
  ports?: DashboardPorts;
  /** When set, non-GET routes require `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /**
   * The same-origin token (`_csrf.ts`): when set, every non-GET route requires it and every page
   * carries it. `aria serve` always sets one (random per process).
   */
  csrfToken?: string;
  /** Id generator for chat requests and pulls (the shell passes a random one). */
  newId?: () => string;
  /** The node owner's consent gate: playground chats are admitted by it, as API requests are. */
  consent?: ConsentGate;
  /** The provenance ledger: each finished playground chat is recorded; `done` carries the receipt. */
  provenance?: ProvenanceSink;
}

/** The overview's numbers from the backend and the API's counters. */
export function backendStatus(
  backend: CompletionBackend,
  nodeId: string,
  metrics: Metrics | undefined,
): NodeStatus {
  const stats = backend.stats();
  const t = metrics?.totals();
  return {
    nodeId,
    model: backend.listModels().map((m) => m.id).join(", "),
    status: backend.health(),
    tokensPerSecond: t !== undefined && t.decodeMs > 0
      ? (t.completionTokens * 1000) / t.decodeMs
      : null,
    requests: t?.completions ?? 0,
    energyMj: null,
    queueDepth: stats.queueDepth,
    activeSequences: stats.activeSequences,
    slots: stats.slots,
  };
}

function keyGuard(apiKey: string): MiddlewareHandler {
  const expected = new TextEncoder().encode(apiKey);
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const m = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "");
    if (!m || !constantTimeEqual(new TextEncoder().encode(m[1]!.trim()), expected)) {
      c.header("www-authenticate", "Bearer");
      return c.text('This node requires its API key: enter it under "API key" and retry.', 401);
    }
    await next();
  };
}

/**
 * Refuses cross-site requests that change something (CSRF): a plain HTML form on another site
 * could otherwise post to a node on localhost. A first line before the token (_csrf.ts).
 * Browsers send `Sec-Fetch-Site`; older ones only `Origin`. Clients that send neither (curl,
 * scripts) are not browsers acting for another site, so they pass.
 */
function sameOriginGuard(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const site = c.req.header("sec-fetch-site");
    const origin = c.req.header("origin");
    const crossSite = site !== undefined
      ? site !== "same-origin" && site !== "none"
      : origin !== undefined && origin !== new URL(c.req.url).origin;
    // handled: refused with a reason before any route runs; nothing changed
    if (crossSite) return c.text("Cross-site requests cannot change this node.", 403);
    await next();
  };
}

function counterIds(): () => string {
  let n = 0;
  return () => `${++n}`;
}

/**
 * Builds the dashboard.
 *
 * @param deps backend, node id, assets, counters and the optional ports.
 * @returns a hono app to mount at `/`.
 * @example
 * ```ts
 * const dashboard = createDashboard({ backend, nodeId, assets });
 * const app = createApp({ backend, clock, dashboard });
 * ```
 */
export function createDashboard(deps: DashboardDeps): Hono {
  const ports = deps.ports ?? {};
  const newId = deps.newId ?? counterIds();
  const render = pages(deps.apiKey !== undefined);
  const app = new Hono();
  app.use("*", sameOriginGuard());
  if (deps.csrfToken !== undefined) app.use("*", csrfGuard(deps.csrfToken));
  if (deps.apiKey !== undefined) app.use("*", keyGuard(deps.apiKey));
  mountStatic(app, deps.assets);
  mountOverviewAndChat(app, deps, newId, render);
  mountPortPages(app, deps.nodeId, ports, render);
  mountModels(app, ports.models, newId, render);
  return app;
}

function mountStatic(app: Hono, assets: AssetSource): void {
  app.get("/static/:name", async (c) => {
    const asset = await assets.get(c.req.param("name"));
    if (asset === undefined) return c.text("No such file.", 404);
    // Why a year for htmx: the file only changes with the htmx.org version (scripts/vendor-htmx.ts).
    const cache = c.req.param("name") === "htmx.min.js"
      ? "public, max-age=31536000, immutable"
      : "no-cache";
    return c.body(asset.body, 200, {
      "content-type": asset.contentType,
      "cache-control": cache,
      "x-content-type-options": "nosniff",
    });
  });
}

function mountOverviewAndChat(
  app: Hono,
  deps: DashboardDeps,
  newId: () => string,
  { page }: Pages,
): void {
  app.get("/", async (c) => {
    const s = deps.ports?.status
      ? await deps.ports.status.status()
      : backendStatus(deps.backend, deps.nodeId, deps.metrics);
    return page(c, "overview", "Overview", overviewPage(s), overviewLive(s));
  });
  app.get("/chat", (c) => {
    const models = deps.backend.listModels().map((m) => m.id);
    return page(c, "chat", "Chat", chatPage(models, deps.backend.health() === "ready"));
  });
  app.post("/chat/stream", async (c) => {
    const started = await startChat(c, deps.backend, newId(), deps.metrics, {
      ...(deps.consent ? { consent: deps.consent } : {}),
      ...(deps.provenance ? { provenance: deps.provenance } : {}),
    });
    // handled: a refused request (bad body, unknown model, loading) is a 400 with the reason
    if (!started.ok) return c.text(started.reason, 400);
    return streamSSE(c, started.run);
  });
}

/** Peers, ledger, energy and consent: each reads its port, or says it is not available. */
function mountPortPages(app: Hono, selfId: string, ports: DashboardPorts, p: Pages): void {
  app.get("/peers", async (c) => {
    if (!ports.peers) return p.page(c, "peers", "Peers", unavailable("The peer network"));
    const peers = await ports.peers.list();
    const network = (await ports.peers.network?.()) ?? null;
    return p.page(
      c,
      "peers",
      "Peers",
      peersPage(selfId, peers, network),
      peersLive(selfId, peers, network),
    );
  });

  const noLedger = unavailable("The provenance ledger");
  app.get("/ledger", async (c) => {
    if (!ports.ledger) return p.page(c, "ledger", "Ledger", noLedger);
    const [blocks, records, chains] = await Promise.all([
      ports.ledger.blocks(LEDGER_ROWS),
      ports.ledger.records(LEDGER_ROWS),
      ports.ledger.peerChains?.(),
    ]);
    return p.page(
      c,
      "ledger",
      "Ledger",
      ledgerPage(blocks, records, chains),
      ledgerLive(blocks, records, chains),
    );
  });
  app.post("/ledger/verify", async (c) => {
    if (!ports.ledger) return send(c, noLedger, 404);
    // handled: an empty or malformed receipt is the port's to reject with a reason
    const verdict = await ports.ledger.verifyReceipt(await formField(c, "receipt"));
    return p.result(c, "ledger", "Ledger", verifyResult(verdict));
  });

  app.get("/energy", async (c) => {
    if (!ports.energy) return p.page(c, "energy", "Energy", unavailable("Energy measurement"));
    const points = await ports.energy.points();
    return p.page(c, "energy", "Energy", energyPage(points), energyLive(points));
  });

  const noConsent = unavailable("The consent policy");
  app.get("/consent", async (c) => {
    if (!ports.consent) return p.page(c, "consent", "Consent", noConsent);
    return p.page(c, "consent", "Consent", consentPage(await ports.consent.policyJson()));
  });
  app.post("/consent", async (c) => {
    if (!ports.consent) return send(c, noConsent, 404);
    // handled: bad JSON or a bad policy comes back as { ok: false, reason }; the form keeps the text
    const outcome = await ports.consent.update(await formField(c, "policy"));
    return p.result(c, "consent", "Consent", consentResult(outcome));
  });
}
