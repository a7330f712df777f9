/**
 * @module The native forward pass against the TypeScript reference (tests/helpers/reference-forward.ts)
 * on generated tiny models of every architecture × ternary type, with the scalar `ref` kernels
 * and with the best SIMD kernels of this CPU.
 *
 * Measure: for each position, the largest |native − reference| over the logits divided by the
 * reference logits' range (max − min), and the argmax. Tolerance: 1e-4 of the range and argmax
 * equal at positions 0-1, 3e-2 later (see FLIP_TOLERANCE: int8 rounding flips). Measured when this was written (x86-64, AVX2): ≤ 6.0e-7 of the range (max |Δ| 1.2e-4
 * on ranges of ~140-240) with `ref`, ≤ 1.1e-7 (max |Δ| 1.5e-5) with `avx2`, at all 8 positions,
 * for prefill and for token-by-token decode; hidden states after each block within 1.7e-7 of
 * max |h| (tolerance 1e-5), with `ref` and `avx2` giving identical hidden states. The remaining difference is the f32 accumulation
 * order of the float output matmul (the reference accumulates in double); the quantized
 * activations agree exactly. A difference near 1e-4 or above means a rounding decision differs
 * (an activation rounded to another integer), i.e. a departure from docs/engine.md.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kernelInfo, type KernelSet, openModel, setKernels } from "../../src/engine/index.ts";
import { ReferenceModel, type RefTrace } from "../helpers/reference-forward.ts";
import { ARCHS, GENERATED_DIR, TERNARY_TYPES, testModel } from "../helpers/models.ts";
import { makeBitnetVariant, relayoutI2sFile } from "../helpers/bitnet-variant.ts";
import { packI2S, relayoutI2S } from "../../src/model/quants.ts";
import { compareLogits } from "../helpers/parity.ts";

/** Token ids valid in both the Llama-2 (32000) and Llama-3 (128256) vocabularies. */
const PROMPT = [1, 450, 7483, 310, 3444, 338, 263, 4086];
/**
 * Largest allowed |native − reference| relative to the reference logits' range, at positions 0
 * and 1: attention over one or two positions leaves no room for the float order to matter, so
 * only the output matmul's summation order differs.
 */
const RELATIVE_TOLERANCE = 1e-4;
/** Largest allowed |native − reference| relative to max |reference| for hidden states (same positions). */
const HIDDEN_TOLERANCE = 1e-5;
/** Positions compared with the strict tolerances above. */
const STRICT_POSITIONS = 2;
/**
 * Later positions: the reference sums attention in double, the engine in f32, and an activation
 * that lands within an ulp of a rounding boundary of the int8 quantizer can round the other way.
 * One such flip moves a block's output by one quantum, seen as up to ~1e-2 of the logit range
 * two blocks later (measured: 5.6e-3 on the tiny llama model at position 2). Structural bugs
 * (a wrong RoPE pairing, norm, scale or activation) move the logits by a large fraction of
 * their range.
 */
const FLIP_TOLERANCE = 3e-2;

let kernelSets: KernelSet[] = ["ref"];

beforeAll(async () => {
  await setKernels("auto");
  const best = (await kernelInfo()).kernels;
  if (best !== "ref") kernelSets = ["ref", best];
});

afterAll(async () => {
  await setKernels("auto");
});

function expectClose(ref: Float32Array, got: Float32Array, position: number): void {
  expect(got.length).toBe(ref.length);
  const { relative, sameArgmax } = compareLogits(ref, got);
  expect(relative).toBeLessThan(position < STRICT_POSITIONS ? RELATIVE_TOLERANCE : FLIP_TOLERANCE);
  if (position < STRICT_POSITIONS) expect(sameArgmax).toBe(true);
}

/**
 * Decodes PROMPT natively with each kernel set and compares every position with the reference:
 * one prefill batch with every row's logits, then (SIMD kernels, whose one-row path differs
 * from their batch path) the same prompt token by token.
 */
async function expectDecodeMatches(path: string, traces: readonly RefTrace[]): Promise<void> {
  for (const kernels of kernelSets) {
    await setKernels(kernels);
    using model = await openModel(path);
    using ctx = model.createContext({ nCtx: 32, nThreads: 2 });
    expect(ctx.decode(PROMPT, { logits: "all" })).toBe(PROMPT.length);
    for (let i = 0; i < PROMPT.length; i++) expectClose(traces[i]!.logits, ctx.logits(i), i);
    if (kernels === "ref") continue;
    ctx.truncate(0);
    for (let i = 0; i < PROMPT.length; i++) {
      ctx.decode([PROMPT[i]!]);
      expectClose(traces[i]!.logits, ctx.logits(0), i);
    }
  }
}

