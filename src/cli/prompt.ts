/**
 * @module The prompt of `aria run` and `aria tokenize` as token ids: `--prompt-tokens` as
 * given, `--prompt` / `--text` tokenized with the model's vocabulary, or a conversation
 * (`--chat`, `--system`, `--messages`) rendered through the model's chat template
 * (src/tokenizer/chat-template.ts: the file's template, or a built-in one when it has none).
 * Does no I/O itself: the caller opens the file.
 */
import type { GgufFile } from "../model/index.ts";
import {
  type ChatMessage,
  chatModelInfoFromGguf,
  chooseChatTemplate,
  encodeChat,
  type Tokenizer,
} from "../tokenizer/index.ts";

/** Where a prompt comes from (the fields of `RunCommand` / `TokenizeCommand`). */
export interface PromptSource {
  /** Plain text. */
  readonly prompt?: string | undefined;
  /** Ready token ids (used as they are). */
  readonly promptTokens?: readonly number[] | undefined;
  /** A conversation: rendered through the chat template, ending with the assistant's header. */
  readonly messages?: readonly ChatMessage[] | undefined;
}

/** Options of {@link buildPromptIds} for plain text. */
export interface PlainPromptOptions {
  /** Add BOS (default: true; the vocabulary decides whether it has one). */
  readonly addBos?: boolean | undefined;
  /** Parse special-token text in the prompt (default false). */
  readonly parseSpecial?: boolean | undefined;
}

/** A prompt as ids, with the rendered text and template source for a conversation. */
export interface BuiltPrompt {
  ids: number[];
  /** The rendered chat prompt (conversations only). */
  text?: string;
  /** "file" or "builtin:<name>" (conversations only). */
  templateSource?: string;
}

/**
 * Builds the prompt ids.
 *
 * @param source the prompt text, ids or conversation (first one present wins, in that order:
 *   messages, ids, text)
 * @param tokenizer the model's tokenizer
 * @param file the parsed GGUF (for its chat template and architecture)
 * @param options BOS and special parsing for plain text
 * @returns the ids, and for a conversation the rendered text and template source
 * @throws {ChatTemplateError} when the chat template fails
 */
export function buildPromptIds(
  source: Readonly<PromptSource>,
  tokenizer: Tokenizer,
  file: GgufFile,
  options: Readonly<PlainPromptOptions> = {},
): BuiltPrompt {
  if (source.messages !== undefined) {
    const template = chooseChatTemplate(chatModelInfoFromGguf(file));
    const chat = encodeChat(tokenizer, source.messages, { template });
    return { ids: chat.ids, text: chat.prompt, templateSource: chat.templateSource };
  }
  if (source.promptTokens !== undefined) return { ids: [...source.promptTokens] };
  return {
    ids: tokenizer.encode(source.prompt ?? "", {
      addBos: options.addBos ?? true,
      parseSpecial: options.parseSpecial ?? false,
    }),
  };
}
