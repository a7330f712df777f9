/** Consent at the API: refusals are 403 CONSENT_DENIED / 503 BUSY before any backend call; the
 * gate's slot is released on completion, on error and on client disconnect; tokens are counted. */
import { describe, expect, test } from "bun:test";
import { PolicyGate } from "../../src/consent/gate.ts";
import type { ConsentPolicy } from "../../src/consent/policy.ts";
import type { FakeBackendOptions } from "../helpers/fake-backend.ts";
import { chat, FIXED_MS, makeApp, post, sseEvents } from "../helpers/api.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const OPEN: ConsentPolicy = {
  version: 1,
  models: "*",
  taskKinds: ["chat", "completion"],
  schedule: "always",
  maxThreads: 1,
  maxMemoryBytes: 1,
  maxConcurrent: 1,
  dailyTokenQuota: null,
  servePeers: false,
  pipelineStages: false,
};

function gated(policy: Partial<ConsentPolicy>, options: FakeBackendOptions = {}) {
  const gate = new PolicyGate({ ...OPEN, ...policy }, { nowMs: () => FIXED_MS });
  return { gate, ...makeApp(options, { consent: gate }) };
}

async function settle(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 1));
}

const TEXT = { model: "fake-model", prompt: "Hi" };

describe("consent at the API", () => {
  const denials: [string, Partial<ConsentPolicy>, string, unknown, string][] = [
    [
      "model",
      { models: ["other"] },
      "/v1/chat/completions",
      chat(),
      'Model "fake-model" is not allowed',
    ],
    [
      "chat kind",
      { taskKinds: ["completion"] },
      "/v1/chat/completions",
      chat(),
      'Task kind "chat"',
    ],
    ["completion kind", { taskKinds: ["chat"] }, "/v1/completions", TEXT, 'Task kind "completion"'],
    [
      "schedule",
      { schedule: [{ days: ["mon"], start: "00:00", end: "01:00" }] },
      "/v1/completions",
      TEXT,
      "Outside the allowed hours",
    ],
    [
      "quota",
      { dailyTokenQuota: 0 },
      "/v1/chat/completions",
      chat({ stream: true }),
      "quota is used up",
    ],
  ];
  for (const [name, policy, path, body, reason] of denials) {
    test(`denied by ${name}: 403 CONSENT_DENIED and no backend call`, async () => {
      const { app, backend, gate } = gated(policy);
      const res = await app.request(path, post(body));
      expect(res.status).toBe(403);
      const json = (await res.json()) as Any;
      expect(json.error.code).toBe("CONSENT_DENIED");
      expect(json.error.type).toBe("permission_error");
      expect(json.error.message).toContain(reason);
      expect(backend.requests).toHaveLength(0);
      expect(gate.usage().inFlight).toBe(0);
    });
  }

  test("allowed: the answer is unchanged and prompt + completion tokens are counted", async () => {
    const { app, gate } = gated({ dailyTokenQuota: 1000 });
    const res = await app.request("/v1/chat/completions", post(chat()));
    expect(res.status).toBe(200);
    const json = (await res.json()) as Any;
    expect(gate.usage()).toEqual({
      inFlight: 0,
      tokens: json.usage.total_tokens,
      day: gate.usage().day,
    });
    expect(json.usage.total_tokens).toBe(12); // fake: 5 prompt + 7 pieces
  });

  test("the quota is enforced across requests", async () => {
    const { app, backend } = gated({ dailyTokenQuota: 12 });
    expect((await app.request("/v1/completions", post(TEXT))).status).toBe(200);
    const res = await app.request("/v1/completions", post(TEXT));
    expect(res.status).toBe(403);
    expect(((await res.json()) as Any).error.message).toContain("(12 of 12");
    expect(backend.requests).toHaveLength(1);
  });

  test("at capacity: 503 BUSY with Retry-After, no backend call; free again after disconnect", async () => {
    const { app, backend, gate } = gated({}, { forever: true });
    const first = await app.request("/v1/chat/completions", post(chat({ stream: true })));
    const reader = first.body!.getReader();
    await reader.read();
    const busy = await app.request("/v1/completions", post(TEXT));
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(((await busy.json()) as Any).error).toMatchObject({
      code: "BUSY",
      type: "unavailable_error",
    });
    expect(backend.requests).toHaveLength(1);
    await reader.cancel();
    await settle(() => backend.finishedRuns === 1);
    expect(backend.finishedRuns).toBe(1);
    expect(gate.usage().inFlight).toBe(0);
    expect(gate.usage().tokens).toBeGreaterThan(0); // the streamed tokens count
  });

  test("the slot is released when the backend fails before output", async () => {
    const { app, gate } = gated({}, { throwBefore: new Error("boom") });
    expect((await app.request("/v1/chat/completions", post(chat()))).status).toBe(500);
    expect(gate.usage().inFlight).toBe(0);
  });

  test("the slot is released when the backend fails mid-stream", async () => {
    const { app, gate } = gated({}, { throwAfter: 2, throwError: new Error("boom") });
    const events = await sseEvents(
      await app.request("/v1/completions", post({ ...TEXT, stream: true })),
    );
    expect((events.at(-1) as Any).error.type).toBe("server_error");
    expect(gate.usage()).toMatchObject({ inFlight: 0, tokens: 2 });
  });

  test("the slot is released when the client goes away before output (499)", async () => {
    const { app, gate } = gated({});
    const ac = new AbortController();
    const p = app.request("/v1/chat/completions", { ...post(chat()), signal: ac.signal });
    ac.abort();
    expect((await p).status).toBe(499);
    expect(gate.usage().inFlight).toBe(0);
  });

  test("a finished stream releases its slot and counts its tokens", async () => {
    const { app, gate } = gated({});
    await sseEvents(await app.request("/v1/chat/completions", post(chat({ stream: true }))));
    expect(gate.usage()).toMatchObject({ inFlight: 0, tokens: 12 });
    expect((await app.request("/v1/chat/completions", post(chat()))).status).toBe(200);
  });
  test("the gate sees the model, the task kind and the completion's id", async () => {
    const seen: unknown[] = [];
    const gate = {
      admit(r: unknown) {
        seen.push(r);
        return { addTokens() {}, release() {} };
      },
    };
    const { app } = makeApp({}, { consent: gate });
    await app.request("/v1/chat/completions", post(chat()));
    await app.request("/v1/completions", post(TEXT));
    expect(seen).toEqual([
      { model: "fake-model", kind: "chat", requestId: "chatcmpl-1" },
      { model: "fake-model", kind: "completion", requestId: "cmpl-2" },
    ]);
  });
});
