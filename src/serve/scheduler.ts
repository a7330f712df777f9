/**
 * @module Shell: the continuous-batching loop over one evaluation context with one KV slot per
 * sequence. Requests queue (bounded); each step applies the plan of `plan.ts` — queued requests
 * join free slots (the slot is truncated to the longest prefix of the prompt it already holds:
 * a conversation's next turn re-evaluates only what is new), ONE batch holds a token for every decoding sequence
 * plus a bounded chunk of prompt tokens — calls `decode` once, then steps every sequence that got
 * logits (sampling reads the zero-copy rows before the next decode). Between steps it yields to
 * the event loop so HTTP and WebSockets stay responsive (STYLE.md B2). Aborting a request's signal
 * frees its slot at once.
 *
 * Embedding requests (`embed`) take slots and prompt chunks like any other; a batch that holds one
 * runs through the context's pipeline-stage calls instead of `decode` (embed → every block →
 * the head for the rows that want logits only), which compose to exactly what `decode` computes
 * (aria.h), and keeps the last block's hidden state of every embedding token. Such a request
 * reuses no cached prefix (every token's hidden state is needed) and leaves its slot when its
 * last prompt chunk is evaluated.
 */
import { CapacityError } from "../shared/errors.ts";
import type { SequenceChunk, SequenceEnd, SequenceStepper } from "../generation/index.ts";
import {
  applySchedulerEvent,
  type BatchEntry,
  canQueue,
  initialSchedulerState,
  planStep,
  type SchedulerEvent,
  type SchedulerState,
} from "./plan.ts";

/** The part of `NativeContext` the scheduler uses. */
export interface BatchContext {
  readonly options: Readonly<{ nCtx: number; nSeq: number; nBatch: number }>;
  decode(
    tokens: ArrayLike<number>,
    options: Readonly<{ seq: ArrayLike<number>; logits: ArrayLike<number> }>,
  ): number;
  logits(i: number): Float32Array;
  truncate(seq: number, keep?: number): void;
}

/** The pipeline-stage calls of `NativeContext` an embedding batch runs through. */
export interface StagedContext {
  readonly nEmbd: number;
  readonly nLayer: number;
  embed(tokens: ArrayLike<number>, hidden: Float32Array): void;
  evalLayers(
    hidden: Float32Array,
    range: Readonly<{ begin: number; end: number }>,
    options: Readonly<{ seq: ArrayLike<number> }>,
  ): void;
  /** Final norm and head of each row: n x n_vocab logits. */
  output(hidden: Float32Array): Float32Array;
}

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  /** The context's stage calls; without them `embed` is refused. */
  staged?: StagedContext;
  /** Most requests waiting for a slot (beyond: CapacityError). */
  maxQueue: number;
  /** Most prompt tokens per batch (default: min(nBatch, 64)). */
  maxPrefill?: number;
  /** Milliseconds, for timings (default `performance.now`). */
  clock?: () => number;
  /** One turn of the event loop between steps (default: setImmediate). */
  yieldTurn?: () => Promise<void>;
}

/** A sequence's end with its timings. */
export interface ScheduledEnd extends SequenceEnd {
  timings: { queueMs: number; promptMs: number; decodeMs: number };
  /** Prompt tokens found in the slot's KV cache and not evaluated again (prefix reuse). */
  cachedTokens: number;
}

/** An embedding request's hidden states and timings. */
export interface EmbeddedPrompt {
  /** promptLength x n_embd floats: the last block's output for each prompt token. */
  hidden: Float32Array;
  timings: { queueMs: number; promptMs: number; decodeMs: number };
}

interface Live {
  readonly id: string;
  readonly prompt: readonly number[];
  /** null for an embedding request */
  readonly stepper: SequenceStepper | null;
  /**
   * An embedding request's hidden states (prompt x n_embd), filled chunk by chunk. At most
   * n_ctx x n_embd floats per slot: a small fraction of the slot's KV cache (2 x n_layer x n_ctx x
   * kv_dim), which the context already holds for every slot.
   */
  readonly hidden: Float32Array | null;
  embedded?: boolean;
  slot: number;
  /** The last sampled token, to evaluate in the next batch. */
  pending: number;
  readonly chunks: SequenceChunk[];
  end?: ScheduledEnd;
  error?: unknown;
  wake?: (() => void) | undefined;
  readonly tSubmit: number;
  tJoin: number;
  tPrompt: number;
  /** Prompt tokens reused from the slot's cache when the sequence joined. */
  reused: number;
}

