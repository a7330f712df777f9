import { expect, test } from "bun:test";
import { initialPeerState } from "./peer-state.ts";
import { peersRoute } from "./peers-route.ts";

test("GET /v1/aria/peers returns the table as JSON", async () => {
  const app = peersRoute(
    () => initialPeerState("s".repeat(64), "ws://s:1"),
    { nowMs: () => 0 },
    () => ({ refused: { REPLAY: 1 } }),
  );
  const res = await app.request("/v1/aria/peers");
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    self: "s".repeat(64),
    url: "ws://s:1",
    peers: [],
    known: 0,
    refused: { REPLAY: 1 },
  });
});
