/** Models, health, metrics, CORS and auth through the real app. */
import { describe, expect, test } from "bun:test";
import { chat, makeApp, post } from "../helpers/api.ts";

describe("models", () => {
  test("list and one model (ids may contain '/')", async () => {
    const card = { id: "org/bitnet-2b", created: 1, ownedBy: "org", contextLength: 4096 };
    const { app } = makeApp({ models: [card] });
    expect(await (await app.request("/v1/models")).json()).toEqual({
      object: "list",
      data: [{
        id: "org/bitnet-2b",
        object: "model",
        created: 1,
        owned_by: "org",
        context_length: 4096,
      }],
    });
    const one = await app.request("/v1/models/org/bitnet-2b");
    expect(one.status).toBe(200);
    expect((await one.json()).id).toBe("org/bitnet-2b");
  });

  test("a local model's run-time weight types are reported as weight_types", async () => {
    const card = {
      id: "m",
      created: 1,
      ownedBy: "aria",
      contextLength: 64,
      weightTypes: { TQ2_0: 14 },
    };
    const { app } = makeApp({ models: [card] });
    const body = await (await app.request("/v1/models/m")).json();
    expect(body.weight_types).toEqual({ TQ2_0: 14 });
  });
});

describe("health", () => {
  test("ready 200 ok, loading 503", async () => {
    const ready = await makeApp().app.request("/health");
    expect([ready.status, await ready.json()]).toEqual([200, { status: "ok" }]);
    const loading = await makeApp({ health: "loading" }).app.request("/health");
    expect([loading.status, await loading.json()]).toEqual([503, { status: "loading" }]);
  });
});

function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      expect(line).toMatch(/^# (HELP|TYPE) [a-z_]+ .+$/);
      continue;
    }
    const m = /^([a-z_]+(?:\{[^}]*\})?) (-?[0-9.e+]+)$/.exec(line);
    if (!m) throw new Error(`Bad metrics line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe("metrics", () => {
  test("Prometheus text: requests by route and status, tokens, tokens/s, queue", async () => {
    const { app } = makeApp();
    await app.request("/v1/chat/completions", post(chat()));
    const streamed = await app.request(
      "/v1/chat/completions",
      post(chat({ max_tokens: 2, stream: true })),
    );
    await streamed.text();
    await app.request("/v1/chat/completions", post(chat({ n: 3 })));
    await app.request("/health");
    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const m = parseProm(await res.text());
    expect(m.get('aria_http_requests_total{route="/v1/chat/completions",status="200"}')).toBe(2);
    expect(m.get('aria_http_requests_total{route="/v1/chat/completions",status="400"}')).toBe(1);
    expect(m.get('aria_http_requests_total{route="/health",status="200"}')).toBe(1);
    expect(m.get('aria_prompt_tokens_total{model="fake-model"}')).toBe(10);
    expect(m.get('aria_completion_tokens_total{model="fake-model"}')).toBe(9);
    expect(m.get('aria_tokens_per_second{model="fake-model"}')).toBe(9);
    expect(m.get("aria_queue_depth")).toBe(2);
    expect(m.get("aria_active_sequences")).toBe(1);
  });
});

describe("CORS", () => {
  test("off by default: a preflight gets no allow headers (issue 19, hole 4)", async () => {
    const { app } = makeApp({}, { apiKey: "k" });
    const res = await app.request("/v1/chat/completions", {
      method: "OPTIONS",
      headers: { origin: "http://example.com", "access-control-request-method": "POST" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
  test("--cors-origin '*': preflight is 204 with allow headers, even with an API key", async () => {
    const { app } = makeApp({}, { apiKey: "k", corsOrigins: ["*"] });
    const res = await app.request("/v1/chat/completions", {
      method: "OPTIONS",
      headers: {
        origin: "http://example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-methods")).toContain("POST");
  });
});

describe("auth", () => {
  test("off: /v1 open", async () => {
    expect((await makeApp().app.request("/v1/models")).status).toBe(200);
  });
  test("on: /v1 needs the Bearer key; /health and /metrics stay open", async () => {
    const { app } = makeApp({}, { apiKey: "s3cret" });
    const h = (v: string) => ({ headers: { authorization: v } });
    expect((await app.request("/v1/models")).status).toBe(401);
    expect((await app.request("/v1/models", h("Bearer wrong"))).status).toBe(401);
    expect((await app.request("/v1/models", h("Bearer s3cre"))).status).toBe(401);
    expect((await app.request("/v1/models", h("Basic s3cret"))).status).toBe(401);
    expect((await app.request("/v1/models", h("Bearer s3cret"))).status).toBe(200);
    const chatRes = await app.request(
      "/v1/chat/completions",
      post(chat(), { authorization: "Bearer s3cret" }),
    );
    expect(chatRes.status).toBe(200);
    expect((await app.request("/health")).status).toBe(200);
    expect((await app.request("/metrics")).status).toBe(200);
  });
});

describe("responses", () => {
  test("a stream carries the served-by header from its first chunk", async () => {
    const { app } = makeApp();
    const res = await app.request("/v1/chat/completions", post(chat({ stream: true })));
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("x-aria-served-by")).toBe("node-a");
    await res.text();
  });

  test("chat: ids, created from the clock, usage, served-by header", async () => {
    const { app } = makeApp({}, { newId: () => "abc", systemFingerprint: "fp" });
    const res = await app.request("/v1/chat/completions", post(chat()));
    expect(res.headers.get("x-aria-served-by")).toBe("node-a");
    expect(res.headers.get("x-request-id")).toBe("abc");
    expect(await res.json()).toEqual({
      id: "chatcmpl-abc",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "fake-model",
      system_fingerprint: "fp",
      choices: [{
        index: 0,
        message: { role: "assistant", content: "Hello, world! é🙂", refusal: null },
        logprobs: null,
        finish_reason: "stop",
      }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
  });
  test("completions: legacy logprobs shape", async () => {
    const { app } = makeApp();
    const res = await app.request(
      "/v1/completions",
      post({ model: "fake-model", prompt: "x", logprobs: 1, max_tokens: 3 }),
    );
    const body = await res.json();
    expect(body.choices[0].finish_reason).toBe("length");
    expect(body.choices[0].logprobs).toEqual({
      tokens: ["Hello", ","],
      token_logprobs: [-0.125, -0.25],
      top_logprobs: [{ Hello: -0.25 }, { Hello: -0.25 }],
      text_offset: [0, 5],
    });
  });
});
