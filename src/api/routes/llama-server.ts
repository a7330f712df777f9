/**
 * @module llama-server's operational endpoints, in its shapes, for the tools built on them:
 * POST /tokenize ({content, add_special = false, parse_special = true, with_pieces = false} →
 * {tokens}), POST /detokenize ({tokens} → {content}), POST /apply-template ({messages} →
 * {prompt}), GET /props (context size, slots, chat template, default sampling, model facts).
 * Each takes an optional `model` (default: the first model the backend serves with a tokenizer,
 * as llama-server serves one). A backend without a tokenizer (external, peers only) answers 400
 * `no_tokenizer`. Pure given the deps.
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AppEnv, readBody, type RouteDeps } from "../_context.ts";
import { ApiError, modelLoading, modelNotFound } from "../errors.ts";
import type { CompletionBackend, ModelCard, ModelText } from "../../contract/index.ts";
import {
  chatMessage,
  DEFAULT_TEMPERATURE,
  DEFAULT_TOP_K,
  toMessage,
  toolChoiceSchema,
  toolDefinition,
  toolSchema,
} from "../schemas.ts";

const model = z.string().min(1).max(256).optional();

/** POST /tokenize body (llama-server's defaults). */
export const tokenizeBody = z.object({
  content: z.string(),
  add_special: z.boolean().default(false),
  parse_special: z.boolean().default(true),
  with_pieces: z.boolean().default(false),
  model,
});

/** POST /detokenize body: ids are checked against the vocabulary by the route. */
export const detokenizeBody = z.object({
  tokens: z.array(z.int().min(0)).max(1 << 20),
  model,
});

/** POST /apply-template body. */
export const applyTemplateBody = z.object({
  messages: z.array(chatMessage).min(1),
  /** As in a chat completion: the functions the template shows (tool_choice "none" = none). */
  tools: z.array(toolSchema).max(128).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  model,
});

/**
 * A token's piece as llama-server reports it: the text when its bytes are whole UTF-8, else
 * the bytes (a token may end inside a character).
 *
 * @param bytes the token's bytes.
 * @returns a string or the byte values.
 */
export function pieceOf(bytes: Uint8Array): string | number[] {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // handled: not whole UTF-8 on its own, so the bytes are given instead (llama-server's rule)
    return [...bytes];
  }
}

/** The model a request names, or the first one with a tokenizer, with its text functions. */
function served(
  backend: CompletionBackend,
  name: string | undefined,
): { card: ModelCard; text: ModelText } {
  if (backend.health() !== "ready") throw modelLoading();
  const cards = backend.listModels();
  const candidates = name === undefined ? cards : cards.filter((m) => m.id === name);
  if (name !== undefined && candidates.length === 0) throw modelNotFound(name);
  for (const card of candidates) {
    const text = backend.text?.(card.id);
    if (text !== undefined) return { card, text };
  }
  throw new ApiError(
    400,
    "invalid_request_error",
    "This server has no tokenizer for that model: it forwards requests to another server or peer",
    { code: "no_tokenizer" },
  );
}

/**
 * The routes.
 *
 * @param deps the backend.
 * @returns a hono sub-app to mount at "/".
 */
export function llamaServerRoutes(deps: Pick<RouteDeps, "backend">): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/tokenize", async (c) => {
    const b = await readBody(c, tokenizeBody);
    const { text } = served(deps.backend, b.model);
    const ids = text.encode(b.content, {
      addSpecial: b.add_special,
      parseSpecial: b.parse_special,
    });
    return c.json({
      tokens: b.with_pieces ? ids.map((id) => ({ id, piece: pieceOf(text.piece(id)) })) : ids,
    });
  });
  app.post("/detokenize", async (c) => {
    const b = await readBody(c, detokenizeBody);
    const { text } = served(deps.backend, b.model);
    const bad = b.tokens.findIndex((id) => id >= text.vocabSize);
    if (bad >= 0) {
      throw new ApiError(
        400,
        "invalid_request_error",
        `Invalid token id ${
          b.tokens[bad]
        } at tokens[${bad}]: the vocabulary has ${text.vocabSize} tokens`,
        { param: `tokens.${bad}` },
      );
    }
    return c.json({ content: text.decode(b.tokens) });
  });
  app.post("/apply-template", async (c) => {
    const b = await readBody(c, applyTemplateBody);
    const { text } = served(deps.backend, b.model);
    const tools = b.tool_choice === "none" ? [] : (b.tools ?? []).map(toolDefinition);
    return c.json({ prompt: text.applyTemplate(b.messages.map(toMessage), tools) });
  });
  app.get("/props", (c) => {
    const { card, text } = served(deps.backend, c.req.query("model"));
    const stats = deps.backend.stats();
    return c.json({
      default_generation_settings: {
        n_ctx: card.contextLength,
        params: { temperature: DEFAULT_TEMPERATURE, top_k: DEFAULT_TOP_K, top_p: 1, min_p: 0 },
      },
      total_slots: stats.slots,
      model_path: card.id,
      model: card.id,
      n_ctx: card.contextLength,
      n_vocab: text.vocabSize,
      chat_template: card.details?.chatTemplate.template ?? "",
      chat_template_source: card.details?.chatTemplate.source ?? "",
      modalities: { vision: false, audio: false },
      ...(card.details !== undefined
        ? {
          architecture: card.details.family,
          n_params: card.details.parameterCount,
          size: card.details.fileBytes,
          quantization: card.details.quantization,
        }
        : {}),
    });
  });
  return app;
}
