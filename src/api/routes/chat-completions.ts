/**
 * @module POST /v1/chat/completions: validate, check the model, run the backend, answer with a
 * `chat.completion` or a stream of `chat.completion.chunk` events (role delta first, content
 * deltas, a final empty delta with `finish_reason`, the optional usage chunk, `[DONE]`). The
 * content deltas concatenate to exactly the non-streamed content. Pure given the deps.
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
): StreamFramer {
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...head,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }],
  });
  return {
    start: () => [chunk({ role: "assistant", content: "" })],
    chunk(c) {
      if (c.text === "" && !(withLogprobs && c.logprobs?.length)) return [];
      const lp = withLogprobs
        ? { logprobs: { content: chatLogprobs(c.logprobs ?? [], bytesOf), refusal: null } }
        : {};
      return [chunk({ content: c.text }, lp)];
    },
    end(result) {
      const out: unknown[] = [];
      if (result.tail !== "") out.push(chunk({ content: result.tail }));
      out.push(chunk({}, { finish_reason: result.finishReason }));
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
): Promise<Response> {
  const { text, logprobs, result } = await collect(gen, hooks);
  const provenance = wholeProvenance(hooks, result, text);
  const body = {
    ...head,
    object: "chat.completion",
    choices: [{
      index: 0,
      message: { role: "assistant", content: text, refusal: null },
      logprobs: request.logprobs === undefined
        ? null
        : { content: chatLogprobs(logprobs, bytesOf), refusal: null },
      finish_reason: result.finishReason,
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
    const { request, wire } = toChatRequest(`chatcmpl-${requestId}`, body);
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
      whole: (gen, hooks, bytesOf) => whole(gen, hooks, head, request, bytesOf),
      framer: (bytesOf) => framer(head, wire, request.logprobs !== undefined, bytesOf),
    });
  });
  return app;
}
