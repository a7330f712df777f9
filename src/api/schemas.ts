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
 * a 400 naming it.
 *
 * Tool calling (chat only; docs/tool-calling.md): `tools` (functions: name of 1-64
 * [A-Za-z0-9_-], description, parameters schema, strict), `tool_choice` ("none": the tools are
 * not shown and no call is parsed; "auto", the default with tools: shown, a call the model starts
 * held to a lazy grammar from `<tool_call>` on, calls parsed from the output; "required" /
 * `{type: "function", function: {name}}`: a grammar makes the output one or more calls / one call
 * of that function), `parallel_tool_calls` (false: at most one call);
 * assistant messages' `tool_calls` (arguments must be JSON text or "") and tool messages'
 * `tool_call_id`. On /v1/completions `tools` and `tool_choice` are a 400.
 *
 * Default sampling (decision to review): OpenAI's temperature 1 and top_p 1, plus top_k 40
 * unless the client sends top_k. Why: with no truncation the sampler sorts the whole
 * vocabulary (128k entries for BitNet 2B-4T) on every token; top_k 40 keeps it to a heap of 40
 * and drops only the far tail (llama.cpp's server uses the same default). `top_k: 0` asks for
 * the full vocabulary. /v1/completions defaults max_tokens to 16, as OpenAI's legacy API does;
 * chat has no default (until the context is full).
 *
 * Sampling ranges admit exactly what the sampler accepts (issue 19, hole 5), with two
 * conversions (decisions): `top_p: 0` is the nucleus of the top token alone (OpenAI accepts 0;
 * llama.cpp keeps at least one token), sent to the sampler as top_k 1; `top_k` above the
 * vocabulary keeps every token (clamped by the backend, generation/limits.ts, so a huge k never
 * allocates more than the vocabulary). `repeat_penalty` must be > 0 (0 would divide by zero);
 * anything else out of range is a 400 naming the field.
 */
import { z } from "zod";
import type { ChatMessage, CompletionRequest, ToolDefinition } from "../contract/index.ts";
import {
  GRAMMAR_LIMITS,
  JSON_OBJECT_GRAMMAR,
  JsonSchemaError,
  jsonSchemaToGrammar,
  MAX_PARALLEL_TOOL_CALLS,
  parseGrammar,
  toolCallGrammar,
  type ToolGrammarFunction,
} from "../grammar/index.ts";
import type { ToolParseOptions } from "./_tool-calls.ts";
import { TOOL_CALL_OPEN } from "../tokenizer/index.ts";
import { UnsupportedParameterError } from "../shared/errors.ts";

/** top_k when the client sends none (see the module header). */
export const DEFAULT_TOP_K = 40;
/** OpenAI's default temperature. */
export const DEFAULT_TEMPERATURE = 1;
/** OpenAI's legacy /v1/completions default max_tokens. */
export const DEFAULT_COMPLETIONS_MAX_TOKENS = 16;

const textPart = z.object({ type: z.literal("text"), text: z.string() });

/** A function name as OpenAI allows it (also what makes it safe in a grammar literal). */
export const toolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
  error: "expected 1-64 characters of A-Z, a-z, 0-9, _ and -",
});

/** Arguments of an earlier call: JSON text, or "" for none (anything else is a 400 here). */
const toolArguments = z.string().max(1 << 20).refine((t) => {
  if (t.trim() === "") return true;
  try {
    JSON.parse(t);
    return true;
  } catch {
    // handled: reported as this field's 400
    return false;
  }
}, { error: "expected JSON text" });

/** One call of an assistant message (OpenAI's shape). */
const toolCallSchema = z.object({
  id: z.string().min(1).max(256),
  type: z.literal("function").nullish(),
  function: z.object({ name: toolName, arguments: toolArguments }),
});

/** One chat message as OpenAI sends it (also llama-server's /apply-template). */
export const chatMessage = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart)], {
    error: "expected a string or an array of text parts",
  }).nullish(),
  /** Assistant messages: the calls it made. */
  tool_calls: z.array(toolCallSchema).max(128).nullish(),
  /** Tool messages: the call answered. */
  tool_call_id: z.string().max(256).nullish(),
}).refine((m) => m.tool_calls == null || m.role === "assistant", {
  error: "only assistant messages carry tool_calls",
  path: ["tool_calls"],
});

