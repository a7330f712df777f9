/**
 * @module Cost of grammar-constrained sampling per token over a 128256-token byte-level vocabulary
 * (Llama-3 size), against a 2B-4T decode step (20-40 ms; the goal is well under 5%, i.e. < 1 ms).
 *
 * Vocabulary: synthetic and seeded, shaped like a byte-level BPE vocabulary: the 256 single
 * bytes, then ASCII word pieces (60% with a leading space), digit runs, punctuation clusters such
 * as `"},` and `":"`, whitespace runs, and ~15% multi-byte UTF-8 pieces (accented Latin, Cyrillic,
 * CJK, emoji, some cut in the middle of a character, as real byte-level vocabularies have).
 * `--vocab file.gguf` uses a real vocabulary instead.
 *
 * Grammar: a json_schema with nested objects (an order with a customer, an address, an array
 * of line items with enums, integers with bounds, dates, optional fields) converted by
 * jsonSchemaToGrammar. Text: a valid document for it, split into tokens by greedy longest match
 * over the trie, so every step is at a realistic position (inside strings, at keys, after
 * `{`, in numbers).
 *
 * Timed per token, each as the median and p90 over the document, repeated `--reps` times:
 *   full   allowedTokens (the whole trie walk) + building the masked logits (fill + copy);
 *   lazy   the check of the sampled token (stepToken) as lazy sampling does when the model's
 *          choice is allowed, which is the common case;
 *   accept the matcher advance after the token.
 * Then the sampler as generation runs it (src/generation/step.ts), per token, CPU time over the
 * document: `plain` = the unconstrained sampler; `walk` = Sampler.sampleAllowed (the sampler's
 * best candidates checked against the grammar; when it hands back, the constraint's allowed list,
 * sorted when short (Sampler.sampleListed), masked into the vocabulary when not) with the
 * constraint from constraintFor, for `reps` requests with the same grammar: `cold` the first
 * (grammar compiled, matcher caches empty), `warm` the later ones (shared matcher and allowed
 * lists). The constraint's cost is walk - plain. Logits: seeded noise over the vocabulary with the document's
 * token lifted (a model that mostly follows the schema); "stubborn" also lifts a token the
 * grammar refuses above it at every 4th position (a model that fights the schema). Settings: the
 * API's default (temperature 1, top_k 40) and greedy.
 * Load-independent counts per token: grammar checks the walk made, bytes they matched, full masks
 * it fell back to, and the trie nodes a plain full mask visits.
 * Excluded: the decode.
 *
 * Usage: bun benchmarks/grammar/grammar.bench.ts [--reps 3] [--vocab path.gguf] [--json]
 */
import { parseArgs } from "node:util";
import { createRng } from "../../src/generation/rng.ts";
import { createSampler, type SamplerOptions } from "../../src/generation/sampler.ts";
import {
  allowedTokens,
  allowedTokensRef,
  constraintFor,
  createVocabTrie,
  GrammarRuntime,
  jsonSchemaToGrammar,
  type MatchState,
  parseGrammar,
  stepToken,
  type VocabTrie,
} from "../../src/grammar/index.ts";
import { openGguf } from "../../src/model/open.ts";
import { createTokenizer, vocabSourceFromGguf } from "../../src/tokenizer/index.ts";

const N_VOCAB = 128256;
const DECODE_STEP_MS = 20;

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { reps: { type: "string" }, vocab: { type: "string" }, json: { type: "boolean" } },
});
const reps = Math.max(2, Number(values.reps ?? 3));

