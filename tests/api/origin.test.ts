/**
 * Issue 19, hole 4: no CORS by default, Host checked against the node's names (DNS rebinding),
 * cross-origin pages refused on /v1/*, and the dashboard's actions need its same-origin token.
 */
import { describe, expect, test } from "bun:test";
import { chat, makeApp } from "../helpers/api.ts";
import { createDashboard, embeddedAssets } from "../../src/dashboard/index.ts";
import { FakeBackend } from "../helpers/fake-backend.ts";

const textPost = (headers: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "text/plain", ...headers },
  body: JSON.stringify(chat({})),
});

describe("API origin and host checks", () => {
  test("no CORS header by default; a cross-origin simple POST is refused and runs nothing", async () => {
    const { app, backend } = makeApp({}, { allowedHosts: [] });
    const res = await app.request(
      "http://127.0.0.1:3000/v1/chat/completions",
      textPost({ origin: "https://evil.example", host: "127.0.0.1:3000" }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect((await res.json()).error.code).toBe("origin_not_allowed");
    expect(backend.requests).toHaveLength(0);
  });

  test("an allowed origin gets CORS and is served; others get no CORS header", async () => {
    const { app } = makeApp({}, { allowedHosts: [], corsOrigins: ["https://app.example"] });
    const ok = await app.request(
      "http://127.0.0.1:3000/v1/chat/completions",
      textPost({ origin: "https://app.example", host: "127.0.0.1:3000" }),
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const pre = await app.request("http://127.0.0.1:3000/v1/models", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("a rebinding Host is refused on the API and the dashboard (421)", async () => {
    const dashboard = createDashboard({
      backend: new FakeBackend(),
      nodeId: "n",
      assets: embeddedAssets(),
      csrfToken: "t".repeat(64),
    });
    const { app, backend } = makeApp({}, { allowedHosts: ["node.lan"], dashboard });
    for (const path of ["/v1/chat/completions", "/consent"]) {
      const res = await app.request(`http://evil.example:3000${path}`, {
        ...textPost({ host: "evil.example:3000" }),
      });
      expect(res.status).toBe(421);
    }
    expect(backend.requests).toHaveLength(0);
    const own = await app.request("http://node.lan:3000/health", {
      headers: { host: "node.lan:3000" },
    });
    expect(own.status).toBe(200);
  });

  test("dashboard actions need the token (header or form field); pages carry it", async () => {
    const token = "a1".repeat(32);
    const dashboard = createDashboard({
      backend: new FakeBackend(),
      nodeId: "n",
      assets: embeddedAssets(),
      csrfToken: token,
    });
    const { app } = makeApp({}, { allowedHosts: [], dashboard });
    const page =
      await (await app.request("http://127.0.0.1/ledger", { headers: { host: "127.0.0.1" } }))
        .text();
    expect(page).toContain(`<meta name="aria-csrf" content="${token}">`);
    const post = (headers: Record<string, string>, body: string) =>
      app.request("http://127.0.0.1/ledger/verify", {
        method: "POST",
        headers: {
          host: "127.0.0.1",
          "content-type": "application/x-www-form-urlencoded",
          ...headers,
        },
        body,
      });
    expect((await post({}, "")).status).toBe(403);
    expect((await post({ "x-aria-csrf": "b2".repeat(32) }, "")).status).toBe(403);
    expect((await post({ "x-aria-csrf": token }, "")).status).not.toBe(403);
    expect((await post({}, `_csrf=${token}`)).status).not.toBe(403);
  });
});
