/**
 * @module Chat templates: messages -> prompt text -> token ids. Pure: no I/O, no clock (pass
 * `now` for templates that print today's date).
 *
 * Which template a model gets ({@link chooseChatTemplate}; docs/chat-templates.md):
 * - the file's `tokenizer.chat_template`, rendered with @huggingface/jinja, when it has one
 *   that is not the converter placeholder. bitnet.cpp's converter writes the same placeholder
 *   ("Human: … BITNETAssistant: " + EOS, formats.md §6) into every "bitnet*" file; it is not
 *   what any BitNet model was trained on, so it is ignored;
 * - otherwise a built-in template ({@link BUILTIN_CHAT_TEMPLATES}):
 *   - `bitnet-b1.58`: a BitNet architecture with the Llama-3 vocabulary (2B-4T): the format
 *     of the model's Hugging Face tokenizer_config — BOS, then "System: …<|eot_id|>",
 *     "User: …<|eot_id|>", "Assistant: …<|eot_id|>", generation prompt "Assistant: ";
 *   - `llama3`: any other Llama-3 vocabulary (`<|start_header_id|>` present): Llama-3 instruct;
 *   - `chatml`: a vocabulary with `<|im_start|>` and `<|im_end|>` (Qwen, e.g. `qwen3` files
 *     without a template): "<|im_start|>role\ncontent<|im_end|>\n" per message, generation
 *     prompt "<|im_start|>assistant\n" (llama.cpp's "chatml" renders the same text);
 *   - `plain`: everything else, e.g. 1bitLLM's SentencePiece base models, which were never
 *     chat-tuned: "system\n\nUser: …\nAssistant: …\n", generation prompt "Assistant:" (no
 *     trailing space, so a SentencePiece model continues with its own "▁word" tokens).
 *   Falcon3 1.58-bit files (`llama` arch) carry their own template.
 *
 * Special tokens: {@link encodeChat} tokenizes the template's own text with special-token
 * parsing on ("<|eot_id|>" written by the template is one token) and message contents with it
 * off, so a user who types "<|eot_id|>" gets the characters, not the token. The contents'
 * places in the prompt come from a second render with a placeholder per message
 * (./_chat-spans.ts).
 */
import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { type GgufFile, kvString, kvStrings } from "../model/gguf-reader.ts";
import { AriaError } from "../shared/errors.ts";
import { findContentSpans, hasParsedSpecial, tokenizeWithSpans } from "./_chat-spans.ts";
import { JINJA_GLOBALS, strftime } from "./_jinja-globals.ts";
import type { Tokenizer } from "./index.ts";
import { toolsAsText } from "./_tool-prompt.ts";

/** One chat message. `role` is usually "system", "user" or "assistant". */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
  /** Assistant turns: the calls it made (arguments as JSON text). */
  readonly toolCalls?: readonly { id: string; name: string; arguments: string }[] | undefined;
  /** Tool turns: the id of the call this result answers. */
  readonly toolCallId?: string | undefined;
}

/** A function the model may call. */
export interface ChatTool {
  readonly name: string;
  readonly description?: string | undefined;
  /** JSON Schema of the arguments object. */
  readonly parameters?: Record<string, unknown> | undefined;
}

/**
 * Whether a template handles tools itself (it reads `tools`, as Hugging Face's templates with
 * tool support do). Other templates get the Hermes format written into the messages
 * (./_tool-prompt.ts).
 *
 * @param source the jinja source.
 * @returns true when the template mentions `tools`.
 */
export function isToolAwareTemplate(source: string): boolean {
  return /\btools\b/.test(source);
}

/** Names of the built-in templates. */
export type BuiltinChatTemplate = "bitnet-b1.58" | "llama3" | "chatml" | "plain";

/** Why a chat template failed. */
export type ChatTemplateFailure = "parse" | "render" | "raise" | "content";

