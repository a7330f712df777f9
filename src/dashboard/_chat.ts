/**
 * @module The chat playground's stream: validates the playground's JSON body, runs the
 * completion backend directly and writes server-sent events — `token` (data: {"text"}) per
 * released piece, then `done` (data: {finishReason, usage, servedBy, receipt?}) or `error`
 * (data: {"message"}). The finished completion is counted in the API's metrics so that the
 * overview's tokens/s includes it. When the browser goes away the backend's signal is aborted.
 * Like the API, a playground request is first admitted by the node's consent gate (a refusal is
 * the 400's reason; its tokens count against the quota; its slot is freed however it ends), and
 * a finished completion is recorded in the provenance ledger, whose receipt the `done` event
 * carries. The answer may be constrained to JSON: any object (`format: "json"`), or JSON valid
 * under a pasted JSON Schema (`format: "schema"`, converted to a grammar by src/grammar/ as the
 * API's `response_format` is); a schema that is not JSON or that the converter cannot enforce is
 * the 400's reason, shown in the page. Pure given the backend, the gate and the sink.
 */
import type { Context } from "hono";
import type { SSEStreamingApi } from "hono/streaming";
import { z } from "zod";
import type {
  CompletionBackend,
  CompletionRequest,
  ConsentGate,
  ConsentTicket,
  Metrics,
  ProvenanceSink,
} from "../api/index.ts";
import { AriaError } from "../shared/errors.ts";
import {
  GRAMMAR_LIMITS,
  JSON_OBJECT_GRAMMAR,
  jsonSchemaToGrammar,
  parseGrammar,
} from "../grammar/index.ts";

/** The playground's request body. */
export const chatBody = z.object({
  model: z.string().min(1),
  message: z.string().min(1).max(32_768),
  maxTokens: z.coerce.number().int().min(1).max(4096),
  /** The answer's form: free text (default), any JSON object, or JSON valid under `schema`. */
  format: z.enum(["text", "json", "schema"]).default("text"),
  /** A JSON Schema as pasted (read when format is "schema"). */
  schema: z.string().max(GRAMMAR_LIMITS.maxChars).default(""),
});

/**
 * The grammar a playground body asks for, or why it cannot be used.
 *
 * @param format the body's format.
 * @param schemaText the pasted schema.
 * @returns the GBNF text (undefined for free text), or the reason shown in the page.
 */
export function chatGrammar(
  format: "text" | "json" | "schema",
  schemaText: string,
): { ok: true; grammar: string | undefined } | { ok: false; reason: string } {
  if (format === "text") return { ok: true, grammar: undefined };
  if (format === "json") return { ok: true, grammar: JSON_OBJECT_GRAMMAR };
  // handled here, each a 400 whose reason the page shows: no schema, not JSON, not an object,
  // keywords the converter cannot enforce (JsonSchemaError) or limits (GrammarError)
  if (schemaText.trim() === "") {
    return { ok: false, reason: "Paste a JSON schema for the answer, or choose another output." };
  }
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (err: unknown) {
    const why = err instanceof Error ? err.message : "not JSON";
    return {
      ok: false,
      reason: `The JSON schema is not valid JSON (${why}): fix it and send again.`,
    };
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    return {
      ok: false,
      reason: 'The JSON schema must be a JSON object, such as {"type": "object"}.',
    };
  }
  try {
    const grammar = jsonSchemaToGrammar(schema);
    parseGrammar(grammar);
    return { ok: true, grammar };
  } catch (err: unknown) {
    if (err instanceof AriaError) {
      return { ok: false, reason: `The JSON schema cannot be used: ${err.message}` };
    }
    throw err;
  }
}

/** What a playground request goes through besides the backend (both optional). */
export interface ChatGuards {
  /** The node owner's consent, asked before the backend runs. */
  consent?: ConsentGate;
  /** Records each finished completion and gives its receipt. */
  provenance?: ProvenanceSink;
}

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
 * @param guards the consent gate and the provenance sink, when the node has them.
 * @returns the stream to run, or the reason (bad JSON, bad fields, unknown model, not ready,
 *   refused by the consent policy).
 */
export async function startChat(
  c: Context,
  backend: CompletionBackend,
  id: string,
  metrics: Metrics | undefined,
  guards: ChatGuards = {},
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
  const constraint = chatGrammar(body.format, body.schema);
  if (!constraint.ok) return constraint;
  const request: CompletionRequest = {
    id: `dash-${id}`,
    model: body.model,
    input: { kind: "chat", messages: [{ role: "user", content: body.message }] },
    maxTokens: body.maxTokens,
    sampling: { temperature: 0 },
    stop: [],
    ...(constraint.grammar === undefined ? {} : { grammar: constraint.grammar }),
  };
  let ticket: ConsentTicket | undefined;
  try {
    ticket = guards.consent?.admit({ model: body.model, kind: "chat", requestId: request.id });
  } catch (err: unknown) {
    // converted: the policy's refusal (denied, busy, over quota) is the 400's reason; nothing ran
    if (err instanceof AriaError) return { ok: false, reason: err.message };
    throw err;
  }
  const job: ChatJob = { backend, request, metrics, ticket, provenance: guards.provenance };
  return { ok: true, run: (stream) => runChat(stream, job, c.req.raw.signal) };
}

/** One admitted playground completion. */
interface ChatJob {
  backend: CompletionBackend;
  request: CompletionRequest;
  metrics: Metrics | undefined;
  ticket: ConsentTicket | undefined;
  provenance: ProvenanceSink | undefined;
}

async function runChat(
  stream: SSEStreamingApi,
  job: ChatJob,
  clientSignal: AbortSignal,
): Promise<void> {
  const { backend, request, metrics, ticket } = job;
  const abort = new AbortController();
  const stop = () => abort.abort(new Error("The browser closed the chat stream."));
  stream.onAbort(stop);
  clientSignal.addEventListener("abort", stop, { once: true });
  let output = "";
  let counted = 0;
  try {
    const gen = backend.complete(request, abort.signal);
    for (;;) {
      const step = await gen.next();
      if (step.done) {
        const r = step.value;
        output += r.tail;
        // the quota counts prompt + generated tokens; the slot is freed before the record is
        // made, so that the energy measured for this request is known to the ledger (serve.ts)
        const total = r.usage.promptTokens + r.usage.completionTokens;
        if (total > counted) ticket?.addTokens(total - counted);
        ticket?.release();
        const receipt = job.provenance?.record({ request, result: r, output })?.receipt;
        if (r.tail !== "") {
          await stream.writeSSE({ event: "token", data: JSON.stringify({ text: r.tail }) });
        }
        metrics?.recordCompletion(
          request.model,
          r.usage.promptTokens,
          r.usage.completionTokens,
          r.timings.decodeMs,
        );
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
      output += step.value.text;
      counted += step.value.tokens.length;
      ticket?.addTokens(step.value.tokens.length);
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
  } finally {
    ticket?.release(); // idempotent: frees the slot when the completion failed or was abandoned
  }
}