function syntheticVocab(): Uint8Array[] {
  const rng = createRng(1234);
  const enc = new TextEncoder();
  const pick = (s: string) => s[Math.floor(rng() * s.length)]!;
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  const add = (b: Uint8Array) => {
    const k = b.join(",");
    if (seen.has(k)) return;
    seen.add(k);
    out.push(b);
  };
  for (let b = 0; b < 256; b++) add(Uint8Array.of(b));
  const letters = "etaoinshrdlcumwfgypbvkjxqz";
  const punct = "{}[]\":,.;!?()-_/\\'`*#@$%&+=<>|~";
  const multi = [
    "é",
    "è",
    "à",
    "ü",
    "ö",
    "ñ",
    "ç",
    "я",
    "д",
    "ж",
    "中",
    "文",
    "字",
    "日",
    "本",
    "語",
    "😀",
    "🚀",
    "ß",
    "ø",
  ];
  while (out.length < N_VOCAB - 3) {
    const r = rng();
    let s: string;
    if (r < 0.62) {
      const len = 1 + Math.floor(rng() * rng() * 12);
      s = (rng() < 0.6 ? " " : "") + (rng() < 0.15 ? pick(letters).toUpperCase() : "");
      for (let i = 0; i < len; i++) s += pick(letters);
    } else if (r < 0.7) {
      s = (rng() < 0.3 ? " " : "") + String(Math.floor(rng() * 1000));
    } else if (r < 0.8) {
      const len = 1 + Math.floor(rng() * 3);
      s = rng() < 0.3 ? " " : "";
      for (let i = 0; i < len; i++) s += pick(punct);
    } else if (r < 0.85) {
      s = rng() < 0.5
        ? "\n" + " ".repeat(Math.floor(rng() * 8))
        : " ".repeat(1 + Math.floor(rng() * 15));
    } else {
      const len = 1 + Math.floor(rng() * 3);
      s = rng() < 0.3 ? " " : "";
      for (let i = 0; i < len; i++) s += multi[Math.floor(rng() * multi.length)]!;
      const bytes = enc.encode(s);
      // some pieces end in the middle of a character, as in real byte-level vocabularies
      add(rng() < 0.2 && bytes.length > 2 ? bytes.subarray(0, bytes.length - 1) : bytes);
      continue;
    }
    add(enc.encode(s));
  }
  // three special tokens: BOS (no bytes), EOS and EOT (end of generation)
  out.push(new Uint8Array(0), new Uint8Array(0), new Uint8Array(0));
  return out;
}

function loadVocab(path: string): { bytes: Uint8Array[]; isEog: (id: number) => boolean } {
  // the pre-tokenizer does not change token bytes: "default" lets any byte-level vocabulary load
  const tok = createTokenizer(vocabSourceFromGguf(openGguf(path).file), { preOverride: "default" });
  const bytes = Array.from({ length: tok.nVocab }, (_, id) => tok.tokenBytes(id));
  return { bytes, isEog: (id) => tok.isEog(id) };
}

const SCHEMA = {
  type: "object",
  properties: {
    id: { type: "string", format: "uuid" },
    created: { type: "string", format: "date" },
    customer: {
      type: "object",
      properties: {
        name: { type: "string", maxLength: 60 },
        email: { type: "string" },
        address: {
          type: "object",
          properties: {
            street: { type: "string" },
            city: { type: "string" },
            zip: { type: "string", minLength: 4, maxLength: 10 },
            country: { enum: ["FR", "DE", "US", "JP", "BR"] },
          },
          required: ["street", "city", "country"],
        },
      },
      required: ["name", "address"],
    },
    items: {
      type: "array",
      minItems: 1,
      maxItems: 20,
      items: {
        type: "object",
        properties: {
          sku: { type: "string" },
          quantity: { type: "integer", minimum: 1, maximum: 999 },
          price: { type: "number" },
          tags: { type: "array", items: { type: "string" } },
        },
        required: ["sku", "quantity", "price"],
      },
    },
    paid: { type: "boolean" },
    note: { type: ["string", "null"] },
  },
  required: ["id", "created", "customer", "items", "paid"],
};

