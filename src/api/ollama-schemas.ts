/**
 * @module Ollama's HTTP contract on the same port as the OpenAI one (STYLE.md B0.3): zod schemas
 * of the `/api/chat`, `/api/generate` and `/api/show` bodies and their conversion to the
 * `CompletionRequest` of port.ts. Ollama's snake_case names live only here. Pure.
 *
 * Accepted: model (a served id, or that id with the `:latest` tag Ollama clients add), messages
 * (chat: roles system / user / assistant / tool, string content), prompt / system / raw
 * (generate), stream (default true, as Ollama), keep_alive (accepted: the model stays loaded
 * while the node runs), options.{temperature, top_k, top_p, min_p, seed, num_predict, stop,
 * repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty} and the options that only
 * tune how Ollama runs a model and do not change the output (num_ctx up to the served context,
 * num_batch, num_thread, num_gpu, main_gpu, use_mmap, use_mlock, numa, low_vram).
 *
 * Refused with a 400 naming them (never silently ignored): options that change the output and
 * that ARIA does not implement (mirostat, tfs_z, typical_p, penalize_newline, num_keep …), images,
 * `template` / `context` / `suffix` and `tools` on generate. /api/chat takes `tools` (OpenAI's
 * shape), assistant messages' `tool_calls` (arguments objects) and tool messages' `tool_name`;
 * calls in the answer come back as `message.tool_calls` (docs/tool-calling.md). `format` is
 * "json" (any JSON value, as Ollama) or a JSON Schema, enforced by the same grammar-constrained
 * sampling as OpenAI's `response_format` (src/grammar/). Defaults are Ollama's own (temperature 0.8, top_k 40, top_p 0.9,
 * repeat_penalty 1.1 over the last 64 tokens), so a client gets what it would get from Ollama.
 */
import { z } from "zod";
import type { ChatMessage, CompletionRequest } from "../contract/index.ts";
import {
  JSON_OBJECT_GRAMMAR,
  jsonSchemaToGrammar,
  MAX_PARALLEL_TOOL_CALLS,
  parseGrammar,
} from "../grammar/index.ts";
import { UnsupportedParameterError } from "../shared/errors.ts";
import type { ToolParseOptions } from "./_tool-calls.ts";
import { toolDefinition, toolGrammar, toolName, toolSchema } from "./schemas.ts";
import { TOOL_CALL_OPEN } from "../tokenizer/index.ts";

/** Ollama's default sampling (its documented Modelfile defaults). */
export const OLLAMA_DEFAULTS = {
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  repeatPenalty: 1.1,
  repeatLastN: 64,
} as const;

/** Options that change how Ollama places a model, not what it generates: accepted, no effect. */
const RUNTIME_OPTIONS = [
  "num_batch",
  "num_thread",
  "num_gpu",
  "main_gpu",
  "use_mmap",
  "use_mlock",
  "numa",
  "low_vram",
  "vocab_only",
] as const;

/**
 * Sampling options. Ranges are what the sampler accepts (src/generation/sampler.ts): a value it
 * would reject is a 400 here, never a 500 later. top_k above 1000 is refused rather than
 * allocating per request for an attacker's number (llama.cpp's server has no larger use).
 */
const options = z.strictObject({
  temperature: z.number().min(0).max(100).optional(),
  top_k: z.int().min(0).max(1000).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  min_p: z.number().min(0).max(1).optional(),
  seed: z.int().optional(),
  num_predict: z.int().min(-2).optional(),
  stop: z.array(z.string()).max(16).optional(),
  repeat_penalty: z.number().gt(0).max(10).optional(),
  repeat_last_n: z.int().min(-1).max(1 << 20).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  num_ctx: z.int().min(1).optional(),
  ...Object.fromEntries(RUNTIME_OPTIONS.map((k) => [k, z.unknown().optional()])),
}, {
  error: (issue) =>
    issue.code === "unrecognized_keys"
      ? `options not supported by ARIA: ${issue.keys.join(", ")}`
      : undefined,
});

/** Fields ARIA refuses on every endpoint until it implements them (a 400 names the field). */
const refused = {
  images: z.never({ error: "images are not supported: ARIA serves text models" }).optional(),
  think: z.union([z.literal(false), z.null()], {
    error: "think is not supported: ARIA's models have no reasoning mode",
  }).optional(),
};