/** One entry of `tools` (only functions exist in the API). */
export const toolSchema = z.object({
  type: z.literal("function"),
  function: z.object({
    name: toolName,
    description: z.string().max(1 << 16).nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

/** `tool_choice`: a mode, or one named function. */
export const toolChoiceSchema = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: toolName }) }),
]);

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
  top_k: z.int().min(0).max(2 ** 53 - 1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repeat_penalty: z.number().gt(0, { error: "expected a number > 0" }).max(1e6).nullish(),
};

/** POST /v1/chat/completions body. */
export const chatCompletionBody = z.object({
  ...common,
  messages: z.array(chatMessage).min(1),
  tools: z.array(toolSchema).max(128).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  /** OpenAI's deprecated function calling: refused with a pointer to `tools` (never ignored). */
  functions: z.never({ error: 'functions is not supported: use "tools"' }).nullish(),
  function_call: z.never({ error: 'function_call is not supported: use "tool_choice"' })
    .nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
}).refine((b) => b.top_logprobs == null || b.logprobs === true, {
  error: "top_logprobs requires logprobs: true",
  path: ["top_logprobs"],
});

/** POST /v1/completions body. */
export const completionBody = z.object({
  ...common,
  /** Refused (a 400 naming them): calls need a chat. */
  tools: z.array(z.unknown()).nullish(),
  tool_choice: z.unknown().nullish(),
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
  const out: ChatMessage = { role, content };
  if (m.tool_calls != null && m.tool_calls.length > 0) {
    out.toolCalls = m.tool_calls.map((t) => ({
      id: t.id,
      name: t.function.name,
      arguments: t.function.arguments.trim() === "" ? "{}" : t.function.arguments,
    }));
  }
  if (m.role === "tool" && m.tool_call_id != null) out.toolCallId = m.tool_call_id;
  return out;
}

function sampling(b: Common): CompletionRequest["sampling"] {
  const s: CompletionRequest["sampling"] = {
    temperature: b.temperature ?? DEFAULT_TEMPERATURE,
    topP: b.top_p ?? 1,
    topK: b.top_k ?? DEFAULT_TOP_K,
  };
  // top_p 0: the smallest nucleus, the top token alone (see the module header)
  if (b.top_p === 0) Object.assign(s, { topP: 1, topK: 1 });
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
  tools?: Pick<ToolPlan, "grammar" | "lazyGrammar">,
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
  const grammar = constraintOf(b, tools?.grammar);
  if (grammar !== undefined) r.grammar = grammar;
  else if (tools?.lazyGrammar !== undefined) {
    // auto: a call the model starts is held to the grammar (another constraint wins)
    r.grammar = tools.lazyGrammar;
    r.grammarTrigger = TOOL_CALL_OPEN;
  }
  return r;
}

/**
 * The grammar a body asks for (`grammar`, `json_schema`, `response_format`, or the tool grammar
 * of `tool_choice` "required" / named), compiled once here so that a bad one is a 400 before any
 * work; two of them together are a 400 too.
 */
function constraintOf(b: Common, toolGrammar: string | undefined): string | undefined {
  const rf = b.response_format;
  const sources: [string, string][] = [];
  if (toolGrammar !== undefined) sources.push(["tool_choice", toolGrammar]);
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

/**
 * The tool grammar; a parameters schema it cannot use is a 400 naming `tools`.
 *
 * @param functions the functions (name, parameters, strict).
 * @param parallel several calls or one.
 * @returns GBNF text.
 * @throws {UnsupportedParameterError} for parameters the grammar cannot use.
 */
export function toolGrammar(functions: ToolGrammarFunction[], parallel: boolean): string {
  try {
    return toolCallGrammar(functions, { parallel });
  } catch (err: unknown) {
    // converted: the schema error names the tool; the field is `tools`, not response_format
    if (err instanceof JsonSchemaError) {
      throw new UnsupportedParameterError("tools", err.message, { cause: err });
    }
    throw err;
  }
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
): { request: CompletionRequest; wire: WireOptions; tools?: ToolParseOptions } {
  const plan = toolPlan(b);
  const input: CompletionRequest["input"] = {
    kind: "chat",
    messages: b.messages.map(toMessage),
    ...(plan !== undefined ? { tools: plan.definitions } : {}),
  };
  const request = base(id, b, input, undefined, plan);
  if (b.logprobs === true) request.logprobs = b.top_logprobs ?? 0;
  return { request, wire: wire(b), ...(plan !== undefined ? { tools: plan.parse } : {}) };
}

/**
 * One wire tool as the template sees it.
 *
 * @param t a validated `tools` entry.
 * @returns its definition.
 */
export function toolDefinition(t: z.infer<typeof toolSchema>): ToolDefinition {
  const d: ToolDefinition = { name: t.function.name };
  if (t.function.description != null) d.description = t.function.description;
  if (t.function.parameters != null) d.parameters = t.function.parameters;
  return d;
}

/** What a body's tools turn into: the definitions for the template, the parse, a grammar. */
interface ToolPlan {
  definitions: ToolDefinition[];
  parse: ToolParseOptions;
  /** Only for "required" and a named function. */
  grammar?: string;
  /** "auto": one call's grammar, applied from `<tool_call>` on (src/grammar/triggered.ts). */
  lazyGrammar?: string;
}

/**
 * The tool plan of a chat body, or undefined when no tool may be called (no tools, or
 * `tool_choice: "none"`: then the tools are not shown to the model either).
 *
 * @throws {UnsupportedParameterError} a tool_choice without tools, a named function that is not
 *   listed, duplicate names (400s naming the field).
 * @throws {JsonSchemaError} a strict function whose parameters cannot be enforced.
 */
function toolPlan(b: ChatCompletionBody): ToolPlan | undefined {
  const tools = b.tools ?? [];
  const choice = b.tool_choice ?? "auto";
  if (tools.length === 0) {
    // handled: OpenAI refuses a tool_choice other than none without tools, so does ARIA
    if (b.tool_choice != null && b.tool_choice !== "none") {
      throw new UnsupportedParameterError(
        "tool_choice",
        'Invalid parameter "tool_choice": it requires "tools"',
      );
    }
    return undefined;
  }
  const names = new Set(tools.map((t) => t.function.name));
  if (names.size !== tools.length) {
    throw new UnsupportedParameterError("tools", 'Invalid parameter "tools": duplicate names');
  }
  if (choice === "none") return undefined;
  const definitions = tools.map(toolDefinition);
  const parallel = b.parallel_tool_calls !== false;
  const plan: ToolPlan = {
    definitions,
    parse: { names, maxCalls: parallel ? MAX_PARALLEL_TOOL_CALLS : 1 },
  };
  const fn = (t: (typeof tools)[number]) => ({
    name: t.function.name,
    parameters: t.function.parameters ?? undefined,
    strict: t.function.strict ?? undefined,
  });
  if (choice === "required") plan.grammar = toolGrammar(tools.map(fn), parallel);
  else if (typeof choice === "object") {
    const named = tools.find((t) => t.function.name === choice.function.name);
    if (named === undefined) {
      throw new UnsupportedParameterError(
        "tool_choice",
        `Invalid parameter "tool_choice": no tool is named "${choice.function.name}"`,
      );
    }
    plan.grammar = toolGrammar([fn(named)], false);
    plan.parse = { names: new Set([named.function.name]), maxCalls: 1 };
  } else plan.lazyGrammar = toolGrammar(tools.map(fn), false);
  return plan;
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
  // handled: tools need a chat (a 400 naming the field, never ignored)
  if (b.tools != null && b.tools.length > 0) {
    throw new UnsupportedParameterError(
      "tools",
      'Unsupported parameter "tools": use /v1/chat/completions for tool calling',
    );
  }
  if (b.tool_choice != null && b.tool_choice !== "none") {
    throw new UnsupportedParameterError(
      "tool_choice",
      'Unsupported parameter "tool_choice": use /v1/chat/completions for tool calling',
    );
  }
  const prompt = typeof b.prompt === "string" ? b.prompt : b.prompt[0]!;
  const request = base(id, b, { kind: "text", prompt }, DEFAULT_COMPLETIONS_MAX_TOKENS);
  if (b.logprobs != null) request.logprobs = b.logprobs;
  return { request, wire: wire(b) };
}
