/**
 * @module Drives one backend completion for a route: links the client's disconnect to an
 * AbortController passed to the backend, collects a whole completion, or streams it as SSE with
 * a route-supplied framer (payloads for the start, each chunk, the end). Errors before the first
 * byte go to `onError` (a proper status); errors after it become a final `data: {"error":…}`
 * event and the stream closes (STYLE.md B7.3). Pure given the backend.
 */
import type { TokenLogprobs } from "../generation/sampler.ts";
import type { RouteDeps } from "./_context.ts";
import { toOpenAIError } from "./errors.ts";
import type { TokenBytes } from "./_logprobs.ts";
import type {
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  ConsentCheck,
  ProvenanceReceipt,
} from "../contract/index.ts";
import { metered } from "./metered.ts";
import { SSE_DONE, SSE_HEADERS, sseData } from "./sse.ts";

/** A running completion. */
export type Generation = AsyncGenerator<CompletionChunk, CompletionResult, void>;

/** A whole completion. */
export interface Collected {
  text: string;
  logprobs: TokenLogprobs[];
  result: CompletionResult;
}

/** What a route sends around the chunks of a stream. */
export interface StreamFramer {
  /** Payloads before the first chunk (the chat role delta). */
  start(): unknown[];
  /** Payloads for one chunk (may be none, e.g. an empty chunk). */
  chunk(chunk: CompletionChunk): unknown[];
  /** Payloads after the last chunk (tail, finish_reason, usage). */
  end(result: CompletionResult): unknown[];
}

/** Hooks of a run. */
export interface RunHooks {
  requestId: string;
  /** The completion id sent to the client (chatcmpl-… / cmpl-…). */
  completionId: string;
  /** Called once with the result of a finished completion (metrics). */
  onDone(result: CompletionResult): void;
  log(entry: Record<string, unknown>): void;
  /**
   * Records a finished completion in the provenance ledger and returns its receipt; absent
   * when the app has no provenance sink.
   */
  provenance?(result: CompletionResult, output: string): ProvenanceReceipt | null;
}

/** The `object` of the final SSE event that carries a stream's receipt. */
export const PROVENANCE_OBJECT = "aria.provenance";

/**
 * The final SSE payload of a stream with a receipt. It has an empty `choices` list, like the
 * usage chunk, so clients that read `chunk.choices[0]?.delta` skip it.
 *
 * @param id the completion id.
 * @param receipt the receipt.
 * @returns the payload.
 */
export function provenanceEvent(id: string, receipt: ProvenanceReceipt): Record<string, unknown> {
  return { id, object: PROVENANCE_OBJECT, choices: [], provenance: receipt.receipt };
}

/**
 * An AbortController that aborts when the client's request signal does.
 *
 * @param clientSignal the request's signal.
 * @returns the controller to pass to the backend.
 */
export function linkAbort(clientSignal: AbortSignal): AbortController {
  const ctrl = new AbortController();
  if (clientSignal.aborted) ctrl.abort(clientSignal.reason);
  else {clientSignal.addEventListener("abort", () => ctrl.abort(clientSignal.reason), {
      once: true,
    });}
  return ctrl;
}

/**
 * Runs a completion to its end.
 *
 * @param gen the backend's generator.
 * @param hooks request id, metrics and log.
 * @returns the text (chunks plus tail), the logprobs and the result.
 * @throws whatever the backend throws.
 */
export async function collect(gen: Generation, hooks: RunHooks): Promise<Collected> {
  let text = "";
  const logprobs: TokenLogprobs[] = [];
  for (;;) {
    const r = await gen.next();
    if (r.done) {
      hooks.onDone(r.value);
      return { text: text + r.value.tail, logprobs, result: r.value };
    }
    text += r.value.text;
    if (r.value.logprobs) logprobs.push(...r.value.logprobs);
  }
}

/**
 * How a stream is written on the wire: OpenAI's server-sent events, or Ollama's NDJSON (one JSON
 * object per line). The framer decides the payloads; the encoding frames them and ends the stream.
 */
export interface StreamEncoding {
  headers: Readonly<Record<string, string>>;
  /** One payload as bytes-to-be (an SSE event, an NDJSON line). */
  frame(payload: unknown): string;
  /**
   * The end of a stream: the framer's end payloads, then the receipt when the answer has one
   * (SSE: an `aria.provenance` event and `[DONE]`; NDJSON: a `provenance` field on the last line).
   */
  finish(end: unknown[], completionId: string, receipt: ProvenanceReceipt | null): string;
  /** A failure after the first byte: the error body (OpenAI's `{error: {…}}`) as the last frame. */
  error(body: { error: { message: string } }): string;
}

