/**
 * @module The chat playground's stream: validates the playground's JSON body, runs the
 * completion backend directly and writes server-sent events — `token` (data: {"text"}) per
 * released piece, then `done` (data: {finishReason, usage, servedBy, receipt?}) or `error`
 * (data: {"message"}). The finished completion is counted in the API's metrics so that the
 * overview's tokens/s includes it. When the browser goes away the backend's signal is aborted.
 * Pure given the backend.
 */
import type { Context } from "hono";
import type { SSEStreamingApi } from "hono/streaming";
import { z } from "zod";
import type { CompletionBackend, CompletionRequest, Metrics } from "../api/index.ts";
import { AriaError } from "../shared/errors.ts";

/** The playground's request body. */
export const chatBody = z.object({
  model: z.string().min(1),
  message: z.string().min(1).max(32_768),
  maxTokens: z.coerce.number().int().min(1).max(4096),
});

/** A stream ready to run, or why the request was refused. */
export type ChatStart =
  | { ok: true; run: (stream: SSEStreamingApi) => Promise<void> }
  | { ok: false; reason: string };

function describeIssue(err: z.ZodError): string {
  const issue = err.issues[0];
  const field = issue?.path.join(".") || "body";
  return `The ${field} field is not valid (${
    issue?.message ?? "unknown problem"
  }): fix it and send again.`;
}

/**
 * Validates a playground request and prepares its stream.
 *
 * @param c the hono context (its body is read).
 * @param backend the completion backend.
 * @param id the request id.
 * @param metrics where finished completions are counted, if anywhere.
 * @returns the stream to run, or the reason (bad JSON, bad fields, unknown model, not ready).
 */
export async function startChat(
  c: Context,
  backend: CompletionBackend,
  id: string,
  metrics: Metrics | undefined,
): Promise<ChatStart> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    // converted: the playground shows the reason; nothing was started
    return { ok: false, reason: "The request body is not JSON: reload the page and send again." };
  }
  const parsed = chatBody.safeParse(json);
  if (!parsed.success) return { ok: false, reason: describeIssue(parsed.error) };
  const body = parsed.data;
  if (backend.health() !== "ready") {
    return { ok: false, reason: "The model is still loading: wait a moment and send again." };
  }
  if (!backend.listModels().some((m) => m.id === body.model)) {
    return { ok: false, reason: `This node does not serve the model "${body.model}".` };
  }
  const request: CompletionRequest = {
    id: `dash-${id}`,
    model: body.model,
    input: { kind: "chat", messages: [{ role: "user", content: body.message }] },
    maxTokens: body.maxTokens,
    sampling: { temperature: 0 },
    stop: [],
  };
  return {
    ok: true,
    run: (stream) => runChat(stream, backend, request, c.req.raw.signal, metrics),
  };
}

async function runChat(
  stream: SSEStreamingApi,
  backend: CompletionBackend,
  request: CompletionRequest,
  clientSignal: AbortSignal,
  metrics: Metrics | undefined,
): Promise<void> {
  const abort = new AbortController();
  const stop = () => abort.abort(new Error("The browser closed the chat stream."));
  stream.onAbort(stop);
  clientSignal.addEventListener("abort", stop, { once: true });
  try {
    const gen = backend.complete(request, abort.signal);
    for (;;) {
      const step = await gen.next();
      if (step.done) {
        const r = step.value;
        if (r.tail !== "") {
          await stream.writeSSE({ event: "token", data: JSON.stringify({ text: r.tail }) });
        }
        metrics?.recordCompletion(
          request.model,
          r.usage.promptTokens,
          r.usage.completionTokens,
          r.timings.decodeMs,
        );
        // The receipt is whatever the result carries once the ledger signs completions.
        const receipt = (r as { receipt?: unknown }).receipt;
        await stream.writeSSE({
          event: "done",
          data: JSON.stringify({
            finishReason: r.finishReason,
            usage: r.usage,
            servedBy: r.servedBy,
            ...(receipt === undefined ? {} : { receipt }),
          }),
        });
        return;
      }
      if (step.value.text !== "") {
        await stream.writeSSE({ event: "token", data: JSON.stringify({ text: step.value.text }) });
      }
    }
  } catch (err: unknown) {
    // converted: once the stream has started, an error is a final `error` event (STYLE.md B7.3)
    if (abort.signal.aborted) return;
    // Only ARIA's own errors carry a message meant for users; others may hold internal details.
    const message = err instanceof AriaError
      ? err.message
      : "The completion failed: see the server log.";
    await stream.writeSSE({ event: "error", data: JSON.stringify({ message }) });
  }
}
