/**
 * The dashboard's routes through `createApp(...).request()` (STYLE.md C2): no socket. The other
 * concerns' ports are the in-memory fakes of tests/helpers/dashboard-ports.ts.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createApp, createMetrics, type ProvenanceInput } from "../api/index.ts";
import { ConsentDeniedError } from "../shared/errors.ts";
import { FakeBackend, type FakeBackendOptions } from "../../tests/helpers/fake-backend.ts";
import { fakeConsent, fakeLedger, fakePeers } from "../../tests/helpers/dashboard-ports.ts";
import { embeddedAssets } from "./assets.ts";
import type { DashboardPorts } from "./port.ts";
import { createDashboard } from "./routes.ts";

function makeDashboardApp(
  ports: DashboardPorts = {},
  options: FakeBackendOptions = {},
  apiKey?: string,
) {
  const backend = new FakeBackend(options);
  const metrics = createMetrics();
  const key = apiKey === undefined ? {} : { apiKey };
  const dashboard = createDashboard({
    backend,
    nodeId: "node-test",
    assets: embeddedAssets(),
    metrics,
    ports,
    ...key,
  });
  const app = createApp({ backend, clock: { nowMs: () => 0 }, metrics, dashboard, ...key });
  return { app, backend, metrics };
}

const HX = { "HX-Request": "true" };

function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

function chat(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** The SSE events of a body, as [event, data] pairs. */
async function events(res: Response): Promise<[string, Record<string, unknown>][]> {
  const text = await res.text();
  return text.split("\n\n").filter((b) => b.trim() !== "").map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
    const data = /^data: (.*)$/m.exec(block)?.[1] ?? "null";
    return [event, JSON.parse(data) as Record<string, unknown>];
  });
}

describe("pages", () => {
  test("a page is a whole document; with HX-Request only its live region", async () => {
    const { app } = makeDashboardApp();
    const full = await app.request("/");
    expect(full.status).toBe(200);
    expect(full.headers.get("content-type")).toStartWith("text/html");
    expect(full.headers.get("content-security-policy")).toContain("script-src 'self'");
    const page = await full.text();
    expect(page).toContain("<!doctype html>");
    expect(page).toContain("node-test");
    const frag = await (await app.request("/", { headers: HX })).text();
    expect(frag).not.toContain("<!doctype html>");
    expect(frag).not.toContain("<nav");
    expect(frag).toContain('data-field="node-id">node-test</dd>');
    const restore = await app.request("/", {
      headers: { ...HX, "HX-History-Restore-Request": "true" },
    });
    expect(await restore.text()).toContain("<!doctype html>");
  });

  test("every page loads; pages whose port is absent say so plainly", async () => {
    const { app } = makeDashboardApp();
    const absent: Record<string, string> = {
      "/peers": "The peer network is not available on this node.",
      "/ledger": "The provenance ledger is not available on this node.",
      "/energy": "Energy measurement is not available on this node.",
      "/consent": "The consent policy is not available on this node.",
      "/models": "The model manager is not available on this node.",
    };
    for (const path of ["/", "/chat", ...Object.keys(absent)]) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      const text = await res.text();
      if (absent[path]) expect(text).toContain(absent[path]!);
    }
    expect((await app.request("/models/pull", form({ name: "x" }))).status).toBe(404);
  });

  test("the overview counts the chat's completions (tokens/s from the API's counters)", async () => {
    const { app } = makeDashboardApp();
    const before = await (await app.request("/", { headers: HX })).text();
    expect(before).toContain('data-field="requests">0</dd>');
    expect(before).toContain('data-field="tokens-per-second">—</dd>');
    await (await app.request(
      "/chat/stream",
      chat({ model: "fake-model", message: "hi", maxTokens: 4 }),
    )).text();
    const after = await (await app.request("/", { headers: HX })).text();
    expect(after).toContain('data-field="requests">1</dd>');
    expect(after).toContain('data-field="tokens-per-second">8.0</dd>'); // 4 tokens in 500 ms
  });

  test("a peer id containing markup renders as text", async () => {
    const { app } = makeDashboardApp({
      peers: fakePeers([{
        id: "<script>alert(1)</script>",
        address: "<b>1.2.3.4</b>",
        latencyMs: 3,
        models: [],
        layers: [],
        alive: true,
      }]),
    });
    const text = await (await app.request("/peers")).text();
    expect(text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(text).not.toContain("<script>alert(1)");
    expect(text).not.toContain("<b>1.2.3.4");
  });
});

