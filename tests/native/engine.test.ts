/**
 * @module The native engine through its TypeScript shell: loading (and refusing) files, batch
 * semantics, sequences, pipeline stages, thread-count determinism and kernel agreement.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EngineError, openModel, setKernels } from "../../src/engine/index.ts";
import { GENERATED_DIR, testModel } from "../helpers/models.ts";

const PROMPT = [1, 450, 7483, 310, 3444, 338, 263, 4086];
let bitnetPath = "";
let b158Path = "";

beforeAll(async () => {
  bitnetPath = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
  b158Path = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "i2_s" });
});

async function lastLogits(
  path: string,
  tokens: number[],
  options: { nThreads?: number } = {},
): Promise<Float32Array> {
  using model = await openModel(path);
  using ctx = model.createContext({ nCtx: 64, nThreads: options.nThreads ?? 2 });
  ctx.decode(tokens);
  return ctx.logits(0).slice();
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function expectLoadError(path: string, code: string, fragment: string): Promise<void> {
  let caught: unknown;
  try {
    (await openModel(path)).close();
  } catch (err: unknown) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(EngineError);
  expect((caught as EngineError).code).toBe(code);
  expect((caught as EngineError).message).toContain(fragment);
}

describe("openModel()", () => {
  test("reports the architecture and dimensions of a generated model", async () => {
    using model = await openModel(bitnetPath);
    expect(model.info).toMatchObject({
      arch: "bitnet",
      nEmbd: 256,
      nLayer: 2,
      activation: "silu",
      ropeNeox: true,
      outputTied: true,
      embdType: "F16",
    });
    expect(model.info.tensorTypes.TQ2_0).toBe(14);
  });

  test("fails with ENGINE_IO for a missing file", async () => {
    await expectLoadError("/nonexistent/model.gguf", "ENGINE_IO", "Cannot open model file");
  });

  test("fails with ENGINE_BAD_FORMAT for a file that is not GGUF", async () => {
    const p = join(GENERATED_DIR, "not-gguf.bin");
    writeFileSync(p, "this is not a model file at all, just text........");
    await expectLoadError(p, "ENGINE_BAD_FORMAT", "magic");
  });

  test("fails with ENGINE_BAD_FORMAT naming the offset for truncated files", async () => {
    const bytes = readFileSync(bitnetPath);
    const p = join(GENERATED_DIR, "truncated.gguf");
    for (const cut of [30, 1000, 100_000, bytes.length - 10]) {
      writeFileSync(p, bytes.subarray(0, cut));
      let caught: unknown;
      try {
        (await openModel(p)).close();
      } catch (err: unknown) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(EngineError);
      expect((caught as EngineError).code).toBe("ENGINE_BAD_FORMAT");
    }
  });

  test("survives randomly corrupted files: each either loads and evaluates or fails cleanly", async () => {
    const bytes = readFileSync(bitnetPath);
    const p = join(GENERATED_DIR, "corrupt.gguf");
    let seed = 12345;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let loaded = 0;
    let refused = 0;
    for (let iter = 0; iter < 60; iter++) {
      const copy = Buffer.from(bytes);
      // corrupt the header and tensor table region, where structure lives
      const headerEnd = Math.min(copy.length, 3_000_000);
      for (let k = 0; k < 1 + rand(8); k++) copy[rand(headerEnd)] = rand(256);
      writeFileSync(p, copy);
      try {
        using model = await openModel(p);
        using ctx = model.createContext({ nCtx: 16, nThreads: 1 });
        ctx.decode([1, 2, 3].map((t) => t % model.info.nVocab));
        loaded++;
      } catch (err: unknown) {
        expect(err).toBeInstanceOf(EngineError);
        expect((err as EngineError).message.length).toBeGreaterThan(10);
        refused++;
      }
    }
    expect(loaded + refused).toBe(60);
  });

  test("refuses an unknown architecture with ENGINE_UNSUPPORTED", async () => {
    const bytes = Buffer.from(readFileSync(bitnetPath));
    const at = bytes.indexOf("bitnet");
    bytes.write("zitnet", at); // general.architecture's value is the first "bitnet" in the file
    const p = join(GENERATED_DIR, "zitnet.gguf");
    writeFileSync(p, bytes);
    await expectLoadError(p, "ENGINE_UNSUPPORTED", "architecture");
  });

  test("names a missing tensor", async () => {
    const bytes = Buffer.from(readFileSync(bitnetPath));
    const at = bytes.indexOf("blk.1.ffn_up.weight");
    bytes.write("blk.1.ffn_xx.weight", at);
    const p = join(GENERATED_DIR, "missing-tensor.gguf");
    writeFileSync(p, bytes);
    await expectLoadError(p, "ENGINE_BAD_FORMAT", '"blk.1.ffn_up.weight" is missing');
  });
});

describe("NativeContext.decode()", () => {
  test("gives bitwise identical logits at 1, 2 and 3 threads", async () => {
    const one = await lastLogits(b158Path, PROMPT, { nThreads: 1 });
    const two = await lastLogits(b158Path, PROMPT, { nThreads: 2 });
    const three = await lastLogits(b158Path, PROMPT, { nThreads: 3 });
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    expect(Buffer.from(three.buffer).equals(Buffer.from(one.buffer))).toBe(true);
  });

  test("gives bitwise identical logits at 1, 2 and 3 threads with TQ2_0 weights", async () => {
    // TQ2_0 rows go through the 2-row kernel in pairs, paired differently for each thread count's
    // row split (odd rows through the 1-row kernel); 7 tokens: groups of 4 and 3 activation rows
    const tokens = PROMPT.slice(0, 7);
    const one = await lastLogits(bitnetPath, tokens, { nThreads: 1 });
    const two = await lastLogits(bitnetPath, tokens, { nThreads: 2 });
    const three = await lastLogits(bitnetPath, tokens, { nThreads: 3 });
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
    expect(Buffer.from(three.buffer).equals(Buffer.from(one.buffer))).toBe(true);
  });

  test("a prompt in one batch equals the same prompt token by token", async () => {
    using model = await openModel(bitnetPath);
    using ctx = model.createContext({ nCtx: 64, nThreads: 2 });
    ctx.decode(PROMPT);
    const batched = ctx.logits(0).slice();
    ctx.truncate(0);
    for (const t of PROMPT) ctx.decode([t]);
    expect(maxAbsDiff(ctx.logits(0), batched)).toBeLessThan(1e-4);
  });

  test("returns logits for every position with logits: all", async () => {
    using model = await openModel(bitnetPath);
    using ctx = model.createContext({ nCtx: 64, nThreads: 2, nBatch: 16 });
    expect(ctx.decode(PROMPT, { logits: "all" })).toBe(PROMPT.length);
    const third = ctx.logits(2).slice();
    ctx.truncate(0);
    ctx.decode(PROMPT.slice(0, 3));
    expect(maxAbsDiff(ctx.logits(0), third)).toBeLessThan(1e-4);
  });

  test("keeps sequences independent inside one batch", async () => {
    using model = await openModel(bitnetPath);
    using ctx = model.createContext({ nCtx: 64, nSeq: 2, nThreads: 2 });
    const a = [1, 450, 7483, 310];
    const b = [1, 3444, 338, 263];
    const tokens = [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!, b[2]!, a[3]!, b[3]!];
    const seq = [0, 1, 0, 1, 0, 1, 0, 1];
    expect(ctx.decode(tokens, { seq, logits: "all" })).toBe(8);
    const aLast = ctx.logits(6).slice();
    const bLast = ctx.logits(7).slice();
    expect(ctx.seqLength(0)).toBe(4);
    expect(ctx.seqLength(1)).toBe(4);
    expect(maxAbsDiff(aLast, await lastLogits(bitnetPath, a))).toBeLessThan(1e-4);
    expect(maxAbsDiff(bLast, await lastLogits(bitnetPath, b))).toBeLessThan(1e-4);
  });

  for (const outputInt8 of [false, true]) {
    test(`a sequence's logits do not depend on its batch, bit for bit (${outputInt8 ? "int8" : "F16"} head)`, async () => {
      // 5 sequences decode one token each in one batch (head and ternary kernels in token groups
      // of 4 and 1), against each sequence decoded alone: the multi-token kernels must give every
      // token exactly the float its 1-token call gives
      using model = await openModel(bitnetPath, { outputHead: outputInt8 ? "int8" : "float" });
      expect(model.info.outputType).toBe(outputInt8 ? "Q8_W" : "F16");
      const prompts = [[1, 450, 7483], [1, 3444], [1, 338, 263, 4086], [1, 29871], [1, 13, 450]];
      const next = [310, 7483, 29871, 338, 263];
      using together = model.createContext({ nCtx: 64, nSeq: 5, nThreads: 2 });
      prompts.forEach((p, s) => together.decode(p, { seq: s, logits: "none" }));
      expect(together.decode(next, { seq: [0, 1, 2, 3, 4], logits: "all" })).toBe(5);
      for (let s = 0; s < 5; s++) {
        using alone = model.createContext({ nCtx: 64, nThreads: 2 });
        alone.decode(prompts[s]!, { logits: "none" });
        alone.decode([next[s]!]);
        const want = Buffer.from(alone.logits(0).slice().buffer);
        expect(Buffer.from(together.logits(s).slice().buffer).equals(want)).toBe(true);
      }
    });
  }

  test("rewinding a sequence and decoding again reproduces the logits", async () => {
    using model = await openModel(bitnetPath);
    using ctx = model.createContext({ nCtx: 64, nThreads: 2 });
    ctx.decode(PROMPT);
    const first = ctx.logits(0).slice();
    ctx.decode([42, 43]);
    ctx.truncate(0, PROMPT.length - 1);
    ctx.decode(PROMPT.slice(-1));
    expect(maxAbsDiff(ctx.logits(0), first)).toBeLessThan(1e-5);
  });

  test("refuses bad input with a clear error and keeps the cache", async () => {
    using model = await openModel(bitnetPath);
    using ctx = model.createContext({ nCtx: 8, nThreads: 1 });
    ctx.decode([1, 2, 3]);
    const cases: Array<[() => unknown, string]> = [
      [() => ctx.decode([model.info.nVocab]), "ENGINE_INVALID_ARG"],
      [() => ctx.decode([-1]), "ENGINE_INVALID_ARG"],
      [() => ctx.decode([1], { pos: [5] }), "ENGINE_INVALID_ARG"],
      [() => ctx.decode([1], { seq: 3 }), "ENGINE_INVALID_ARG"],
      [() => ctx.decode([1, 2, 3, 4, 5, 6]), "ENGINE_CTX_FULL"],
    ];
    for (const [call, code] of cases) {
      let caught: unknown;
      try {
        call();
      } catch (err: unknown) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(EngineError);
      expect((caught as EngineError).code).toBe(code);
    }
    expect(ctx.seqLength(0)).toBe(3);
  });

  test("throws ENGINE_CLOSED after close()", async () => {
    const model = await openModel(bitnetPath);
    const ctx = model.createContext({ nCtx: 8, nThreads: 1 });
    model.close();
    expect(() => ctx.decode([1])).toThrow("closed");
  });
});

describe("pipeline stages", () => {
  test("two stages loaded with layer ranges equal the whole model", async () => {
    const whole = await lastLogits(bitnetPath, PROMPT);
    using first = await openModel(bitnetPath, { layerBegin: 0, layerEnd: 1 });
    using second = await openModel(bitnetPath, { layerBegin: 1, layerEnd: 2 });
    expect(first.info.layerEnd).toBe(1);
    using c1 = first.createContext({ nCtx: 64, nThreads: 2 });
    using c2 = second.createContext({ nCtx: 64, nThreads: 2 });
    const hidden = new Float32Array(PROMPT.length * first.info.nEmbd);
    c1.embed(PROMPT, hidden);
    c1.evalLayers(hidden, { begin: 0, end: 1 });
    c2.evalLayers(hidden, { begin: 1, end: 2 });
    const logits = c2.output(hidden.slice(-first.info.nEmbd));
    expect(maxAbsDiff(logits, whole)).toBeLessThan(1e-4);
    expect(() => c1.output(hidden.slice(-first.info.nEmbd))).toThrow("output head");
    expect(() => c2.decode([1])).toThrow("partial layer range");
  });
});

describe("kernels", () => {
  test("the scalar reference and the SIMD kernels agree on a whole forward pass", async () => {
    for (const path of [bitnetPath, b158Path]) {
      await setKernels("ref");
      const ref = await lastLogits(path, PROMPT);
      await setKernels("auto");
      const simd = await lastLogits(path, PROMPT);
      let range = 0;
      for (const v of ref) range = Math.max(range, Math.abs(v));
      // float sums in a different order: differences of a few ulps, amplified by 2 layers
      expect(maxAbsDiff(ref, simd)).toBeLessThan(1e-4 * range);
    }
  });
});
