/**
 * @module Where message contents sit in a rendered chat prompt, and tokenization that parses
 * special tokens only outside them (private to chat-template.ts). Pure: no I/O.
 *
 * How contents are located: the template is rendered a second time with each content replaced
 * by a placeholder (a private-use character that occurs nowhere else, the message index, the
 * same character again). The literal text between placeholders must then match the real prompt,
 * and each placeholder stands for its message's content as the template printed it: unchanged
 * or trimmed (`| trim`, the only rewrite common templates apply). Templates that transform
 * contents otherwise (slicing, case changes, tests on the text) yield no spans.
 */
import type { ChatMessage } from "./chat-template.ts";
import type { Tokenizer } from "./index.ts";
import { type Fragment, splitSpecial } from "./special.ts";
import { TOKEN_TYPE, type Vocab } from "./vocab.ts";

/** A half-open range [start, end) of UTF-16 code units in the prompt. */
export type Span = readonly [number, number];

/**
 * Finds where each rendered message content lies in `prompt`.
 *
 * @param prompt the prompt rendered from the real messages
 * @param messages the real messages
 * @param templateSource the template text (the placeholder character must not occur in it)
 * @param renderMasked renders messages (undefined when the template fails on them)
 * @returns the content spans in order, or undefined when they cannot be located
 */
export function findContentSpans(
  prompt: string,
  messages: readonly ChatMessage[],
  templateSource: string,
  renderMasked: (messages: readonly ChatMessage[]) => string | undefined,
): Span[] | undefined {
  const mark = pickMarker(prompt + templateSource + messages.map((m) => m.content).join(""));
  if (mark === undefined) return undefined;
  const masked = renderMasked(messages.map((m, i) => ({ ...m, content: mark + i + mark })));
  if (masked === undefined) return undefined;
  const parts = masked.split(new RegExp(`${mark}(\\d+)${mark}`));
  // parts: literal, index, literal, index, …, literal
  const literals = parts.filter((_, i) => i % 2 === 0);
  const indices = parts.filter((_, i) => i % 2 === 1).map(Number);
  if (indices.some((i) => !(i < messages.length)) || literals.join("").includes(mark)) {
    return undefined;
  }
  if (!prompt.startsWith(literals[0]!)) return undefined;
  const failed = new Set<string>();
  const spans: Span[] = [];
  const match = (k: number, pos: number): boolean => {
    if (k === indices.length) return pos === prompt.length;
    if (failed.has(`${k}:${pos}`)) return false;
    const next = literals[k + 1]!;
    for (const text of renderings(messages[indices[k]!]!.content)) {
      const end = pos + text.length;
      if (!prompt.startsWith(text, pos) || !prompt.startsWith(next, end)) continue;
      spans.push([pos, end]);
      if (match(k + 1, end + next.length)) return true;
      spans.pop();
    }
    failed.add(`${k}:${pos}`);
    return false;
  };
  return match(0, literals[0]!.length) ? spans.filter(([s, e]) => e > s) : undefined;
}

/**
 * Whether `text` holds a token text that only special-token parsing would turn into a token
 * (CONTROL or UNKNOWN; USER_DEFINED tokens are matched in any text anyway).
 *
 * @param vocab the vocabulary
 * @param text any text
 * @returns true if parsing specials would change its tokens
 */
export function hasParsedSpecial(vocab: Vocab, text: string): boolean {
  return splitSpecial(vocab, text, true).some((f) =>
    typeof f === "number" && vocab.types[f] !== TOKEN_TYPE.USER_DEFINED
  );
}

/**
 * Tokenizes `prompt` like `encode(prompt, {parseSpecial: true, addBos: false})`, except that
 * special-token texts inside `spans` stay text. Raw text runs across span edges are tokenized
 * as one piece, so the ids equal the plain encoding whenever the contents hold no special text.
 *
 * @param tokenizer the tokenizer
 * @param prompt the rendered prompt
 * @param spans sorted, non-overlapping content spans
 * @returns the ids (no BOS/EOS added)
 */
export function tokenizeWithSpans(
  tokenizer: Tokenizer,
  prompt: string,
  spans: readonly Span[],
): number[] {
  const fragments: Fragment[] = [];
  const add = (text: string, parseSpecial: boolean): void => {
    for (const f of splitSpecial(tokenizer.vocab, text, parseSpecial)) {
      const last = fragments.length - 1;
      if (typeof f === "string" && typeof fragments[last] === "string") {
        fragments[last] = (fragments[last] as string) + f;
      } else fragments.push(f);
    }
  };
  let pos = 0;
  for (const [start, end] of spans) {
    add(prompt.slice(pos, start), true);
    add(prompt.slice(start, end), false);
    pos = end;
  }
  add(prompt.slice(pos), true);
  const ids: number[] = [];
  for (const f of fragments) {
    if (typeof f === "number") ids.push(f);
    else {
      ids.push(...tokenizer.encode(f, { addBos: false, addEos: false, parseSpecial: false }));
    }
  }
  return ids;
}

/** The ways a template may print a content: as is, or trimmed. */
function renderings(content: string): string[] {
  return [...new Set([content, content.trim(), content.trimStart(), content.trimEnd()])];
}

/** A private-use character absent from `text`. */
function pickMarker(text: string): string | undefined {
  for (let cp = 0xe000; cp <= 0xf8ff; cp++) {
    const c = String.fromCodePoint(cp);
    if (!text.includes(c)) return c;
  }
  return undefined;
}
