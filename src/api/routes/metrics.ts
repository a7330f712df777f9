/**
 * @module GET /metrics: the counters of metrics.ts and the backend's live stats in Prometheus
 * text format. Open even when an API key is set (see auth.ts). Pure given the deps.
 */
import { Hono } from "hono";
import type { AppEnv, RouteDeps } from "../_context.ts";

/**
 * The metrics route.
 *
 * @param deps the backend and the counters.
 * @returns a hono sub-app to mount at "/".
 */
export function metricsRoute(deps: Pick<RouteDeps, "backend" | "metrics">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/metrics", (c) =>
    c.body(deps.metrics.render(deps.backend.stats()), 200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
    }));
  return app;
}
