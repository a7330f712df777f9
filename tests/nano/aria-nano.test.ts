/**
 * @module aria-nano, the built-in trained model (docs/aria-nano.md), as the engine's end-to-end
 * numeric check. The recorded values come from scripts/nano/record.ts at training time
 * (tests/fixtures/aria-nano/expected.json):
 * - ARIA's held-out perplexity stays within 1% of PyTorch's on the trained checkpoint (the
 *   function that was trained), so any numeric regression in the engine fails here;
 * - llama.cpp and ARIA agree: same tokenization, greedy continuations token for token (up to a
 *   near tie, as in tests/oracle/parity.test.ts), perplexity within 1%.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runPerplexity } from "../../src/cli/perplexity.ts";
import { openGguf } from "../../src/model/open.ts";
import { createTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";
import { llamaGreedy, llamaTokenize } from "../helpers/llama-oracle.ts";
import { llamaPerplexity } from "../helpers/llama-perplexity.ts";
import { openModel } from "../../src/engine/index.ts";

const ROOT = join(import.meta.dir, "../..");
const MODEL = join(ROOT, "static/models/aria-nano.gguf");
const HELDOUT = join(ROOT, "tests/fixtures/aria-nano/heldout.txt");
const expected = JSON.parse(
  readFileSync(join(ROOT, "tests/fixtures/aria-nano/expected.json"), "utf8"),
) as {
  sha256: string;
  ctx: number;
  test_chunks: number;
  heldout_tokens: number;
  perplexity: Record<string, number>;
  greedy: { prompt: string; text: string }[];
};

let tokenizer: Tokenizer;
beforeAll(() => {
  tokenizer = createTokenizer(vocabSourceFromGguf(openGguf(MODEL).file));
});

test("the committed model is the one the values were recorded for", () => {
  const sha = createHash("sha256").update(readFileSync(MODEL)).digest("hex");
  expect(sha).toBe(expected.sha256);
});

describe("held-out perplexity", () => {
  test("ARIA stays within 1% of the trained checkpoint's perplexity (PyTorch)", async () => {
    const r = await runPerplexity({
      verb: "perplexity",
      model: MODEL,
      file: HELDOUT,
      ctx: expected.ctx,
      chunks: expected.test_chunks,
      json: true,
      outputHead: "float", // the model's own head, as PyTorch computes it
      repack: true,
    }, () => {});
    expect(r.chunks).toBe(expected.test_chunks);
    const torch = expected.perplexity["torch_test_chunks"]!;
    expect(Math.abs(r.perplexity / torch - 1)).toBeLessThan(0.01);
  });

  test("llama.cpp agrees with ARIA within 1% (first 8 chunks)", async () => {
    const tokens = tokenizer.encode(readFileSync(HELDOUT, "utf8"));
    const ours = await runPerplexity({
      verb: "perplexity",
      model: MODEL,
      file: HELDOUT,
      ctx: expected.ctx,
      chunks: 8,
      json: true,
      outputHead: "float",
      repack: true,
    }, () => {});
    const theirs = llamaPerplexity(MODEL, tokens, expected.ctx, tokens[0], 8);
    expect(theirs.tokens).toBe(ours.tokens);
    expect(Math.abs(ours.perplexity / theirs.perplexity - 1)).toBeLessThan(0.01);
  });
});

describe("ARIA and llama.cpp on aria-nano", () => {
  test("tokenize the held-out text identically", () => {
    const text = readFileSync(HELDOUT, "utf8");
    const ours = tokenizer.encode(text);
    expect(ours.length).toBe(expected.heldout_tokens);
    expect(llamaTokenize(MODEL, text)).toEqual(ours);
  });

  test("greedy continuations agree token for token up to a near tie", async () => {
    using model = await openModel(MODEL);
    using ctx = model.createContext({ nCtx: 256, nThreads: 2 });
    let checked = 0;
    for (const { prompt } of expected.greedy) {
      const ids = tokenizer.encode(prompt);
      const oracle = llamaGreedy(MODEL, ids, 24, { threads: 2 });
      ctx.truncate(0, 0);
      ctx.decode(ids);
      for (let i = 0; i < 24; i++) {
        const logits = ctx.logits(0);
        let best = 0;
        let a = -Infinity;
        let b = -Infinity;
        for (let j = 0; j < logits.length; j++) {
          if (logits[j]! > logits[best]!) best = j;
        }
        for (const v of oracle.logits[i]!) {
          if (v > a) [a, b] = [v, a];
          else if (v > b) b = v;
        }
        if (a - b < 1e-3) break; // llama.cpp itself is at a near tie: either choice is right
        expect(best).toBe(oracle.tokens[i]!);
        checked++;
        ctx.decode([oracle.tokens[i]!]);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(48);
  });
});
