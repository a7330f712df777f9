/**
 * @module Tests of the TypeScript reference forward pass (tests/helpers/reference-forward.ts):
 * known answers for its activation quantizers, and properties of the full forward pass on
 * generated tiny models of every architecture × ternary type.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  matmul,
  quantizeRowI8,
  quantizeRowQ8K,
  ReferenceModel,
  type RefMatrix,
  roundHalfEven,
} from "../helpers/reference-forward.ts";
import { ARCHS, testModel } from "../helpers/models.ts";
import { makeBitnetVariant } from "../helpers/bitnet-variant.ts";

const f32 = Math.fround;

/** A 256-block (or several) with the given leading values, zeros elsewhere. */
function block(values: number[], nBlocks = 1): Float32Array {
  const x = new Float32Array(256 * nBlocks);
  x.set(values);
  return x;
}

describe("roundHalfEven()", () => {
  test("roundHalfEven() rounds ties to the even neighbour", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -2.5001, 63.5, 64.5].map(roundHalfEven))
      .toEqual([0, 2, 2, 0, -2, -2, 2, -3, 64, 64]);
  });
});

describe("quantizeRowQ8K()", () => {
  test("quantizeRowQ8K() takes the signed absmax when the largest |x| is negative", () => {
    // m = -127 -> iscale = 1, d = 1: q = round_half_even(x), ties to even.
    const { q, d } = quantizeRowQ8K(block([-127, 2.5, 3.5, -2.5, 0.5, 1.5, 100.25]));
    expect(Array.from(q.slice(0, 8))).toEqual([-127, 2, 4, -2, 0, 2, 100, 0]);
    expect(Array.from(d)).toEqual([1]);
  });

  test("quantizeRowQ8K() gives a negative d when the signed absmax is positive", () => {
    // m = 127 -> iscale = -1, d = -1: q = -x.
    const { q, d } = quantizeRowQ8K(block([127, 2.5, -3.5]));
    expect(Array.from(q.slice(0, 3))).toEqual([-127, -2, 4]);
    expect(Array.from(d)).toEqual([-1]);
  });

  test("quantizeRowQ8K() keeps the first element when |x| ties with opposite signs", () => {
    // m = 3 (first), iscale = f32(-127/3) = -42.33333206..., d = f32(1/iscale).
    const { q, d } = quantizeRowQ8K(block([3, -3, 1]));
    const iscale = f32(-127 / 3);
    expect(Array.from(q.slice(0, 3))).toEqual([-127, 127, -42]);
    expect(d[0]).toBe(f32(1 / iscale));
    expect(d[0]).toBeCloseTo(-3 / 127, 7);
  });

  test("quantizeRowQ8K() rounds iscale·x in f32 before rounding to an integer", () => {
    // m = -2 -> iscale = 63.5; 1 -> 63.5 -> 64 (even), 0.5 -> 31.75 -> 32, -1 -> -63.5 -> -64.
    const { q, d } = quantizeRowQ8K(block([-2, 1, 0.5, -1]));
    expect(Array.from(q.slice(0, 4))).toEqual([-127, 64, 32, -64]);
    expect(d[0]).toBe(f32(1 / 63.5));
  });

  test("quantizeRowQ8K() gives d = 0 and q = 0 for an all-zero block, blocks independent", () => {
    const x = block([], 2);
    x[256] = 0.25; // second block: m = 0.25, iscale = -508, d = f32(-1/508)
    x[257] = -0.125;
    const { q, d } = quantizeRowQ8K(x);
    expect(Array.from(d)).toEqual([0, f32(1 / -508)]);
    expect(q.slice(0, 256).every((v) => v === 0)).toBe(true);
    expect(Array.from(q.slice(256, 259))).toEqual([-127, 64, 0]);
  });

  test("quantizeRowQ8K() rejects a length that is not a multiple of 256", () => {
    expect(() => quantizeRowQ8K(new Float32Array(100))).toThrow(RangeError);
  });
});

