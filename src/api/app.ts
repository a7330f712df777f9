/**
 * @module `createApp(deps)`: the OpenAI-compatible HTTP API as a hono app (STYLE.md B8.6: web
 * standard Request -> Response, never listens; src/node/http.ts calls Bun.serve). Middleware, outer
 * to inner: request id + request counting, CORS (OPTIONS -> 204 before auth), body limit (413),
 * Bearer auth on /v1/* (and Ollama's /api/*) when `apiKey` is set. One `onError` and one
 * `notFound`, both through `toOpenAIError` (B7.3), in Ollama's `{"error": …}` shape on /api/*;
 * unexpected errors are logged with the request id. Routes: OpenAI's /v1/*, /health, /metrics,
 * Ollama's /api/chat, /api/generate, /api/tags, /api/show, /api/ps, /api/version
 * (routes/ollama.ts), and llama-server's /tokenize, /detokenize, /apply-template, /props
 * (routes/llama-server.ts). Pure given the deps.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { hostAllowed, LOOPBACK_NAMES } from "./host.ts";
import type { Context } from "hono";
import type { ApiDeps, AppEnv, RouteDeps } from "./_context.ts";
import { logInternal } from "./_run.ts";
import { bearerAuth } from "./auth.ts";
import {
  bodyTooLarge,
  crossOriginRefused,
  hostNotAllowed,
  routeNotFound,
  toOpenAIError,
} from "./errors.ts";
import { createMetrics } from "./metrics.ts";
import { chatCompletionsRoute } from "./routes/chat-completions.ts";
import { completionsRoute } from "./routes/completions.ts";
import { embeddingsRoute } from "./routes/embeddings.ts";
import { healthRoute } from "./routes/health.ts";
import { metricsRoute } from "./routes/metrics.ts";
import { modelsRoute } from "./routes/models.ts";
import { llamaServerRoutes } from "./routes/llama-server.ts";
import { ollamaRoutes } from "./routes/ollama.ts";

export type { ApiDeps } from "./_context.ts";

/** Default body limit. Why 4 MiB: far above any prompt a 4k-128k context can hold as text. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

const ROUTES = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/models",
  "/health",
  "/metrics",
  "/api/chat",
  "/api/generate",
  "/api/embed",
  "/api/tags",
  "/api/show",
  "/api/ps",
  "/api/version",
  "/tokenize",
  "/detokenize",
  "/apply-template",
  "/props",
];

/** The route label of a path for /metrics (bounded set: unknown paths are "other"). */
function routeLabel(path: string): string {
  if (ROUTES.includes(path)) return path;
  if (path.startsWith("/v1/models/")) return "/v1/models/:id";
  return "other";
}

function counterIds(): () => string {
  let n = 0;
  return () => `${++n}`;
}

function errorResponse(err: unknown, c: Context<AppEnv>, deps: RouteDeps): Response {
  const mapped = toOpenAIError(err);
  if (mapped.internal) logInternal(err, { log: deps.log, requestId: c.get("requestId") });
  for (const [k, v] of Object.entries(mapped.headers ?? {})) c.header(k, v);
  // Ollama's routes answer errors in Ollama's shape, with the same status
  if (c.req.path.startsWith("/api/")) {
    return c.json({ error: mapped.body.error.message }, mapped.status);
  }
  return c.json(mapped.body, mapped.status);
}

/**
 * Builds the API.
 *
 * @param deps the backend, the clock and the options (see {@link ApiDeps}).
 * @returns the hono app; serve it with `Bun.serve({ fetch: app.fetch })` or test it with
 *   `app.request()`.
 * @example
 * ```ts
 * const app = createApp({ backend, clock: { nowMs: () => 0 } });
 * const res = await app.request("/health");
 * ```
 */
export function createApp(deps: ApiDeps): Hono<AppEnv> {
  const routeDeps: RouteDeps = {
    backend: deps.backend,
    clock: deps.clock,
    log: deps.log ?? (() => {}),
    metrics: deps.metrics ?? createMetrics(),
    systemFingerprint: deps.systemFingerprint ?? `aria-${deps.backend.kind}`,
    ...(deps.consent !== undefined ? { consent: deps.consent } : {}),
    ...(deps.provenance !== undefined ? { provenance: deps.provenance } : {}),
  };
  const newId = deps.newId ?? counterIds();
  const maxBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    const requestId = newId();
    c.set("requestId", requestId);
    await next();
    c.header("x-request-id", requestId);
    routeDeps.metrics.recordRequest(routeLabel(c.req.path), c.res.status);
  });
  if (deps.allowedHosts !== undefined) {
    const names = new Set([...LOOPBACK_NAMES, ...deps.allowedHosts.map((h) => h.toLowerCase())]);
    app.use("*", async (_c, next) => {
      const host = _c.req.header("host");
      // handled: refused before any route runs (DNS rebinding: issue 19, hole 4)
      if (!hostAllowed(host, names)) throw hostNotAllowed(host ?? "");
      await next();
    });
  }
  // CORS only for the origins the owner allowed (none by default): a page on another site can
  // then neither read answers nor send JSON with a preflight
  const origins = deps.corsOrigins ?? [];
  if (deps.allowedHosts !== undefined && !origins.includes("*")) {
    // a browser page of another origin may not even start work here (a "simple" text/plain
    // POST needs no preflight): refused unless its origin is allowed. Clients that are not
    // browsers send no Origin and pass.
    for (const path of ["/v1/*", "/api/*"]) {
      app.use(path, async (c, next) => {
        const origin = c.req.header("origin");
        if (origin !== undefined && c.req.method !== "OPTIONS") {
          const own = new URL(c.req.url).origin;
          if (origin !== own && !origins.includes(origin)) throw crossOriginRefused(origin);
        }
        await next();
      });
    }
  }
  if (origins.length > 0) {
    const policy = cors({
      origin: origins.includes("*") ? "*" : [...origins],
      exposeHeaders: ["x-request-id", "x-aria-served-by", "x-aria-provenance"],
    });
    app.use("/v1/*", policy);
    app.use("/api/*", policy);
  }
  app.use(
    "*",
    bodyLimit({
      maxSize: maxBytes,
      onError: () => {
        throw bodyTooLarge(maxBytes);
      },
    }),
  );
  if (deps.apiKey !== undefined) {
    app.use("/v1/*", bearerAuth(deps.apiKey));
    app.use("/api/*", bearerAuth(deps.apiKey)); // Ollama's routes run the same models
    // llama-server's operational routes, which it guards with its key too
    for (const path of ["/tokenize", "/detokenize", "/apply-template", "/props"]) {
      app.use(path, bearerAuth(deps.apiKey));
    }
  }
  app.route("/", modelsRoute(routeDeps));
  app.route("/", chatCompletionsRoute(routeDeps));
  app.route("/", completionsRoute(routeDeps));
  app.route("/", embeddingsRoute(routeDeps));
  app.route("/", healthRoute(routeDeps));
  app.route("/", metricsRoute(routeDeps));
  app.route("/", ollamaRoutes(routeDeps));
  app.route("/", llamaServerRoutes(routeDeps));
  if (deps.dashboard !== undefined) app.route("/", deps.dashboard);
  app.notFound((c) => errorResponse(routeNotFound(c.req.method, c.req.path), c, routeDeps));
  app.onError((err, c) => errorResponse(err, c, routeDeps));
  return app;
}