const DOCUMENT = JSON.stringify(
  {
    id: "3f2b8c1e-9a4d-4e7b-8c21-5d6e7f809a1b",
    created: "2026-12-07",
    customer: {
      name: "Amélie Dupont-Müller",
      email: "amelie@example.org",
      address: { street: "12 rue des Écoles", city: "Paris", zip: "75005", country: "FR" },
    },
    items: [
      { sku: "BK-1042", quantity: 2, price: 19.5, tags: ["book", "日本語"] },
      { sku: "PN-77", quantity: 10, price: 1.25, tags: [] },
      { sku: "MUG-3", quantity: 1, price: -0.0, tags: ["gift 🚀"] },
    ],
    paid: true,
    note: 'Leave at the door, "please".\nThanks!',
  },
  null,
  1,
);

// greedy longest-match tokenization over the trie's tokens (only to place the steps)
function tokenize(vocab: readonly Uint8Array[], text: string): number[] {
  const bytes = new TextEncoder().encode(text);
  const byKey = new Map<string, number>();
  let longest = 0;
  vocab.forEach((b, id) => {
    if (b.length === 0) return;
    byKey.set(b.join(","), id);
    longest = Math.max(longest, b.length);
  });
  const ids: number[] = [];
  for (let i = 0; i < bytes.length;) {
    for (let len = Math.min(longest, bytes.length - i); len > 0; len--) {
      const id = byKey.get(bytes.subarray(i, i + len).join(","));
      if (id !== undefined) {
        ids.push(id);
        i += len;
        break;
      }
    }
  }
  return ids;
}

function stats(xs: number[]): { median: number; p90: number; mean: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)]!,
    p90: s[Math.floor(s.length * 0.9)]!,
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    max: s[s.length - 1]!,
  };
}

const vocab = values.vocab ? loadVocab(values.vocab) : {
  bytes: syntheticVocab(),
  isEog: (id: number) => id >= N_VOCAB - 2,
};
let t0 = Bun.nanoseconds();
const trie: VocabTrie = createVocabTrie(vocab.bytes, vocab.isEog);
const buildMs = (Bun.nanoseconds() - t0) / 1e6;
const grammarText = jsonSchemaToGrammar(SCHEMA);
t0 = Bun.nanoseconds();
const grammar = parseGrammar(grammarText);
const parseMs = (Bun.nanoseconds() - t0) / 1e6;
const ids = tokenize(vocab.bytes, DOCUMENT);

// the states along the document (a warm runtime: its caches are filled by this first pass)
const runtime = new GrammarRuntime(grammar);
const states: MatchState[] = [runtime.start];
for (const id of ids) {
  const next = stepToken(trie, runtime, states[states.length - 1]!, id);
  if (next === null) {
    const at = new TextDecoder().decode(
      Uint8Array.from(ids.slice(0, states.length).flatMap((t) => [...vocab.bytes[t]!])),
    );
    throw new Error(
      `token ${id} refused: the document does not fit: ${JSON.stringify(at.slice(-80))}`,
    );
  }
  states.push(next);
}
if (!states[states.length - 1]!.set.accepting) throw new Error("document incomplete");

const out = new Int32Array(trie.nVocab);
const logits = new Float32Array(trie.nVocab).map((_, i) => Math.sin(i));
const masked = new Float32Array(trie.nVocab);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let maxWork = 0;

/** One pass over the document's positions; returns per-call wall µs and the pass's CPU ms. */
function pass(walk: typeof allowedTokens | null): { us: number[]; cpu: number; allowed: number[] } {
  const us: number[] = [];
  const allowed: number[] = [];
  const c0 = cpuMs();
  for (let k = 0; k < ids.length; k++) {
    const t = Bun.nanoseconds();
    runtime.beginStep();
    if (walk) {
      const n = walk(trie, runtime, states[k]!, out);
      masked.fill(-Infinity);
      for (let i = 0; i < n; i++) masked[out[i]!] = logits[out[i]!]!;
      allowed.push(n);
    } else if (stepToken(trie, runtime, states[k]!, ids[k]!) === null) throw new Error("refused");
    us.push((Bun.nanoseconds() - t) / 1e3);
    maxWork = Math.max(maxWork, runtime.work);
  }
  return { us, cpu: cpuMs() - c0, allowed };
}

