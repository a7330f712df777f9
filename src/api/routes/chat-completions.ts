/**
 * @module POST /v1/chat/completions: validate, check the model, run the backend, answer with a
 * `chat.completion` or a stream of `chat.completion.chunk` events (role delta first, content
 * deltas, a final empty delta with `finish_reason`, the optional usage chunk, `[DONE]`). The
 * content deltas concatenate to exactly the non-streamed content. With tools, calls in the output
 * (src/api/_tool-calls.ts) become `message.tool_calls` / `delta.tool_calls` (one delta per call,
 * sent when its block closes: index, id, type, name and the whole arguments) and
 * `finish_reason: "tool_calls"`. Pure given the deps.
 */
import { Hono } from "hono";
import { type AppEnv, checkModel, nowSeconds, readBody, type RouteDeps } from "../_context.ts";
import { chatLogprobs, type TokenBytes } from "../_logprobs.ts";
import {
  collect,
  type Generation,
  runCompletion,
  type RunHooks,
  type StreamFramer,
  usageOf,
  wholeProvenance,
} from "../_run.ts";
import type { CompletionRequest } from "../../contract/index.ts";
import { chatCompletionBody, toChatRequest, type WireOptions } from "../schemas.ts";
import {
  type ParsedToolCall,
  parseToolCalls,
  ToolCallStream,
  type ToolParseOptions,
} from "../_tool-calls.ts";

/** What a route needs to answer tool calls: how to parse them, how to name them. */
interface ToolAnswer {
  parse: ToolParseOptions;
  /** The id of the k-th call of this answer. */
  callId(k: number): string;
}

/**
 * Ids of an answer's calls: "call_" + 24 hex characters of the request id + the call's index.
 *
 * @param requestId the request id (a UUID in `aria serve`).
 * @returns the id maker.
 */
export function callIds(requestId: string): (k: number) => string {
  const stem = requestId.replace(/[^0-9A-Za-z]/g, "").slice(0, 24);
  return (k) => `call_${stem}${k}`;
}

function wireCall(call: ParsedToolCall, id: string) {
  return { id, type: "function", function: { name: call.name, arguments: call.arguments } };
}

type Head = {
  id: string;
  created: number;
  model: string;
  system_fingerprint: string;
};

function framer(
  head: Head,
  wire: WireOptions,
  withLogprobs: boolean,
  bytesOf: TokenBytes | undefined,
  tools: ToolAnswer | undefined,
): StreamFramer {
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...head,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }],
  });
  const parser = tools === undefined ? undefined : new ToolCallStream(tools.parse);
  let calls = 0;
  // the text as the client sees it: content deltas, then one delta per finished call
  const deltas = (text: string, final: boolean): Record<string, unknown>[] => {
    if (parser === undefined) return text === "" ? [] : [{ content: text }];
    const pushed = parser.push(text);
    const step = final ? parser.end() : { content: "", calls: [] };
    const content = pushed.content + step.content;
    const out: Record<string, unknown>[] = content === "" ? [] : [{ content }];
    for (const call of [...pushed.calls, ...step.calls]) {
      const k = calls++;
      out.push({ tool_calls: [{ index: k, ...wireCall(call, tools!.callId(k)) }] });
    }
    return out;
  };
  return {
    start: () => [chunk({ role: "assistant", content: "" })],
    chunk(c) {
      const out = deltas(c.text, false);
      if (withLogprobs && c.logprobs?.length) {
        const lp = { logprobs: { content: chatLogprobs(c.logprobs, bytesOf), refusal: null } };
        if (out.length === 0) out.push({ content: "" });
        return out.map((d, i) => chunk(d, i === 0 ? lp : {}));
      }
      return out.map((d) => chunk(d));
    },
    end(result) {
      const out: unknown[] = deltas(result.tail, true).map((d) => chunk(d));
      const finish = calls > 0 ? "tool_calls" : result.finishReason;
      out.push(chunk({}, { finish_reason: finish }));
      if (wire.includeUsage) {
        out.push({ ...head, object: "chat.completion.chunk", choices: [], usage: usageOf(result) });
      }
      return out;
    },
  };
}

async function whole(
  gen: Generation,
  hooks: RunHooks,
  head: Head,
  request: CompletionRequest,
  bytesOf: TokenBytes | undefined,
  tools: ToolAnswer | undefined,
): Promise<Response> {
  const { text, logprobs, result } = await collect(gen, hooks);
  const provenance = wholeProvenance(hooks, result, text);
  const parsed = tools === undefined ? undefined : parseToolCalls(text, tools.parse);
  const calls = parsed?.calls ?? [];
  const message = calls.length === 0
    ? { role: "assistant", content: parsed?.content ?? text, refusal: null }
    : {
      role: "assistant",
      content: parsed!.content,
      refusal: null,
      tool_calls: calls.map((c, k) => wireCall(c, tools!.callId(k))),
    };
  const body = {
    ...head,
    object: "chat.completion",
    choices: [{
      index: 0,
      message,
      logprobs: request.logprobs === undefined
        ? null
        : { content: chatLogprobs(logprobs, bytesOf), refusal: null },
      finish_reason: calls.length > 0 ? "tool_calls" : result.finishReason,
    }],
    usage: usageOf(result),
    ...provenance.fields,
  };
  return Response.json(body, {
    headers: { "x-aria-served-by": result.servedBy.join(","), ...provenance.headers },
  });
}

/**
 * The chat completions route.
 *
 * @param deps backend, clock, metrics, log and fingerprint.
 * @returns a hono sub-app to mount at "/".
 */
export function chatCompletionsRoute(deps: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/v1/chat/completions", async (c) => {
    const asked = await readBody(c, chatCompletionBody);
    // an alias names the model it stands for: the backend and the response use the model's id
    const body = { ...asked, model: checkModel(deps.backend, asked.model) };
    const requestId = c.get("requestId");
    const { request, wire, tools: parse } = toChatRequest(`chatcmpl-${requestId}`, body);
    const tools = parse === undefined ? undefined : { parse, callId: callIds(requestId) };
    const head: Head = {
      id: request.id,
      created: nowSeconds(deps.clock),
      model: request.model,
      system_fingerprint: deps.systemFingerprint,
    };
    return await runCompletion(deps, {
      requestId,
      request,
      kind: "chat",
      signal: c.req.raw.signal,
    }, {
      stream: wire.stream,
      whole: (gen, hooks, bytesOf) => whole(gen, hooks, head, request, bytesOf, tools),
      framer: (bytesOf) => framer(head, wire, request.logprobs !== undefined, bytesOf, tools),
    });
  });
  return app;
}
