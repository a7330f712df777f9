/**
 * Issue 19, hole 1: a batch the engine rejects fails only the sequence at fault; the others are
 * retried without it and finish with the tokens they would have produced alone.
 */
import { describe, expect, test } from "bun:test";
import { type BatchContext, Scheduler } from "../../src/serve/scheduler.ts";
import type { SequenceStepper } from "../../src/generation/index.ts";

const N_VOCAB = 8;

/** A context that rejects any batch holding a token id outside the vocabulary, as libbitnet does. */
function fakeContext(): BatchContext & { decodes: number[][] } {
  const decodes: number[][] = [];
  let rows = 0;
  return {
    options: { nCtx: 64, nSeq: 4, nBatch: 64 },
    decodes,
    decode(tokens, { logits }) {
      const t = Array.from(tokens);
      decodes.push(t);
      if (t.some((id) => id >= N_VOCAB)) throw new Error("ARIA_STATUS_INVALID_ARG: token id");
      rows = Array.from(logits).filter((x) => x === 1).length;
      return 0;
    },
    logits(i) {
      if (i >= rows) throw new RangeError("no such row");
      const l = new Float32Array(N_VOCAB);
      l[3] = 1;
      return l;
    },
    truncate() {},
  };
}

/** Emits token 3 `n` times, then ends. */
function stepper(n: number): SequenceStepper {
  const tokens: number[] = [];
  return {
    step() {
      if (tokens.length === n) {
        return {
          end: {
            tokens,
            text: "",
            tail: "",
            finishReason: "length",
            stopReason: "max_tokens",
            usage: { promptTokens: 2, completionTokens: n },
          },
        };
      }
      tokens.push(3);
      return { chunk: { token: 3, text: "x" } };
    },
  };
}

async function drain(gen: AsyncGenerator<{ token: number }, unknown, void>): Promise<number[]> {
  const out: number[] = [];
  for (let s = await gen.next(); !s.done; s = await gen.next()) out.push(s.value.token);
  return out;
}

describe("scheduler isolation of a bad sequence", () => {
  test("a token id outside the vocabulary fails its request only", async () => {
    const ctx = fakeContext();
    const sched = new Scheduler(ctx, { maxQueue: 8 });
    const signal = new AbortController().signal;
    const honestA = drain(sched.submit("a", [1, 2], stepper(5), signal));
    const hostile = drain(sched.submit("bad", [1, 999_999], stepper(5), signal));
    const honestB = drain(sched.submit("b", [2, 1], stepper(5), signal));
    const [a, bad, b] = await Promise.allSettled([honestA, hostile, honestB]);
    expect(a).toEqual({ status: "fulfilled", value: [3, 3, 3, 3, 3] });
    expect(b).toEqual({ status: "fulfilled", value: [3, 3, 3, 3, 3] });
    expect(bad.status).toBe("rejected");
    expect(String((bad as PromiseRejectedResult).reason)).toContain("ARIA_STATUS_INVALID_ARG");
    // the shared batch failed once, then each sequence was retried alone
    const shared = ctx.decodes.findIndex((d) => d.includes(999_999));
    expect(ctx.decodes[shared]!.length).toBeGreaterThan(2); // it did share a batch with others
    expect(ctx.decodes[shared + 1]).not.toContain(999_999); // retried alone: the others first
    expect(ctx.decodes.filter((d) => d.includes(999_999)).length).toBe(2); // shared + alone
    await sched.close();
  });

  test("a lone failing sequence fails without a retry", async () => {
    const ctx = fakeContext();
    const sched = new Scheduler(ctx, { maxQueue: 8 });
    const hostile = drain(sched.submit("bad", [9], stepper(1), new AbortController().signal));
    await expect(hostile).rejects.toThrow();
    expect(ctx.decodes).toEqual([[9]]);
    await sched.close();
  });
});
