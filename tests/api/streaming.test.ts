/** Streaming: framing, byte equality with the non-streamed text, include_usage, mid-stream errors, abort on disconnect. */
import { describe, expect, test } from "bun:test";
import { chat, makeApp, post, sseEvents } from "../helpers/api.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

describe("chat streaming", () => {
  test("role first, content deltas, final finish_reason, [DONE]; equals non-streamed", async () => {
    const { app } = makeApp();
    const whole = await (await app.request("/v1/chat/completions", post(chat()))).json();
    const res = await app.request("/v1/chat/completions", post(chat({ stream: true })));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await sseEvents(res) as Any[];
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1);
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    for (const c of chunks) {
      expect(c.object).toBe("chat.completion.chunk");
      expect(c.id).toMatch(/^chatcmpl-/);
      expect(c.created).toBe(1_700_000_000);
      expect(c.system_fingerprint).toBe("aria-simulation");
    }
    const last = chunks.at(-1);
    expect(last.choices[0]).toEqual({
      index: 0,
      delta: {},
      logprobs: null,
      finish_reason: "stop",
    });
    const text = chunks.map((c: Any) => c.choices[0].delta.content ?? "").join("");
    expect(text).toBe(whole.choices[0].message.content);
    expect(text).toBe("Hello, world! é🙂");
    expect(chunks.slice(1, -1).every((c: Any) => c.choices[0].finish_reason === null)).toBe(true);
  });
  test("chunks that release no text (held back) do not stall the stream", async () => {
    const { app } = makeApp({ pieces: ["", "", "a", "", "", "b", "", "!"] });
    const res = await app.request("/v1/chat/completions", post(chat({ stream: true })));
    const events = await sseEvents(res) as Any[];
    expect(events.at(-1)).toBe("[DONE]");
    const text = events.slice(0, -1).map((c: Any) => c.choices[0].delta.content ?? "").join("");
    expect(text).toBe("ab!");
  });

  test("stop strings and max_tokens: stream equals non-stream, finish reasons", async () => {
    const { app } = makeApp();
    for (const extra of [{ stop: ["ld!"] }, { max_tokens: 3 }, { stop: "zz", max_tokens: 1 }]) {
      const w = await (await app.request("/v1/chat/completions", post(chat(extra)))).json();
      const events = await sseEvents(
        await app.request("/v1/chat/completions", post(chat({ ...extra, stream: true }))),
      ) as Any[];
      const text = events.slice(0, -1).map((c: Any) => c.choices[0].delta.content ?? "").join("");
      expect(text).toBe(w.choices[0].message.content);
      expect(events.at(-2).choices[0].finish_reason).toBe(w.choices[0].finish_reason);
    }
  });
  test("include_usage: a usage chunk with choices [] before [DONE], real counts", async () => {
    const { app } = makeApp();
    const body = chat({ stream: true, stream_options: { include_usage: true }, max_tokens: 4 });
    const events = await sseEvents(await app.request("/v1/chat/completions", post(body))) as Any[];
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.at(-2).choices).toEqual([]);
    expect(events.at(-2).usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 4,
      total_tokens: 9,
    });
    expect(events.at(-3).choices[0].finish_reason).toBe("length");
  });
  test("an error after streaming began is a final error event, then the stream closes", async () => {
    const { app, logs } = makeApp({ throwAfter: 2, throwError: new Error("native: bad") });
    const res = await app.request("/v1/chat/completions", post(chat({ stream: true })));
    expect(res.status).toBe(200);
    const events = await sseEvents(res) as Any[];
    expect(events.at(-1)).toEqual({
      error: {
        message: "Internal server error",
        type: "server_error",
        param: null,
        code: null,
      },
    });
    expect(events).not.toContain("[DONE]");
    expect(events.slice(1, -1).map((c: Any) => c.choices[0].delta.content)).toEqual([
      "Hello",
      ",",
    ]);
    expect(logs).toHaveLength(1);
  });
  test("a client that cancels the body aborts the backend's generation", async () => {
    const { app, backend } = makeApp({ forever: true });
    const res = await app.request("/v1/chat/completions", post(chat({ stream: true })));
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    expect(backend.signals[0]!.aborted).toBe(false);
    await reader.cancel();
    expect(backend.signals[0]!.aborted).toBe(true);
    for (let i = 0; i < 50 && backend.finishedRuns === 0; i++) {
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(backend.finishedRuns).toBe(1);
  });
  test("a request signal that aborts during the prompt answers 499 and aborts the backend", async () => {
    const { app, backend } = makeApp();
    const ac = new AbortController();
    const p = app.request("/v1/chat/completions", { ...post(chat()), signal: ac.signal });
    ac.abort();
    const res = await p;
    expect(res.status).toBe(499);
    expect(backend.signals[0]!.aborted).toBe(true);
  });
  test("logprobs in stream chunks", async () => {
    const { app } = makeApp();
    const body = chat({ stream: true, logprobs: true, top_logprobs: 2 });
    const events = await sseEvents(await app.request("/v1/chat/completions", post(body))) as Any[];
    const lp = events[1].choices[0].logprobs.content[0];
    expect(lp).toEqual({
      token: "Hello",
      bytes: [72, 101, 108, 108, 111],
      logprob: -0.125,
      top_logprobs: [
        { token: "Hello", bytes: [72, 101, 108, 108, 111], logprob: -0.25 },
        { token: ",", bytes: [44], logprob: -0.5 },
      ],
    });
  });
});

describe("completions streaming", () => {
  test("text deltas, final chunk, usage, [DONE]; equals non-streamed", async () => {
    const { app } = makeApp();
    const base = { model: "fake-model", prompt: ["Say"], max_tokens: 50 };
    const whole = await (await app.request("/v1/completions", post(base))).json();
    expect(whole.object).toBe("text_completion");
    expect(whole.id).toMatch(/^cmpl-/);
    const body = { ...base, stream: true, stream_options: { include_usage: true } };
    const events = await sseEvents(await app.request("/v1/completions", post(body))) as Any[];
    expect(events.at(-1)).toBe("[DONE]");
    expect(events.at(-2).usage).toEqual(whole.usage);
    const chunks = events.slice(0, -2);
    expect(chunks.map((c: Any) => c.choices[0].text).join("")).toBe(whole.choices[0].text);
    expect(chunks.at(-1).choices[0].finish_reason).toBe("stop");
    expect(chunks.every((c: Any) => c.object === "text_completion")).toBe(true);
  });
});
