/**
 * @module Runs one embedding request for a route (OpenAI's /v1/embeddings, Ollama's /api/embed):
 * checks that the model is an embedding model and that `dimensions` fits it, passes the consent
 * gate as task kind "embed" (a refusal is a 403 before any work, and nothing is recorded), links
 * the client's disconnect to the backend, and records the work in the provenance ledger
 * (docs/ledger.md "Embeddings": prompt hash over ["embed", inputs], output hash over the base64
 * vectors joined by "\n", completionTokens 0). Pure given the deps.
 */
import type { RouteDeps } from "./_context.ts";
import { linkAbort } from "./_run.ts";
import { vectorBase64 } from "./embeddings-schema.ts";
import type {
  EmbeddingRequest,
  EmbeddingResult,
  ModelCard,
  ProvenanceReceipt,
} from "../contract/index.ts";
import { InvalidRequestError } from "../shared/errors.ts";

/** A finished embedding request and its receipt (null without a ledger). */
export interface EmbeddingRun {
  result: EmbeddingResult;
  receipt: ProvenanceReceipt | null;
}

/**
 * The text the ledger's output hash covers: each vector's base64 (little-endian float32), one per
 * line, so a client can recompute it from either encoding it asked for.
 *
 * @param vectors the vectors sent.
 * @returns the text.
 */
export function embeddingOutputText(vectors: readonly Float32Array[]): string {
  return vectors.map(vectorBase64).join("\n");
}

/**
 * Checks that a served model can answer an embedding request (before any work).
 *
 * @param card the served model.
 * @param dimensions the requested size, if any.
 * @throws {InvalidRequestError} 400 when the model is not an embedding model, or `dimensions`
 *   is not its size and it was not trained for truncation (or is larger than its size).
 */
export function checkEmbeddingModel(card: ModelCard, dimensions: number | null | undefined): void {
  const e = card.embedding;
  if (e === undefined) {
    throw new InvalidRequestError(
      "model",
      `Model "${card.id}" is not an embedding model (its file has no pooling type)`,
    );
  }
  if (dimensions == null || dimensions === e.dimensions) return;
  if (!e.truncatable) {
    throw new InvalidRequestError(
      "dimensions",
      `Model "${card.id}" does not support dimensions other than ${e.dimensions}: ` +
        `it was not trained for truncation`,
    );
  }
  if (dimensions > e.dimensions) {
    throw new InvalidRequestError(
      "dimensions",
      `Invalid dimensions ${dimensions}: model "${card.id}" has ${e.dimensions}`,
    );
  }
}

/**
 * Runs an embedding request.
 *
 * @param deps backend, consent gate, provenance sink.
 * @param request the validated request (model already resolved and checked).
 * @param signal the client's request signal.
 * @returns the vectors, usage, timings and the receipt.
 * @throws {ConsentDeniedError} / {ConsentBusyError} from the gate; whatever the backend throws.
 */
export async function runEmbedding(
  deps: Pick<RouteDeps, "backend" | "consent" | "provenance">,
  request: EmbeddingRequest,
  signal: AbortSignal,
): Promise<EmbeddingRun> {
  const backend = deps.backend;
  if (backend.embed === undefined) {
    throw new InvalidRequestError("model", `Model "${request.model}" is not an embedding model`);
  }
  const ticket = deps.consent?.admit({
    model: request.model,
    kind: "embed",
    requestId: request.id,
  });
  let result: EmbeddingResult;
  try {
    result = await backend.embed(request, linkAbort(signal).signal);
    ticket?.addTokens(result.usage.promptTokens);
  } finally {
    ticket?.release();
  }
  const receipt = deps.provenance?.record({
    request: {
      id: request.id,
      model: request.model,
      input: { kind: "embed", inputs: request.inputs },
    },
    result: {
      usage: { promptTokens: result.usage.promptTokens, completionTokens: 0 },
      timings: result.timings,
      servedBy: result.servedBy,
    },
    output: embeddingOutputText(result.vectors),
  }) ?? null;
  return { result, receipt };
}
