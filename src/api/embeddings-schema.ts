/**
 * @module The HTTP contract of the embedding routes (STYLE.md B0.3): OpenAI's POST
 * /v1/embeddings and Ollama's POST /api/embed bodies, their conversion to the camelCase
 * `EmbeddingRequest` (src/contract/), and the `base64` encoding of a vector. Pure.
 *
 * /v1/embeddings: model (required); input: a string, an array of strings, an array of token ids,
 * or an array of token-id arrays (1..2048 inputs, none empty: OpenAI's limits); encoding_format
 * "float" (default) or "base64" (the little-endian float32 bytes, as OpenAI sends them);
 * dimensions (an integer >= 1; only a model trained for truncation accepts a value other than its
 * own size); user. Unknown fields are ignored and `null` counts as absent, as in schemas.ts.
 * /api/embed: model, input (a string or an array of strings), truncate (default true: an input
 * longer than the context is cut, as Ollama does), dimensions, options.num_ctx, keep_alive.
 */
import { z } from "zod";
import type { EmbeddingInput, EmbeddingRequest } from "../contract/index.ts";

/** OpenAI's limit of inputs in one request. */
export const MAX_EMBEDDING_INPUTS = 2048;

const tokenId = z.number().int().min(0);
const text = z.string().min(1, "an input must not be empty");
const tokens = z.array(tokenId).min(1, "an input must not be empty");

/** POST /v1/embeddings body. */
export const embeddingsBody = z.object({
  model: z.string().min(1),
  input: z.union([
    text,
    z.array(text).min(1, "input must not be empty").max(MAX_EMBEDDING_INPUTS),
    tokens,
    z.array(tokens).min(1, "input must not be empty").max(MAX_EMBEDDING_INPUTS),
  ], { error: "expected a string, an array of strings, or token id arrays, none empty" }),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});
/** A validated /v1/embeddings body. */
export type EmbeddingsBody = z.infer<typeof embeddingsBody>;

/** POST /api/embed body (Ollama). */
export const ollamaEmbedBody = z.object({
  model: z.string().min(1),
  input: z.union([
    text,
    z.array(text).min(1, "input must not be empty").max(MAX_EMBEDDING_INPUTS),
  ], { error: "expected a string or an array of strings, none empty" }),
  truncate: z.boolean().nullish(),
  dimensions: z.number().int().min(1).nullish(),
  options: z.object({ num_ctx: z.number().int().min(1).nullish() }).passthrough().nullish(),
  keep_alive: z.union([z.string(), z.number()]).nullish(),
});
/** A validated /api/embed body. */
export type OllamaEmbedBody = z.infer<typeof ollamaEmbedBody>;

/**
 * The inputs of a body as a list: a single string or a single token array is one input.
 *
 * @param input the validated `input`.
 * @returns one entry per input.
 */
export function embeddingInputs(input: EmbeddingsBody["input"]): EmbeddingInput[] {
  if (typeof input === "string") return [input];
  if (input.length > 0 && typeof input[0] === "number") return [input as number[]];
  return input as EmbeddingInput[];
}

/**
 * The backend request of a body.
 *
 * @param id the request id (embd-…).
 * @param model the served model's id.
 * @param inputs the inputs.
 * @param options dimensions and truncation.
 * @returns the request.
 */
export function toEmbeddingRequest(
  id: string,
  model: string,
  inputs: readonly EmbeddingInput[],
  options: Readonly<{ dimensions?: number | null | undefined; truncate?: boolean }>,
): EmbeddingRequest {
  return {
    id,
    model,
    inputs,
    ...(options.dimensions != null ? { dimensions: options.dimensions } : {}),
    ...(options.truncate !== undefined ? { truncate: options.truncate } : {}),
  };
}

/**
 * A vector as OpenAI's `base64` encoding: its float32 values, little-endian, in base64.
 *
 * @param v the vector.
 * @returns the base64 text.
 */
export function vectorBase64(v: Float32Array): string {
  const bytes = new Uint8Array(v.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i]!, true);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