describe("quantizeRowI8()", () => {
  test("quantizeRowI8() scales by 127/max|x| and rounds ties to even", () => {
    // amax = 127 -> s = 1.
    const r = quantizeRowI8(Float32Array.of(-127, 2.5, 3.5, -2.5, 0.5, 126.5));
    expect({ q: Array.from(r.q), s: r.s, sum: r.sum }).toEqual({
      q: [-127, 2, 4, -2, 0, 126],
      s: 1,
      sum: 3,
    });
  });

  test("quantizeRowI8() uses max |x| over the whole row, not per block", () => {
    // amax = 1 -> s = 127; 0.5 -> 63.5 -> 64; 0.25 -> 31.75 -> 32; -1 -> -127.
    const x = new Float32Array(512);
    x[0] = 0.5;
    x[300] = -1;
    x[511] = 0.25;
    const r = quantizeRowI8(x);
    expect([r.q[0], r.q[300], r.q[511], r.s, r.sum]).toEqual([64, -127, 32, 127, -31]);
  });

  test("quantizeRowI8() floors max|x| at 1e-5", () => {
    const zero = quantizeRowI8(new Float32Array(8));
    expect({ s: zero.s, sum: zero.sum, q: Array.from(zero.q) }).toEqual({
      s: f32(127 / f32(1e-5)),
      sum: 0,
      q: [0, 0, 0, 0, 0, 0, 0, 0],
    });
    // 1e-6 · 1.27e7 = 12.7 -> 13 (the floor applies: without it, 1e-6 would map to 127).
    const tiny = quantizeRowI8(Float32Array.of(1e-6, -2e-6));
    expect(Array.from(tiny.q)).toEqual([13, -25]);
  });

  test("quantizeRowI8() does not clamp symmetric rows: -max maps to -127", () => {
    const r = quantizeRowI8(Float32Array.of(-128, 64, 127.9));
    // s = 127/128 = 0.9921875: -128 -> -127, 64 -> 63.5 -> 64, 127.9 -> 126.90... -> 127.
    expect(Array.from(r.q)).toEqual([-127, 64, 127]);
    expect(r.s).toBe(0.9921875);
  });
});

describe("matmul()", () => {
  const t = new Int8Array(256);
  t[0] = 1;
  t[1] = -1;
  t[2] = 1;
  const x = block([-127, 2.5, 3.5]); // Q8_K: d = 1, q = [-127, 2, 4]; int8: s = 1, same q

  test("matmul() sums t·q per block in integers, then scales by d_w·d_x", () => {
    const m: RefMatrix = {
      name: "tq",
      type: 35,
      nIn: 256,
      nOut: 1,
      activation: "q8_k",
      w: new Float32Array(256),
      t,
      d: Float32Array.of(0.5),
    };
    // Σ t·q = -127 - 2 + 4 = -125; y = -125 · 0.5 · 1.
    expect(Array.from(matmul(m, x))).toEqual([-62.5]);
  });

  test("matmul() computes (Σ t·q) / s · w_scale for I2_S, then the .scale multiplier", () => {
    const m: RefMatrix = {
      name: "i2s",
      type: 36,
      nIn: 256,
      nOut: 1,
      activation: "i8",
      w: new Float32Array(256),
      t,
      d: Float32Array.of(2),
      outScale: 0.25,
    };
    expect(Array.from(matmul(m, x))).toEqual([-125 * 2 * 0.25]);
  });
});

/** A short prompt of token ids valid in both the Llama-2 (32000) and Llama-3 vocabularies. */
const PROMPT = [1, 450, 7483, 310, 3444, 338];
/** The first tokens of PROMPT, for the checks that re-run the model. */
const SHORT = PROMPT.slice(0, 3);

/**
 * Largest |a − b| over the logits, relative to the range (max − min) of `a`. The same measure
 * the native comparison uses.
 */
function relativeMaxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    min = Math.min(min, a[i]!);
    max = Math.max(max, a[i]!);
  }
  return d / (max - min);
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

async function loadTiny(
  arch: (typeof ARCHS)[number],
  type: "tq2_0" | "tq1_0" | "i2_s",
): Promise<ReferenceModel> {
  return ReferenceModel.fromBytes(readFileSync(await testModel({ preset: "tiny", arch, type })));
}

function evalPrompt(model: ReferenceModel, tokens = PROMPT): Float32Array[] {
  return model.newSequence().evalTokens(tokens);
}