// interleaved A/B: the plain walk, the optimised walk, the lazy check, `reps` rounds
const runs = { ref: [] as number[], opt: [] as number[], lazy: [] as number[] };
const cpu = { ref: 0, opt: 0, lazy: 0 };
let allowedCounts: number[] = [];
for (let r = 0; r < reps; r++) {
  const a = pass(allowedTokensRef);
  const b = pass(allowedTokens);
  const c = pass(null);
  runs.ref.push(...a.us);
  runs.opt.push(...b.us);
  runs.lazy.push(...c.us);
  cpu.ref += a.cpu;
  cpu.opt += b.cpu;
  cpu.lazy += c.cpu;
  allowedCounts = b.allowed;
}
// trie nodes the plain walk (allowedTokensRef) visits from a state: every child of a live node
function nodesVisited(state: MatchState): number {
  const live: (MatchState | null)[] = new Array(trie.maxDepth + 1);
  live[0] = state;
  let visited = 0;
  for (let i = 1; i < trie.bytes.length;) {
    visited++;
    const next = runtime.step(live[trie.depth[i]! - 1]!, trie.bytes[i]!);
    if (next === null) {
      i = trie.end[i]!;
      continue;
    }
    live[trie.depth[i]!] = next;
    i++;
  }
  return visited;
}

// the sampler along the document: logits lift the document's token (and, stubborn, a refused one)
const noise = (() => {
  const rng = createRng(99);
  return Float32Array.from({ length: trie.nVocab }, () => 2 * (rng() + rng() + rng() - 1.5));
})();
function logitsAt(k: number, stubborn: boolean): Float32Array {
  const l = noise.slice();
  l[ids[k]!] = 9;
  if (stubborn && k % 4 === 0) {
    // the first token the grammar refuses here, lifted above the document's
    for (let t = (k * 7919) % trie.nVocab;; t = (t + 1) % trie.nVocab) {
      runtime.beginStep();
      if (stepToken(trie, runtime, states[k]!, t) === null) {
        l[t] = 11;
        break;
      }
    }
  }
  return l;
}

interface WalkRun {
  plainCpuUs: number;
  /** The first request with the grammar (its matcher starts cold). */
  coldWalkCpuUs: number;
  /** Later requests with the same grammar (the shared matcher and allowed lists are warm). */
  warmWalkCpuUs: number;
  checksPerToken: number;
  checkedBytesPerToken: number;
  /** Steps where the walk handed back and the constraint's allowed list was computed. */
  allowedListsPerToken: number;
  /** Steps where that list was masked into the vocabulary (too long to sort, or top-p alone). */
  fullMasksPerToken: number;
}

