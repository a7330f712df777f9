/** createSequence() under a TokenConstraint (a real grammar over a small byte vocabulary). */
import { describe, expect, test } from "bun:test";
import {
  constraintFor,
  createVocabTrie,
  GrammarError,
  JSON_OBJECT_GRAMMAR,
} from "../grammar/index.ts";
import type { GenerationTokenizer } from "./port.ts";
import { createRng } from "./rng.ts";
import { createSequence, type SequenceEnd } from "./step.ts";

const utf8 = new TextEncoder();
const PIECES = [
  ...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)),
  ...['{"', '"},', '": ', "true", "null", "é", "日本", "Hello", "\n"].map((s) => utf8.encode(s)),
];
const EOG = PIECES.length;
PIECES.push(new Uint8Array(0));
const TRIE = createVocabTrie(PIECES, (id) => id === EOG);
const id = (s: string) =>
  PIECES.findIndex((p) => new TextDecoder().decode(p) === s && p.length > 0);

const TOKENIZER: GenerationTokenizer = {
  isEog: (t) => t === EOG,
  createStreamDecoder() {
    let d = new TextDecoder();
    return {
      push: (t) => d.decode(PIECES[t]!, { stream: true }),
      flush() {
        const rest = d.decode();
        d = new TextDecoder();
        return rest;
      },
    };
  },
};

/** Runs a sequence over logits from `next(step)` to its end. */
function run(
  grammar: string,
  next: (step: number) => Float32Array,
  options: {
    mode?: "walk" | "full";
    maxTokens?: number;
    temperature?: number;
    topK?: number;
    minP?: number;
    seed?: number;
  } = {},
): SequenceEnd & { chunks: string[] } {
  const seq = createSequence(TOKENIZER, [1], 4096, {
    maxTokens: options.maxTokens ?? 400,
    sampling: {
      temperature: options.temperature ?? 0,
      topK: options.topK ?? 0,
      minP: options.minP ?? 0,
    },
    rng: createRng(options.seed ?? 1),
    constraint: constraintFor(grammar, TRIE),
    constraintMode: options.mode ?? "walk",
    logprobs: 1,
  });
  const chunks: string[] = [];
  for (let i = 0;; i++) {
    const s = seq.step(next(i));
    if (s.chunk) chunks.push(s.chunk.text);
    if (s.end) return { ...s.end, chunks };
  }
}

function peaked(token: number): Float32Array {
  const l = new Float32Array(PIECES.length);
  l[token] = 10;
  l[id("Hello")] = 9; // the model's second choice
  return l;
}

describe("createSequence() with a constraint", () => {
  test("createSequence() masks a refused token and takes the best allowed one (walk = full)", () => {
    for (const mode of ["walk", "full"] as const) {
      // the model always wants "Hello", then EOG; the grammar wants yes or no
      const end = run('root ::= "yes" | "no"', () => peaked(id("Hello")), { mode });
      expect(end.text === "yes" || end.text === "no").toBe(true);
      expect(end.finishReason).toBe("stop");
    }
    const lazy = run('root ::= [a-z]+ "."', (i) => peaked(i < 3 ? id("é") : EOG));
    const full = run('root ::= [a-z]+ "."', (i) => peaked(i < 3 ? id("é") : EOG), { mode: "full" });
    expect(lazy.text).toBe(full.text);
    expect(lazy.text).toMatch(/^[a-z]+\.$/);
  });

  test(
    "createSequence() walk and full masking generate the same tokens across seeds and settings",
    () => {
      const noisy = (seed: number) => {
        const rng = createRng(seed);
        return () => {
          const l = new Float32Array(PIECES.length);
          for (let i = 0; i < l.length; i++) l[i] = 3 * rng();
          l[EOG] = 4;
          l[id('"},')] = 3.5;
          l[id("Hello")] = 5; // refused at most positions: the walk must look further down
          return l;
        };
      };
      const settings = [{ temperature: 0 }, { temperature: 1, topK: 40 }, {
        temperature: 0.8,
        minP: 0.05,
      }, { temperature: 1 }];
      for (const setting of settings) {
        for (let seed = 1; seed <= 4; seed++) {
          const walk = run(JSON_OBJECT_GRAMMAR, noisy(seed), { ...setting, seed, maxTokens: 150 });
          const full = run(JSON_OBJECT_GRAMMAR, noisy(seed), {
            ...setting,
            seed,
            maxTokens: 150,
            mode: "full",
          });
          expect(walk.tokens).toEqual(full.tokens);
          expect(walk.finishReason).toBe(full.finishReason);
        }
      }
    },
    30_000,
  );

  test("createSequence() ends with stop when the grammar is complete, without waiting for EOG", () => {
    const end = run('root ::= "Hello"', () => peaked(id("Hello")));
    expect(end).toMatchObject({ text: "Hello", finishReason: "stop", stopReason: "eog" });
    expect(end.tokens).toEqual([id("Hello")]);
  });

  test("createSequence() keeps logprobs of the raw logits under a constraint", () => {
    const end = run('root ::= "no"', () => peaked(id("Hello")));
    expect(end.logprobs![0]!.topLogprobs[0]!.token).toBe(id("Hello"));
    expect(end.logprobs![0]!.token).toBe(id("n"));
  });

  test("createSequence() samples valid JSON objects at temperature 1 from noisy logits", () => {
    let complete = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rng = createRng(seed);
      const end = run(JSON_OBJECT_GRAMMAR, () => {
        const l = new Float32Array(PIECES.length);
        for (let i = 0; i < l.length; i++) l[i] = 3 * rng();
        l[EOG] = 4; // the model wants to stop: only allowed once the object is complete
        l[id('"},')] = 3.5;
        return l;
      }, { temperature: 1, seed, maxTokens: 4000 });
      if (end.finishReason === "length") continue; // cut off: not required to be complete
      expect(() => JSON.parse(end.text)).not.toThrow();
      expect(end.chunks.join("") + end.tail).toBe(end.text);
      complete++;
    }
    expect(complete).toBeGreaterThanOrEqual(10);
  });

  test("createSequence() throws a GrammarError when the grammar outgrows its limits", () => {
    // every "x" doubles the parses: the matcher refuses past its bound (this request only)
    const grammar = 'root ::= a\na ::= "x" a "y" | "x" a "z"';
    expect(() => run(grammar, () => peaked(id("x")))).toThrow(GrammarError);
  });
});
