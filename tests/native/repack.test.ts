/**
 * @module Repacking at load (aria_model_repack, `repack`): TQ1_0 to TQ2_0, and, where the kernel
 * table prefers it (AVX-512), every TQ2_0 / I2_S projection and the int8 head to the x16 layout
 * (native/src/kernels.h). The generator writes the same trits and scales for the same seed in
 * either format, so a TQ1_0 file repacked must give the logits of the TQ2_0 file repacked bit for
 * bit (the same kernels on the same bytes). Without repacking the TQ1_0 kernels run (matrix types
 * say which) and greedy decoding picks the same tokens. Only the loaded blocks of a layer range
 * are converted. The block and group conversions themselves: tests/native/test-kernels.c.
 */
import { describe, expect, test } from "bun:test";
import { kernelInfo, type NativeModel, openModel, setKernels } from "../../src/engine/index.ts";
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

/** Largest |x - y| / max(1, |x|) over every logit of every row. */
function worstRelative(xs: readonly Float32Array[], ys: readonly Float32Array[]): number {
  let worst = 0;
  xs.forEach((x, i) => {
    const y = ys[i]!;
    for (let j = 0; j < x.length; j++) {
      worst = Math.max(worst, Math.abs(x[j]! - y[j]!) / Math.max(1, Math.abs(x[j]!)));
    }
  });
  return worst;
}

function sameBits(a: readonly Float32Array[], b: readonly Float32Array[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => Buffer.from(x.buffer).equals(Buffer.from(b[i]!.buffer)));
}

/** Whether this machine's kernel table repacks to the x16 layout (kernels.h: x16_preferred). */
async function prefersX16(): Promise<boolean> {
  return ["avx512", "avxvnni", "avx2"].includes((await kernelInfo()).kernels);
}

/** Bytes of one matrix (n_in -> n_out) in x16 groups: 2-bit codes, then f16 scales padded to 64. */
function x16Bytes(nIn: number, nOut: number): number {
  const group = 4 * nIn + Math.ceil((nIn / 256) * 32 / 64) * 64;
  return Math.ceil(Math.ceil(nOut / 16) * group / 64) * 64;
}

