import { describe, expect, test } from "bun:test";
import { ContextOverflowError, generate, type GenerateOptions } from "./generate.ts";
import type { GenerationEngine, GenerationTokenizer } from "./port.ts";
import { createRng } from "./rng.ts";

const EOG = 0;
const enc = (s: string) => new TextEncoder().encode(s);
// a tiny byte vocabulary; 6+7 is "é", 9+10 is "🙂" (F0 9F 99 82)
const PIECES: Uint8Array[] = [
  new Uint8Array(0),
  enc("Hello"),
  enc(" wor"),
  enc("ld"),
  enc("EN"),
  enc("D"),
  Uint8Array.of(0xc3),
  Uint8Array.of(0xa9),
  enc("!"),
  Uint8Array.of(0xf0, 0x9f),
  Uint8Array.of(0x99, 0x82),
];
const N_VOCAB = PIECES.length;

const TOKENIZER: GenerationTokenizer = {
  isEog: (id) => id === EOG,
  createStreamDecoder() {
    let utf8 = new TextDecoder();
    return {
      push: (id) => utf8.decode(PIECES[id]!, { stream: true }),
      flush() {
        const rest = utf8.decode();
        utf8 = new TextDecoder();
        return rest;
      },
    };
  },
};

/** An engine whose logits at step i peak at script[i] (then at EOG). Counts evaluations. */
function scriptedEngine(script: number[], nCtx = 64) {
  const calls = { prompt: 0, token: [] as number[] };
  let step = 0;
  const logits = new Float32Array(N_VOCAB);
  const next = (): Float32Array => {
    logits.fill(0); // one buffer, overwritten like the native view
    logits[script[step++] ?? EOG] = 10;
    return logits;
  };
  const engine: GenerationEngine = {
    nCtx,
    evalPrompt: () => (calls.prompt++, next()),
    evalToken: (id) => (calls.token.push(id), Promise.resolve(next())),
  };
  return { engine, calls };
}

async function collect(script: number[], options: GenerateOptions, nCtx?: number) {
  const { engine, calls } = scriptedEngine(script, nCtx);
  const gen = generate({ engine, tokenizer: TOKENIZER }, [1, 2], options);
  const chunks: Array<{ token: number; text: string }> = [];
  let r = await gen.next();
  for (; !r.done; r = await gen.next()) chunks.push({ token: r.value.token, text: r.value.text });
  return { chunks, result: r.value, calls };
}

