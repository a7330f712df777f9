/**
 * @module `createDashboard(deps)`: the browser dashboard as a hono app, mounted at `/` by
 * `createApp` (src/api/app.ts). A GET of a page answers the whole document, or only the page's
 * live region when htmx asks (`HX-Request: true`, except history restores, which need the whole
 * page). Pages whose port is absent say the feature is not available. The chat playground
 * streams from the completion backend as server-sent events (`token` events with the text, one
 * `done` event with the usage and the receipt when the result carries one, or one `error`
 * event). When the node has an API key, every non-GET route requires it as a Bearer header
 * (pages themselves stay readable: they show no prompts or outputs). Static files come from the
 * injected asset source. Pure given the deps (no clock, no I/O of its own).
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { html } from "hono/html";
import { streamSSE } from "hono/streaming";
import { type CompletionBackend, constantTimeEqual, type Metrics } from "../api/index.ts";
import type { DashboardPorts, MaybePromise, NodeStatus } from "./port.ts";
import { chatPage } from "./views/chat.ts";
import { consentPage, consentResult } from "./views/consent.ts";
import { energyLive, energyPage } from "./views/energy.ts";
import { type Html, layout, type PageName, unavailable } from "./views/layout.ts";
import { LEDGER_ROWS, ledgerLive, ledgerPage, verifyResult } from "./views/ledger.ts";
import { installedList, modelsPage, type PullJob, pullRow } from "./views/models.ts";
import { overviewLive, overviewPage } from "./views/overview.ts";
import { peersLive, peersPage } from "./views/peers.ts";
import { startChat } from "./_chat.ts";

/** A static file. */
export interface Asset {
  body: Uint8Array | ReadableStream<Uint8Array> | Blob;
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
  /** Id generator for chat requests and pulls (the shell passes a random one). */
  newId?: () => string;
}

/** Pulls kept for display; the oldest finished ones are forgotten beyond this. */
const MAX_PULL_JOBS = 20;

// Why this policy: every script and style is a same-origin file, so nothing inline is needed;
// a peer or user string that slipped past escaping still could not run.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Whether htmx asked for a fragment (a history restore needs the whole page). */
export function wantsFragment(c: Context): boolean {
  return c.req.header("hx-request") === "true" &&
    c.req.header("hx-history-restore-request") !== "true";
}

