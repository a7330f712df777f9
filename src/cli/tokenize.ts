/**
 * @module `aria tokenize`: the token ids and pieces of a text, or of a conversation rendered
 * through the chat template, as the model's own tokenizer gives them. Reads only the GGUF
 * metadata (no native library, no weights).
 */
import { openGguf } from "../model/index.ts";
import { createTokenizer, vocabSourceFromGguf } from "../tokenizer/index.ts";
import type { TokenizeCommand } from "./args.ts";
import { buildPromptIds } from "./prompt.ts";

/** The --json output of `aria tokenize`. */
export interface TokenizeResult {
  tokens: number[];
  /** Each token's text, special tokens included (incomplete UTF-8 shows as U+FFFD). */
  pieces: string[];
  /** The rendered chat prompt (with --chat / --system / --messages). */
  prompt?: string;
  /** Where the chat template came from: "file" or "builtin:<name>". */
  template?: string;
}

/**
 * Tokenizes the command's text or conversation.
 *
 * @param cmd parsed options.
 * @returns ids and pieces (plus prompt and template source for a conversation).
 * @throws {GgufFormatError} for a malformed file.
 * @throws {ChatTemplateError} when the chat template fails.
 */
export function runTokenize(cmd: TokenizeCommand): TokenizeResult {
  const { file } = openGguf(cmd.model);
  const tokenizer = createTokenizer(vocabSourceFromGguf(file));
  const built = buildPromptIds(
    { prompt: cmd.text, messages: cmd.messages },
    tokenizer,
    file,
    { addBos: cmd.bos, parseSpecial: cmd.special },
  );
  const result: TokenizeResult = {
    tokens: built.ids,
    pieces: built.ids.map((id) => tokenizer.tokenPiece(id)),
  };
  if (built.text !== undefined) result.prompt = built.text;
  if (built.templateSource !== undefined) result.template = built.templateSource;
  return result;
}

/**
 * Formats the result like llama-tokenize: one `id -> 'piece'` line per token.
 *
 * @param result what runTokenize returned.
 * @returns the text to print (no trailing newline).
 */
export function formatTokenize(result: TokenizeResult): string {
  return result.tokens
    .map((id, i) => `${String(id).padStart(6)} -> '${result.pieces[i]}'`)
    .join("\n");
}
