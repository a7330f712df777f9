/**
 * @module `GET /v1/aria/peers`: the node's peer table as JSON (peer-table.ts), mounted on the API
 * app by src/node/start.ts after createApp, so the API's auth and error handling apply. Pure given the
 * node's state reader and clock.
 */
import { Hono } from "hono";
import type { PeerState } from "./peer-state.ts";
import { peerTable } from "./peer-table.ts";

/**
 * The route.
 *
 * @param state reads the current peer table.
 * @param clock reading for "last seen" ages.
 * @param extra more numbers to report (refused frames by code).
 * @returns a hono app with the one route.
 */
export function peersRoute(
  state: () => PeerState,
  clock: { nowMs(): number },
  extra: () => Record<string, unknown> = () => ({}),
): Hono {
  const app = new Hono();
  app.get("/v1/aria/peers", (c) => c.json({ ...peerTable(state(), clock.nowMs()), ...extra() }));
  return app;
}
