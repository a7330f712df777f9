/**
 * Embedding requests share the continuous-batching scheduler with generation (docs/models.md
 * "BitNet embedding models", src/serve/scheduler.ts): on a real engine, an embedding request's
 * hidden states and a generating sequence's tokens are the same whether each runs alone or both
 * share batches (the embedding prompt split into chunks between the other's decode steps, the
 * generation's logits then coming from the stage calls' head).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { openModel } from "../../src/engine/index.ts";
import { argmax, type SequenceStepper } from "../../src/generation/index.ts";
import { Scheduler, type StagedContext } from "../../src/serve/scheduler.ts";
import { testModel } from "../helpers/models.ts";

setDefaultTimeout(300_000);

const GEN_PROMPT = [1, 450, 7483, 310];
const EMBED_PROMPT = [1, 3444, 338, 263, 4086, 310, 278, 3303, 338, 263, 1243, 29889, 2];
const STEPS = 6;

/** Greedy for STEPS tokens; records what it picked. */
function greedy(picked: number[]): SequenceStepper {
  return {
    step(logits) {
      if (picked.length === STEPS) {
        return {
          end: {
            tokens: picked,
            text: "",
            tail: "",
            finishReason: "length",
            stopReason: "max_tokens",
            usage: { promptTokens: GEN_PROMPT.length, completionTokens: STEPS },
          },
        };
      }
      const t = argmax(logits);
      picked.push(t);
      return { chunk: { token: t, text: "" } };
    },
  };
}

async function drain(gen: AsyncGenerator<unknown, unknown, void>): Promise<void> {
  for (let s = await gen.next(); !s.done; s = await gen.next());
}

describe("embedding requests in the shared scheduler", () => {
  test("alone or sharing batches with a generating sequence, both give the same results", async () => {
    const path = await testModel({ preset: "tiny", arch: "llama", type: "tq2_0", vocab: "llama2" });
    using model = await openModel(path);
    const run = async (mode: "gen" | "embed" | "both") => {
      using ctx = model.createContext({ nCtx: 64, nSeq: 2, nThreads: 2 });
      let outputs = 0;
      const staged: StagedContext = {
        nEmbd: model.info.nEmbd,
        nLayer: model.info.nLayer,
        embed: (t, h) => ctx.embed(t, h),
        evalLayers: (h, r, o) => ctx.evalLayers(h, r, o),
        output: (h) => {
          outputs++;
          return ctx.output(h);
        },
      };
      // prompt chunks of 4: the embedding prompt spans several steps
      const scheduler = new Scheduler(ctx, { maxQueue: 4, maxPrefill: 4, staged });
      const picked: number[] = [];
      const signal = new AbortController().signal;
      const gen = mode === "embed"
        ? Promise.resolve()
        : drain(scheduler.submit("g", GEN_PROMPT, greedy(picked), signal));
      const emb = mode === "gen"
        ? Promise.resolve(undefined)
        : scheduler.embed("e", EMBED_PROMPT, signal);
      const [, embedded] = await Promise.all([gen, emb]);
      await scheduler.close();
      return { picked, hidden: embedded?.hidden, outputs };
    };
    const gen = await run("gen");
    const emb = await run("embed");
    const both = await run("both");
    expect(gen.picked).toHaveLength(STEPS);
    expect(both.picked).toEqual(gen.picked);
    expect(emb.hidden).toHaveLength(EMBED_PROMPT.length * model.info.nEmbd);
    expect(Array.from(both.hidden!)).toEqual(Array.from(emb.hidden!));
    // the generation's logits came from the stage calls' head while the embedding was in the batch
    expect(both.outputs).toBeGreaterThan(0);
    expect(emb.outputs).toBe(0);

    // the hidden states are the last block's output of each token (what the stage calls give
    // for the whole prompt in one go)
    using ctx = model.createContext({ nCtx: 64, nSeq: 1, nThreads: 2 });
    const direct = new Float32Array(EMBED_PROMPT.length * model.info.nEmbd);
    ctx.embed(EMBED_PROMPT, direct);
    ctx.evalLayers(direct, { begin: 0, end: model.info.nLayer });
    expect(Array.from(emb.hidden!)).toEqual(Array.from(direct));
  });

  test("an aborted embedding frees its slot; a scheduler without stage calls refuses embeddings", async () => {
    const path = await testModel({ preset: "tiny", arch: "llama", type: "tq2_0", vocab: "llama2" });
    using model = await openModel(path);
    using ctx = model.createContext({ nCtx: 64, nSeq: 1, nThreads: 2 });
    const bare = new Scheduler(ctx, { maxQueue: 4 });
    await expect(bare.embed("x", [1, 2], new AbortController().signal)).rejects.toThrow(RangeError);
    const staged: StagedContext = {
      nEmbd: model.info.nEmbd,
      nLayer: model.info.nLayer,
      embed: (t, h) => ctx.embed(t, h),
      evalLayers: (h, r, o) => ctx.evalLayers(h, r, o),
      output: (h) => ctx.output(h),
    };
    const scheduler = new Scheduler(ctx, { maxQueue: 4, maxPrefill: 2, staged });
    const ac = new AbortController();
    const pending = scheduler.embed("a", EMBED_PROMPT, ac.signal);
    ac.abort(new Error("client gone"));
    await expect(pending).rejects.toThrow("client gone");
    expect(scheduler.stats().activeSequences).toBe(0);
    const again = await scheduler.embed("b", [1, 450], new AbortController().signal);
    expect(again.hidden).toHaveLength(2 * model.info.nEmbd);
    await scheduler.close();
  });
});