/** A template that cannot be parsed or rendered, or one that raised an exception. */
export class ChatTemplateError extends AriaError {
  /** What went wrong: bad syntax, a runtime error, `raise_exception(...)`, unsafe content. */
  readonly reason: ChatTemplateFailure;

  /**
   * @param reason what went wrong.
   * @param message human-readable message.
   * @param options standard error options; `cause` is the jinja error.
   */
  constructor(reason: ChatTemplateFailure, message: string, options?: ErrorOptions) {
    super("CHAT_TEMPLATE", message, options);
    this.reason = reason;
  }
}

/**
 * The built-in templates (jinja), used when a file has no usable `tokenizer.chat_template`.
 * `bitnet-b1.58` renders roles other than system/user/assistant as "Role: " (capitalised);
 * `llama3` and `plain` write any role.
 */
export const BUILTIN_CHAT_TEMPLATES: Readonly<Record<BuiltinChatTemplate, string>> = {
  "bitnet-b1.58": "{% for message in messages %}" +
    "{% if loop.first %}{{ bos_token }}{% endif %}" +
    "{{ message['role'] | capitalize }}{{ ': ' + message['content'] + '<|eot_id|>' }}" +
    "{% endfor %}" +
    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}",
  llama3: "{% for message in messages %}" +
    "{% if loop.first %}{{ bos_token }}{% endif %}" +
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}" +
    "{{ message['content'] | trim }}{{ '<|eot_id|>' }}" +
    "{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}" +
    "{% endif %}",
  // ChatML, the turn format of Qwen vocabularies (<|im_start|> / <|im_end|>), for a file that
  // carries no template; llama.cpp renders the same text for its "chatml" family
  chatml: "{% for message in messages %}" +
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}" +
    "{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
  plain: "{{ bos_token }}{% for message in messages %}" +
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}" +
    "{% else %}{{ message['role'] | capitalize }}{{ ': ' + message['content'] + '\\n' }}" +
    "{% endif %}{% endfor %}" +
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
};

/** Options of {@link renderChat}. */
export interface RenderChatOptions {
  /** The file's `tokenizer.chat_template`; absent or the bitnet placeholder = built-in. */
  readonly template?: string | undefined;
  /** Text of the BOS token (`bos_token`), e.g. "<|begin_of_text|>". */
  readonly bosToken: string;
  /** Text of the EOS token (`eos_token`). */
  readonly eosToken: string;
  /** End with the assistant's turn header (default true). */
  readonly addGenerationPrompt?: boolean | undefined;
  /** Built-in template used when `template` is not usable (default "plain"). */
  readonly family?: BuiltinChatTemplate | undefined;
  /** Time for `strftime_now(...)`; without it the function is undefined (templates fall back). */
  readonly now?: Date | undefined;
  /** Functions the model may call (see {@link isToolAwareTemplate}). */
  readonly tools?: readonly ChatTool[] | undefined;
}

/** Defaults of {@link renderChat}. */
export const DEFAULT_RENDER_CHAT_OPTIONS = {
  addGenerationPrompt: true,
  family: "plain",
} as const satisfies Partial<RenderChatOptions>;

/**
 * Whether a template is the placeholder bitnet.cpp's converter writes ("BITNETAssistant: ").
 *
 * @param template a `tokenizer.chat_template` value
 * @returns true for the placeholder
 */
export function isPlaceholderChatTemplate(template: string): boolean {
  return template.includes("BITNETAssistant: ");
}

/**
 * Renders messages to prompt text with a jinja chat template.
 *
 * @param messages the conversation
 * @param options the template (or the family for a built-in one), BOS/EOS texts, flags
 * @returns the prompt text, special tokens written as text
 * @throws {TypeError} if a message is not `{role: string, content: string}`
 * @throws {ChatTemplateError} if the template cannot be parsed or rendered, or raises
 * @example
 * ```ts
 * renderChat([{ role: "user", content: "Hi" }], {
 *   bosToken: "<|begin_of_text|>", eosToken: "<|end_of_text|>", family: "bitnet-b1.58",
 * }); // "<|begin_of_text|>User: Hi<|eot_id|>Assistant: "
 * ```
 */