for (const arch of ARCHS) {
  describe(`ReferenceModel on a tiny ${arch} model`, () => {
    let tq2: ReferenceModel;
    let tq1: ReferenceModel;
    let i2s: ReferenceModel;
    let tq2Logits: Float32Array[];
    let i2sLogits: Float32Array[];

    // One hook per model: each loads a file with a 128256-token vocabulary (llama: twice).
    beforeAll(async () => {
      tq2 = await loadTiny(arch, "tq2_0");
      tq2Logits = evalPrompt(tq2);
    });
    beforeAll(async () => {
      i2s = await loadTiny(arch, "i2_s");
      i2sLogits = evalPrompt(i2s);
    });
    beforeAll(async () => {
      tq1 = await loadTiny(arch, "tq1_0");
    });

    test("eval() gives finite logits, the same on a second run", () => {
      expect(tq2.hparams).toMatchObject({
        arch,
        nEmbd: 256,
        nLayer: 2,
        subNorms: arch !== "llama",
        ropeStyle: arch === "llama" ? "adjacent" : "neox",
        activation: arch === "bitnet-b1.58" ? "relu2" : "silu",
        tiedOutput: arch !== "llama",
      });
      for (const logits of [...tq2Logits, ...i2sLogits]) {
        expect(logits.length).toBe(tq2.nVocab);
        expect(logits.every(Number.isFinite)).toBe(true);
      }
      // Determinism is an exact guarantee: same model, same tokens, same bits.
      expect(evalPrompt(tq2, SHORT)).toEqual(tq2Logits.slice(0, SHORT.length));
    });

    test("eval() gives identical logits for the same weights in TQ1_0 and TQ2_0", () => {
      expect(evalPrompt(tq1)).toEqual(tq2Logits);
    });

    test("eval() of I2_S differs from TQ2_0 only by the activation quantization scheme", () => {
      // Same weights, other activation scheme: Q8_K blocks vs one int8 row. Observed on the
      // tiny models: max |Δ| ≤ 1.8 logits, ≤ 1.1% of the logit range; argmax equal.
      for (let p = 0; p < PROMPT.length; p++) {
        expect(relativeMaxDiff(tq2Logits[p]!, i2sLogits[p]!)).toBeLessThan(0.02);
        expect(argmax(i2sLogits[p]!)).toBe(argmax(tq2Logits[p]!));
      }
      // Swapping the schemes reproduces the other file exactly.
      expect(evalPrompt(tq2.withActivations("i8"), SHORT)).toEqual(
        i2sLogits.slice(0, SHORT.length),
      );
      expect(evalPrompt(i2s.withActivations("q8_k"), SHORT)).toEqual(
        tq2Logits.slice(0, SHORT.length),
      );
    });

    test("eval() through the KV cache equals recomputing each prefix from scratch", () => {
      // (The full-prompt run above went through the cache; a fresh sequence per prefix does not
      // reuse anything.)
      for (const p of [1, 2]) {
        const fresh = evalPrompt(i2s, PROMPT.slice(0, p + 1));
        expect(fresh[p]).toEqual(i2sLogits[p]!);
      }
    });

    test("eval() depends on the earlier tokens (attention is causal, not a no-op)", () => {
      const alone = evalPrompt(tq2, [PROMPT[1]!])[0]!;
      const other = evalPrompt(tq2, [PROMPT[2]!, PROMPT[1]!])[1]!;
      expect(relativeMaxDiff(tq2Logits[1]!, alone)).toBeGreaterThan(1e-4);
      expect(relativeMaxDiff(tq2Logits[1]!, other)).toBeGreaterThan(1e-4);
    });

    test("evalLayers() and outputLogits() compose to eval(), and evalTrace() reports them", () => {
      const seq = tq2.newSequence();
      const seqTrace = tq2.newSequence();
      for (let p = 0; p < SHORT.length; p++) {
        const token = PROMPT[p]!;
        let x = tq2.embed(token);
        for (let l = 0; l < tq2.nLayer; l++) x = seq.evalLayers(x, l, l + 1);
        const { logits } = tq2.outputLogits(x);
        expect(logits).toEqual(tq2Logits[p]!);
        const trace = seqTrace.evalTrace(token);
        expect(trace.layers.length).toBe(tq2.nLayer);
        expect(trace.layers[tq2.nLayer - 1]).toEqual(x);
        expect(trace.logits).toEqual(tq2Logits[p]!);
      }
      expect(seq.length).toBe(SHORT.length);
    });
  });
}

describe("ReferenceModel on bitnet variants", () => {
  test("fromBytes() reads bitnet.hidden_activation and the per-matrix .scale tensors", async () => {
    const base = readFileSync(await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" }));
    const scale = (l: number, m: number) => 0.5 + 0.125 * ((l * 7 + m) % 9);
    const relu2 = ReferenceModel.fromBytes(makeBitnetVariant(base, { hiddenActivation: "relu2" }));
    const scaled = ReferenceModel.fromBytes(makeBitnetVariant(base, { scale }));
    const ones = ReferenceModel.fromBytes(makeBitnetVariant(base, { scale: () => 1 }));
    const plain = ReferenceModel.fromBytes(base);
    expect(relu2.hparams.activation).toBe("relu2");
    const l1 = scaled.layers[1]!;
    expect([l1.wq, l1.wk, l1.wv, l1.wo, l1.wGate, l1.wUp, l1.wDown].map((m) => m.outScale))
      .toEqual([0, 1, 2, 3, 4, 5, 6].map((m) => scale(1, m)));
    expect(plain.layers[1]!.wq.outScale).toBeUndefined();
    const tokens = SHORT;
    const want = evalPrompt(plain, tokens);
    // Scales of 1 change nothing; other scales and ReLU² do change the logits.
    expect(evalPrompt(ones, tokens)).toEqual(want);
    expect(relativeMaxDiff(want[2]!, evalPrompt(scaled, tokens)[2]!)).toBeGreaterThan(1e-3);
    expect(relativeMaxDiff(want[2]!, evalPrompt(relu2, tokens)[2]!)).toBeGreaterThan(1e-3);
  });
});
