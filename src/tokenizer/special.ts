/**
 * @module The special-token pre-pass (formats.md §7.1, llama.cpp `tokenizer_st_partition`):
 * before a text is tokenized, every occurrence of a special token's text becomes that token
 * and splits the text into raw fragments. Tokens are tried longest first; each one splits all
 * raw fragments left by the longer ones. CONTROL and UNKNOWN tokens are matched only when the
 * caller allows special parsing (text typed by a user must not be able to inject
 * `<|eot_id|>`); USER_DEFINED tokens are always matched, as in llama.cpp and HF tokenizers.
 * Not modelled: llama.cpp's per-model lstrip/rstrip attributes (set by model name for a few
 * non-BitNet models, never stored in GGUF). Pure: no I/O.
 */
import { TOKEN_TYPE, type Vocab } from "./vocab.ts";

/** A piece of the input after the pre-pass: raw text (a string) or a special token id. */
export type Fragment = string | number;

/**
 * Splits `text` at the special tokens it contains.
 *
 * @param vocab the vocabulary (its `specialIds` give the tokens and their order)
 * @param text the input text
 * @param parseSpecial whether CONTROL and UNKNOWN token texts are recognised
 * @returns raw-text strings (never empty) and token ids, in order; `[]` for ""
 * @example
 * ```ts
 * splitSpecial(vocab, "hi<|eot_id|>", true) // ["hi", 128009]
 * splitSpecial(vocab, "hi<|eot_id|>", false) // ["hi<|eot_id|>"]
 * ```
 */
export function splitSpecial(vocab: Vocab, text: string, parseSpecial: boolean): Fragment[] {
  if (text === "") return [];
  let fragments: Fragment[] = [text];
  for (const id of vocab.specialIds) {
    const type = vocab.types[id];
    if (!parseSpecial && (type === TOKEN_TYPE.CONTROL || type === TOKEN_TYPE.UNKNOWN)) continue;
    const needle = vocab.tokens[id]!;
    let next: Fragment[] | undefined;
    for (let f = 0; f < fragments.length; f++) {
      const fragment = fragments[f]!;
      const at = typeof fragment === "string" ? fragment.indexOf(needle) : -1;
      if (at < 0) {
        next?.push(fragment);
        continue;
      }
      if (next === undefined) next = fragments.slice(0, f);
      const raw = fragment as string;
      let start = 0;
      for (let m = at; m >= 0; m = raw.indexOf(needle, start)) {
        if (m > start) next.push(raw.slice(start, m));
        next.push(id);
        start = m + needle.length;
      }
      if (start < raw.length) next.push(raw.slice(start));
    }
    if (next !== undefined) fragments = next;
  }
  return fragments;
}
