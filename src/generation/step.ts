/**
 * @module One sequence's token-by-token state: sample from the logits, check end of generation,
 * stop strings, limits, and release safe text. Shared by `generate()` (one sequence) and the
 * continuous-batching scheduler (many sequences, one batch per step). Pure: the engine is not
 * called here; the caller evaluates the returned token and passes the next logits in.
 */
import type { GenerationTokenizer, TokenConstraint } from "./port.ts";
import { createRng, type Rng } from "./rng.ts";
import {
  createSampler,
  MAX_TOP_LOGPROBS,
  type Sampler,
  type SamplerOptions,
  type TokenLogprobs,
  tokenLogprobs,
} from "./sampler.ts";
import { createStopMatcher, type FinishReason, type StopReason, toFinishReason } from "./stop.ts";
import { AriaError } from "../shared/errors.ts";

/** Settings of one sequence. */
export interface SequenceOptions {
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
  /** Only tokens it allows are sampled; when it is done, the sequence ends ("stop"). */
  constraint?: TokenConstraint;
  /**
   * "walk" (default): the sampler walks its best candidates and checks only them against the
   * constraint (`Sampler.sampleAllowed`); when that cannot decide, it samples from the list of
   * allowed tokens (`Sampler.sampleListed`), and masks the vocabulary only when neither can.
   * "full": always masks the vocabulary, then samples. Both pick the same token for the same rng
   * (constrained.test.ts compares them across seeds); "full" is the plain version, for tests and
   * benchmarks/grammar.
   */
  constraintMode?: "walk" | "full";
}

/** One generated token. */
export interface SequenceChunk {
  token: number;
  /** Text released by this token (may be ""). */
  text: string;
  logprobs?: TokenLogprobs;
}

/** How a sequence ended (the generation result without timings). */
export interface SequenceEnd {
  tokens: number[];
  text: string;
  tail: string;
  finishReason: FinishReason;
  stopReason: StopReason;
  stopString?: string;
  usage: { promptTokens: number; completionTokens: number };
  logprobs?: TokenLogprobs[];
}

/** What one step produced: possibly a token, and the end when the sequence is finished. */
export interface SequenceStep {
  chunk?: SequenceChunk;
  /** Set when the sequence is finished: do not evaluate `chunk.token`. */
  end?: SequenceEnd;
}

/** A sequence in progress. */
export interface SequenceStepper {
  /**
   * Takes the logits for the next token (read before returning, so a zero-copy view is fine).
   *
   * @returns the token to evaluate next, or the end.
   */
  step(logits: Float32Array): SequenceStep;
}

/** The prompt does not fit the context (OpenAI: `context_length_exceeded`). */
export class ContextOverflowError extends AriaError {
  /**
   * @param promptTokens tokens in the prompt.
   * @param nCtx positions in the context.
   * @param requestedTokens the tokens asked for (max_tokens) when the prompt fits but they
   *   do not fit after it (OpenAI refuses such a request rather than cutting it short).
   * @param action what could not be done, for the message (default "generate"; "embed input 2").
   */
  constructor(
    readonly promptTokens: number,
    readonly nCtx: number,
    readonly requestedTokens?: number,
    action = "generate",
  ) {
    super(
      "CONTEXT_OVERFLOW",
      requestedTokens === undefined
        ? `Cannot ${action}: the prompt has ${promptTokens} tokens and the context holds ${nCtx}`
        : `Cannot generate ${requestedTokens} tokens: the prompt has ${promptTokens} tokens and ` +
          `the context holds ${nCtx}, so at most ${Math.max(0, nCtx - promptTokens)} can follow ` +
          `it; ask for fewer (max_tokens)`,
    );
  }
}

/**
 * Starts a sequence.
 *
 * @param tokenizer end-of-generation test and stream decoder.
 * @param prompt the prompt ids (evaluated by the caller).
 * @param nCtx positions the sequence can hold.
 * @param options limits, sampling, stop strings, logprobs.
 * @returns the stepper; call `step` with the logits after the prompt, then after each token.
 * @throws {RangeError} for an empty prompt or invalid options.
 * @throws {ContextOverflowError} when the prompt has `nCtx` tokens or more.
 */
