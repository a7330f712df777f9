import { describe, expect, test } from "bun:test";
import {
  applySchedulerEvent,
  canQueue,
  initialSchedulerState,
  planStep,
  type SchedulerState,
  type StepPlan,
} from "./plan.ts";

const seq = (id: string, promptLength: number, evaluated: number) => ({
  id,
  promptLength,
  evaluated,
});
const q = (id: string, promptLength: number) => ({ id, promptLength });

describe("planStep", () => {
  const limits = { maxBatch: 16, maxPrefill: 8 };
  const rows: Array<[string, SchedulerState, StepPlan]> = [
    ["idle", { slots: [null, null], queue: [] }, { joins: [], batch: [] }],
    [
      "a queued request joins the first free slot and prefills a bounded chunk",
      { slots: [null, null], queue: [q("a", 20)] },
      {
        joins: [{ id: "a", slot: 0, reuse: 0 }],
        batch: [{ kind: "prefill", slot: 0, from: 0, to: 8, logits: false }],
      },
    ],
    [
      "the chunk that ends the prompt asks for logits",
      { slots: [seq("a", 20, 16), null], queue: [] },
      { joins: [], batch: [{ kind: "prefill", slot: 0, from: 16, to: 20, logits: true }] },
    ],
    [
      "decoding sequences come first; prefill shares what is left",
      { slots: [seq("a", 5, 5), seq("b", 20, 4), null], queue: [q("c", 3)] },
      {
        joins: [{ id: "c", slot: 2, reuse: 0 }],
        batch: [
          { kind: "decode", slot: 0 },
          { kind: "prefill", slot: 1, from: 4, to: 12, logits: false },
        ],
      },
    ],
    [
      "a short prompt leaves budget to the next join",
      { slots: [null, null], queue: [q("a", 3), q("b", 10)] },
      {
        joins: [{ id: "a", slot: 0, reuse: 0 }, { id: "b", slot: 1, reuse: 0 }],
        batch: [
          { kind: "prefill", slot: 0, from: 0, to: 3, logits: true },
          { kind: "prefill", slot: 1, from: 0, to: 5, logits: false },
        ],
      },
    ],
    [
      "all slots busy: the queue waits",
      { slots: [seq("a", 2, 2)], queue: [q("b", 4)] },
      { joins: [], batch: [{ kind: "decode", slot: 0 }] },
    ],
  ];
  for (const [name, state, plan] of rows) {
    test(name, () => expect(planStep(state, limits)).toEqual(plan));
  }

  test("a request takes the free slot whose cache holds the longest prefix and prefills the rest", () => {
    const state = { slots: [null, seq("x", 4, 4), null, null], queue: [q("a", 10), q("b", 3)] };
    // slot 2 holds 6 of a's tokens, slot 3 holds all 3 of b's (b still evaluates its last one)
    const cached: Record<string, number[]> = { a: [0, 0, 6, 2], b: [0, 0, 3, 3] };
    const plan = planStep(state, limits, (id, slot) => cached[id]![slot]!);
    expect(plan.joins).toEqual([{ id: "a", slot: 2, reuse: 6 }, { id: "b", slot: 3, reuse: 2 }]);
    expect(plan.batch).toEqual([
      { kind: "decode", slot: 1 },
      { kind: "prefill", slot: 2, from: 6, to: 10, logits: true },
      { kind: "prefill", slot: 3, from: 2, to: 3, logits: true },
    ]);
  });

  test("join with reuse starts the sequence past the reused prefix, never past the last token", () => {
    let s = applySchedulerEvent(initialSchedulerState(1), { kind: "submit", request: q("a", 5) });
    s = applySchedulerEvent(s, { kind: "join", id: "a", slot: 0, reuse: 9 });
    expect(s.slots[0]).toEqual(seq("a", 5, 4));
  });

  test("the batch never exceeds maxBatch", () => {
    const state = { slots: [seq("a", 1, 1), seq("b", 1, 1), seq("c", 9, 0)], queue: [] };
    expect(planStep(state, { maxBatch: 2, maxPrefill: 8 }).batch).toEqual([
      { kind: "decode", slot: 0 },
      { kind: "decode", slot: 1 },
    ]);
  });
});

describe("applySchedulerEvent", () => {
  test("submit, join, evaluated, leave", () => {
    let s = initialSchedulerState(2);
    s = applySchedulerEvent(s, { kind: "submit", request: q("a", 10) });
    expect(s.queue).toEqual([q("a", 10)]);
    s = applySchedulerEvent(s, { kind: "join", id: "a", slot: 1 });
    expect(s).toEqual({ slots: [null, seq("a", 10, 0)], queue: [] });
    s = applySchedulerEvent(s, {
      kind: "evaluated",
      batch: [{ kind: "prefill", slot: 1, from: 0, to: 6, logits: false }],
    });
    expect(s.slots[1]).toEqual(seq("a", 10, 6));
    s = applySchedulerEvent(s, { kind: "leave", id: "a" });
    expect(s).toEqual(initialSchedulerState(2));
  });

  test("leave removes a queued request; join checks", () => {
    let s = applySchedulerEvent(initialSchedulerState(1), { kind: "submit", request: q("a", 1) });
    expect(() => applySchedulerEvent(s, { kind: "join", id: "x", slot: 0 })).toThrow(RangeError);
    s = applySchedulerEvent(s, { kind: "leave", id: "a" });
    expect(s.queue).toEqual([]);
    const busy = { slots: [seq("b", 1, 1)], queue: [q("a", 1)] };
    expect(() => applySchedulerEvent(busy, { kind: "join", id: "a", slot: 0 })).toThrow(RangeError);
  });

  test("canQueue bounds the queue; slots must be >= 1", () => {
    expect(canQueue({ slots: [null], queue: [q("a", 1)] }, 1)).toBe(false);
    expect(canQueue({ slots: [null], queue: [] }, 1)).toBe(true);
    expect(() => initialSchedulerState(0)).toThrow(RangeError);
  });
});
