/**
 * @module GET /health: 200 `{"status":"ok"}` when the backend is ready, 503
 * `{"status":"loading"}` while it loads. Open even when an API key is set (see auth.ts). Pure
 * given the backend.
 */
import { Hono } from "hono";
import type { AppEnv, RouteDeps } from "../_context.ts";

/**
 * The health route.
 *
 * @param deps the backend.
 * @returns a hono sub-app to mount at "/".
 */
export function healthRoute(deps: Pick<RouteDeps, "backend">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get(
    "/health",
    (c) =>
      deps.backend.health() === "ready"
        ? c.json({ status: "ok" }, 200)
        : c.json({ status: "loading" }, 503),
  );
  return app;
}
