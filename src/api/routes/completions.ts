/**
 * @module POST /v1/completions (OpenAI's legacy text completions): a raw prompt (a string or an
 * array of one string), answered with a `text_completion` or a stream of them (text deltas, a
 * final chunk with `finish_reason`, the optional usage chunk, `[DONE]`). Legacy logprobs
 * (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`). Pure given the deps.
 */
import { Hono } from "hono";
import { type AppEnv, checkModel, nowSeconds, readBody, type RouteDeps } from "../_context.ts";
import { textLogprobs, type TokenBytes } from "../_logprobs.ts";
import {
  collect,
  type Generation,
  runCompletion,
  type RunHooks,
  type StreamFramer,
  usageOf,
  wholeProvenance,
} from "../_run.ts";
import { completionBody, toTextRequest, type WireOptions } from "../schemas.ts";

type Head = {
  id: string;
  object: "text_completion";
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
  let offset = 0;
  const chunk = (text: string, extra: Record<string, unknown> = {}) => ({
    ...head,
    choices: [{ text, index: 0, logprobs: null, finish_reason: null, ...extra }],
  });
  return {
    start: () => [],
    chunk(c) {
      if (c.text === "" && !(withLogprobs && c.logprobs?.length)) return [];
      const lp = withLogprobs ? { logprobs: textLogprobs(c.logprobs ?? [], bytesOf, offset) } : {};
      offset += c.text.length;
      return [chunk(c.text, lp)];
    },
    end(result) {
      const out: unknown[] = [];
      if (result.tail !== "") out.push(chunk(result.tail));
      out.push(chunk("", { finish_reason: result.finishReason }));
      if (wire.includeUsage) out.push({ ...head, choices: [], usage: usageOf(result) });
      return out;
    },
  };
}

async function whole(
  gen: Generation,
  hooks: RunHooks,
  head: Head,
  withLogprobs: boolean,
  bytesOf: TokenBytes | undefined,
): Promise<Response> {
  const { text, logprobs, result } = await collect(gen, hooks);
  const provenance = wholeProvenance(hooks, result, text);
  const body = {
    ...head,
    choices: [{
      text,
      index: 0,
      logprobs: withLogprobs ? textLogprobs(logprobs, bytesOf) : null,
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
 * The text completions route.
 *
 * @param deps backend, clock, metrics, log and fingerprint.
 * @returns a hono sub-app to mount at "/".
 */
export function completionsRoute(deps: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/v1/completions", async (c) => {
    const asked = await readBody(c, completionBody);
    // an alias names the model it stands for: the backend and the response use the model's id
    const body = { ...asked, model: checkModel(deps.backend, asked.model) };
    const requestId = c.get("requestId");
    const { request, wire } = toTextRequest(`cmpl-${requestId}`, body);
    const head: Head = {
      id: request.id,
      object: "text_completion",
      created: nowSeconds(deps.clock),
      model: request.model,
      system_fingerprint: deps.systemFingerprint,
    };
    const withLogprobs = request.logprobs !== undefined;
    return await runCompletion(deps, {
      requestId,
      request,
      kind: "completion",
      signal: c.req.raw.signal,
    }, {
      stream: wire.stream,
      whole: (gen, hooks, bytesOf) => whole(gen, hooks, head, withLogprobs, bytesOf),
      framer: (bytesOf) => framer(head, wire, withLogprobs, bytesOf),
    });
  });
  return app;
}