for (const arch of ARCHS) {
  for (const type of TERNARY_TYPES) {
    describe(`native forward pass on a tiny ${arch} ${type} model`, () => {
      let path = "";
      let traces: RefTrace[] = [];

      beforeAll(async () => {
        path = await testModel({ preset: "tiny", arch, type });
        const seq = ReferenceModel.fromBytes(readFileSync(path)).newSequence();
        traces = PROMPT.map((token) => seq.evalTrace(token));
      });

      test("decode() matches the reference at every position of a prompt", async () => {
        await expectDecodeMatches(path, traces);
      });

      test("embed(), evalLayers() and output() match the reference block by block", async () => {
        await setKernels("ref");
        using model = await openModel(path);
        using ctx = model.createContext({ nCtx: 32, nThreads: 2 });
        for (const [pos, token] of PROMPT.slice(0, STRICT_POSITIONS).entries()) {
          const trace = traces[pos]!;
          const hidden = new Float32Array(trace.embedding.length);
          ctx.embed([token], hidden);
          expect<Float32Array>(hidden).toEqual(trace.embedding); // a table lookup: exact
          for (let l = 0; l < trace.layers.length; l++) {
            // Explicit position: the native sequence length moves on after the first block.
            ctx.evalLayers(hidden, { begin: l, end: l + 1 }, { pos: [pos] });
            const want = trace.layers[l]!;
            let diff = 0;
            let scale = 0;
            for (let i = 0; i < want.length; i++) {
              diff = Math.max(diff, Math.abs(hidden[i]! - want[i]!));
              scale = Math.max(scale, Math.abs(want[i]!));
            }
            expect(diff / scale).toBeLessThan(HIDDEN_TOLERANCE);
          }
          expectClose(trace.logits, ctx.output(hidden), pos);
        }
      });
    });
  }
}

describe("native forward pass on bitnet variants (relu2 activation, per-matrix .scale)", () => {
  for (const type of ["tq2_0", "i2_s"] as const) {
    test(`decode() matches the reference for ${type}`, async () => {
      const base = readFileSync(await testModel({ preset: "tiny", arch: "bitnet", type }));
      const bytes = makeBitnetVariant(base, {
        hiddenActivation: "relu2",
        scale: (l, m) => 0.5 + 0.125 * ((l * 7 + m) % 9),
      });
      const path = join(GENERATED_DIR, `tiny-bitnet-${type}-relu2-scales.gguf`);
      writeFileSync(path, bytes);
      const seq = ReferenceModel.fromBytes(bytes).newSequence();
      await expectDecodeMatches(path, PROMPT.map((token) => seq.evalTrace(token)));
    });
  }
});

describe("native forward pass with other embedding / output types", () => {
  for (const embdType of ["f32", "bf16", "q8_0", "q6_k"] as const) {
    for (const arch of ["bitnet", "llama"] as const) {
      test(`decode() matches the reference for a ${arch} model with a ${embdType} embedding`, async () => {
        const path = await testModel({ preset: "tiny", arch, type: "tq2_0", embdType });
        const seq = ReferenceModel.fromBytes(readFileSync(path)).newSequence();
        await expectDecodeMatches(path, PROMPT.map((token) => seq.evalTrace(token)));
      });
    }
  }
});