const common = {
  /** "json", or a JSON Schema object (src/grammar/ says which keywords it supports). */
  format: z.union([z.literal("json"), z.literal(""), z.record(z.string(), z.unknown())], {
    error: 'expected "json" or a JSON Schema object',
  }).optional(),
  model: z.string().min(1).max(256),
  stream: z.boolean().optional(),
  keep_alive: z.union([z.string(), z.number()]).optional(),
  options: options.optional(),
  ...refused,
};

/** One call of an assistant message, Ollama's shape (arguments an object, no id). */
const ollamaToolCall = z.object({
  function: z.object({
    name: toolName,
    arguments: z.record(z.string(), z.unknown()).optional(),
    index: z.int().min(0).optional(),
  }),
});

const message = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string(),
  images: refused.images,
  /** Assistant messages: the calls it made. */
  tool_calls: z.array(ollamaToolCall).max(128).optional(),
  /** Tool messages: the function whose result this is (shown to no template: ids are ours). */
  tool_name: z.string().max(256).optional(),
});

/** POST /api/chat body. */
export const ollamaChatBody = z.object({
  ...common,
  messages: z.array(message).min(1),
  /** Functions the model may call (OpenAI's `tools` shape, as Ollama takes it). */
  tools: z.array(toolSchema).max(128).optional(),
});

/** POST /api/generate body. */
export const ollamaGenerateBody = z.object({
  ...common,
  tools: z.never({ error: "tools are only supported on /api/chat" }).optional(),
  prompt: z.string().optional(),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  suffix: z.never({ error: "suffix (fill-in-the-middle) is not supported" }).optional(),
  template: z.never({ error: "template is not supported: the model's own template is used" })
    .optional(),
  context: z.never({ error: "context is not supported: send the conversation again" }).optional(),
});

/** POST /api/show body (Ollama accepts `name` as the older spelling of `model`). */
export const ollamaShowBody = z.union([
  z.object({ model: z.string().min(1).max(256), verbose: z.boolean().optional() }),
  z.object({ name: z.string().min(1).max(256), verbose: z.boolean().optional() })
    .transform((b) => ({ model: b.name, verbose: b.verbose })),
]);

/** A validated /api/chat body. */
export type OllamaChatBody = z.infer<typeof ollamaChatBody>;
/** A validated /api/generate body. */
export type OllamaGenerateBody = z.infer<typeof ollamaGenerateBody>;

/**
 * The served model id an Ollama name stands for: the id itself, or the id with Ollama's
 * default tag `:latest`.
 *
 * @param name what the client sent.
 * @param served the ids the backend serves.
 * @returns the served id, or undefined when none matches.
 */
export function servedModelId(name: string, served: readonly string[]): string | undefined {
  if (served.includes(name)) return name;
  const bare = name.endsWith(":latest") ? name.slice(0, -":latest".length) : undefined;
  return bare !== undefined && served.includes(bare) ? bare : undefined;
}

/**
 * The `num_ctx` a client asked for must fit the served context: a smaller one is allowed (the
 * request is simply bounded by what it sends), a larger one is refused rather than ignored.
 *
 * @param o the options.
 * @param contextLength the served context.
 * @returns the reason to refuse, or undefined.
 */
export function numCtxProblem(
  o: OllamaChatBody["options"],
  contextLength: number,
): string | undefined {
  if (o?.num_ctx === undefined || o.num_ctx <= contextLength) return undefined;
  return `options.num_ctx ${o.num_ctx} is larger than the served context (${contextLength}); ` +
    `start aria serve with --ctx ${o.num_ctx} if the model allows it`;
}

function sampling(o: OllamaChatBody["options"]): CompletionRequest["sampling"] {
  const s: CompletionRequest["sampling"] = {
    temperature: o?.temperature ?? OLLAMA_DEFAULTS.temperature,
    topK: o?.top_k ?? OLLAMA_DEFAULTS.topK,
    topP: o?.top_p ?? OLLAMA_DEFAULTS.topP,
    repeatPenalty: o?.repeat_penalty ?? OLLAMA_DEFAULTS.repeatPenalty,
    repeatLastN: o?.repeat_last_n ?? OLLAMA_DEFAULTS.repeatLastN,
  };
  if (o?.min_p !== undefined) s.minP = o.min_p;
  if (o?.presence_penalty !== undefined) s.presencePenalty = o.presence_penalty;
  if (o?.frequency_penalty !== undefined) s.frequencyPenalty = o.frequency_penalty;
  return s;
}

