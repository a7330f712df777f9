/**
 * @module The generation loop: prompt in, tokens and text out, as an async generator over the
 * `GenerationEngine` port, for `aria run` and the OpenAI API alike. Pure given its ports: the
 * engine, the tokenizer, randomness (`rng`) and time (`clock`) are all passed in.
 *
 * Each generated token is yielded with the text it releases. That text is safe to stream: it is
 * complete UTF-8 and never contains a stop string or the start of one (held-back text comes out
 * with a later token, or as the result's `tail`). The end-of-generation token itself is neither
 * yielded nor counted. Every yielded token was generated and counts in `completionTokens`,
 * including the one that completed a stop string.
 *
 * Context: prompt plus generated tokens never exceed `engine.nCtx`; the last token that fits is
 * sampled but not evaluated (its logits would be unused), and generation then ends with
 * "context_full".
 */
import type { ClockMs, GenerationEngine, GenerationTokenizer, TokenConstraint } from "./port.ts";
import type { Rng } from "./rng.ts";
import type { SamplerOptions, TokenLogprobs } from "./sampler.ts";
import { createSequence } from "./step.ts";
import type { FinishReason, StopReason } from "./stop.ts";

export { ContextOverflowError } from "./step.ts";

/** Settings of one generation. */
export interface GenerateOptions {
  /** Most tokens to generate (>= 0). */
  maxTokens: number;
  /** Sampling settings (default greedy). */
  sampling?: SamplerOptions;
  /** Uniform [0, 1) source for sampling (default `createRng(0)`). */
  rng?: Rng;
  /** Stop strings: generation ends when the text contains one; it is not part of the text. */
  stop?: readonly string[];
  /** Report each token's logprob and this many top alternatives (0..20; default: none). */
  logprobs?: number;
  /** Milliseconds, for `timings` (default: a clock that always reads 0). */
  clock?: ClockMs;
  /** Only tokens it allows are sampled (see SequenceOptions). */
  constraint?: TokenConstraint;
  /** How the constraint is applied (see SequenceOptions; default "walk"). */
  constraintMode?: "walk" | "full";
}

/** One generated token. */
export interface GenerationChunk {
  /** The token id. */
  token: number;
  /** Text released by this token (may be "", see the module comment). */
  text: string;
  /** Its logprobs over the raw logits, when requested. */
  logprobs?: TokenLogprobs;
}

/** The outcome of a generation, returned when the generator finishes. */
export interface GenerationResult {
  /** Generated ids, end-of-generation token excluded. */
  tokens: number[];
  /** The whole text: every chunk's text followed by `tail`. */
  text: string;
  /** Text released after the last chunk (held back for a stop string or incomplete UTF-8). */
  tail: string;
  finishReason: FinishReason;
  stopReason: StopReason;
  /** The stop string that matched, when `stopReason` is "stop_string". */
  stopString?: string;
  usage: { promptTokens: number; completionTokens: number };
  /** Prompt evaluation, and everything after it (sampling included). */
  timings: { promptMs: number; decodeMs: number };
  /** Per-token logprobs, aligned with `tokens`, when requested. */
  logprobs?: TokenLogprobs[];
}

/** The ports generate() drives. */
export interface GenerationPorts {
  engine: GenerationEngine;
  tokenizer: GenerationTokenizer;
}

const ZERO_CLOCK: ClockMs = () => 0;

/**
 * Generates a continuation of a prompt. (The engine and tokenizer come as one `ports` object so
 * that the signature keeps to two positional arguments plus options, STYLE.md B4.)
 *
 * @param ports the engine (one sequence) and the tokenizer.
 * @param prompt the prompt ids.
 * @param options limits, sampling, stop strings, logprobs, clock.
 * @returns an async generator of chunks whose return value is the result.
 * @throws {RangeError} for an empty prompt or invalid options (sampler settings, logprobs).
 * @throws {ContextOverflowError} when the prompt has `nCtx` tokens or more.
 * @example
 * ```ts
 * const gen = generate({ engine, tokenizer }, ids, { maxTokens: 64, stop: ["\n"] });
 * for (let r = await gen.next(); ; r = await gen.next()) {
 *   if (r.done) { write(r.value.tail); break; }
 *   write(r.value.text);
 * }
 * ```
 */
export async function* generate(
  ports: Readonly<GenerationPorts>,
  prompt: readonly number[],
  options: Readonly<GenerateOptions>,
): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
  const { engine, tokenizer } = ports;
  const sequence = createSequence(tokenizer, prompt, engine.nCtx, options);
  const clock = options.clock ?? ZERO_CLOCK;
  const t0 = clock();
  let logits = await engine.evalPrompt(prompt);
  const t1 = clock();
  for (;;) {
    const { chunk, end } = sequence.step(logits);
    if (chunk) yield chunk;
    if (end) return { ...end, timings: { promptMs: t1 - t0, decodeMs: clock() - t1 } };
    // a step without an end always has a chunk
    logits = await engine.evalToken(chunk!.token);
  }
}
