/**
 * @module What the routes share: the dependencies of `createApp`, hono's per-request variables
 * (the request id), and small request helpers (parse a JSON body through a zod schema, check the
 * model and readiness). Pure given the injected backend and clock.
 */
import type { Context, Hono } from "hono";
import type { z } from "zod";
import { invalidJson, modelLoading, modelNotFound } from "./errors.ts";
import type { Metrics } from "./metrics.ts";
import type { CompletionBackend, ConsentGate, ProvenanceSink } from "../contract/index.ts";

/** What `createApp` needs. */
export interface ApiDeps {
  backend: CompletionBackend;
  clock: { nowMs(): number };
  /** When set, `/v1/*` requires `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /**
   * The names requests may give in `Host` (host.ts; loopback names are always added): any other
   * Host is refused with 421 on every route, API and dashboard (DNS rebinding). Unset: no check
   * (in-process tests); `aria serve` always sets it.
   */
  allowedHosts?: readonly string[];
  /**
   * Origins whose pages may read `/v1/*` answers (CORS allow-list; "*" = any). Default none: no
   * CORS headers, so a page on another site cannot read the API's answers.
   */
  corsOrigins?: readonly string[];
  /** Structured log sink (the shell passes shared/log.ts); default: drop. */
  log?: (entry: Record<string, unknown>) => void;
  /** Request id generator (the shell passes a random one); default: a counter. */
  newId?: () => string;
  /** Largest request body in bytes (default 4 MiB). */
  maxBodyBytes?: number;
  /** `system_fingerprint` of responses (default `aria-<backend kind>`). */
  systemFingerprint?: string;
  /** Counters (default: new ones). */
  metrics?: Metrics;
  /** The node owner's consent policy, checked before any completion (default: none). */
  consent?: ConsentGate;
  /** Provenance ledger: when set, every completion carries a receipt (port.ts). */
  provenance?: ProvenanceSink;
  /**
   * The browser dashboard (src/dashboard `createDashboard`), mounted at `/` after the API
   * routes; absent = no dashboard (the API's own tests). Passed in, so api/ never imports it.
   */
  dashboard?: Hono;
}

/** The resolved dependencies the routes see. */
export interface RouteDeps {
  backend: CompletionBackend;
  clock: { nowMs(): number };
  log: (entry: Record<string, unknown>) => void;
  metrics: Metrics;
  systemFingerprint: string;
  consent?: ConsentGate;
  provenance?: ProvenanceSink;
}

/** hono environment: per-request variables. */
export interface AppEnv {
  Variables: { requestId: string };
}

/**
 * Reads the body as JSON and validates it.
 *
 * @param c the hono context.
 * @param schema the zod schema.
 * @returns the parsed body.
 * @throws {ApiError} 400 invalid_json when the body is not JSON.
 * @throws {ZodError} when it does not match (a non-object body included).
 */
export async function readBody<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
): Promise<z.infer<S>> {
  const text = await c.req.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err: unknown) {
    // Converted: a parse failure is the client's 400, never a 500.
    throw invalidJson(err);
  }
  return schema.parse(json);
}

/**
 * Checks that the backend is ready and serves `model` (its id or one of its aliases).
 *
 * @param backend the backend.
 * @param model the requested name.
 * @returns the served model's id (what the backend and the responses use).
 * @throws {ApiError} 503 while loading, 404 model_not_found for an unknown model.
 */
export function checkModel(backend: CompletionBackend, model: string): string {
  if (backend.health() !== "ready") throw modelLoading();
  const cards = backend.listModels();
  const card = cards.find((m) => m.id === model) ?? cards.find((m) => m.aliases?.includes(model));
  if (card === undefined) throw modelNotFound(model);
  return card.id;
}

/**
 * Seconds since the epoch, for `created`.
 *
 * @param clock the clock.
 * @returns whole seconds.
 */
export function nowSeconds(clock: { nowMs(): number }): number {
  return Math.floor(clock.nowMs() / 1000);
}
