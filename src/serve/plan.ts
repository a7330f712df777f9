/**
 * @module The continuous-batching scheduler's pure core (STYLE.md B8.3): the state of the slots
 * and the queue, a reducer `applySchedulerEvent(state, event) -> state`, and a planner
 * `planStep(state, limits) -> StepPlan` that says which queued requests join which free slots and
 * what goes into the next batch: one token for every decoding sequence, then a bounded chunk of
 * prompt tokens for sequences still prefilling (first come, first served), so that one decode
 * call, and so the latency of every decoding sequence, stays bounded. Pure.
 */

/** A request waiting for a slot. */
export interface QueuedRequest {
  readonly id: string;
  readonly promptLength: number;
}

/** A request in a slot (slot index = the engine's sequence id). */
export interface ActiveSequence {
  readonly id: string;
  readonly promptLength: number;
  /** Prompt tokens evaluated so far; the sequence decodes once all are. */
  readonly evaluated: number;
}

/** Slots (null = free) and the FIFO queue. */
export interface SchedulerState {
  readonly slots: readonly (ActiveSequence | null)[];
  readonly queue: readonly QueuedRequest[];
}

/** What happened. */
export type SchedulerEvent =
  /** A request arrived (the shell checked {@link canQueue} first). */
  | { readonly kind: "submit"; readonly request: QueuedRequest }
  /**
   * A queued request took a free slot (from a plan's `joins`); the first `reuse` prompt tokens
   * are already in that slot's KV cache (a prefix left by the slot's previous sequence).
   */
  | { readonly kind: "join"; readonly id: string; readonly slot: number; readonly reuse?: number }
  /** A batch was evaluated (the plan's `batch`). */
  | { readonly kind: "evaluated"; readonly batch: readonly BatchEntry[] }
  /** A request finished, was cancelled or failed: it leaves its slot or the queue. */
  | { readonly kind: "leave"; readonly id: string };

/** One sequence's share of a batch. */
export type BatchEntry =
  /** Prompt tokens [from, to) of the sequence; `logits` when `to` ends the prompt. */
  | {
    readonly kind: "prefill";
    readonly slot: number;
    readonly from: number;
    readonly to: number;
    readonly logits: boolean;
  }
  /** The sequence's last sampled token; always with logits. */
  | { readonly kind: "decode"; readonly slot: number };

/** Limits of one step. */
export interface StepLimits {
  /** Most tokens in one batch (the context's nBatch). */
  readonly maxBatch: number;
  /** Most prompt tokens in one batch (bounds each decode call while others are decoding). */
  readonly maxPrefill: number;
}

/** The next step. */
export interface StepPlan {
  /**
   * Queued requests that take free slots before the batch (apply as "join" events first), with
   * the prompt tokens each can reuse from its slot's cache.
   */
  readonly joins: readonly { readonly id: string; readonly slot: number; readonly reuse: number }[];
  /** The batch, in order; empty when there is nothing to evaluate. */
  readonly batch: readonly BatchEntry[];
}

/**
 * An empty scheduler.
 *
 * @param slots number of slots (the context's nSeq, >= 1).
 * @returns the state.
 */
export function initialSchedulerState(slots: number): SchedulerState {
  if (!Number.isInteger(slots) || slots < 1) {
    throw new RangeError(`Invalid slots ${slots}: expected an integer >= 1`);
  }
  return { slots: Array.from({ length: slots }, () => null), queue: [] };
}

/**
 * Whether one more request may wait.
 *
 * @param state the state.
 * @param maxQueue most waiting requests (beyond: CapacityError in the shell).
 */
export function canQueue(state: SchedulerState, maxQueue: number): boolean {
  return state.queue.length < maxQueue;
}

/**
 * Applies an event.
 *
 * @param state the state.
 * @param event what happened.
 * @returns the new state (the old one is not changed).
 * @throws {RangeError} for a join to a busy slot or of a request that is not queued.
 */