export function renderChat(
  messages: readonly ChatMessage[],
  options: Readonly<RenderChatOptions>,
): string {
  assertMessages(messages);
  const source = options.template !== undefined && !isPlaceholderChatTemplate(options.template)
    ? options.template
    : BUILTIN_CHAT_TEMPLATES[options.family ?? DEFAULT_RENDER_CHAT_OPTIONS.family];
  const chat = withTools(source, messages, options.tools);
  return renderWith(compile(source), chat.messages, { ...options, tools: chat.tools });
}

/**
 * The messages and tools a template renders: unchanged for a tool-aware template; otherwise
 * tools, calls and results written as text (./_tool-prompt.ts) and no `tools` variable.
 */
function withTools(
  source: string,
  messages: readonly ChatMessage[],
  tools: readonly ChatTool[] | undefined,
): { messages: readonly ChatMessage[]; tools: readonly ChatTool[] | undefined } {
  const used = (tools !== undefined && tools.length > 0) ||
    messages.some((m) => (m.toolCalls?.length ?? 0) > 0);
  if (!used) return { messages, tools: undefined };
  if (isToolAwareTemplate(source)) return { messages, tools };
  return { messages: toolsAsText(messages, tools ?? []), tools: undefined };
}

/** What {@link chooseChatTemplate} needs to know about a model. */
export interface ChatModelInfo {
  /** `general.architecture`. */
  readonly arch: string;
  /** `tokenizer.chat_template`, if any. */
  readonly chatTemplate?: string | undefined;
  /** `tokenizer.ggml.model` ("gpt2", "llama", …). */
  readonly tokenizerModel: string;
  /** Whether the vocabulary has a token with this text. */
  readonly hasToken: (text: string) => boolean;
}

/** The template a model gets, and where it comes from. */
export interface ChatTemplateChoice {
  /** "file" or "builtin:<name>", for reporting. */
  readonly source: "file" | `builtin:${BuiltinChatTemplate}`;
  /** The jinja source. */
  readonly template: string;
}

/**
 * Picks the chat template for a model (the rules are in the module comment).
 *
 * @param info the model's architecture, template and vocabulary
 * @returns the template and its source
 * @example
 * ```ts
 * chooseChatTemplate(chatModelInfoFromGguf(file)).source; // "builtin:bitnet-b1.58" for 2B-4T
 * ```
 */
export function chooseChatTemplate(info: Readonly<ChatModelInfo>): ChatTemplateChoice {
  const own = info.chatTemplate;
  if (own !== undefined && own.trim() !== "" && !isPlaceholderChatTemplate(own)) {
    return { source: "file", template: own };
  }
  const llama3Vocab = info.tokenizerModel === "gpt2" && info.hasToken("<|start_header_id|>") &&
    info.hasToken("<|eot_id|>");
  const bitnetArch = info.arch.startsWith("bitnet");
  const chatmlVocab = info.hasToken("<|im_start|>") && info.hasToken("<|im_end|>");
  const name: BuiltinChatTemplate = llama3Vocab
    ? (bitnetArch ? "bitnet-b1.58" : "llama3")
    : chatmlVocab
    ? "chatml"
    : "plain";
  return { source: `builtin:${name}`, template: BUILTIN_CHAT_TEMPLATES[name] };
}

/**
 * Reads what {@link chooseChatTemplate} needs from a parsed GGUF file.
 *
 * @param file the parsed file
 * @returns the model info
 * @throws {GgufFormatError} if a key has the wrong type
 */
export function chatModelInfoFromGguf(file: GgufFile): ChatModelInfo {
  const tokens = kvStrings(file, "tokenizer.ggml.tokens") ?? [];
  return {
    arch: kvString(file, "general.architecture") ?? "",
    chatTemplate: kvString(file, "tokenizer.chat_template"),
    tokenizerModel: kvString(file, "tokenizer.ggml.model") ?? "",
    hasToken: (text) => tokens.includes(text),
  };
}

