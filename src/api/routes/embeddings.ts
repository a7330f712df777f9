/**
 * @module POST /v1/embeddings (OpenAI) and POST /api/embed (Ollama): one vector per input,
 * L2-normalized, from the served embedding model (docs/models.md "BitNet embedding models"),
 * through the same scheduler, consent gate and ledger as completions (_embed.ts). OpenAI's
 * answer: `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}` with
 * `embedding` a float array or, for `encoding_format: "base64"`, the base64 of its little-endian
 * float32 bytes; a receipt rides as `provenance` plus the `x-aria-provenance` header. Ollama's:
 * `{model, embeddings, total_duration, load_duration, prompt_eval_count}`. Pure given the deps.
 *
 * Hostile inputs, and where each is handled: a body that is not JSON or not of the schema (empty
 * input, an empty string or token array, more than 2048 inputs, ids that are not integers >= 0,
 * an unknown encoding) is a 400 from `readBody` (embeddings-schema.ts); a model that is not an
 * embedding model or a `dimensions` it cannot give, a 400 from `checkEmbeddingModel` before any
 * work; token ids outside the vocabulary and inputs longer than the context, a 400 from the
 * backend before anything is queued (native-backend.ts `embed`); a full queue, 503.
 */
import { Hono } from "hono";
import { type AppEnv, checkModel, readBody, type RouteDeps } from "../_context.ts";
import { checkEmbeddingModel, type EmbeddingRun, runEmbedding } from "../_embed.ts";
import {
  embeddingInputs,
  embeddingsBody,
  ollamaEmbedBody,
  toEmbeddingRequest,
  vectorBase64,
} from "../embeddings-schema.ts";
import { numCtxProblem } from "../ollama-schemas.ts";
import { servedCard } from "./ollama.ts";
import { InvalidRequestError } from "../../shared/errors.ts";

function provenanceOf(run: EmbeddingRun): {
  fields: { provenance?: unknown };
  headers: Record<string, string>;
} {
  const p = run.receipt;
  if (p === null) return { fields: {}, headers: {} };
  return { fields: { provenance: p.receipt }, headers: { "x-aria-provenance": p.recordHash } };
}

/**
 * The embedding routes.
 *
 * @param deps backend, consent, provenance.
 * @returns a hono sub-app to mount at "/".
 */
export function embeddingsRoute(deps: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/v1/embeddings", async (c) => {
    const body = await readBody(c, embeddingsBody);
    const model = checkModel(deps.backend, body.model);
    const card = deps.backend.listModels().find((m) => m.id === model)!;
    checkEmbeddingModel(card, body.dimensions);
    const request = toEmbeddingRequest(
      `embd-${c.get("requestId")}`,
      model,
      embeddingInputs(body.input),
      { dimensions: body.dimensions },
    );
    const run = await runEmbedding(deps, request, c.req.raw.signal);
    const base64 = body.encoding_format === "base64";
    const provenance = provenanceOf(run);
    return c.json(
      {
        object: "list",
        data: run.result.vectors.map((v, index) => ({
          object: "embedding",
          index,
          embedding: base64 ? vectorBase64(v) : Array.from(v),
        })),
        model,
        usage: {
          prompt_tokens: run.result.usage.promptTokens,
          total_tokens: run.result.usage.promptTokens,
        },
        ...provenance.fields,
      },
      200,
      { "x-aria-served-by": run.result.servedBy.join(","), ...provenance.headers },
    );
  });
  app.post("/api/embed", async (c) => {
    const body = await readBody(c, ollamaEmbedBody);
    const card = servedCard(deps.backend, body.model);
    checkEmbeddingModel(card, body.dimensions);
    // handled: a num_ctx the served context cannot give is this request's 400
    const numCtx = body.options?.num_ctx;
    const tooLarge = numCtx == null
      ? undefined
      : numCtxProblem({ num_ctx: numCtx }, card.contextLength);
    if (tooLarge !== undefined) throw new InvalidRequestError("options.num_ctx", tooLarge);
    const request = toEmbeddingRequest(
      `embd-${c.get("requestId")}`,
      card.id,
      typeof body.input === "string" ? [body.input] : body.input,
      { dimensions: body.dimensions, truncate: body.truncate ?? true },
    );
    const run = await runEmbedding(deps, request, c.req.raw.signal);
    const ms = run.result.timings.queueMs + run.result.timings.promptMs;
    const provenance = provenanceOf(run);
    return c.json(
      {
        model: body.model,
        embeddings: run.result.vectors.map((v) => Array.from(v)),
        total_duration: Math.round(ms * 1e6),
        load_duration: 0,
        prompt_eval_count: run.result.usage.promptTokens,
        ...provenance.fields,
      },
      200,
      { "x-aria-served-by": run.result.servedBy.join(","), ...provenance.headers },
    );
  });
  return app;
}
