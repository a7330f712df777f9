/**
 * @module Shell: the continuous-batching loop over one evaluation context with one KV slot per
 * sequence. Requests queue (bounded); each step applies the plan of `plan.ts` — queued requests
 * join free slots (the slot is truncated to the longest prefix of the prompt it already holds:
 * a conversation's next turn re-evaluates only what is new), ONE batch holds a token for every decoding sequence
 * plus a bounded chunk of prompt tokens — calls `decode` once, then steps every sequence that got
 * logits (sampling reads the zero-copy rows before the next decode). Between steps it yields to
 * the event loop so HTTP and WebSockets stay responsive (STYLE.md B2). Aborting a request's signal
 * frees its slot at once.
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

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
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

interface Live {
  readonly id: string;
  readonly prompt: readonly number[];
  readonly stepper: SequenceStepper;
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
    const onAbort = (): void => this.#fail(live, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    this.#kick();
    return this.#stream(live, () => signal.removeEventListener("abort", onAbort));
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
    const prompt = this.#live.get(id)?.prompt ?? [];
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
    for (const entry of batch) {
      const live = bySlot.get(entry.slot)!;
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
    try {
      this.#ctx.decode(tokens, { seq, logits: want });
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
    sampled.forEach((live, row) => {
      if (live.tPrompt === 0) live.tPrompt = now;
      let step;
      try {
        step = live.stepper.step(this.#ctx.logits(row));
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
