/**
 * @module The requantized output heads (aria_model_requantize_output_to, `outputHead`): a float
 * head becomes Q8_W (int8) or Q4_W (int4) at load, its logits stay close to the float head's
 * (bounded error; int8: the same top token), and a head it cannot convert is left as it was. The
 * int4 head is always in the x16 layout and its kernels compute what the reference kernel does on
 * any table. The held-out perplexity change on the trained aria-nano is in docs/engine.md.
 */
import { describe, expect, test } from "bun:test";
import { type NativeModel, openModel, setKernels } from "../../src/engine/index.ts";
import { testModel } from "../helpers/models.ts";
import { compareLogits } from "../helpers/parity.ts";

const TOKENS = [1, 450, 7483, 310, 3444, 338, 29871, 13];

function logitRows(model: NativeModel): Float32Array[] {
  using ctx = model.createContext({ nCtx: 64, nThreads: 2 });
  ctx.decode(TOKENS, { logits: "all" });
  return TOKENS.map((_, i) => ctx.logits(i).slice());
}

/** Over the rows: the largest |x - y| as a share of x's logit range, and the rows whose top tokens agree. */
function compare(xs: Float32Array[], ys: Float32Array[]): { worst: number; sameTop: number } {
  let worst = 0;
  let sameTop = 0;
  xs.forEach((x, i) => {
    const { relative, sameArgmax } = compareLogits(x, ys[i]!);
    expect(relative).toBeGreaterThan(0); // it really is another head
    worst = Math.max(worst, relative);
    if (sameArgmax) sameTop++;
  });
  return { worst, sameTop };
}

describe("outputHead", () => {
  test("int8: an F16 tied head becomes Q8_W and its logits stay within 1% of the logit range", async () => {
    const path = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
    using f16 = await openModel(path);
    using i8 = await openModel(path, { outputHead: "int8" });
    expect(f16.info.outputType).toBe("F16");
    expect(i8.info.outputType).toBe("Q8_W");
    const { worst, sameTop } = compare(logitRows(f16), logitRows(i8));
    expect(worst).toBeLessThan(0.01);
    expect(sameTop).toBe(TOKENS.length);
  });

  test("int4: an F16 tied head becomes Q4_W in the x16 layout, its logits within 6% of the logit range", async () => {
    const path = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
    using f16 = await openModel(path);
    using i4 = await openModel(path, { outputHead: "int4" }); // no repack: only the head is x16
    expect(i4.info.outputType).toBe("Q4_W");
    expect(i4.info.x16).toBe(1);
    const { worst, sameTop } = compare(logitRows(f16), logitRows(i4));
    expect(worst).toBeLessThan(0.06); // 4.6% measured: 4 bits per weight on a random head
    expect(sameTop).toBeGreaterThanOrEqual(TOKENS.length - 2);
  });

  test("int4 on a 32002-row head (a partial last group): this table's logits are the reference kernels'", async () => {
    const path = await testModel({ preset: "tiny-vocab32002", arch: "bitnet", type: "tq2_0" });
    using m = await openModel(path, { outputHead: "int4" });
    expect(m.info.nVocab).toBe(32002);
    const a = logitRows(m);
    let b: Float32Array[];
    await setKernels("ref");
    try {
      b = logitRows(m);
    } finally {
      await setKernels("auto");
    }
    // The head's kernels are bit-identical to the reference one (kernels.h); the blocks' float
    // dots (attention) may sum in another order, so the logits agree to f32 rounding.
    let worst = 0;
    a.forEach((x, i) => {
      expect(Number.isFinite(x[32001]!)).toBe(true);
      expect(x[32001]).not.toBe(0);
      for (let j = 0; j < x.length; j++) {
        worst = Math.max(worst, Math.abs(x[j]! - b[i]![j]!) / Math.max(1, Math.abs(x[j]!)));
      }
    });
    expect(worst).toBeLessThan(1e-4);
  });

  for (const head of ["int8", "int4"] as const) {
    test(`${head}: a head that is not float (Q8_0) is left as it was`, async () => {
      const path = await testModel({
        preset: "tiny",
        arch: "bitnet",
        type: "tq2_0",
        embdType: "q8_0",
      });
      using m = await openModel(path, { outputHead: head });
      expect(m.info.outputType).toBe("Q8_0");
    });
  }
});
