/**
 * @module The HTTP contract (STYLE.md B0.3): zod schemas of the OpenAI request bodies this
 * server accepts, and their conversion to the camelCase `CompletionRequest` of port.ts. The
 * OpenAI snake_case names live only here. Unknown fields are ignored, as OpenAI does; `null`
 * counts as absent (the OpenAI clients send it for some optional fields). Pure.
 *
 * Accepted fields (both endpoints unless noted): model (required), messages (chat: roles
 * system / developer (as system) / user / assistant / tool, content a string, null, or an array of
 * `{type:"text", text}` parts joined with no separator; other part types are a 400), prompt
 * (completions: a string or an array of one string), max_completion_tokens (wins) / max_tokens,
 * temperature 0..2, top_p 0..1, seed, stop (a string or up to 4), presence_penalty and
 * frequency_penalty -2..2, logit_bias ({"token id": -100..100}), n (only 1), logprobs (chat: a
 * boolean, with top_logprobs 0..20; completions: an integer 0..5), stream,
 * stream_options.include_usage, user; llama.cpp extras top_k, min_p, repeat_penalty.
 * Output constraints (one at most): response_format {type: "text" | "json_object" |
 * "json_schema", json_schema: {name, schema, strict}}, llama-server's `grammar` (GBNF) and
 * `json_schema`; converted to one GBNF grammar here (src/grammar/), a bad or unsupported one is
 * a 400 naming it. `tools` (non-empty) and `tool_choice` (other than "none") are a 400
 * unsupported_parameter: tool calling is not implemented, and is never silently ignored.
 *
 * Default sampling (decision to review): OpenAI's temperature 1 and top_p 1, plus top_k 40
 * unless the client sends top_k. Why: with no truncation the sampler sorts the whole
 * vocabulary (128k entries for BitNet 2B-4T) on every token; top_k 40 keeps it to a heap of 40
 * and drops only the far tail (llama.cpp's server uses the same default). `top_k: 0` asks for
 * the full vocabulary. /v1/completions defaults max_tokens to 16, as OpenAI's legacy API does;
 * chat has no default (until the context is full).
 */
import { z } from "zod";
import type { ChatMessage, CompletionRequest } from "../contract/index.ts";
import {
  GRAMMAR_LIMITS,
  JSON_OBJECT_GRAMMAR,
  jsonSchemaToGrammar,
  parseGrammar,
} from "../grammar/index.ts";
import { UnsupportedParameterError } from "../shared/errors.ts";

/** top_k when the client sends none (see the module header). */
export const DEFAULT_TOP_K = 40;
/** OpenAI's default temperature. */
export const DEFAULT_TEMPERATURE = 1;
/** OpenAI's legacy /v1/completions default max_tokens. */
export const DEFAULT_COMPLETIONS_MAX_TOKENS = 16;

const textPart = z.object({ type: z.literal("text"), text: z.string() });

/** One chat message as OpenAI sends it (also llama-server's /apply-template). */
export const chatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart)], {
    error: "expected a string or an array of text parts",
  }).nullish(),
});

const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();

const jsonSchema = z.record(z.string(), z.unknown());

const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object"), schema: jsonSchema.nullish() }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().max(256).nullish(),
      description: z.string().nullish(),
      schema: jsonSchema.nullish(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** Fields shared by both endpoints. */
const common = {
  response_format: responseFormat.nullish(),
  /** llama-server: a GBNF grammar. */
  grammar: z.string().max(GRAMMAR_LIMITS.maxChars).nullish(),
  /** llama-server: a JSON Schema (as response_format json_schema). */
  json_schema: jsonSchema.nullish(),
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().nullish(),
  model: z.string().min(1),
  max_tokens: z.int().min(1).nullish(),
  max_completion_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.int().nullish(),
  stop,
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(
    z.string().regex(/^\d+$/, { error: "expected a token id" }),
    z.number().min(-100).max(100),
  ).nullish(),
  n: z.literal(1, { error: "Only n = 1 is supported" }).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  user: z.string().nullish(),
  top_k: z.int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repeat_penalty: z.number().min(0).nullish(),
};

/** POST /v1/chat/completions body. */
export const chatCompletionBody = z.object({
  ...common,
  messages: z.array(chatMessage).min(1),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
}).refine((b) => b.top_logprobs == null || b.logprobs === true, {
  error: "top_logprobs requires logprobs: true",
  path: ["top_logprobs"],
});

/** POST /v1/completions body. */
export const completionBody = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1)], {
    error: "expected a string or an array of one string",
  }),
  logprobs: z.int().min(0).max(5).nullish(),
});

/** A validated chat body. */
export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;
/** A validated completions body. */
export type CompletionBody = z.infer<typeof completionBody>;

type Common = z.infer<z.ZodObject<typeof common>>;

/** What the routes need besides the CompletionRequest. */
export interface WireOptions {
  stream: boolean;
  includeUsage: boolean;
}