describe("repack TQ1_0 -> TQ2_0", () => {
  test("a repacked TQ1_0 file gives the logits of the TQ2_0 file of the same values, bit for bit", async () => {
    const tq1 = await testModel({ preset: "tiny", arch: "llama", type: "tq1_0" });
    const tq2 = await testModel({ preset: "tiny", arch: "llama", type: "tq2_0" });
    using repacked = await openModel(tq1, { repack: true });
    using native2 = await openModel(tq2, { repack: true }); // the same layout: x16 or TQ2_0 rows
    const nMat = 7 * repacked.info.nLayer;
    expect(repacked.info.tensorTypes["TQ1_0"]).toBe(nMat); // the file's types are still reported
    expect(repacked.info.matrixTypes).toEqual({ TQ2_0: nMat });
    expect(repacked.info.repacked).toBe(nMat);
    expect(repacked.info.x16).toBe(native2.info.x16);
    expect(repacked.info.x16).toBe((await prefersX16()) ? nMat : 0);
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
    // The same integer sums, accumulated in f32. TQ2_0 rows: in the order of the TQ1_0 kernels, so
    // the logits differ at most by f32 rounding. x16: in the reference kernels' order (kernels.h),
    // which another order's rounding, flipped by the int8 activation quantization of later layers,
    // can move by far more: so there the plain file runs under the reference table instead.
    let other = a;
    if (repacked.info.x16 > 0) {
      await setKernels("ref");
      try {
        other = logitsAndTokens(plain);
      } finally {
        await setKernels("auto");
      }
      expect(other.tokens).toEqual(b.tokens);
    }
    expect(worstRelative(other.logits, b.logits)).toBeLessThan(1e-4);
  });

  test("the copies take 66 bytes per 256 weights (x16: the groups' size), and only the blocks of a layer range are repacked", async () => {
    const tq1 = await testModel({ preset: "tiny", arch: "llama", type: "tq1_0" });
    using full = await openModel(tq1, { repack: true });
    const info = full.info;
    const q = info.nHead * info.headDim;
    const kv = info.nHeadKv * info.headDim;
    const shapes = [
      [info.nEmbd, q],
      [info.nEmbd, kv],
      [info.nEmbd, kv],
      [q, info.nEmbd],
      [
        info.nEmbd,
        info.nFf,
      ],
      [info.nEmbd, info.nFf],
      [info.nFf, info.nEmbd],
    ] as const;
    if (await prefersX16()) {
      const perLayer = shapes.reduce((sum, [nIn, nOut]) => sum + x16Bytes(nIn, nOut), 0);
      expect(info.repackedBytes).toBe(info.nLayer * perLayer);
      expect(info.x16).toBe(7 * info.nLayer);
    } else {
      const perLayer = 2 * info.nEmbd * info.nHead * info.headDim +
        2 * info.nEmbd * info.nHeadKv * info.headDim + 3 * info.nEmbd * info.nFf;
      const minBytes = (info.nLayer * perLayer / 256) * 66;
      expect(info.repackedBytes).toBeGreaterThanOrEqual(minBytes);
      expect(info.repackedBytes).toBeLessThan(minBytes + 7 * info.nLayer * 64); // + alignment only
    }
    using stage = await openModel(tq1, { repack: true, layerBegin: 1, layerEnd: 2 });
    expect(stage.info.repacked).toBe(7);
    expect(stage.info.matrixTypes).toEqual({ TQ2_0: 7 });
    expect(stage.info.x16).toBe((await prefersX16()) ? 7 : 0);
  });

  test("a file without TQ1_0 keeps its types (x16: in groups of 16 rows)", async () => {
    const x16 = await prefersX16();
    for (const type of ["tq2_0", "i2_s"] as const) {
      const path = await testModel({ preset: "tiny", arch: "llama", type });
      using m = await openModel(path, { repack: true });
      expect(m.info.repacked).toBe(0);
      expect(m.info.matrixTypes).toEqual({ [type.toUpperCase()]: 7 * m.info.nLayer });
      expect(m.info.x16).toBe(x16 ? 7 * m.info.nLayer : 0);
      if (!x16) expect(m.info.repackedBytes).toBe(0);
      using plain = await openModel(path);
      expect(plain.info.x16).toBe(0);
      expect(plain.info.repackedBytes).toBe(0);
    }
  });

  test("an int8 head of 32002 rows (not a multiple of 16): its last, partial x16 group gives the reference kernels' logits", async () => {
    const path = await testModel({ preset: "tiny-vocab32002", arch: "bitnet", type: "tq2_0" });
    using x16 = await openModel(path, { repack: true, outputHead: "int8" });
    using rows = await openModel(path, { outputHead: "int8" });
    expect(x16.info.nVocab).toBe(32002);
    expect(x16.info.x16).toBe((await prefersX16()) ? 7 * x16.info.nLayer + 1 : 0);
    const a = logitsAndTokens(x16);
    let b: ReturnType<typeof logitsAndTokens>;
    await setKernels("ref"); // the x16 kernels compute what the reference ones do (kernels.h)
    try {
      b = logitsAndTokens(rows);
    } finally {
      await setKernels("auto");
    }
    expect(a.tokens).toEqual(b.tokens);
    for (const x of a.logits) {
      expect(x.length).toBe(32002);
      expect(Number.isFinite(x[32001]!)).toBe(true);
      expect(x[32001]).not.toBe(0);
    }
    expect(worstRelative(b.logits, a.logits)).toBeLessThan(1e-4);
  });

  test("the int8 head is made in the x16 layout after an x16 repack, and in rows otherwise", async () => {
    const path = await testModel({ preset: "tiny", arch: "llama", type: "tq2_0" });
    using both = await openModel(path, { repack: true, outputHead: "int8" });
    using rows = await openModel(path, { outputHead: "int8" });
    expect(both.info.outputType).toBe("Q8_W");
    expect(both.info.x16).toBe((await prefersX16()) ? 7 * both.info.nLayer + 1 : 0);
    expect(rows.info.x16).toBe(0);
    const a = logitsAndTokens(both);
    const b = logitsAndTokens(rows);
    expect(a.tokens).toEqual(b.tokens);
  });
});