/** OpenAI's streams: `data: …` events, the receipt as its own event, then `data: [DONE]`. */
export const SSE_ENCODING: StreamEncoding = {
  headers: SSE_HEADERS,
  frame: sseData,
  finish: (end, id, receipt) =>
    end.map(sseData).join("") + (receipt === null ? "" : sseData(provenanceEvent(id, receipt))) +
    SSE_DONE,
  error: sseData,
};

/**
 * The stream's end through `encoding`. If recording the receipt fails, the stream ends with an
 * error frame instead (handled here: the client learns the answer was not recorded).
 */
function finishStream(
  encoding: StreamEncoding,
  end: unknown[],
  hooks: RunHooks,
  result: CompletionResult,
  output: string,
): string {
  let receipt: ProvenanceReceipt | null = null;
  try {
    // null: a peer's answer without a receipt that checks out (never a receipt of ours)
    receipt = hooks.provenance?.(result, output) ?? null;
  } catch (err: unknown) {
    // terminated: becomes the final error frame of the stream
    return end.map(encoding.frame).join("") + errorFrame(encoding, err, hooks);
  }
  return encoding.finish(end, hooks.completionId, receipt);
}

function errorFrame(encoding: StreamEncoding, err: unknown, hooks: RunHooks): string {
  const mapped = toOpenAIError(err);
  if (mapped.internal) logInternal(err, hooks);
  return encoding.error(mapped.body);
}

/**
 * Logs an unexpected error with the request id (the client only sees "Internal server error").
 *
 * @param err the error.
 * @param hooks the log and request id.
 */
export function logInternal(err: unknown, hooks: Pick<RunHooks, "log" | "requestId">): void {
  hooks.log({
    level: "error",
    requestId: hooks.requestId,
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    stack: err instanceof Error ? err.stack : undefined,
  });
}

/**
 * Streams a completion as SSE. Call it after the first `gen.next()` succeeded, so that errors
 * raised before any output (queue full, prompt too long) still get their HTTP status.
 *
 * @param gen the backend's generator.
 * @param first the result of the first `gen.next()`.
 * @param framer the route's payloads.
 * @param ctrl aborted when the client cancels the body (disconnect).
 * @param hooks request id, metrics and log.
 * @param encoding SSE (OpenAI, the default) or NDJSON (Ollama).
 * @returns the streamed response.
 */
export function streamResponse(
  gen: Generation,
  first: IteratorResult<CompletionChunk, CompletionResult>,
  framer: StreamFramer,
  ctrl: AbortController,
  hooks: RunHooks,
  encoding: StreamEncoding = SSE_ENCODING,
): Response {
  const encoder = new TextEncoder();
  let closed = false;
  let output = "";
  const step = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    r: IteratorResult<CompletionChunk, CompletionResult>,
  ): boolean => {
    output += r.done ? r.value.tail : r.value.text;
    let out: string;
    if (r.done) {
      hooks.onDone(r.value);
      out = finishStream(encoding, framer.end(r.value), hooks, r.value, output);
    } else {
      out = framer.chunk(r.value).map(encoding.frame).join("");
    }
    if (out !== "") controller.enqueue(encoder.encode(out));
    if (r.done) {
      closed = true;
      controller.close();
    }
    return out !== "" || r.done === true;
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const start = framer.start().map(encoding.frame).join("");
      if (start !== "") controller.enqueue(encoder.encode(start));
      step(controller, first);
    },
    async pull(controller) {
      try {
        // A pull that enqueues nothing is not called again (highWaterMark 0): keep going until a
        // chunk produced bytes (held-back text gives empty chunks) or the stream ended.
        while (!closed && !step(controller, await gen.next()));
      } catch (err: unknown) {
        // Terminated: the client is gone (nothing to send) or gets a final error event.
        if (ctrl.signal.aborted) return;
        closed = true;
        controller.enqueue(encoder.encode(errorFrame(encoding, err, hooks)));
        controller.close();
      }
    },
    cancel(reason) {
      closed = true;
      ctrl.abort(reason ?? new DOMException("The client disconnected", "AbortError"));
      // Also finish the generator: one suspended at a yield never sees the signal otherwise, and
      // its `finally` blocks free the slot. Terminated: the client is gone, nothing to report.
      gen.return(undefined as unknown as CompletionResult).catch(() => {});
    },
  }, { highWaterMark: 0 });
  const servedBy = first.value.servedBy;
  const headers = servedBy
    ? { ...encoding.headers, "x-aria-served-by": servedBy.join(",") }
    : encoding.headers;
  return new Response(body, { status: 200, headers });
}

