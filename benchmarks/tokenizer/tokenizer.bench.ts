/**
 * @module Tokenizer throughput: encode MB/s (UTF-8 input bytes per second, MB = 10^6 bytes),
 * one core, for the Llama-3 vocabulary (gpt2 BPE, Llama-3 split; and the DEFAULT split
 * llama.cpp uses when `pre` is absent) and the Llama-2 vocabulary (SentencePiece), on two texts
 * of about 1 MB each:
 * - "prose": English sentences from a seeded generator over a ~300-word vocabulary
 *   (reproducible anywhere; its small vocabulary favours the piece cache);
 * - "markdown": the README/CHANGELOG files under node_modules/ (English technical prose with
 *   code, URLs and tables; fixed by package-lock.json), concatenated in path order.
 *
 * What is timed: `encode(text)` on the whole text, parseSpecial off. "cold" is the first call
 * on a fresh tokenizer (empty piece cache); "warm" is the mean ± stddev of the next `--reps`
 * calls (cache filled, as in a server that has seen English before). Building the tokenizer is
 * timed separately. Decode is timed on the ids of the same text.
 *
 * Usage: bun benchmarks/tokenizer/tokenizer.bench.ts [--reps 5] [--mb 1] [--save]
 * (`--save` appends JSONL rows to benchmarks/results/tokenizer.jsonl)
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createTokenizer } from "../../src/tokenizer/index.ts";
import { type TestVocabName, testVocabSource } from "../../tests/tokenizer/fixtures.ts";

const WORDS = (
  "the of and to in is was that for it with as on be at by this had not are but from or have an " +
  "they which one you were her all she there would their we him been has when who will more no " +
  "if out so said what up its about into than them can only other new some could time these two " +
  "may then do first any my now such like our over man me even most made after also did many " +
  "before must through back years where much your way well down should because each just those " +
  "people how too little state good very make world still own see men work long get here between " +
  "both life being under never day same another know while last might us great old year off come " +
  "since against go came right used take three government system education development country " +
  "information question important university research community history national experience " +
  "language mountain river weather library kitchen engineer telescope orchestra migration harvest " +
  "quantum ternary processor inference tokenizer benchmark cathedral philosophy neighbourhood " +
  "Wednesday September Amsterdam Kilimanjaro Shakespeare Mediterranean photosynthesis"
).split(" ");
const OPENERS = ["However,", "Meanwhile,", "In 1997,", "Yesterday", "Of course,", "Still,"];
const ENDINGS = [".", ".", ".", "!", "?", "...", ";"];
const QUOTES = ["I'm sure", "they're right", "we'll see", "don't worry", "it's fine", "you've won"];

/** About `bytes` bytes of seeded English prose with paragraphs, numbers and contractions. */
function englishText(bytes: number, seed: number): string {
  let state = seed >>> 0;
  const next = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    let sentence = next(5) === 0 ? OPENERS[next(OPENERS.length)]! + " " : "";
    const n = 6 + next(18);
    for (let i = 0; i < n; i++) {
      let w = WORDS[next(WORDS.length)]!;
      if (i === 0 && sentence === "") w = w[0]!.toUpperCase() + w.slice(1);
      sentence += (i > 0 ? " " : "") + w;
      if (next(12) === 0) sentence += ",";
      if (next(40) === 0) sentence += ` ${next(100000)}`;
      if (next(50) === 0) sentence += ` "${QUOTES[next(QUOTES.length)]}"`;
    }
    sentence += ENDINGS[next(ENDINGS.length)]!;
    sentence += next(8) === 0 ? "\n\n" : " ";
    parts.push(sentence);
    size += sentence.length;
  }
  return parts.join("");
}