const defaultYield = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Continuous batching over one context. */
export class Scheduler {
  readonly #ctx: BatchContext;
  readonly #maxQueue: number;
  readonly #maxPrefill: number;
  readonly #clock: () => number;
  readonly #yield: () => Promise<void>;
  readonly #staged: StagedContext | undefined;
  #state: SchedulerState;
  readonly #live = new Map<string, Live>();
  /** Tokens in each slot's KV cache, in order (what a later request may reuse as a prefix). */
  readonly #cached: number[][];
  #reusedTokens = 0;
  #loop: Promise<void> | null = null;
  #closed = false;

  /**
   * @param ctx the context; its nSeq is the number of slots. The scheduler does not own it.
   * @param options queue bound, prefill chunk, clock.
   */
  constructor(ctx: BatchContext, options: Readonly<SchedulerOptions>) {
    this.#ctx = ctx;
    this.#maxQueue = options.maxQueue;
    this.#maxPrefill = options.maxPrefill ?? Math.min(ctx.options.nBatch, 64);
    this.#clock = options.clock ?? (() => performance.now());
    this.#yield = options.yieldTurn ?? defaultYield;
    this.#staged = options.staged;
    this.#state = initialSchedulerState(ctx.options.nSeq);
    this.#cached = Array.from({ length: ctx.options.nSeq }, () => []);
  }

  /** Requests waiting, sequences in slots, and slots. */
  stats(): { queueDepth: number; activeSequences: number; slots: number; reusedTokens: number } {
    return {
      queueDepth: this.#state.queue.length,
      activeSequences: this.#state.slots.filter((s) => s !== null).length,
      slots: this.#state.slots.length,
      reusedTokens: this.#reusedTokens,
    };
  }

  /**
   * Queues a sequence.
   *
   * @param id unique request id.
   * @param prompt prompt ids (fewer than nCtx: the stepper checked).
   * @param stepper the sequence's sampling state (from `createSequence`).
   * @param signal aborting it frees the slot; the generator then throws the signal's reason.
   * @returns the chunks; the return value is the end.
   * @throws {CapacityError} when the queue is full or the scheduler is closed.
   */
  submit(
    id: string,
    prompt: readonly number[],
    stepper: SequenceStepper,
    signal: AbortSignal,
  ): AsyncGenerator<SequenceChunk, ScheduledEnd, void> {
    const live = this.#enqueue(id, prompt, stepper, signal);
    const onAbort = (): void => this.#fail(live, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#kick();
    return this.#stream(live, () => signal.removeEventListener("abort", onAbort));
  }