/** Options of {@link encodeChat}. */
export interface EncodeChatOptions {
  /** The template, from {@link chooseChatTemplate}. */
  readonly template: ChatTemplateChoice;
  /** End with the assistant's turn header (default true). */
  readonly addGenerationPrompt?: boolean | undefined;
  /** Time for `strftime_now(...)`. */
  readonly now?: Date | undefined;
  /** Functions the model may call (see {@link isToolAwareTemplate}). */
  readonly tools?: readonly ChatTool[] | undefined;
}

/** Result of {@link encodeChat}. */
export interface EncodedChat {
  /** Token ids, starting with exactly one BOS when the template or the vocabulary wants one. */
  ids: number[];
  /** The rendered prompt text. */
  prompt: string;
  /** Where the template came from ("file", "builtin:llama3", …). */
  templateSource: ChatTemplateChoice["source"];
}

/**
 * Renders a conversation and tokenizes it: the template's text with special-token parsing,
 * the message contents without (they cannot inject "<|eot_id|>"). BOS is added when the
 * vocabulary asks for it and the template did not write one; EOS never.
 *
 * @param tokenizer the model's tokenizer
 * @param messages the conversation
 * @param options the template choice and flags
 * @returns ids, prompt text and template source
 * @throws {TypeError} if a message is not `{role: string, content: string}`
 * @throws {ChatTemplateError} if the template fails, or if it rewrites message contents (so
 *   they cannot be located) and a content holds special-token text
 * @example
 * ```ts
 * const template = chooseChatTemplate(chatModelInfoFromGguf(file));
 * encodeChat(tokenizer, [{ role: "user", content: "Hi" }], { template }).ids;
 * ```
 */
export function encodeChat(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  options: Readonly<EncodeChatOptions>,
): EncodedChat {
  assertMessages(messages);
  const chat = withTools(options.template.template, messages, options.tools);
  messages = chat.messages;
  const vocab = tokenizer.vocab;
  const token = (id: number | undefined): string => id === undefined ? "" : vocab.tokens[id]!;
  const renderOptions: RenderChatOptions = {
    bosToken: token(vocab.bosId),
    eosToken: token(vocab.eosId),
    addGenerationPrompt: options.addGenerationPrompt,
    now: options.now,
    tools: chat.tools,
  };
  // a tool-aware template prints tools and call arguments as its own text, where special-token
  // text would be parsed: refused here (handled: a 400 at the API), never injected
  if (toolTextHasSpecial(vocab, messages, chat.tools)) {
    throw new ChatTemplateError(
      "content",
      "Cannot tokenize the chat: a tool definition or tool call holds special-token text",
    );
  }
  const template = compile(options.template.template);
  const prompt = renderWith(template, messages, renderOptions);
  const spans = findContentSpans(prompt, messages, options.template.template, (masked) => {
    try {
      return renderWith(template, masked, renderOptions);
    } catch {
      // converted: a template that cannot render placeholders just has no spans (fallback below)
      return undefined;
    }
  });
  if (spans === undefined && messages.some((m) => hasParsedSpecial(vocab, m.content))) {
    throw new ChatTemplateError(
      "content",
      "Cannot tokenize the chat: the template rewrites message contents and a message holds " +
        "special-token text",
    );
  }
  const ids = tokenizeWithSpans(tokenizer, prompt, spans ?? []);
  if (vocab.addBos && vocab.bosId !== undefined && ids[0] !== vocab.bosId) {
    ids.unshift(vocab.bosId);
  }
  return { ids, prompt, templateSource: options.template.source };
}

/** Parsed templates by source; chat templates are few per process, so keep the last few. */
const COMPILED = new Map<string, Template>();
const COMPILED_MAX = 8;