// `reps` requests with the same grammar text, one after the other, through constraintFor (as the
// backends call it): the first compiles the grammar and warms the shared matcher
function samplerPass(options: SamplerOptions, stubborn: boolean): WalkRun {
  const all = ids.map((_, k) => logitsAt(k, stubborn));
  // a grammar text no other pass used: the first request here starts cold
  const text = `${grammarText}\n# ${JSON.stringify(options)} ${stubborn}\n`;
  let checks = 0;
  let bytes = 0;
  let fulls = 0;
  let lists = 0;
  let plainCpu = 0;
  let coldCpu = 0;
  let warmCpu = 0;
  for (let r = 0; r < reps; r++) {
    const plain = createSampler(options, createRng(r));
    let c0 = cpuMs();
    for (let k = 0; k < ids.length; k++) plain.sample(all[k]!);
    plainCpu += cpuMs() - c0;
    // the document's token is forced after each pick so that every request visits the same
    // positions
    c0 = cpuMs();
    const constraint = constraintFor(text, trie);
    const walker = createSampler(options, createRng(r));
    const allows = (t: number): boolean => {
      if (r === 0) {
        checks++;
        bytes += trie.tokenBytes[t]!.length;
      }
      return constraint.allows(t);
    };
    for (let k = 0; k < ids.length; k++) {
      if (walker.sampleAllowed(all[k]!, allows) === null) {
        // as src/generation/step.ts: the allowed list (the constraint's mask), sorted when short,
        // else masked into the vocabulary
        if (r === 0) lists++;
        const n = constraint.allowed(out);
        if (walker.sampleListed(all[k]!, out, n) !== null) {
          constraint.accept(ids[k]!);
          continue;
        }
        if (r === 0) fulls++;
        masked.fill(-Infinity);
        for (let i = 0; i < n; i++) masked[out[i]!] = all[k]![out[i]!]!;
        walker.sample(masked);
      }
      constraint.accept(ids[k]!);
    }
    if (r === 0) coldCpu += cpuMs() - c0;
    else warmCpu += cpuMs() - c0;
  }
  const per = (x: number) => Number((x / ids.length).toFixed(2));
  const us = (ms: number, n: number) => Number(((ms * 1000) / (n * ids.length)).toFixed(1));
  return {
    plainCpuUs: us(plainCpu, reps),
    coldWalkCpuUs: us(coldCpu, 1),
    warmWalkCpuUs: us(warmCpu, reps - 1),
    checksPerToken: per(checks),
    checkedBytesPerToken: per(bytes),
    allowedListsPerToken: per(lists),
    fullMasksPerToken: per(fulls),
  };
}

let visited = 0;
for (const state of states.slice(0, ids.length)) visited += nodesVisited(state);

const perToken = (ms: number) => Number(((ms * 1000) / (reps * ids.length)).toFixed(1));

const row = {
  test: "grammar-json-schema",
  date: new Date().toISOString(),
  cpu: "AMD EPYC Zen 5 (shared with other jobs: load average above 20 on 2 cores)",
  nVocab: trie.nVocab,
  trieNodes: trie.bytes.length,
  vocab: values.vocab ?? "synthetic-128k",
  tokens: ids.length,
  reps,
  trieBuildMs: Number(buildMs.toFixed(1)),
  grammarParseMs: Number(parseMs.toFixed(2)),
  grammarRules: grammar.ruleNames.length,
  matcherSets: runtime.setCount,
  maxWorkPerStep: maxWork,
  allowedTokens: stats(allowedCounts),
  fullMaskRefUs: stats(runs.ref),
  fullMaskUs: stats(runs.opt),
  lazyCheckUs: stats(runs.lazy),
  cpuUsPerToken: { fullRef: perToken(cpu.ref), full: perToken(cpu.opt), lazy: perToken(cpu.lazy) },
  fullShareOf20msStep: Number((perToken(cpu.opt) / 1e3 / DECODE_STEP_MS).toFixed(4)),
  fullRefTrieNodesPerToken: Math.round(visited / ids.length),
  sampler: Object.fromEntries(
    ([
      ["topK40", { temperature: 1, topK: 40 }, false],
      ["topK40Stubborn", { temperature: 1, topK: 40 }, true],
      ["greedy", { temperature: 0 }, false],
      ["greedyStubborn", { temperature: 0 }, true],
    ] as const).map(([name, options, stubborn]) => {
      const w = samplerPass(options, stubborn);
      const share = (us: number) => Number(((us - w.plainCpuUs) / 1e3 / DECODE_STEP_MS).toFixed(4));
      return [name, {
        ...w,
        coldShareOf20msStep: share(w.coldWalkCpuUs),
        warmShareOf20msStep: share(w.warmWalkCpuUs),
      }];
    }),
  ),
  lazyShareOf20msStep: Number((perToken(cpu.lazy) / 1e3 / DECODE_STEP_MS).toFixed(6)),
};
if (values.json) console.log(JSON.stringify(row));
else console.log(JSON.stringify(row, null, 2));