describe("generate()", () => {
  test("generate() ends with eog on an end-of-generation token, which is not emitted", async () => {
    const { chunks, result, calls } = await collect([1, 2, 3, EOG], { maxTokens: 10 });
    expect(chunks).toEqual([
      { token: 1, text: "Hello" },
      { token: 2, text: " wor" },
      { token: 3, text: "ld" },
    ]);
    expect(result).toMatchObject({
      tokens: [1, 2, 3],
      text: "Hello world",
      tail: "",
      finishReason: "stop",
      stopReason: "eog",
      usage: { promptTokens: 2, completionTokens: 3 },
    });
    expect(calls).toEqual({ prompt: 1, token: [1, 2, 3] });
  });

  test("generate() ends with max_tokens and does not evaluate the last token", async () => {
    const { result, calls } = await collect([1, 2, 3, 1], { maxTokens: 2 });
    expect(result).toMatchObject({
      tokens: [1, 2],
      text: "Hello wor",
      finishReason: "length",
      stopReason: "max_tokens",
    });
    expect(calls.token).toEqual([1]);
  });

  test("generate() yields nothing for maxTokens 0", async () => {
    const { chunks, result } = await collect([1], { maxTokens: 0 });
    expect(chunks).toEqual([]);
    expect(result).toMatchObject({ tokens: [], text: "", stopReason: "max_tokens" });
  });

  test("generate() ends with context_full when prompt and output fill nCtx", async () => {
    const { result, calls } = await collect([1, 2, 3, 1, 2], { maxTokens: 100 }, 5);
    expect(result).toMatchObject({
      tokens: [1, 2, 3],
      finishReason: "length",
      stopReason: "context_full",
    });
    expect(calls.token).toEqual([1, 2]); // prompt 2 + 2 evaluated = 4 positions; the 3rd is not
  });

  test("generate() stops on a stop string spanning tokens and never emits its start", async () => {
    const { chunks, result } = await collect([1, 4, 5, 8], { maxTokens: 10, stop: ["END"] });
    expect(chunks).toEqual([
      { token: 1, text: "Hello" },
      { token: 4, text: "" }, // "EN" might start "END"
      { token: 5, text: "" },
    ]);
    expect(result).toMatchObject({
      tokens: [1, 4, 5],
      text: "Hello",
      finishReason: "stop",
      stopReason: "stop_string",
      stopString: "END",
      usage: { completionTokens: 3 },
    });
  });

  test("generate() releases held text when the match fails, or at the end", async () => {
    const failed = await collect([4, 8, EOG], { maxTokens: 10, stop: ["END"] });
    expect(failed.chunks).toEqual([{ token: 4, text: "" }, { token: 8, text: "EN!" }]);
    expect(failed.result).toMatchObject({ text: "EN!", stopReason: "eog" });
    const atEog = await collect([1, 4, EOG], { maxTokens: 10, stop: ["END"] });
    expect(atEog.result).toMatchObject({ text: "HelloEN", tail: "EN", stopReason: "eog" });
    const atMax = await collect([1, 4, 5], { maxTokens: 2, stop: ["END"] });
    expect(atMax.chunks.at(-1)).toEqual({ token: 4, text: "EN" });
    expect(atMax.result).toMatchObject({ text: "HelloEN", tail: "", stopReason: "max_tokens" });
  });

  test("generate() stops at the very first token", async () => {
    const { chunks, result } = await collect([1, 2], { maxTokens: 10, stop: ["Hel"] });
    expect(chunks).toEqual([{ token: 1, text: "" }]);
    expect(result).toMatchObject({ text: "", stopReason: "stop_string", stopString: "Hel" });
  });

  test("generate() emits multi-byte characters whole and matches stop strings over them", async () => {
    const plain = await collect([6, 7, 9, 10, EOG], { maxTokens: 10 });
    expect(plain.chunks.map((c) => c.text)).toEqual(["", "é", "", "🙂"]);
    const stopped = await collect([1, 6, 7, 9, 10, 8], { maxTokens: 10, stop: ["é🙂"] });
    expect(stopped.chunks.map((c) => c.text)).toEqual(["Hello", "", "", "", ""]);
    expect(stopped.result).toMatchObject({ text: "Hello", stopReason: "stop_string" });
    // an incomplete character at the limit is flushed as U+FFFD
    const cut = await collect([1, 9, 10], { maxTokens: 2 });
    expect(cut.result.text).toBe("Hello\uFFFD");
  });

  test("generate() reports logprobs of the raw logits and timings from the clock", async () => {
    let now = 100;
    const { result } = await collect([1, 2, EOG], {
      maxTokens: 10,
      logprobs: 2,
      clock: () => (now += 5),
    });
    const z = Math.log(Math.exp(10) + (N_VOCAB - 1));
    expect(result.logprobs).toHaveLength(2);
    expect(result.logprobs![0]!.token).toBe(1);
    expect(result.logprobs![0]!.logprob).toBeCloseTo(10 - z, 9);
    expect(result.logprobs![1]!.topLogprobs.map((t) => t.token)).toEqual([2, 0]);
    expect(result.timings).toEqual({ promptMs: 5, decodeMs: 5 });
  });

  test("generate() reproduces a seeded sampled run", async () => {
    const run = async (seed: number) => {
      const engine: GenerationEngine = {
        nCtx: 100,
        evalPrompt: () => Float32Array.from([-5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
        evalToken: () => Float32Array.from([-5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      };
      const gen = generate({ engine, tokenizer: TOKENIZER }, [1], {
        maxTokens: 20,
        sampling: { temperature: 1 },
        rng: createRng(seed),
      });
      let r = await gen.next();
      while (!r.done) r = await gen.next();
      return r.value.tokens;
    };
    expect(await run(4)).toEqual(await run(4));
    expect(await run(5)).not.toEqual(await run(4));
  });

  test("generate() throws ContextOverflowError or RangeError for requests it cannot run", async () => {
    const { engine } = scriptedEngine([1], 2);
    const start = (prompt: number[], options: GenerateOptions) =>
      generate({ engine, tokenizer: TOKENIZER }, prompt, options).next();
    const overflow = start([1, 2], { maxTokens: 1 });
    await expect(overflow).rejects.toBeInstanceOf(ContextOverflowError);
    await expect(overflow).rejects.toMatchObject({ code: "CONTEXT_OVERFLOW" });
    await expect(start([], { maxTokens: 1 })).rejects.toBeInstanceOf(RangeError);
    await expect(start([1], { maxTokens: -1 })).rejects.toBeInstanceOf(RangeError);
    await expect(start([1], { maxTokens: 1, logprobs: 21 })).rejects.toBeInstanceOf(RangeError);
  });
});
