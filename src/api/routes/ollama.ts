/**
 * @module Ollama's API on the same port (docs/api.md "Ollama"), so clients that only speak
 * Ollama work against ARIA unchanged: POST /api/chat and /api/generate (NDJSON streams by
 * default, one JSON object per line, the last with `done: true` and the timings in
 * nanoseconds), GET /api/tags, POST /api/show, GET /api/ps, GET /api/version. Requests pass the
 * same consent gate, metrics and provenance ledger as the OpenAI routes (`runCompletion`); a
 * receipt rides on the last object as `provenance`. Errors are Ollama's `{"error": "…"}` with
 * the same statuses as the OpenAI routes (app.ts maps them for /api/*). Pure given the deps.
 */
import { type Context, Hono } from "hono";
import type { AppEnv, RouteDeps } from "../_context.ts";
import { readBody } from "../_context.ts";
import {
  collect,
  type Generation,
  runCompletion,
  type RunHooks,
  type StreamEncoding,
  type StreamFramer,
  wholeProvenance,
} from "../_run.ts";
import { ApiError, modelLoading, modelNotFound } from "../errors.ts";
import {
  numCtxProblem,
  type OllamaChatBody,
  ollamaChatBody,
  ollamaChatRequest,
  ollamaGenerateBody,
  ollamaGenerateRequest,
  ollamaShowBody,
  ollamaToolParse,
  servedModelId,
} from "../ollama-schemas.ts";
import {
  type ParsedToolCall,
  parseToolCalls,
  ToolCallStream,
  type ToolParseOptions,
} from "../_tool-calls.ts";
import type {
  CompletionBackend,
  CompletionRequest,
  CompletionResult,
  ModelCard,
} from "../../contract/index.ts";
import { VERSION } from "../../shared/version.ts";

/** NDJSON: one object a line; the receipt on the last line; an error as `{"error": …}`. */
export const NDJSON_ENCODING: StreamEncoding = {
  headers: { "content-type": "application/x-ndjson", "cache-control": "no-cache" },
  frame: (payload) => `${JSON.stringify(payload)}\n`,
  finish(end, _id, receipt) {
    const last = end.length - 1;
    return end.map((p, i) =>
      `${
        JSON.stringify(
          i === last && receipt !== null ? { ...(p as object), provenance: receipt.receipt } : p,
        )
      }\n`
    ).join("");
  },
  error: (body) => `${JSON.stringify({ error: body.error.message })}\n`,
  done: "",
};

/** What each answer of a request repeats: the model name as the client sent it. */
interface Head {
  model: string;
  createdAt: string;
}

/** The kind of answer: chat messages or generate's `response` text. */
type Shape = "chat" | "generate";

function piece(shape: Shape, text: string): Record<string, unknown> {
  return shape === "chat" ? { message: { role: "assistant", content: text } } : { response: text };
}

/** Ollama's final fields: why it ended and the counts and times (nanoseconds). */
function stats(result: CompletionResult): Record<string, unknown> {
  const ns = (ms: number) => Math.round(ms * 1e6);
  const t = result.timings;
  return {
    done_reason: result.finishReason,
    total_duration: ns(t.queueMs + t.promptMs + t.decodeMs),
    load_duration: 0,
    prompt_eval_count: result.usage.promptTokens,
    prompt_eval_duration: ns(t.promptMs),
    eval_count: result.usage.completionTokens,
    eval_duration: ns(t.decodeMs),
  };
}

/** Ollama's `tool_calls` of a message (arguments as objects). */
function ollamaCalls(calls: readonly ParsedToolCall[], first: number): Record<string, unknown>[] {
  return calls.map((c, i) => ({
    function: { index: first + i, name: c.name, arguments: JSON.parse(c.arguments) as unknown },
  }));
}

function framer(shape: Shape, head: Head, tools: ToolParseOptions | undefined): StreamFramer {
  const line = (text: string, done: boolean) => ({
    model: head.model,
    created_at: head.createdAt,
    ...piece(shape, text),
    done,
  });
  const parser = tools === undefined ? undefined : new ToolCallStream(tools);
  let count = 0;
  const lines = (text: string, final: boolean): object[] => {
    if (parser === undefined) return text === "" ? [] : [line(text, false)];
    const a = parser.push(text);
    const b = final ? parser.end() : { content: "", calls: [] };
    const content = a.content + b.content;
    const calls = [...a.calls, ...b.calls];
    const out: object[] = content === "" ? [] : [line(content, false)];
    if (calls.length > 0) {
      out.push({
        ...line("", false),
        message: { role: "assistant", content: "", tool_calls: ollamaCalls(calls, count) },
      });
      count += calls.length;
    }
    return out;
  };
  return {
    start: () => [],
    chunk: (c) => lines(c.text, false),
    end: (result) => [...lines(result.tail, true), { ...line("", true), ...stats(result) }],
  };
}

async function whole(
  gen: Generation,
  hooks: RunHooks,
  shape: Shape,
  head: Head,
  tools: ToolParseOptions | undefined,
): Promise<Response> {
  const { text, result } = await collect(gen, hooks);
  const provenance = wholeProvenance(hooks, result, text);
  const parsed = tools === undefined ? undefined : parseToolCalls(text, tools);
  const answer = parsed === undefined || parsed.calls.length === 0
    ? piece(shape, parsed?.content ?? text)
    : {
      message: {
        role: "assistant",
        content: parsed.content ?? "",
        tool_calls: ollamaCalls(parsed.calls, 0),
      },
    };
  return Response.json({
    model: head.model,
    created_at: head.createdAt,
    ...answer,
    done: true,
    ...stats(result),
    ...provenance.fields,
  }, { headers: { "x-aria-served-by": result.servedBy.join(","), ...provenance.headers } });
}