describe("bitnet-b1.58 activation (docs/models.md, Activation)", () => {
  /** A tiny bitnet-b1.58 tq2_0 model with the given vocabulary, optionally an activation key. */
  async function variant(
    vocab: "llama2" | "llama3",
    key: "silu" | "relu2" | "relu_sqr" | "gelu" | undefined,
  ): Promise<{ path: string; bytes: Uint8Array }> {
    const base = readFileSync(
      await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0", vocab }),
    );
    const bytes = makeBitnetVariant(base, key === undefined ? {} : { hiddenActivation: key });
    const path = join(GENERATED_DIR, `tiny-b158-${vocab}-act-${key ?? "none"}.gguf`);
    writeFileSync(path, bytes);
    return { path, bytes };
  }

  const cases = [
    { vocab: "llama3", key: undefined, want: "relu2" }, // 2B-4T lineage, the official file
    { vocab: "llama2", key: undefined, want: "silu" }, // 1bitLLM converted by bitnet.cpp
    { vocab: "llama3", key: "silu", want: "silu" },
    { vocab: "llama2", key: "relu2", want: "relu2" },
    { vocab: "llama2", key: "relu_sqr", want: "relu2" },
  ] as const;
  for (const c of cases) {
    test(`a ${c.vocab} vocabulary with key ${c.key ?? "(none)"} runs ${c.want}, matching the reference`, async () => {
      const { path, bytes } = await variant(c.vocab, c.key);
      await setKernels("ref");
      {
        using model = await openModel(path);
        expect(model.info.activation).toBe(c.want);
      }
      const seq = ReferenceModel.fromBytes(bytes).newSequence();
      await expectDecodeMatches(path, PROMPT.map((token) => seq.evalTrace(token)));
    });
  }

  test("the two activations give different logits (the rule is observable)", async () => {
    await setKernels("ref");
    const logits = async (key: "silu" | "relu2") => {
      using model = await openModel((await variant("llama2", key)).path);
      using ctx = model.createContext({ nCtx: 32, nThreads: 1 });
      ctx.decode(PROMPT.slice(0, 3));
      return Float32Array.from(ctx.logits(0));
    };
    expect(compareLogits(await logits("silu"), await logits("relu2")).relative).toBeGreaterThan(
      1e-2,
    );
  });

  test("an unknown hidden_activation is refused with a clear error", async () => {
    const { path } = await variant("llama3", "gelu");
    await expect(openModel(path)).rejects.toThrow(/hidden_activation "gelu" is not supported/);
  });
});

describe("I2_S layouts (docs/models.md, I2_S layouts)", () => {
  // One arch: the layout is a property of the I2_S matrices, whatever graph runs them.
  for (const arch of ["bitnet-b1.58"] as const) {
    test(`an ARM-layout ${arch} file opened with i2sLayout "arm" matches the reference and the x86 file`, async () => {
      const x86 = await testModel({ preset: "tiny", arch, type: "i2_s" });
      const arm = await testModel({ preset: "tiny", arch, type: "i2_s", i2sLayout: "arm" });
      const armBytes = readFileSync(arm);
      // The two files hold the same values: only the code bytes are permuted.
      expect(relayoutI2sFile(armBytes, "arm", "x86")).toEqual(new Uint8Array(readFileSync(x86)));
      expect(armBytes).not.toEqual(readFileSync(x86));
      const seq = ReferenceModel.fromBytes(relayoutI2sFile(armBytes, "arm", "x86")).newSequence();
      const traces = PROMPT.map((token) => seq.evalTrace(token));
      for (const kernels of kernelSets) {
        await setKernels(kernels);
        using a = await openModel(arm, { i2sLayout: "arm", repack: true });
        using b = await openModel(x86, { repack: true });
        using ca = a.createContext({ nCtx: 32, nThreads: 2 });
        using cb = b.createContext({ nCtx: 32, nThreads: 2 });
        ca.decode(PROMPT, { logits: "all" });
        cb.decode(PROMPT, { logits: "all" });
        for (let i = 0; i < PROMPT.length; i++) {
          expect(ca.logits(i)).toEqual(cb.logits(i)); // the same weights: bit for bit
          expectClose(traces[i]!.logits, ca.logits(i), i);
        }
      }
    });
  }

  test("an ARM-layout file read as x86 gives different logits (nothing in the file tells them apart)", async () => {
    await setKernels("ref");
    const arm = await testModel({
      preset: "tiny",
      arch: "bitnet-b1.58",
      type: "i2_s",
      i2sLayout: "arm",
    });
    const run = async (i2sLayout: "x86" | "arm") => {
      using model = await openModel(arm, { i2sLayout });
      using ctx = model.createContext({ nCtx: 32, nThreads: 1 });
      ctx.decode(PROMPT.slice(0, 3));
      return Float32Array.from(ctx.logits(0));
    };
    expect(compareLogits(await run("arm"), await run("x86")).relative).toBeGreaterThan(1e-2);
  });

  test("relayoutI2S() round-trips and packI2S() layouts agree", () => {
    const t = new Int8Array(512).map((_, i) => ((i * 7) % 3) - 1);
    const x86 = packI2S(t, 0.5, "x86");
    const arm = packI2S(t, 0.5, "arm");
    expect(relayoutI2S(arm, t.length, "arm", "x86")).toEqual(x86);
    expect(relayoutI2S(x86, t.length, "x86", "arm")).toEqual(arm);
    expect(arm).not.toEqual(x86);
  });
});
