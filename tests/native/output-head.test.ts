/**
 * @module The requantized output heads (aria_model_requantize_output_to, `outputHead`): a float
 * head becomes Q8_W (int8) or Q4_W (int4) at load, its logits stay close to the float head's
 * (bounded error; int8: the same top token), and a head it cannot convert is left as it was. The
 * int4 head is always in the x16 layout and its kernels compute what the reference kernel does on
 * any table. Once requantized, the float head's pages are not held resident (a tied embedding's
 * rows are read from the file on demand, the same bytes). The held-out perplexity change on the
 * trained aria-nano is in docs/engine.md.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, realpathSync } from "node:fs";
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

/** hidden rows of token_embd for tokens, looked up 8 at a time (a context's batch limit). */
function embedAll(
  ctx: { embed(t: ArrayLike<number>, h: Float32Array): void },
  tokens: number[],
): Float32Array<ArrayBuffer> {
  const out = new Float32Array(tokens.length * 256);
  for (let i = 0; i < tokens.length; i += 8) {
    ctx.embed(tokens.slice(i, i + 8), out.subarray(i * 256, (i + 8) * 256));
  }
  return out;
}

/** Resident bytes of this process's mappings of `path` (Linux /proc/self/smaps), every mapping summed. */
function mappedRss(path: string): number {
  const real = realpathSync(path);
  let inFile = false;
  let kib = 0;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inFile = line.endsWith(` ${real}`);
    else if (inFile && line.startsWith("Rss:")) kib += Number(line.split(/\s+/)[1]);
  }
  return kib * 1024;
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

  test.skipIf(process.platform !== "linux")(
    "int8: the tied F16 embedding is not held resident after requantizing, and its rows read the same bytes",
    async () => {
      const path = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
      const spread = Array.from({ length: 400 }, (_, i) => (i * 7919) % 32000); // rows all over the table
      const embdBytes = 32000 * 256 * 2;
      let hQ: Float32Array<ArrayBuffer> = new Float32Array(0);
      const others = mappedRss(path); // earlier tests' mappings of the same file, if not yet collected
      {
        using q = await openModel(path, { outputHead: "int8" });
        using ctx = q.createContext({ nCtx: 64, nThreads: 2 });
        hQ = embedAll(ctx, spread);
        ctx.decode(TOKENS, { logits: "all" });
        // header, norms and the blocks' ternary rows stay; the 16 MB F16 table does not
        expect(mappedRss(path) - others).toBeLessThan(embdBytes / 8); // 1.4 MB measured
      }
      const before = mappedRss(path);
      using f = await openModel(path);
      using ctx = f.createContext({ nCtx: 64, nThreads: 2 });
      ctx.decode(TOKENS, { logits: "all" }); // the float head reads every row: all resident
      expect(mappedRss(path) - before).toBeGreaterThan(embdBytes);
      const hF = embedAll(ctx, spread);
      expect(hF.some((v) => v !== 0)).toBe(true);
      expect(new Uint8Array(hQ.buffer)).toEqual(new Uint8Array(hF.buffer));
    },
  );

  test.skipIf(process.platform !== "linux")(
    "once loaded, repacked and the head requantized, no page of the file stays resident (header, norms, edges)",
    async () => {
      const path = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
      const others = mappedRss(path); // earlier tests' mappings of the same file, if not yet collected
      using m = await openModel(path, { outputHead: "int8", repack: true });
      // before: the header (metadata, the tokenizer's vocabulary), the norm vectors and the pages
      // the copied matrices shared with their neighbours stayed (776 KiB on this file)
      expect(mappedRss(path) - others).toBeLessThanOrEqual(8192);
      using ctx = m.createContext({ nCtx: 64, nThreads: 2 });
      ctx.decode(TOKENS, { logits: "all" });
      // the metadata read again faults the same bytes in
      expect(m.info.nVocab).toBe(32000);
    },
  );

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
