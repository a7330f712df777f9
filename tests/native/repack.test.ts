/**
 * @module Repacking TQ1_0 to TQ2_0 at load (aria_model_repack, `repack`): the generator writes the
 * same trits and scales for the same seed in either format, so a TQ1_0 file repacked must give
 * the logits of the TQ2_0 file bit for bit (the TQ2_0 kernels, 2-row prefill kernels included,
 * run on the same bytes). Without repacking the TQ1_0 kernels run (matrix types say which) and
 * greedy decoding picks the same tokens. Only the loaded blocks of a layer range are converted;
 * other files are left as they are. The block conversion itself: tests/native/test-kernels.c.
 */
import { describe, expect, test } from "bun:test";
import { type NativeModel, openModel } from "../../src/engine/index.ts";
import { testModel } from "../helpers/models.ts";

const PROMPT = [1, 450, 7483, 310, 3444, 338, 29871, 13, 306, 626, 263];

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** Every logit row of a prefill of PROMPT, then of 4 greedy single-token steps, concatenated. */
function logitsAndTokens(model: NativeModel): { logits: Float32Array[]; tokens: number[] } {
  using ctx = model.createContext({ nCtx: 64, nThreads: 1 });
  ctx.decode(PROMPT, { logits: "all" });
  const logits = PROMPT.map((_, i) => ctx.logits(i).slice());
  const tokens: number[] = [];
  let next = argmax(logits[logits.length - 1]!);
  for (let step = 0; step < 4; step++) {
    tokens.push(next);
    ctx.decode([next], { pos: [PROMPT.length + step] });
    const row = ctx.logits(0).slice();
    logits.push(row);
    next = argmax(row);
  }
  tokens.push(next);
  return { logits, tokens };
}

function sameBits(a: readonly Float32Array[], b: readonly Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => Buffer.from(x.buffer).equals(Buffer.from(b[i]!.buffer)));
}

describe("repack TQ1_0 -> TQ2_0", () => {
  test("a repacked TQ1_0 file gives the logits of the TQ2_0 file of the same values, bit for bit", async () => {
    const tq1 = await testModel({ preset: "tiny", arch: "llama", type: "tq1_0" });
    const tq2 = await testModel({ preset: "tiny", arch: "llama", type: "tq2_0" });
    using repacked = await openModel(tq1, { repack: true });
    using native2 = await openModel(tq2);
    const nMat = 7 * repacked.info.nLayer;
    expect(repacked.info.tensorTypes["TQ1_0"]).toBe(nMat); // the file's types are still reported
    expect(repacked.info.matrixTypes).toEqual({ TQ2_0: nMat });
    expect(repacked.info.repacked).toBe(nMat);
    const a = logitsAndTokens(repacked);
    const b = logitsAndTokens(native2);
    expect(sameBits(a.logits, b.logits)).toBe(true);
    expect(a.tokens).toEqual(b.tokens);
  });

  test("without repacking the TQ1_0 kernels run and greedy decoding picks the same tokens", async () => {
    const tq1 = await testModel({ preset: "tiny", arch: "llama", type: "tq1_0" });
    using plain = await openModel(tq1);
    using repacked = await openModel(tq1, { repack: true });
    const nMat = 7 * plain.info.nLayer;
    expect(plain.info.matrixTypes).toEqual({ TQ1_0: nMat });
    expect(plain.info.repacked).toBe(0);
    expect(plain.info.repackedBytes).toBe(0);
    const a = logitsAndTokens(plain);
    const b = logitsAndTokens(repacked);
    expect(a.tokens).toEqual(b.tokens);
    // another kernel with the same integer sums: the logits differ at most by f32 rounding
    let worst = 0;
    for (let i = 0; i < a.logits.length; i++) {
      const x = a.logits[i]!;
      const y = b.logits[i]!;
      for (let j = 0; j < x.length; j++) {
        worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / Math.max(1, Math.abs(x[j]!)));
      }
    }
    expect(worst).toBeLessThan(1e-4);
  });

  test("the copies take 66 bytes per 256 weights, and only the blocks of a layer range are repacked", async () => {
    const tq1 = await testModel({ preset: "tiny", arch: "llama", type: "tq1_0" });
    using full = await openModel(tq1, { repack: true });
    const info = full.info;
    const perLayer = 2 * info.nEmbd * info.nHead * info.headDim +
      2 * info.nEmbd * info.nHeadKv * info.headDim + 3 * info.nEmbd * info.nFf;
    const minBytes = (info.nLayer * perLayer / 256) * 66;
    expect(info.repackedBytes).toBeGreaterThanOrEqual(minBytes);
    expect(info.repackedBytes).toBeLessThan(minBytes + 7 * info.nLayer * 64); // + alignment only
    using stage = await openModel(tq1, { repack: true, layerBegin: 1, layerEnd: 2 });
    expect(stage.info.repacked).toBe(7);
    expect(stage.info.matrixTypes).toEqual({ TQ2_0: 7 });
  });

  test("a file without TQ1_0 is left as it is", async () => {
    for (const type of ["tq2_0", "i2_s"] as const) {
      const path = await testModel({ preset: "tiny", arch: "llama", type });
      using m = await openModel(path, { repack: true });
      expect(m.info.repacked).toBe(0);
      expect(m.info.repackedBytes).toBe(0);
      expect(m.info.matrixTypes).toEqual({ [type.toUpperCase()]: 7 * m.info.nLayer });
    }
  });
});