function compile(source: string): Template {
  const known = COMPILED.get(source);
  if (known !== undefined) return known;
  let template: Template;
  try {
    template = new Template(source);
  } catch (err: unknown) {
    // converted: jinja syntax errors become ChatTemplateError
    throw new ChatTemplateError("parse", `Cannot parse chat template: ${messageOf(err)}`, {
      cause: err,
    });
  }
  if (COMPILED.size >= COMPILED_MAX) COMPILED.delete(COMPILED.keys().next().value!);
  COMPILED.set(source, template);
  return template;
}

function renderWith(
  template: Template,
  messages: readonly ChatMessage[],
  options: Readonly<RenderChatOptions>,
): string {
  const now = options.now;
  const variables: Record<string, unknown> = {
    ...JINJA_GLOBALS,
    messages: messages.map(hfMessage),
    bos_token: options.bosToken,
    eos_token: options.eosToken,
    add_generation_prompt: options.addGenerationPrompt ??
      DEFAULT_RENDER_CHAT_OPTIONS.addGenerationPrompt,
    raise_exception: (message: unknown): never => {
      throw new ChatTemplateError(
        "raise",
        `Cannot render chat template: it raised "${String(message)}"`,
      );
    },
  };
  // Hugging Face passes `tools` only when the caller gives some (`{% if tools %}` is false then)
  if (options.tools !== undefined) variables["tools"] = options.tools.map(hfTool);
  // without a clock strftime_now stays undefined: templates test `is defined` and fall back
  if (now !== undefined) variables["strftime_now"] = (f: unknown) => strftime(now, String(f));
  // Template.render() would declare its own raise_exception and a clock-reading strftime_now,
  // so the globals are set here and the parsed program is run directly.
  const env = new Environment();
  for (const [name, value] of Object.entries(variables)) env.set(name, value);
  try {
    return String(new Interpreter(env).run(template.parsed).value);
  } catch (err: unknown) {
    // converted: runtime errors become ChatTemplateError (ours pass through)
    if (err instanceof ChatTemplateError) throw err;
    throw new ChatTemplateError("render", `Cannot render chat template: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

/** A message as Hugging Face's apply_chat_template passes it (arguments as an object). */
function hfMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.toolCalls !== undefined && m.toolCalls.length > 0) {
    out["tool_calls"] = m.toolCalls.map((c) => ({
      id: c.id,
      type: "function",
      function: { name: c.name, arguments: argumentsValue(c.arguments) },
    }));
  }
  if (m.toolCallId !== undefined) out["tool_call_id"] = m.toolCallId;
  return out;
}

/** Arguments as an object when they are JSON (HF's convention; templates `tojson` them). */
function argumentsValue(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    // handled: text that is not JSON is passed on as the string it is
    return text;
  }
}

/** A tool as HF passes it (OpenAI's `{type: "function", function: {...}}`). */
function hfTool(t: ChatTool): Record<string, unknown> {
  const fn: Record<string, unknown> = { name: t.name };
  if (t.description !== undefined) fn["description"] = t.description;
  if (t.parameters !== undefined) fn["parameters"] = t.parameters;
  return { type: "function", function: fn };
}

function toolTextHasSpecial(
  vocab: Tokenizer["vocab"],
  messages: readonly ChatMessage[],
  tools: readonly ChatTool[] | undefined,
): boolean {
  const texts = [
    ...(tools ?? []).map((t) => JSON.stringify(hfTool(t))),
    ...messages.flatMap((m) => [
      m.toolCallId ?? "",
      ...(m.toolCalls ?? []).map((c) => c.id + c.name + c.arguments),
    ]),
  ];
  return texts.some((t) => t !== "" && hasParsedSpecial(vocab, t));
}

function assertMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new TypeError("Cannot render chat: messages is not an array");
  messages.forEach((m: unknown, i) => {
    const ok = typeof m === "object" && m !== null && "role" in m && "content" in m &&
      typeof m.role === "string" && typeof m.content === "string";
    if (!ok) {
      throw new TypeError(
        `Cannot render chat: message ${i} is not {role: string, content: string}`,
      );
    }
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