/**
 * The served card an Ollama name stands for.
 *
 * @throws {ApiError} 503 while loading, 404 for an unknown model.
 */
export function servedCard(backend: CompletionBackend, name: string): ModelCard {
  if (backend.health() !== "ready") throw modelLoading();
  const cards = backend.listModels();
  const names = cards.flatMap((m) => [m.id, ...(m.aliases ?? [])]);
  const id = servedModelId(name, names);
  const card = cards.find((m) => m.id === id) ?? cards.find((m) => m.aliases?.includes(id ?? ""));
  if (!card) throw modelNotFound(name);
  return card;
}

/** Ollama's `details` of a model. */
function details(card: ModelCard): Record<string, unknown> {
  const d = card.details;
  return {
    parent_model: "",
    format: "gguf",
    family: d?.family ?? "",
    families: d ? [d.family] : [],
    parameter_size: d ? parameterSize(d.parameterCount) : "",
    quantization_level: d?.quantization ?? "",
  };
}

/**
 * A parameter count the way Ollama prints it: "2.4B", "728.8M".
 *
 * @param n the count.
 * @returns the text.
 */
export function parameterSize(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${n}`;
}

/** The name a served id is listed under: Ollama's names carry a tag, `:latest` by default. */
function listedName(id: string): string {
  return id.includes(":") ? id : `${id}:latest`;
}

function listed(card: ModelCard, modifiedAt: string): Record<string, unknown> {
  return {
    name: listedName(card.id),
    model: listedName(card.id),
    modified_at: modifiedAt,
    size: card.details?.fileBytes ?? 0,
    digest: "",
    details: details(card),
  };
}

/**
 * The Ollama-compatible routes.
 *
 * @param deps backend, clock, consent, metrics, provenance and log (as the OpenAI routes).
 * @returns a hono sub-app to mount at "/".
 */
export function ollamaRoutes(deps: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const iso = (ms: number) => new Date(ms).toISOString();

  /** Checks the model and its options, then answers whole or as an NDJSON stream. */
  const run = async (
    c: Context<AppEnv>,
    shape: Shape,
    body: { model: string; stream?: boolean | undefined; options?: OllamaChatBody["options"] },
    toRequest: (id: string, model: string) => CompletionRequest,
    tools?: ToolParseOptions,
  ): Promise<Response> => {
    const card = servedCard(deps.backend, body.model);
    const tooBig = numCtxProblem(body.options, card.contextLength);
    if (tooBig !== undefined) {
      throw new ApiError(400, "invalid_request_error", tooBig, { param: "options.num_ctx" });
    }
    const head: Head = { model: body.model, createdAt: iso(deps.clock.nowMs()) };
    const requestId = c.get("requestId");
    return await runCompletion(deps, {
      requestId,
      request: toRequest(`${shape}-${requestId}`, card.id),
      kind: shape === "chat" ? "chat" : "completion",
      signal: c.req.raw.signal,
    }, {
      stream: body.stream !== false, // Ollama streams unless told not to
      encoding: NDJSON_ENCODING,
      whole: (gen, hooks) => whole(gen, hooks, shape, head, tools),
      framer: () => framer(shape, head, tools),
    });
  };

  app.post("/api/chat", async (c) => {
    const body = await readBody(c, ollamaChatBody);
    const tools = ollamaToolParse(body);
    return await run(c, "chat", body, (id, model) => ollamaChatRequest(id, model, body), tools);
  });
  app.post("/api/generate", async (c) => {
    const body = await readBody(c, ollamaGenerateBody);
    if ((body.prompt ?? "") === "") {
      // Ollama's way to load a model: no prompt, nothing generated
      servedCard(deps.backend, body.model);
      return c.json({
        model: body.model,
        created_at: iso(deps.clock.nowMs()),
        response: "",
        done: true,
        done_reason: "load",
      });
    }
    return await run(c, "generate", body, (id, model) => ollamaGenerateRequest(id, model, body));
  });
  app.get("/api/tags", (c) =>
    c.json({
      models: deps.backend.listModels().map((m) => listed(m, iso(m.created * 1000))),
    }));
  app.get("/api/ps", (c) =>
    c.json({
      models: deps.backend.health() === "ready"
        ? deps.backend.listModels().map((m) => ({
          ...listed(m, iso(m.created * 1000)),
          // loaded for as long as the node runs: Ollama reports when it would unload
          expires_at: iso(deps.clock.nowMs() + 365 * 24 * 3600 * 1000),
          size_vram: 0,
          context_length: m.contextLength,
        }))
        : [],
    }));
  app.post("/api/show", async (c) => {
    const { model } = await readBody(c, ollamaShowBody);
    const card = servedCard(deps.backend, model);
    const family = card.details?.family ?? "";
    return c.json({
      modelfile: "",
      parameters: "",
      template: card.details?.chatTemplate.template ?? "",
      details: details(card),
      model_info: {
        "general.architecture": family,
        "general.parameter_count": card.details?.parameterCount ?? 0,
        [`${family}.context_length`]: card.contextLength,
      },
      capabilities: ["completion"],
      modified_at: iso(card.created * 1000),
    });
  });
  app.get("/api/version", (c) => c.json({ version: VERSION }));
  return app;
}