export function applySchedulerEvent(
  state: SchedulerState,
  event: SchedulerEvent,
): SchedulerState {
  switch (event.kind) {
    case "submit":
      return { ...state, queue: [...state.queue, event.request] };
    case "join": {
      const request = state.queue.find((r) => r.id === event.id);
      if (!request) throw new RangeError(`Cannot join "${event.id}": it is not queued`);
      if (state.slots[event.slot] !== null) {
        throw new RangeError(`Cannot join "${event.id}": slot ${event.slot} is not free`);
      }
      const slots = [...state.slots];
      const reuse = Math.max(0, Math.min(event.reuse ?? 0, request.promptLength - 1));
      slots[event.slot] = { id: request.id, promptLength: request.promptLength, evaluated: reuse };
      return { slots, queue: state.queue.filter((r) => r.id !== event.id) };
    }
    case "evaluated": {
      const slots = [...state.slots];
      for (const entry of event.batch) {
        const seq = slots[entry.slot];
        if (entry.kind === "prefill" && seq) slots[entry.slot] = { ...seq, evaluated: entry.to };
      }
      return { ...state, slots };
    }
    case "leave":
      return {
        slots: state.slots.map((s) => (s?.id === event.id ? null : s)),
        queue: state.queue.filter((r) => r.id !== event.id),
      };
  }
}

/**
 * How many prompt tokens of a queued request a free slot already holds in its KV cache (the
 * common prefix with what the slot's previous sequence left there). Supplied by the shell.
 */
export type PrefixReuse = (id: string, slot: number) => number;

/**
 * Plans the next step: joins for free slots, then the batch (decoding sequences first, one
 * token each, in slot order; then prompt chunks within the remaining budget, oldest join first).
 * Queued requests join in FIFO order, each taking the free slot whose cache shares the longest
 * prefix with its prompt (lowest slot on ties); at least the last prompt token is always
 * evaluated, since its logits start the generation.
 *
 * @param state the state.
 * @param limits batch and prefill budgets (>= 1 each).
 * @param reusable prompt tokens a slot can reuse (default: none).
 * @returns joins and batch; both empty when idle.
 */
export function planStep(
  state: SchedulerState,
  limits: StepLimits,
  reusable: PrefixReuse = () => 0,
): StepPlan {
  const joins: { id: string; slot: number; reuse: number }[] = [];
  const slots: (ActiveSequence | null)[] = [...state.slots];
  for (const r of state.queue) {
    let best = -1;
    let bestReuse = -1;
    slots.forEach((s, slot) => {
      if (s !== null) return;
      const reuse = Math.max(0, Math.min(reusable(r.id, slot), r.promptLength - 1));
      if (reuse > bestReuse) {
        best = slot;
        bestReuse = reuse;
      }
    });
    if (best < 0) break;
    joins.push({ id: r.id, slot: best, reuse: bestReuse });
    slots[best] = { id: r.id, promptLength: r.promptLength, evaluated: bestReuse };
  }
  const batch: BatchEntry[] = [];
  let budget = limits.maxBatch;
  slots.forEach((s, slot) => {
    if (s && s.evaluated >= s.promptLength && budget > 0) {
      batch.push({ kind: "decode", slot });
      budget--;
    }
  });
  let prefill = Math.min(budget, limits.maxPrefill);
  // sequences that joined earlier come first: existing slots in slot order, then this step's joins
  const joined = new Set(joins.map((j) => j.slot));
  const order = [
    ...slots.map((_, i) => i).filter((i) => !joined.has(i)),
    ...joins.map((j) => j.slot),
  ];
  for (const slot of order) {
    const s = slots[slot];
    if (!s || s.evaluated >= s.promptLength || prefill <= 0) continue;
    const to = Math.min(s.promptLength, s.evaluated + prefill);
    batch.push({ kind: "prefill", slot, from: s.evaluated, to, logits: to === s.promptLength });
    prefill -= to - s.evaluated;
  }
  return { joins, batch };
}