async function send(c: Context, body: Html, status: 200 | 400 | 404 = 200): Promise<Response> {
  c.header("content-security-policy", CSP);
  c.header("x-content-type-options", "nosniff");
  c.header("cache-control", "no-store");
  return c.html(await body, status);
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

function counterIds(): () => string {
  let n = 0;
  return () => `${++n}`;
}

/** Reads one text field of a form body; "" when absent. Bad bodies give "" (handled by callers). */
async function formField(c: Context, name: string): Promise<string> {
  const body = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
  const v = body[name];
  return typeof v === "string" ? v : "";
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
  const needsKey = deps.apiKey !== undefined;
  const app = new Hono();
  if (deps.apiKey !== undefined) app.use("*", keyGuard(deps.apiKey));

  /** A page: the fragment for htmx, the whole document otherwise. */
  const page = (c: Context, name: PageName, title: string, full: Html, live: Html = full) =>
    send(c, wantsFragment(c) ? live : layout(name, title, full, needsKey));

  app.get("/static/:name", async (c) => {
    const asset = await deps.assets.get(c.req.param("name"));
    if (asset === undefined) return c.text("No such file.", 404);
    // Why a year for htmx: the file only changes with the htmx.org version (scripts/vendor-htmx.ts).
    const cache = c.req.param("name") === "htmx.min.js"
      ? "public, max-age=31536000, immutable"
      : "no-cache";
    return c.body(asset.body as Uint8Array, 200, {
      "content-type": asset.contentType,
      "cache-control": cache,
      "x-content-type-options": "nosniff",
    });
  });

  app.get("/", async (c) => {
    const s = ports.status
      ? await ports.status.status()
      : backendStatus(deps.backend, deps.nodeId, deps.metrics);
    return page(c, "overview", "Overview", overviewPage(s), overviewLive(s));
  });

  app.get("/chat", (c) => {
    const models = deps.backend.listModels().map((m) => m.id);
    return page(c, "chat", "Chat", chatPage(models, deps.backend.health() === "ready"));
  });
  app.post("/chat/stream", async (c) => {
    const started = await startChat(c, deps.backend, newId(), deps.metrics);
    if (!started.ok) return c.text(started.reason, 400);
    return streamSSE(c, started.run);
  });

  app.get("/peers", async (c) => {
    if (!ports.peers) return page(c, "peers", "Peers", unavailable("The peer network"));
    const peers = await ports.peers.list();
    return page(c, "peers", "Peers", peersPage(deps.nodeId, peers), peersLive(deps.nodeId, peers));
  });

  app.get("/ledger", async (c) => {
    if (!ports.ledger) return page(c, "ledger", "Ledger", unavailable("The provenance ledger"));
    const [blocks, records] = await Promise.all([
      ports.ledger.blocks(LEDGER_ROWS),
      ports.ledger.records(LEDGER_ROWS),
    ]);
    return page(c, "ledger", "Ledger", ledgerPage(blocks, records), ledgerLive(blocks, records));
  });
  app.post("/ledger/verify", async (c) => {
    if (!ports.ledger) return send(c, unavailable("The provenance ledger"), 404);
    const receipt = await formField(c, "receipt");
    // handled: an empty or malformed receipt is the port's to reject with a reason
    const result = await ports.ledger.verifyReceipt(receipt);
    return fragmentOrPage(c, "ledger", "Ledger", verifyResult(result));
  });

  app.get("/energy", async (c) => {
    if (!ports.energy) return page(c, "energy", "Energy", unavailable("Energy measurement"));
    const points = await ports.energy.points();
    return page(c, "energy", "Energy", energyPage(points), energyLive(points));
  });

  app.get("/consent", async (c) => {
    if (!ports.consent) return page(c, "consent", "Consent", unavailable("The consent policy"));
    return page(c, "consent", "Consent", consentPage(await ports.consent.policyJson()));
  });
  app.post("/consent", async (c) => {
    if (!ports.consent) return send(c, unavailable("The consent policy"), 404);
    // handled: bad JSON or a bad policy comes back as { ok: false, reason }; the form keeps the text
    const result = await ports.consent.update(await formField(c, "policy"));
    return fragmentOrPage(c, "consent", "Consent", consentResult(result));
  });

  mountModels(app, deps, newId, page);
  return app;

  function fragmentOrPage(c: Context, name: PageName, title: string, result: Html) {
    // Without JavaScript the form posts normally: answer the result inside a whole page.
    return send(
      c,
      wantsFragment(c) ? result : layout(
        name,
        title,
        html`${result}<p><a href="/${name === "overview" ? "" : name}">Back</a></p>`,
        needsKey,
      ),
    );
  }
}

type PageFn = (
  c: Context,
  name: PageName,
  title: string,
  full: Html,
  live?: Html,
) => Promise<Response>;

/** The models page and its pull jobs. */
function mountModels(app: Hono, deps: DashboardDeps, newId: () => string, page: PageFn): void {
  const models = deps.ports?.models;
  const jobs = new Map<string, PullJob>();
  const none = unavailable("The model manager");

  app.get("/models", async (c) => {
    if (!models) return page(c, "models", "Models", none);
    return page(c, "models", "Models", modelsPage(await models.installed(), [...jobs.values()]));
  });
  app.get("/models/installed", async (c) => {
    if (!models) return send(c, none, 404);
    return send(c, installedList(await models.installed()));
  });
  app.post("/models/pull", async (c) => {
    if (!models) return send(c, none, 404);
    const name = (await formField(c, "name")).trim();
    // handled: an empty name is refused here; an unknown one fails in the port and shows its reason
    if (name === "") return send(c, html`<li role="alert">Give a model name to pull.</li>`, 400);
    const job: PullJob = {
      id: newId(),
      name,
      receivedBytes: 0,
      totalBytes: null,
      state: "running",
    };
    jobs.set(job.id, job);
    forgetOldJobs(jobs);
    void runPull(job, models.pull(name, new AbortController().signal));
    return wantsFragment(c) ? send(c, pullRow(job)) : c.redirect("/models", 303);
  });
  app.get("/models/pulls/:id", (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) return send(c, html`<li role="alert">That pull is no longer tracked.</li>`, 404);
    if (job.state === "done") c.header("hx-trigger", "models-changed");
    return send(c, pullRow(job));
  });
  app.post("/models/delete", async (c) => {
    if (!models) return send(c, none, 404);
    const name = await formField(c, "name");
    let problem: Html | "" = "";
    try {
      await models.delete(name);
    } catch (err: unknown) {
      // converted: the port's reason is shown above the (unchanged) list
      problem = html`<p class="bad" role="alert">Not deleted: ${errorText(err)}</p>`;
    }
    const list = html`${problem}${installedList(await models.installed())}`;
    return wantsFragment(c) ? send(c, list) : c.redirect("/models", 303);
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Follows a pull to its end; a failure is recorded on the job, never thrown. */
async function runPull(
  job: PullJob,
  progress: AsyncIterable<{
    receivedBytes: number;
    totalBytes: number | null;
  }>,
): Promise<void> {
  try {
    for await (const p of progress) {
      job.receivedBytes = p.receivedBytes;
      job.totalBytes = p.totalBytes;
    }
    job.state = "done";
  } catch (err: unknown) {
    // converted: shown in the pull's row
    job.state = "failed";
    job.error = errorText(err);
  }
}

function forgetOldJobs(jobs: Map<string, PullJob>): void {
  for (const [id, job] of jobs) {
    if (jobs.size <= MAX_PULL_JOBS) return;
    if (job.state !== "running") jobs.delete(id);
  }
}