export function createSequence(
  tokenizer: GenerationTokenizer,
  prompt: readonly number[],
  nCtx: number,
  options: Readonly<SequenceOptions>,
): SequenceStepper {
  assertRequest(prompt, nCtx, options);
  const sampler = createSampler(
    options.sampling ?? { temperature: 0 },
    options.rng ?? createRng(0),
  );
  const pick = options.constraint
    ? createConstrainedPick(sampler, options.constraint, options.constraintMode ?? "walk")
    : (logits: Float32Array) => sampler.sample(logits);
  sampler.acceptPrompt(prompt);
  const decoder = tokenizer.createStreamDecoder({ stripSpacePrefix: false });
  const matcher = createStopMatcher(options.stop ?? []);
  const tokens: number[] = [];
  const logprobs: TokenLogprobs[] = [];
  let text = "";
  let ended: SequenceEnd | undefined;

  const end = (reason: StopReason, tail: string, stopString?: string): SequenceEnd => {
    text += tail;
    const r: SequenceEnd = {
      tokens,
      text,
      tail,
      finishReason: toFinishReason(reason),
      stopReason: reason,
      usage: { promptTokens: prompt.length, completionTokens: tokens.length },
    };
    if (stopString !== undefined) r.stopString = stopString;
    if (options.logprobs !== undefined) r.logprobs = logprobs;
    ended = r;
    return r;
  };
  const limit = (): StopReason | undefined =>
    tokens.length >= options.maxTokens
      ? "max_tokens"
      : prompt.length + tokens.length >= nCtx
      ? "context_full"
      : undefined;
  // the constraint's end counts as an end of generation (finish_reason "stop")
  const limitOrDone = (): StopReason | undefined => options.constraint?.done ? "eog" : limit();

  return {
    step(logits: Float32Array): SequenceStep {
      if (ended) return { end: ended };
      const before = limitOrDone();
      if (before) return { end: end(before, "") };
      const token = pick(logits);
      const lp = options.logprobs === undefined
        ? undefined
        : tokenLogprobs(logits, token, options.logprobs);
      if (tokenizer.isEog(token)) {
        const scan = matcher.push(decoder.flush());
        if (scan.stop !== undefined) return { end: end("stop_string", scan.text, scan.stop) };
        return { end: end("eog", scan.text + matcher.flush()) };
      }
      sampler.accept(token);
      options.constraint?.accept(token);
      tokens.push(token);
      if (lp) logprobs.push(lp);
      const after = limitOrDone();
      const scan = matcher.push(decoder.push(token) + (after ? decoder.flush() : ""));
      const released = scan.text + (after && scan.stop === undefined ? matcher.flush() : "");
      text += released;
      const chunk: SequenceChunk = lp
        ? { token, text: released, logprobs: lp }
        : { token, text: released };
      if (scan.stop !== undefined) return { chunk, end: end("stop_string", "", scan.stop) };
      if (after) return { chunk, end: end(after, "") };
      return { chunk };
    },
  };
}

/**
 * Sampling under a constraint: the sampler's walk over its best candidates ("walk"), else (or
 * always, "full") a pick from the logits with every refused token at -Infinity. Buffers are
 * reused across steps.
 */
function createConstrainedPick(
  sampler: Sampler,
  constraint: TokenConstraint,
  mode: "walk" | "full",
): (logits: Float32Array) => number {
  let ids = new Int32Array(0);
  let masked = new Float32Array(0);
  const allows = (token: number): boolean => constraint.allows(token);
  return (logits: Float32Array): number => {
    if (mode === "walk") {
      const token = sampler.sampleAllowed(logits, allows);
      if (token !== null) return token;
    }
    if (ids.length !== logits.length) {
      ids = new Int32Array(logits.length);
      masked = new Float32Array(logits.length);
    }
    const n = constraint.allowed(ids);
    if (mode === "walk") {
      // a short allowed list (a key, an enum, a number): sorted, not masked into the vocabulary
      const token = sampler.sampleListed(logits, ids, n);
      if (token !== null) return token;
    }
    masked.fill(-Infinity);
    for (let i = 0; i < n; i++) masked[ids[i]!] = logits[ids[i]!]!;
    const token = sampler.sample(masked);
    if (constraint.allows(token)) return token;
    // every allowed logit was -Infinity or truncated away by rounding: take the best allowed
    let best = ids[0]!;
    for (let i = 1; i < n; i++) if (masked[ids[i]!]! > masked[best]!) best = ids[i]!;
    return best;
  };
}

function assertRequest(
  prompt: readonly number[],
  nCtx: number,
  options: Readonly<SequenceOptions>,
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