  /**
   * Queues an embedding request: its prompt is evaluated in chunks like any other (sharing
   * batches with generating sequences), and the last block's hidden state of every token is kept.
   *
   * @param id unique request id.
   * @param prompt token ids, 1 .. nCtx (the caller checked).
   * @param signal aborting it frees the slot; the promise then rejects with the signal's reason.
   * @returns the hidden states and timings.
   * @throws {CapacityError} when the queue is full or the scheduler is closed.
   * @throws {RangeError} without stage calls (SchedulerOptions.staged), or for an empty prompt.
   */
  async embed(id: string, prompt: readonly number[], signal: AbortSignal): Promise<EmbeddedPrompt> {
    const staged = this.#staged;
    if (staged === undefined) throw new RangeError("Cannot embed: the context has no stage calls");
    if (prompt.length === 0) throw new RangeError("Cannot embed an empty prompt");
    const live = this.#enqueue(id, prompt, null, signal, staged.nEmbd);
    const onAbort = (): void => this.#fail(live, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#kick();
    try {
      for (;;) {
        if (live.error !== undefined) throw live.error;
        if (live.embedded) {
          const t = this.#clock();
          return {
            hidden: live.hidden!,
            timings: { queueMs: live.tJoin - live.tSubmit, promptMs: t - live.tJoin, decodeMs: 0 },
          };
        }
        await new Promise<void>((resolve) => (live.wake = resolve));
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (this.#live.get(live.id) === live) this.#leave(live);
    }
  }

  #enqueue(
    id: string,
    prompt: readonly number[],
    stepper: SequenceStepper | null,
    signal: AbortSignal,
    nEmbd = 0,
  ): Live {
    if (this.#closed) throw new CapacityError("Cannot queue request: the server is shutting down");
    if (!canQueue(this.#state, this.#maxQueue)) {
      throw new CapacityError(
        `Cannot queue request: ${this.#state.queue.length} requests are waiting`,
      );
    }
    signal.throwIfAborted();
    if (this.#live.has(id)) throw new RangeError(`Cannot queue request "${id}": id in use`);
    const live: Live = {
      id,
      prompt,
      stepper,
      hidden: stepper === null ? new Float32Array(prompt.length * nEmbd) : null,
      slot: -1,
      pending: -1,
      chunks: [],
      tSubmit: this.#clock(),
      tJoin: 0,
      reused: 0,
      tPrompt: 0,
    };
    this.#live.set(id, live);
    this.#apply({ kind: "submit", request: { id, promptLength: prompt.length } });
    return live;
  }

  /** Fails every request and waits for the loop to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const live of [...this.#live.values()]) {
      this.#fail(live, new CapacityError("Cannot finish request: the server is shutting down"));
    }
    await this.#loop;
  }

  async *#stream(live: Live, done: () => void): AsyncGenerator<SequenceChunk, ScheduledEnd, void> {
    try {
      for (;;) {
        // an abort wins over chunks not yet read
        if (live.error !== undefined) throw live.error;
        const chunk = live.chunks.shift();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (live.end) return live.end;
        await new Promise<void>((resolve) => (live.wake = resolve));
      }
    } finally {
      done();
      // the consumer stopped early (or the request ended): free the slot if still held
      if (this.#live.get(live.id) === live) this.#leave(live);
    }
  }

  #apply(event: SchedulerEvent): void {
    this.#state = applySchedulerEvent(this.#state, event);
  }

  #leave(live: Live): void {
    this.#live.delete(live.id);
    this.#apply({ kind: "leave", id: live.id });
  }

  #fail(live: Live, error: unknown): void {
    if (live.end || live.error !== undefined) return;
    live.error = error;
    this.#leave(live);
    live.wake?.();
  }

  #finish(live: Live, end: ScheduledEnd): void {
    live.end = end;
    this.#leave(live);
    live.wake?.();
  }

  #push(live: Live, chunk: SequenceChunk): void {
    live.chunks.push(chunk);
    live.wake?.();
  }

  #kick(): void {
    this.#loop ??= this.#run().finally(() => {
      this.#loop = null;
      // work that arrived while the loop was ending
      if (!this.#closed && this.#state.queue.length > 0) this.#kick();
    });
  }

  async #run(): Promise<void> {
    const limits = { maxBatch: this.#ctx.options.nBatch, maxPrefill: this.#maxPrefill };
    while (!this.#closed) {
      const plan = planStep(this.#state, limits, (id, slot) => this.#commonPrefix(id, slot));
      for (const join of plan.joins) {
        const live = this.#live.get(join.id)!;
        this.#ctx.truncate(join.slot, join.reuse);
        this.#cached[join.slot]!.length = join.reuse;
        this.#reusedTokens += join.reuse;
        live.slot = join.slot;
        live.reused = join.reuse;
        live.tJoin = this.#clock();
        this.#apply({ kind: "join", id: join.id, slot: join.slot, reuse: join.reuse });
      }
      if (plan.batch.length === 0) return;
      this.#step(plan.batch);
      await this.#yield();
    }
  }

  #commonPrefix(id: string, slot: number): number {
    const live = this.#live.get(id);
    // an embedding request needs every token's hidden state: nothing is reused
    if (live?.hidden) return 0;
    const prompt = live?.prompt ?? [];
    const cached = this.#cached[slot] ?? [];
    let n = 0;
    while (n < prompt.length && n < cached.length && prompt[n] === cached[n]) n++;
    return n;
  }

  #step(batch: readonly BatchEntry[]): void {
    const bySlot = new Map<number, Live>();
    for (const live of this.#live.values()) if (live.slot >= 0) bySlot.set(live.slot, live);
    const tokens: number[] = [];
    const seq: number[] = [];
    const want: number[] = [];
    const sampled: Live[] = [];
    /** embedding entries: the live, its prompt range and where its rows start in the batch */
    const embedded: { live: Live; from: number; to: number; at: number }[] = [];
    for (const entry of batch) {
      const live = bySlot.get(entry.slot)!;
      if (live.hidden && entry.kind === "prefill") {
        embedded.push({ live, from: entry.from, to: entry.to, at: tokens.length });
        for (let i = entry.from; i < entry.to; i++) {
          tokens.push(live.prompt[i]!);
          seq.push(entry.slot);
          want.push(0);
        }
        continue;
      }
      if (entry.kind === "decode") {
        tokens.push(live.pending);
        seq.push(entry.slot);
        want.push(1);
        sampled.push(live);
        continue;
      }
      for (let i = entry.from; i < entry.to; i++) {
        tokens.push(live.prompt[i]!);
        seq.push(entry.slot);
        want.push(entry.logits && i === entry.to - 1 ? 1 : 0);
      }
      if (entry.logits) sampled.push(live);
    }
    let logitsOf = (row: number): Float32Array => this.#ctx.logits(row);
    let hidden: Float32Array | undefined;
    try {
      if (embedded.length === 0) this.#ctx.decode(tokens, { seq, logits: want });
      else {
        const staged = this.#staged!; // embed() refuses to queue without it
        const e = staged.nEmbd;
        hidden = new Float32Array(tokens.length * e);
        staged.embed(tokens, hidden);
        staged.evalLayers(hidden, { begin: 0, end: staged.nLayer }, { seq });
        const rows = want.flatMap((w, i) => (w ? [i] : []));
        if (rows.length > 0) {
          const picked = new Float32Array(rows.length * e);
          rows.forEach((i, r) => picked.set(hidden!.subarray(i * e, (i + 1) * e), r * e));
          const logits = staged.output(picked);
          const v = logits.length / rows.length;
          logitsOf = (row) => logits.subarray(row * v, (row + 1) * v);
        }
      }
    } catch (err: unknown) {
      // handled here: the engine rejected the batch (a failed decode leaves the KV cache as it
      // was). One sequence alone is the culprit: it fails. Several: each is retried alone, so
      // only the offending one fails and the others go on (results do not depend on the batch,
      // docs/engine.md), and a hostile request cannot fail its neighbours (issue 19, hole 1).
      if (batch.length === 1) this.#fail(bySlot.get(batch[0]!.slot)!, err);
      else {
        for (const entry of batch) {
          if (this.#live.has(bySlot.get(entry.slot)!.id)) this.#step([entry]);
        }
      }
      return;
    }
    this.#apply({ kind: "evaluated", batch });
    // the batch is in the KV cache now (a failed decode leaves the cache as it was)
    batch.forEach((entry) => {
      const cached = this.#cached[entry.slot]!;
      if (entry.kind === "decode") cached.push(bySlot.get(entry.slot)!.pending);
      else cached.push(...bySlot.get(entry.slot)!.prompt.slice(entry.from, entry.to));
    });
    const now = this.#clock();
    for (const { live, from, to, at } of embedded) {
      const e = this.#staged!.nEmbd;
      live.hidden!.set(hidden!.subarray(at * e, (at + to - from) * e), from * e);
      if (to === live.prompt.length) {
        live.embedded = true;
        this.#leave(live);
        live.wake?.();
      }
    }
    sampled.forEach((live, row) => {
      if (live.tPrompt === 0) live.tPrompt = now;
      let step;
      try {
        step = live.stepper!.step(logitsOf(row));
      } catch (err: unknown) {
        // terminated: a sampling failure ends this request only
        this.#fail(live, err);
        return;
      }
      if (step.chunk) this.#push(live, step.chunk);
      if (step.end) {
        const t = this.#clock();
        this.#finish(live, {
          ...step.end,
          timings: {
            queueMs: live.tJoin - live.tSubmit,
            promptMs: live.tPrompt - live.tJoin,
            decodeMs: t - live.tPrompt,
          },
          cachedTokens: live.reused,
        });
      } else if (step.chunk) live.pending = step.chunk.token;
    });
  }
}
