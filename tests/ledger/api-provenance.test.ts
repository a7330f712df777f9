/** Receipts on API responses: JSON field + header, final SSE event, the official openai client. */
import { describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { makeApp, post, sseEvents } from "../helpers/api.ts";
import { fixedIdentity, inferenceOf } from "../helpers/ledger.ts";
import { createProvenanceRecorder, promptHash } from "../../src/ledger/provenance.ts";
import { openLedger } from "../../src/ledger/store.ts";
import { sha256Text, verifyReceipt } from "../../src/ledger/index.ts";
import type { Hex32 } from "../../src/ledger/index.ts";
import type { ProvenanceSink } from "../../src/contract/index.ts";

const alice = fixedIdentity(1);
const clock = { nowMs: () => 1_700_000_000_000 };
const CHAT = { model: "fake-model", messages: [{ role: "user", content: "Hi" }] };

function ledgerApp(sealEvery = 16) {
  const store = openLedger(":memory:", { identity: alice, clock, sealEvery });
  const provenance: ProvenanceSink = createProvenanceRecorder({
    identity: alice,
    writer: store,
    clock,
    modelSha256: "cd".repeat(32) as Hex32,
    nLayers: 2,
  });
  return { ...makeApp({}, { provenance }), store };
}

describe("provenance on /v1/chat/completions", () => {
  test("a whole response carries a receipt field and the record hash header", async () => {
    const { app, store } = ledgerApp();
    const res = await app.request("/v1/chat/completions", post(CHAT));
    const body = await res.json() as {
      provenance: unknown;
      choices: { message: { content: string } }[];
    };
    const check = verifyReceipt(body.provenance);
    expect(check.ok).toBe(true);
    expect(res.headers.get("x-aria-provenance")).toBe(check.ok ? check.value.recordHash : "none");
    const stored = inferenceOf(store.pending()[0]?.signed).record;
    expect(stored.outputHash).toBe(sha256Text(body.choices[0]!.message.content));
    expect(stored.promptHash).toBe(promptHash({ kind: "chat", messages: CHAT.messages }));
    expect(stored.energySource).toBe("estimated");
  });
  test("a stream ends with an aria.provenance event before [DONE], sealed when the block fills", async () => {
    const { app } = ledgerApp(1);
    const res = await app.request("/v1/chat/completions", post({ ...CHAT, stream: true }));
    const events = await sseEvents(res);
    expect(events[events.length - 1]).toBe("[DONE]");
    const last = events[events.length - 2] as {
      object: string;
      choices: unknown[];
      provenance: unknown;
    };
    expect([last.object, last.choices]).toEqual(["aria.provenance", []]);
    const check = verifyReceipt(last.provenance);
    expect(check.ok && check.value.block?.height).toBe(1);
  });
  test("a sink that fails turns a whole response into a 500 and ends a stream with an error", async () => {
    const provenance: ProvenanceSink = {
      record() {
        throw new Error("disk full");
      },
    };
    const { app } = makeApp({}, { provenance });
    expect((await app.request("/v1/chat/completions", post(CHAT))).status).toBe(500);
    const events = await sseEvents(
      await app.request("/v1/chat/completions", post({ ...CHAT, stream: true })),
    );
    expect(events[events.length - 2]).toEqual({
      error: expect.objectContaining({ type: "server_error" }),
    });
  });
  test("/v1/completions carries a receipt too", async () => {
    const { app } = ledgerApp();
    const res = await app.request("/v1/completions", post({ model: "fake-model", prompt: "Say" }));
    const body = await res.json() as { provenance: unknown };
    expect(verifyReceipt(body.provenance).ok).toBe(true);
    expect(res.headers.get("x-aria-provenance")).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("provenance with the official openai client", () => {
  test("a streamed chat with a receipt event still reads as the same text", async () => {
    const { app, store } = ledgerApp();
    const fetch = (input: string | URL | Request, init?: RequestInit) =>
      Promise.resolve(app.request(input instanceof Request ? input : String(input), init));
    const openai = new OpenAI({
      apiKey: "x",
      baseURL: "http://aria.test/v1",
      fetch,
      maxRetries: 0,
    });
    const stream = await openai.chat.completions.create({
      ...CHAT,
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let text = "";
    let receipt: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if ((chunk as { object: string }).object === "aria.provenance") {
        receipt = (chunk as unknown as { provenance: unknown }).provenance;
      }
    }
    expect(text).toBe("Hello, world! é🙂");
    expect(verifyReceipt(receipt).ok).toBe(true);
    const whole = await openai.chat.completions.create({
      ...CHAT,
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(whole.choices[0]!.message.content).toBe(text);
    expect(verifyReceipt((whole as unknown as { provenance: unknown }).provenance).ok).toBe(true);
    const helper = openai.chat.completions.stream({
      ...CHAT,
      messages: [{ role: "user", content: "Hi" }],
    });
    const final = await helper.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe(text);
    expect(store.pending().length).toBe(3);
  });
});
