/**
 * @module TEMPORARY (until src/api/app.ts lands): a minimal OpenAI-compatible hono app over a
 * `CompletionBackend`, enough for `aria serve` and its end-to-end tests — /health, /v1/models,
 * /v1/chat/completions and /v1/completions (plain and streamed), unknown model → 404. No zod
 * validation, metrics or auth here; the real app does all of that.
 */
import { Hono } from "hono";
import type {
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
} from "../api/port.ts";

/** Dependencies of {@link createStubApp}. */
export interface StubAppDeps {
  backend: CompletionBackend;
  clock: () => number;
}

type Body = Record<string, unknown>;

function error(status: number, message: string, type: string, code: string | null) {
  return Response.json({ error: { message, type, param: null, code } }, { status });
}

/**
 * Builds the stub app.
 *
 * @param deps backend and clock (ms).
 * @returns the hono app.
 */
export function createStubApp(deps: StubAppDeps): Hono {
  const { backend } = deps;
  const app = new Hono();
  const now = () => Math.floor(deps.clock() / 1000);
  app.get("/health", (c) => {
    const status = backend.health();
    return c.json({ status }, status === "ready" ? 200 : 503);
  });
  app.get("/v1/models", (c) =>
    c.json({
      object: "list",
      data: backend.listModels().map((m) => ({
        id: m.id,
        object: "model",
        created: m.created,
        owned_by: m.ownedBy,
      })),
    }));
  const handle = (chat: boolean) => async (c: { req: { raw: Request } }) => {
    let body: Body;
    try {
      body = await c.req.raw.json() as Body;
    } catch {
      // terminated: invalid JSON is the client's error
      return error(400, "Invalid JSON body", "invalid_request_error", null);
    }
    const model = String(body["model"]);
    if (!backend.listModels().some((m) => m.id === model)) {
      return error(
        404,
        `The model "${model}" does not exist`,
        "invalid_request_error",
        "model_not_found",
      );
    }
    const id = `${chat ? "chatcmpl" : "cmpl"}-${crypto.randomUUID().replaceAll("-", "")}`;
    const stop = body["stop"];
    const request: CompletionRequest = {
      id,
      model,
      input: chat
        ? { kind: "chat", messages: body["messages"] as CompletionRequest["input"] & never }
        : { kind: "text", prompt: String(body["prompt"]) },
      sampling: { temperature: typeof body["temperature"] === "number" ? body["temperature"] : 1 },
      stop: typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop as string[] : [],
    };
    const max = body["max_completion_tokens"] ?? body["max_tokens"];
    if (typeof max === "number") request.maxTokens = max;
    if (typeof body["seed"] === "number") request.seed = body["seed"];
    const ac = new AbortController();
    c.req.raw.signal.addEventListener("abort", () => ac.abort(new Error("Client disconnected")));
    const gen = backend.complete(request, ac.signal);
    const created = now();
    const base = { id, object: chat ? "chat.completion" : "text_completion", created, model };
    const choice = (text: string, finish: string | null) =>
      chat
        ? { index: 0, message: { role: "assistant", content: text }, finish_reason: finish }
        : { index: 0, text, finish_reason: finish, logprobs: null };
    const usage = (r: CompletionResult) => ({
      prompt_tokens: r.usage.promptTokens,
      completion_tokens: r.usage.completionTokens,
      total_tokens: r.usage.promptTokens + r.usage.completionTokens,
    });
    if (body["stream"] !== true) {
      let text = "";
      let step: IteratorResult<CompletionChunk, CompletionResult>;
      try {
        for (step = await gen.next(); !step.done; step = await gen.next()) text += step.value.text;
      } catch (err: unknown) {
        // terminated: mapped to an OpenAI error body
        return error(500, (err as Error).message, "server_error", null);
      }
      const r = step.value;
      return Response.json({
        ...base,
        choices: [choice(text + r.tail, r.finishReason)],
        usage: usage(r),
      });
    }
    const chunkBase = { ...base, object: chat ? "chat.completion.chunk" : "text_completion" };
    const delta = (text: string | undefined, finish: string | null, role = false) =>
      chat
        ? {
          index: 0,
          delta: role ? { role: "assistant", content: "" } : text === undefined ? {} : {
            content: text,
          },
          finish_reason: finish,
        }
        : { index: 0, text: text ?? "", finish_reason: finish, logprobs: null };
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (v: unknown) =>
          controller.enqueue(enc.encode(`data: ${JSON.stringify(v)}\n\n`));
        try {
          if (chat) send({ ...chunkBase, choices: [delta(undefined, null, true)] });
          let step = await gen.next();
          for (; !step.done; step = await gen.next()) {
            if (step.value.text) send({ ...chunkBase, choices: [delta(step.value.text, null)] });
          }
          const r = step.value;
          if (r.tail) send({ ...chunkBase, choices: [delta(r.tail, null)] });
          send({ ...chunkBase, choices: [delta(undefined, r.finishReason)] });
          controller.enqueue(enc.encode("data: [DONE]\n\n"));
        } catch (err: unknown) {
          // terminated: an error after streaming began is a final SSE error event
          send({
            error: {
              message: (err as Error).message,
              type: "server_error",
              param: null,
              code: null,
            },
          });
        }
        controller.close();
      },
      cancel() {
        ac.abort(new Error("Client disconnected"));
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  };
  app.post("/v1/chat/completions", handle(true));
  app.post("/v1/completions", handle(false));
  return app;
}
