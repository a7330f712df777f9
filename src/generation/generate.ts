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
import { AriaError } from "../shared/errors.ts";
import type { ClockMs, GenerationEngine, GenerationTokenizer } from "./port.ts";
import { createRng, type Rng } from "./rng.ts";
import {
  createSampler,
  MAX_TOP_LOGPROBS,
  type SamplerOptions,
  type TokenLogprobs,
  tokenLogprobs,
} from "./sampler.ts";
import { createStopMatcher, type FinishReason, type StopReason, toFinishReason } from "./stop.ts";

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

/** The prompt does not fit the context (OpenAI: `context_length_exceeded`). */
export class ContextOverflowError extends AriaError {
  /**
   * @param promptTokens tokens in the prompt.
   * @param nCtx positions in the context.
   */
  constructor(readonly promptTokens: number, readonly nCtx: number) {
    super(
      "CONTEXT_OVERFLOW",
      `Cannot generate: the prompt has ${promptTokens} tokens and the context holds ${nCtx}`,
    );
  }
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
  assertRequest(prompt, engine.nCtx, options);
  const clock = options.clock ?? ZERO_CLOCK;
  const sampler = createSampler(
    options.sampling ?? { temperature: 0 },
    options.rng ?? createRng(0),
  );
  sampler.acceptPrompt(prompt);
  const decoder = tokenizer.createStreamDecoder({ stripSpacePrefix: false });
  const matcher = createStopMatcher(options.stop ?? []);
  const tokens: number[] = [];
  const logprobs: TokenLogprobs[] = [];
  let text = "";
  let stopString: string | undefined;

  const t0 = clock();
  let logits = await engine.evalPrompt(prompt);
  const t1 = clock();
  let reason: StopReason;
  for (;;) {
    if (tokens.length >= options.maxTokens) {
      reason = "max_tokens";
      break;
    }
    if (prompt.length + tokens.length >= engine.nCtx) {
      reason = "context_full";
      break;
    }
    const token = sampler.sample(logits);
    // read before the next evaluation: `logits` may be a view that it overwrites
    const lp = options.logprobs === undefined
      ? undefined
      : tokenLogprobs(logits, token, options.logprobs);
    if (tokenizer.isEog(token)) {
      reason = "eog";
      break;
    }
    sampler.accept(token);
    tokens.push(token);
    if (lp) logprobs.push(lp);
    const last = tokens.length >= options.maxTokens || prompt.length + tokens.length >= engine.nCtx;
    const scan = matcher.push(decoder.push(token) + (last ? decoder.flush() : ""));
    const released = scan.text + (last && scan.stop === undefined ? matcher.flush() : "");
    text += released;
    yield lp ? { token, text: released, logprobs: lp } : { token, text: released };
    if (scan.stop !== undefined) {
      reason = "stop_string";
      stopString = scan.stop;
      break;
    }
    if (!last) logits = await engine.evalToken(token);
  }
  let tail = "";
  if (reason === "eog") {
    const scan = matcher.push(decoder.flush());
    tail = scan.text + (scan.stop === undefined ? matcher.flush() : "");
    if (scan.stop !== undefined) {
      reason = "stop_string";
      stopString = scan.stop;
    }
  }
  text += tail;
  const result: GenerationResult = {
    tokens,
    text,
    tail,
    finishReason: toFinishReason(reason),
    stopReason: reason,
    usage: { promptTokens: prompt.length, completionTokens: tokens.length },
    timings: { promptMs: t1 - t0, decodeMs: clock() - t1 },
  };
  if (stopString !== undefined) result.stopString = stopString;
  if (options.logprobs !== undefined) result.logprobs = logprobs;
  return result;
}

function assertRequest(
  prompt: readonly number[],
  nCtx: number,
  options: Readonly<GenerateOptions>,
): void {
  if (prompt.length === 0) throw new RangeError("Cannot generate: the prompt has no tokens");
  if (prompt.length >= nCtx) throw new ContextOverflowError(prompt.length, nCtx);
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 0) {
    throw new RangeError(`Invalid maxTokens ${options.maxTokens}: expected an integer >= 0`);
  }
  const n = options.logprobs;
  if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > MAX_TOP_LOGPROBS)) {
    throw new RangeError(`Invalid logprobs ${n}: expected an integer in 0..${MAX_TOP_LOGPROBS}`);
  }
}