describe("static files", () => {
  test("vendored htmx with a long cache; the others revalidate; anything else is 404", async () => {
    const { app } = makeDashboardApp();
    const htmx = await app.request("/static/htmx.min.js");
    expect(htmx.status).toBe(200);
    expect(htmx.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(htmx.headers.get("content-type")).toStartWith("text/javascript");
    const vendored = await htmx.text();
    expect(vendored).toStartWith("/* htmx.org 2.0.11");
    // the committed copy is the installed package's file (scripts/vendor-htmx.ts)
    const pkg = await Bun.file(
      join(import.meta.dir, "..", "..", "node_modules", "htmx.org", "dist", "htmx.min.js"),
    ).text();
    expect(vendored.slice(vendored.indexOf("\n") + 1)).toBe(pkg);
    const css = await app.request("/static/app.css");
    expect(css.headers.get("cache-control")).toBe("no-cache");
    expect(css.headers.get("content-type")).toStartWith("text/css");
    expect((await app.request("/static/dashboard.js")).status).toBe(200);
    expect((await app.request("/static/nope.js")).status).toBe(404);
    expect((await app.request("/static/..%2Fpackage.json")).status).toBe(404);
  });
});

describe("chat stream", () => {
  test("streams the backend's pieces as token events, then done with the usage", async () => {
    const { app, backend } = makeDashboardApp();
    const res = await app.request(
      "/chat/stream",
      chat({ model: "fake-model", message: "Hello <b>", maxTokens: 64 }),
    );
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    const ev = await events(res);
    const tokens = ev.filter(([e]) => e === "token").map(([, d]) => d.text).join("");
    expect(tokens).toBe(backend.pieces.join(""));
    expect(ev.at(-1)).toEqual([
      "done",
      {
        finishReason: "stop",
        usage: { promptTokens: 5, completionTokens: 7 },
        servedBy: ["node-a"],
      },
    ]);
    expect(backend.requests[0]!.input).toEqual({
      kind: "chat",
      messages: [{ role: "user", content: "Hello <b>" }],
    });
    expect(backend.requests[0]!.maxTokens).toBe(64);
    expect(backend.requests[0]!.grammar).toBeUndefined();
  });

  test("a chat asked as JSON against a pasted schema carries the schema's grammar", async () => {
    const { app, backend } = makeDashboardApp();
    const schema = '{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}';
    const res = await app.request(
      "/chat/stream",
      chat({ model: "fake-model", message: "x", maxTokens: 8, format: "schema", schema }),
    );
    expect(res.status).toBe(200);
    await events(res);
    const { jsonSchemaToGrammar } = await import("../grammar/index.ts");
    expect(backend.requests[0]!.grammar).toBe(jsonSchemaToGrammar(JSON.parse(schema)));
  });

  test("a chat is admitted by the consent gate and recorded by the provenance sink", async () => {
    const backend = new FakeBackend();
    const log: string[] = [];
    const recorded: ProvenanceInput[] = [];
    const dashboard = createDashboard({
      backend,
      nodeId: "node-test",
      assets: embeddedAssets(),
      consent: {
        admit(check) {
          log.push(`admit ${check.kind} ${check.model} ${check.requestId}`);
          return {
            addTokens: (n) => log.push(`tokens ${n}`),
            release: () => log.push("release"),
          };
        },
      },
      provenance: {
        record(input) {
          log.push("record");
          recorded.push(input);
          return { recordHash: "h1", receipt: { record: "<r>" } };
        },
      },
    });
    const app = createApp({ backend, clock: { nowMs: () => 0 }, dashboard });
    const ev = await events(
      await app.request("/chat/stream", chat({ model: "fake-model", message: "x", maxTokens: 2 })),
    );
    expect(ev.at(-1)![0]).toBe("done");
    expect(ev.at(-1)![1].receipt).toEqual({ record: "<r>" });
    const text = ev.filter(([e]) => e === "token").map(([, d]) => d.text).join("");
    expect(recorded[0]!.output).toBe(text); // the whole output, as the browser got it
    expect(recorded[0]!.request.id).toBe(backend.requests[0]!.id);
    // admitted first; one call per token, topped up to prompt + generated; released before the
    // record (the energy of the request is known by then), and only once in effect
    expect(log[0]).toBe(`admit chat fake-model ${backend.requests[0]!.id}`);
    const usage = recorded[0]!.result.usage;
    const counted = log.filter((l) => l.startsWith("tokens ")).map((l) => Number(l.slice(7)));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(usage.promptTokens + usage.completionTokens);
    expect(log.indexOf("release")).toBeLessThan(log.indexOf("record"));
  });

  test("a chat the consent policy refuses is a 400 with its reason; nothing runs", async () => {
    const backend = new FakeBackend();
    const dashboard = createDashboard({
      backend,
      nodeId: "node-test",
      assets: embeddedAssets(),
      consent: {
        admit() {
          throw new ConsentDeniedError('Model "fake-model" is not in the allowed models');
        },
      },
    });
    const app = createApp({ backend, clock: { nowMs: () => 0 }, dashboard });
    const res = await app.request(
      "/chat/stream",
      chat({ model: "fake-model", message: "x", maxTokens: 2 }),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Model "fake-model" is not in the allowed models');
    expect(backend.requests).toEqual([]);
  });

  test("bad requests are refused before anything runs, with a reason", async () => {
    const { app, backend } = makeDashboardApp();
    const cases: [RequestInit, string][] = [
      [chat("{not json"), "not JSON"],
      [chat({ model: "fake-model", message: "", maxTokens: 4 }), "message field"],
      [chat({ model: "fake-model", message: "x", maxTokens: 0 }), "maxTokens field"],
      [chat({ model: "other", message: "x", maxTokens: 4 }), 'does not serve the model "other"'],
      [
        chat({ model: "fake-model", message: "x", maxTokens: 4, format: "schema", schema: "{" }),
        "The JSON schema is not valid JSON",
      ],
    ];
    for (const [init, reason] of cases) {
      const res = await app.request("/chat/stream", init);
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(reason);
    }
    expect(backend.requests).toHaveLength(0);
    const loading = makeDashboardApp({}, { health: "loading" });
    const res = await loading.app.request(
      "/chat/stream",
      chat({ model: "fake-model", message: "x", maxTokens: 4 }),
    );
    expect(await res.text()).toContain("still loading");
  });

  test("an error after the stream started is a final error event; internals are not sent", async () => {
    const { AriaError } = await import("../shared/errors.ts");
    const own = makeDashboardApp({}, {
      throwAfter: 2,
      throwError: new AriaError("CAPACITY", "The queue is full: retry later."),
    });
    const ev = await events(
      await own.app.request(
        "/chat/stream",
        chat({ model: "fake-model", message: "x", maxTokens: 9 }),
      ),
    );
    expect(ev.map(([e]) => e)).toEqual(["token", "token", "error"]);
    expect(ev.at(-1)![1]).toEqual({ message: "The queue is full: retry later." });
    const other = makeDashboardApp({}, { throwAfter: 0, throwError: new Error("/secret/path") });
    const ev2 = await events(
      await other.app.request(
        "/chat/stream",
        chat({ model: "fake-model", message: "x", maxTokens: 9 }),
      ),
    );
    expect(ev2).toEqual([["error", { message: "The completion failed: see the server log." }]]);
  });
});

describe("API key", () => {
  test("actions need the Bearer key; pages stay readable; /v1 is unchanged", async () => {
    const { app } = makeDashboardApp({ consent: fakeConsent() }, {}, "s3cret");
    expect((await app.request("/")).status).toBe(200);
    expect(await (await app.request("/chat")).text()).toContain('id="key-form"');
    const body = { model: "fake-model", message: "x", maxTokens: 2 };
    const denied = await app.request("/chat/stream", chat(body));
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain("requires its API key");
    expect((await app.request("/chat/stream", chat(body, { authorization: "Bearer nope" }))).status)
      .toBe(401);
    const ok = await app.request("/chat/stream", chat(body, { authorization: "Bearer s3cret" }));
    expect(ok.status).toBe(200);
    await ok.text();
    expect((await app.request("/consent", form({ policy: "{}" }))).status).toBe(401);
    expect((await app.request("/v1/models")).status).toBe(401);
  });
});

describe("cross-site requests", () => {
  test("a change from another site is refused; same-origin and non-browser clients pass", async () => {
    const consent = fakeConsent();
    const { app } = makeDashboardApp({ consent });
    const post = (headers: Record<string, string>) =>
      app.request("http://127.0.0.1:8080/consent", form({ policy: "{}" }, { ...HX, ...headers }));
    const refused = await post({ "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" });
    expect(refused.status).toBe(403);
    expect((await post({ Origin: "https://evil.example" })).status).toBe(403);
    expect((await post({ "Sec-Fetch-Site": "same-site" })).status).toBe(403);
    expect(consent.current()).toContain('"allow": true'); // unchanged
    expect((await post({ "Sec-Fetch-Site": "same-origin" })).status).toBe(200);
    expect((await post({ Origin: "http://127.0.0.1:8080" })).status).toBe(200);
    expect((await post({})).status).toBe(200);
    expect(consent.current()).toBe("{}");
    // reading stays open to any origin
    const read = await app.request("/consent", { headers: { "Sec-Fetch-Site": "cross-site" } });
    expect(read.status).toBe(200);
  });
});

describe("ledger and consent forms", () => {
  test("verify a receipt: valid, invalid, not JSON; without htmx the result comes in a page", async () => {
    const { app } = makeDashboardApp({ ledger: fakeLedger() });
    const page = await (await app.request("/ledger")).text();
    expect(page).toContain("<td>1</td>");
    const ok = await (await app.request("/ledger/verify", form({ receipt: '{"valid":true}' }, HX)))
      .text();
    expect(ok).toContain("Valid receipt. Signed by the fake.");
    expect(ok).not.toContain("<!doctype");
    const bad = await (await app.request("/ledger/verify", form({ receipt: "{" }, HX))).text();
    expect(bad).toContain("Not valid: The receipt is not JSON.");
    const noJs = await (await app.request("/ledger/verify", form({ receipt: "{}" }))).text();
    expect(noJs).toContain("<!doctype html>");
    expect(noJs).toContain("Not valid: The fake signature does not match.");
  });

  test("consent: saved, or refused with the reason and the old policy kept", async () => {
    const consent = fakeConsent();
    const { app } = makeDashboardApp({ consent });
    expect(await (await app.request("/consent")).text()).toContain("&quot;allow&quot;: true");
    const refused = await (await app.request("/consent", form({ policy: "[1]" }, HX))).text();
    expect(refused).toContain("Policy not saved: The policy must be a JSON object.");
    expect(consent.current()).toContain('"allow": true');
    const saved = await (await app.request("/consent", form({ policy: '{"allow":false}' }, HX)))
      .text();
    expect(saved).toContain("Policy saved.");
    expect(consent.current()).toBe('{"allow":false}');
  });
});

describe("API without a dashboard", () => {
  test("GET / stays a 404 in the OpenAI error shape", async () => {
    const backend = new FakeBackend();
    const app = createApp({ backend, clock: { nowMs: () => 0 } });
    const res = await app.request("/");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBeDefined();
  });
});