/** About `chars` characters of the *.md files under node_modules/, in sorted path order. */
function markdownText(chars: number): string {
  const files: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const name of readdirSync(dir).sort()) {
      if (name === ".cache" || name === ".bin") continue;
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory() && depth < 4) walk(p, depth + 1);
      else if (st.isFile() && name.toLowerCase().endsWith(".md")) files.push(p);
    }
  };
  walk(join(import.meta.dir, "..", "..", "node_modules"), 0);
  let text = "";
  for (const f of files) {
    if (text.length >= chars) break;
    text += readFileSync(f, "utf8") + "\n";
  }
  return text.slice(0, chars);
}

function stats(xs: readonly number[]): { mean: number; stddev: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1);
  return { mean, stddev: Math.sqrt(variance) };
}

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    mb: { type: "string", default: "1" },
    save: { type: "boolean", default: false },
  },
});
const reps = Number(values.reps);
const size = Math.round(Number(values.mb) * 1e6);
const TEXTS = [
  { name: "prose", text: englishText(size, 1) },
  { name: "markdown", text: markdownText(size) },
];
const ms = (t0: number): number => (Bun.nanoseconds() - t0) / 1e6;
const rows: Record<string, unknown>[] = [];
const cpu = cpus()[0]?.model ?? "unknown";
console.log(`cpu: ${cpu}; 1 thread; MB = 10^6 UTF-8 bytes of input`);

const CASES: { vocab: TestVocabName; pre?: "llama3" | "default"; label: string }[] = [
  { vocab: "llama3", label: "llama3 gpt2-bpe (llama3 split)" },
  { vocab: "llama3-no-pre", pre: "default", label: "llama3 gpt2-bpe (DEFAULT split)" },
  { vocab: "llama2", label: "llama2 spm" },
];
for (const c of CASES) {
  const source = testVocabSource(c.vocab);
  const options = c.pre === undefined ? {} : { preOverride: c.pre };
  for (const { name, text } of TEXTS) {
    const nBytes = new TextEncoder().encode(text).length;
    let t0 = Bun.nanoseconds();
    const tokenizer = createTokenizer(source, options);
    const buildMs = ms(t0);
    t0 = Bun.nanoseconds();
    const ids = tokenizer.encode(text);
    const cold = nBytes / 1e6 / (ms(t0) / 1e3);
    const warm: number[] = [];
    const decode: number[] = [];
    for (let r = 0; r < reps; r++) {
      t0 = Bun.nanoseconds();
      tokenizer.encode(text);
      warm.push(nBytes / 1e6 / (ms(t0) / 1e3));
      t0 = Bun.nanoseconds();
      tokenizer.decode(ids);
      decode.push(nBytes / 1e6 / (ms(t0) / 1e3));
    }
    const w = stats(warm);
    const d = stats(decode);
    console.log(
      `${c.label.padEnd(32)} ${name.padEnd(8)} ${(nBytes / 1e6).toFixed(2)} MB | build ` +
        `${buildMs.toFixed(0).padStart(4)} ms | ${
          String(ids.length).padStart(6)
        } tokens | encode ` +
        `cold ${cold.toFixed(2)}, warm ${w.mean.toFixed(2)} ± ${w.stddev.toFixed(2)} MB/s | ` +
        `decode ${d.mean.toFixed(1)} ± ${d.stddev.toFixed(1)} MB/s`,
    );
    const results = [
      ["encode-cold", { mean: cold, stddev: 0 }, 1],
      ["encode-warm", w, reps],
      ["decode", d, reps],
    ] as const;
    for (const [test, s, n] of results) {
      rows.push({
        date: new Date().toISOString(),
        cpu,
        threads: 1,
        model: c.label,
        text: name,
        test,
        unit: "MB/s",
        mean: s.mean,
        stddev: s.stddev,
        n,
      });
    }
  }
}

if (values.save) {
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim();
  const dir = join(import.meta.dir, "..", "results");
  mkdirSync(dir, { recursive: true });
  appendFileSync(
    join(dir, "tokenizer.jsonl"),
    rows.map((r) => JSON.stringify({ commit, ...r })).join("\n") + "\n",
  );
}