/**
 * The grammar of a `format`: "json" is any JSON value as Ollama allows (ARIA's JSON-object
 * grammar, which is what clients asking for JSON parse), a schema its own grammar; "" or absent:
 * none. Checked once here, so a bad schema is a 400 before any work.
 */
function formatGrammar(format: OllamaChatBody["format"]): string | undefined {
  if (format === undefined || format === "") return undefined;
  const grammar = format === "json" ? JSON_OBJECT_GRAMMAR : jsonSchemaToGrammar(format);
  parseGrammar(grammar); // throws GrammarError -> 400
  return grammar;
}

function request(
  id: string,
  model: string,
  b: { options?: OllamaChatBody["options"]; format?: OllamaChatBody["format"] },
  input: CompletionRequest["input"],
): CompletionRequest {
  const o = b.options;
  const r: CompletionRequest = {
    id,
    model,
    input,
    sampling: sampling(o),
    stop: o?.stop ?? [],
  };
  const grammar = formatGrammar(b.format);
  if (grammar !== undefined) r.grammar = grammar;
  // num_predict: -1 = no limit, -2 = until the context is full (both: no max_tokens here)
  if (o?.num_predict !== undefined && o.num_predict >= 0) r.maxTokens = o.num_predict;
  if (o?.seed !== undefined) r.seed = o.seed;
  return r;
}

/**
 * Converts a validated /api/chat body.
 *
 * @param id the request id.
 * @param model the served model id ({@link servedModelId}).
 * @param b the body.
 * @returns the backend request.
 */
export function ollamaChatRequest(id: string, model: string, b: OllamaChatBody): CompletionRequest {
  let calls = 0; // Ollama's calls have no ids: number them across the conversation
  const messages = b.messages.map((m): ChatMessage => {
    const out: ChatMessage = { role: m.role, content: m.content };
    if (m.tool_calls !== undefined && m.tool_calls.length > 0) {
      out.toolCalls = m.tool_calls.map((t) => ({
        id: `call_${calls++}`,
        name: t.function.name,
        arguments: JSON.stringify(t.function.arguments ?? {}),
      }));
    }
    return out;
  });
  const tools = b.tools ?? [];
  const r = request(id, model, b, {
    kind: "chat",
    messages,
    ...(tools.length > 0 ? { tools: tools.map(toolDefinition) } : {}),
  });
  if (tools.length > 0 && r.grammar === undefined) {
    // as OpenAI's "auto": a call the model starts is held to the grammar (`format` wins)
    r.grammar = toolGrammar(
      tools.map((t) => ({
        name: t.function.name,
        parameters: t.function.parameters ?? undefined,
        strict: t.function.strict ?? undefined,
      })),
      false,
    );
    r.grammarTrigger = TOOL_CALL_OPEN;
  }
  return r;
}

/**
 * How to find calls in an /api/chat answer (Ollama has no tool_choice: the model chooses, calls
 * are parsed from its output), or undefined without tools.
 *
 * @param b the body.
 * @returns the parse options.
 * @throws {UnsupportedParameterError} for duplicate tool names (a 400 naming `tools`).
 */
export function ollamaToolParse(b: OllamaChatBody): ToolParseOptions | undefined {
  const tools = b.tools ?? [];
  if (tools.length === 0) return undefined;
  const names = new Set(tools.map((t) => t.function.name));
  if (names.size !== tools.length) {
    throw new UnsupportedParameterError("tools", 'Invalid parameter "tools": duplicate names');
  }
  return { names, maxCalls: MAX_PARALLEL_TOOL_CALLS };
}

/**
 * Converts a validated /api/generate body: `raw` sends the prompt as it is; otherwise the
 * prompt (and `system`) go through the model's chat template as one user turn, as Ollama does.
 *
 * @param id the request id.
 * @param model the served model id.
 * @param b the body (with a non-empty prompt; an empty one only loads the model).
 * @returns the backend request.
 */
export function ollamaGenerateRequest(
  id: string,
  model: string,
  b: OllamaGenerateBody,
): CompletionRequest {
  const prompt = b.prompt ?? "";
  if (b.raw === true) return request(id, model, b, { kind: "text", prompt });
  const messages: ChatMessage[] = [
    ...(b.system !== undefined ? [{ role: "system" as const, content: b.system }] : []),
    { role: "user", content: prompt },
  ];
  return request(id, model, b, { kind: "chat", messages });
}
