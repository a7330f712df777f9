/** Every row of the STYLE.md B7.3 table through the real app, with the exact body shape. */
import { describe, expect, test } from "bun:test";
import { ContextOverflowError } from "../../src/generation/generate.ts";
import { CapacityError } from "../../src/shared/errors.ts";
import { ChatTemplateError } from "../../src/tokenizer/chat-template.ts";
import { chat, makeApp, post } from "../helpers/api.ts";

async function errorOf(res: Response) {
  const body = await res.json();
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  return body.error;
}

describe("error table", () => {
  test("ZodError -> 400 invalid_request_error with param", async () => {
    const { app } = makeApp();
    const res = await app.request("/v1/chat/completions", post(chat({ temperature: 3 })));
    expect(res.status).toBe(400);
    const e = await errorOf(res);
    expect([e.type, e.param, e.code]).toEqual(["invalid_request_error", "temperature", null]);
    expect(e.message).toContain("temperature");
  });
  test("invalid JSON and non-object bodies -> 400, never 500", async () => {
    const { app } = makeApp();
    for (const body of ["{bad", "", "42", "[1]", "null", '"s"']) {
      const res = await app.request("/v1/chat/completions", post(body));
      expect(res.status).toBe(400);
      expect((await errorOf(res)).type).toBe("invalid_request_error");
    }
  });
  test("unknown model -> 404 model_not_found (chat, completions, models/:id)", async () => {
    const { app } = makeApp();
    const reqs = [
      app.request("/v1/chat/completions", post(chat({ model: "gpt-9" }))),
      app.request("/v1/completions", post({ model: "gpt-9", prompt: "x" })),
      app.request("/v1/models/gpt-9"),
    ];
    for (const res of await Promise.all(reqs)) {
      expect(res.status).toBe(404);
      expect(await errorOf(res)).toEqual({
        message: 'The model "gpt-9" does not exist',
        type: "not_found_error",
        param: "model",
        code: "model_not_found",
      });
    }
  });
  test("body too large -> 413 (content-length and chunked)", async () => {
    const { app } = makeApp({}, { maxBodyBytes: 100 });
    const big = JSON.stringify(chat({ user: "x".repeat(200) }));
    const res = await app.request("/v1/chat/completions", post(big));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("request_too_large");
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const res2 = await app.request("/v1/chat/completions", {
      method: "POST",
      body: stream,
      // @ts-expect-error: duplex is needed for a stream body
      duplex: "half",
    });
    expect(res2.status).toBe(413);
  });
  test("CapacityError -> 503 unavailable_error with Retry-After", async () => {
    const { app } = makeApp({ throwBefore: new CapacityError("Cannot queue request: full") });
    const res = await app.request("/v1/chat/completions", post(chat()));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await errorOf(res)).toEqual({
      message: "The server is at capacity: retry shortly",
      type: "unavailable_error",
      param: null,
      code: null,
    });
  });
  test("CapacityError while streaming (before output) still gets 503", async () => {
    const { app } = makeApp({ throwBefore: new CapacityError("full") });
    const res = await app.request("/v1/chat/completions", post(chat({ stream: true })));
    expect(res.status).toBe(503);
  });
  test("ContextOverflowError -> 400 context_length_exceeded", async () => {
    const { app } = makeApp({ throwBefore: new ContextOverflowError(5000, 4096) });
    const res = await app.request("/v1/completions", post({ model: "fake-model", prompt: "x" }));
    expect(res.status).toBe(400);
    // OpenAI's four fields plus llama-server's token counts
    expect((await res.json()).error).toEqual({
      message: "Cannot generate: the prompt has 5000 tokens and the context holds 4096",
      type: "invalid_request_error",
      param: "messages",
      code: "context_length_exceeded",
      n_prompt_tokens: 5000,
      n_ctx: 4096,
    });
  });
  test("ContextOverflowError for max_tokens names max_tokens and the tokens asked for", async () => {
    const { app } = makeApp({ throwBefore: new ContextOverflowError(10, 512, 1000) });
    const res = await app.request("/v1/completions", post({ model: "fake-model", prompt: "x" }));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({
      param: "max_tokens",
      code: "context_length_exceeded",
      n_prompt_tokens: 10,
      n_ctx: 512,
      n_requested_tokens: 1000,
    });
  });
  test("ChatTemplateError -> 400 with param messages", async () => {
    const { app } = makeApp({
      throwBefore: new ChatTemplateError("raise", "Roles must alternate"),
    });
    const res = await app.request("/v1/chat/completions", post(chat()));
    expect(res.status).toBe(400);
    const e = await errorOf(res);
    expect([e.type, e.param, e.code]).toEqual(["invalid_request_error", "messages", null]);
  });
  test("auth -> 401 authentication_error", async () => {
    const { app } = makeApp({}, { apiKey: "k" });
    const res = await app.request("/v1/models");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    const e = await errorOf(res);
    expect([e.type, e.param, e.code]).toEqual(["authentication_error", null, "invalid_api_key"]);
  });
  test("unknown route -> 404 in the same shape", async () => {
    const { app } = makeApp();
    const res = await app.request("/v2/nothing", { method: "DELETE" });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).type).toBe("not_found_error");
  });
  test("model loading -> 503 model_loading", async () => {
    const { app } = makeApp({ health: "loading" });
    const res = await app.request("/v1/chat/completions", post(chat()));
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("model_loading");
  });
  test("anything else -> 500 with no internals; logged with the request id", async () => {
    const { app, logs } = makeApp({ throwBefore: new Error("open /secret/model.gguf: EIO") });
    const res = await app.request("/v1/chat/completions", post(chat()));
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    expect(text).not.toContain("secret");
    expect(await errorOf(res)).toEqual({
      message: "Internal server error",
      type: "server_error",
      param: null,
      code: null,
    });
    expect(logs).toHaveLength(1);
    expect(logs[0]!.requestId).toBe(res.headers.get("x-request-id"));
    expect(String(logs[0]!.error)).toContain("/secret/model.gguf");
  });
});