/**
 * One validated wire message as the backend takes it (developer = system; parts joined).
 *
 * @param m the message.
 * @returns it.
 */
export function toMessage(m: z.infer<typeof chatMessage>): ChatMessage {
  const role = m.role === "developer" ? "system" : m.role;
  const c = m.content;
  const content = c == null ? "" : typeof c === "string" ? c : c.map((p) => p.text).join("");
  return { role, content };
}

function sampling(b: Common): CompletionRequest["sampling"] {
  const s: CompletionRequest["sampling"] = {
    temperature: b.temperature ?? DEFAULT_TEMPERATURE,
    topP: b.top_p ?? 1,
    topK: b.top_k ?? DEFAULT_TOP_K,
  };
  if (b.min_p != null) s.minP = b.min_p;
  if (b.repeat_penalty != null) s.repeatPenalty = b.repeat_penalty;
  if (b.presence_penalty != null) s.presencePenalty = b.presence_penalty;
  if (b.frequency_penalty != null) s.frequencyPenalty = b.frequency_penalty;
  if (b.logit_bias != null) {
    s.logitBias = new Map(Object.entries(b.logit_bias).map(([k, v]) => [Number(k), v]));
  }
  return s;
}

function base(
  id: string,
  b: Common,
  input: CompletionRequest["input"],
  defaultMax?: number,
): CompletionRequest {
  const r: CompletionRequest = {
    id,
    model: b.model,
    input,
    sampling: sampling(b),
    stop: (b.stop == null ? [] : typeof b.stop === "string" ? [b.stop] : b.stop)
      .filter((s) => s !== ""),
  };
  const max = b.max_completion_tokens ?? b.max_tokens ?? defaultMax;
  if (max !== undefined) r.maxTokens = max;
  if (b.seed != null) r.seed = b.seed;
  if (b.user != null) r.user = b.user;
  const grammar = constraintOf(b);
  if (grammar !== undefined) r.grammar = grammar;
  return r;
}

/**
 * The grammar a body asks for (`grammar`, `json_schema` or `response_format`), compiled once here
 * so that a bad one is a 400 before any work. Refuses what is not implemented (tools).
 */
function constraintOf(b: Common): string | undefined {
  if (b.tools != null && b.tools.length > 0) {
    throw new UnsupportedParameterError(
      "tools",
      'Unsupported parameter "tools": tool calling is not implemented yet',
    );
  }
  if (b.tool_choice != null && b.tool_choice !== "none") {
    throw new UnsupportedParameterError(
      "tool_choice",
      'Unsupported parameter "tool_choice": tool calling is not implemented yet',
    );
  }
  const rf = b.response_format;
  const sources: [string, string][] = [];
  if (b.grammar != null) sources.push(["grammar", b.grammar]);
  if (b.json_schema != null) sources.push(["json_schema", jsonSchemaToGrammar(b.json_schema)]);
  if (rf?.type === "json_object") {
    sources.push([
      "response_format",
      rf.schema != null ? jsonSchemaToGrammar(rf.schema) : JSON_OBJECT_GRAMMAR,
    ]);
  }
  if (rf?.type === "json_schema") {
    const schema = rf.json_schema.schema;
    sources.push([
      "response_format",
      schema != null ? jsonSchemaToGrammar(schema) : JSON_OBJECT_GRAMMAR,
    ]);
  }
  if (sources.length > 1) {
    throw new UnsupportedParameterError(
      sources[1]![0],
      `Cannot combine "${sources[0]![0]}" with "${sources[1]![0]}": give one output constraint`,
    );
  }
  const grammar = sources[0]?.[1];
  if (grammar !== undefined) parseGrammar(grammar); // throws GrammarError -> 400
  return grammar;
}

function wire(b: Common): WireOptions {
  return { stream: b.stream === true, includeUsage: b.stream_options?.include_usage === true };
}

/**
 * Converts a validated chat body.
 *
 * @param id the request id ("chatcmpl-…").
 * @param b the body parsed by {@link chatCompletionBody}.
 * @returns the backend request and the wire options.
 */
export function toChatRequest(
  id: string,
  b: ChatCompletionBody,
): { request: CompletionRequest; wire: WireOptions } {
  const request = base(id, b, { kind: "chat", messages: b.messages.map(toMessage) });
  if (b.logprobs === true) request.logprobs = b.top_logprobs ?? 0;
  return { request, wire: wire(b) };
}

/**
 * Converts a validated completions body.
 *
 * @param id the request id ("cmpl-…").
 * @param b the body parsed by {@link completionBody}.
 * @returns the backend request and the wire options.
 */
export function toTextRequest(
  id: string,
  b: CompletionBody,
): { request: CompletionRequest; wire: WireOptions } {
  const prompt = typeof b.prompt === "string" ? b.prompt : b.prompt[0]!;
  const request = base(id, b, { kind: "text", prompt }, DEFAULT_COMPLETIONS_MAX_TOKENS);
  if (b.logprobs != null) request.logprobs = b.logprobs;
  return { request, wire: wire(b) };
}