/**
 * The OpenAI `usage` object of a result.
 *
 * @param result the backend's result.
 * @returns prompt, completion and total token counts.
 */
export function usageOf(result: CompletionResult): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
} {
  const { promptTokens, completionTokens } = result.usage;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/**
 * The answer to a request whose client went away before any output: nobody reads it, but hono
 * needs a Response (499 is nginx's "client closed request", for logs and /metrics).
 *
 * @returns an empty 499 response.
 */
export function clientClosed(): Response {
  return new Response(null, { status: 499 });
}

/**
 * Hooks that count a finished completion in the metrics and log with the request id.
 *
 * @param deps the metrics, the log and the provenance sink.
 * @param requestId the request id.
 * @param request the completion request (model name, id; recorded with the result).
 * @returns the hooks.
 */
export function runHooks(
  deps: Pick<RouteDeps, "log" | "metrics" | "provenance">,
  requestId: string,
  request: CompletionRequest,
): RunHooks {
  const { model } = request;
  const sink = deps.provenance;
  return {
    requestId,
    completionId: request.id,
    log: deps.log,
    ...(sink !== undefined
      ? { provenance: (result, output) => sink.record({ request, result, output }) }
      : {}),
    onDone: (r) =>
      deps.metrics.recordCompletion(
        model,
        r.usage.promptTokens,
        r.usage.completionTokens,
        r.timings.decodeMs,
      ),
  };
}

/** How one completion route answers: the whole response, or the payloads around stream chunks. */
export interface RouteAnswer {
  stream: boolean;
  /** How the stream is written (default: SSE). */
  encoding?: StreamEncoding;
  whole(gen: Generation, hooks: RunHooks, bytesOf: TokenBytes | undefined): Promise<Response>;
  framer(bytesOf: TokenBytes | undefined): StreamFramer;
}

/**
 * Runs a validated completion request for a route: asks the consent gate first (no inference
 * when it refuses), starts the backend with an abort linked to the client's connection, answers
 * whole or streamed, and turns a disconnect into 499.
 *
 * @param deps backend, consent gate, metrics and log.
 * @param call the request id, the request, its task kind and the client's signal.
 * @param answer how this route shapes its response.
 * @returns the response.
 * @throws {ConsentDeniedError} / {ConsentBusyError} from the gate (mapped by onError).
 * @throws whatever the backend throws before any output (mapped by onError).
 */
export async function runCompletion(
  deps: RouteDeps,
  call: {
    requestId: string;
    request: CompletionRequest;
    kind: ConsentCheck["kind"];
    signal: AbortSignal;
  },
  answer: RouteAnswer,
): Promise<Response> {
  const { request } = call;
  // Before anything reaches the backend: a refusal throws here and no inference runs.
  const ticket = deps.consent?.admit({
    model: request.model,
    kind: call.kind,
    requestId: request.id,
  });
  const hooks = runHooks(deps, call.requestId, request);
  const bytesOf = deps.backend.tokenBytes?.bind(deps.backend, request.model);
  const ctrl = linkAbort(call.signal);
  let gen: Generation;
  try {
    const started = deps.backend.complete(request, ctrl.signal);
    gen = ticket === undefined ? started : metered(started, ticket);
  } catch (err: unknown) {
    ticket?.release(); // converted below by onError; the slot must not leak
    throw err;
  }
  try {
    if (!answer.stream) return await answer.whole(gen, hooks, bytesOf);
    const first = await gen.next();
    return streamResponse(gen, first, answer.framer(bytesOf), ctrl, hooks, answer.encoding);
  } catch (err: unknown) {
    // The metered wrapper has released the ticket already (its finally ran); release() is
    // idempotent, and covers a wrapper that never started.
    ticket?.release();
    // Terminated when the client is gone; otherwise converted by onError.
    if (ctrl.signal.aborted) return clientClosed();
    throw err;
  }
}

/**
 * The provenance of a whole (non-streamed) response: a `provenance` body field and an
 * `x-aria-provenance` header holding the record hash; both empty without a sink.
 *
 * @param hooks the run's hooks.
 * @param result the backend's result.
 * @param output the whole output text.
 * @returns the body fields and headers to add.
 * @throws whatever the sink throws (the route's onError makes it a 500).
 */
export function wholeProvenance(
  hooks: RunHooks,
  result: CompletionResult,
  output: string,
): { fields: { provenance?: unknown }; headers: Record<string, string> } {
  const p = hooks.provenance?.(result, output);
  if (p === undefined || p === null) return { fields: {}, headers: {} };
  return { fields: { provenance: p.receipt }, headers: { "x-aria-provenance": p.recordHash } };
}
