/**
 * @module The ports the generation loop needs (types only; pure). `src/engine` implements
 * `GenerationEngine` over a native context (`src/engine/generation-adapter.ts`); tests use
 * fakes with deterministic logits. `GenerationTokenizer` is the part of `Tokenizer` that
 * generation uses, so a real tokenizer fits as it is.
 */

/**
 * One sequence of an evaluation context, as the generation loop sees it.
 *
 * The logits returned by either call may be a zero-copy view that is valid only until the next
 * call; the loop reads them before evaluating anything else.
 */
export interface GenerationEngine {
  /** Positions the sequence can hold (prompt and generated tokens together). */
  readonly nCtx: number;
  /**
   * Starts the sequence: evaluates the whole prompt (the engine splits it into batches and
   * yields to the event loop between them as it sees fit).
   *
   * @param tokens the prompt ids (at least one, fewer than `nCtx`).
   * @returns the logits for the token after the prompt (n_vocab floats).
   */
  evalPrompt(tokens: readonly number[]): Promise<Float32Array> | Float32Array;
  /**
   * Appends one token to the sequence.
   *
   * @param token the id just generated.
   * @returns the logits for the next token.
   */
  evalToken(token: number): Promise<Float32Array> | Float32Array;
}

/** An incremental detokenizer that emits only complete UTF-8 characters. */
export interface GenerationStreamDecoder {
  /** Adds a token; returns the text it completes ("" if it only started a character). */
  push(token: number): string;
  /** Ends the stream; returns what was held back. */
  flush(): string;
}

/** What generation needs from a tokenizer (`Tokenizer` from src/tokenizer satisfies it). */
export interface GenerationTokenizer {
  /** Whether a token ends generation (eos, eot, eom, …). */
  isEog(token: number): boolean;
  /** A fresh stream decoder; generation passes `{ stripSpacePrefix: false }`. */
  createStreamDecoder(
    options?: Readonly<{ stripSpacePrefix?: boolean | undefined }>,
  ): GenerationStreamDecoder;
}

/**
 * A constraint on which tokens may come next (a grammar, src/grammar/constraint.ts). The
 * generation loop samples, asks `allows`, and masks the logits with `allowed` only when the
 * sampled token is refused (or always, in "full" mode).
 */
export interface TokenConstraint {
  /** True when nothing can follow the text so far: generation ends ("stop"). */
  readonly done: boolean;
  /**
   * Whether a token may come next (an end-of-generation token: whether the text may end here).
   *
   * @param token a token id.
   * @returns true when allowed.
   */
  allows(token: number): boolean;
  /**
   * Writes every allowed token id.
   *
   * @param out receives the ids (capacity >= n_vocab).
   * @returns how many (at least one).
   * @throws {Error} (the grammar's error class) when no token is allowed.
   */
  allowed(out: Int32Array): number;
  /**
   * Moves past a token that `allows` accepted.
   *
   * @param token the token.
   * @throws {Error} (the grammar's error class) if it is not allowed.
   */
  accept(token: number): void;
}

/** Milliseconds from an arbitrary origin (monotonic), for timings. */
export type ClockMs = () => number;
