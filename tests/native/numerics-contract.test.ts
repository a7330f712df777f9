/**
 * @module Engine numerics contract v2 (docs/engine.md): the logits are the same bits whatever the
 * kernel table (ref, AVX2, AVX-512 where the CPU has it), the row or x16 layout, the thread count
 * (1-3), the batch composition (one token at a time, whole prompts, batches of 1-8 tokens mixing
 * three sequences) and the reuse of a cached prefix, for every weight type (TQ1_0, TQ2_0, I2_S,
 * fallback Q4_0 / F16 matrices), every head (F16, int8, int4; llama's own F32-embedding output)
 * and both KV cache types, over contexts of hundreds of positions. The reference run is the
 * scalar table, one thread, one token per call; every other run must equal it byte for byte.
 * NEON: tests/native/neon-qemu.test.ts runs the same comparison on the arm64 build.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  kernelInfo,
  type KernelSet,
  type KvType,
  numericsContract,
  openModel,
  type OutputHead,
  setKernels,
} from "../../src/engine/index.ts";
import { convertCheckpoint } from "../../src/model/convert-files.ts";
import { writeHfCheckpoint } from "../helpers/hf-checkpoint.ts";
import { testModel } from "../helpers/models.ts";

setDefaultTimeout(600_000);

/** Three sequences: a long one (attention over hundreds of positions, up to the model's context)
 * and two short ones. */
function sequences(nVocab: number, nCtx: number): number[][] {
  const lens = [Math.min(240, nCtx), 37, 11];
  let x = 12345;
  return lens.map((n) =>
    Array.from({ length: n }, () => {
      x = (x * 1103515245 + 12345) % 2147483648; // a fixed LCG: the same prompts every run
      return 3 + (x % (nVocab - 3));
    })
  );
}

/** Positions whose logits are compared: every 23rd, and each sequence's last. */
function wanted(pos: number, len: number): boolean {
  return pos % 23 === 0 || pos === len - 1;
}

/** How the tokens go into decode calls: each call is a list of (sequence, position). */
type Schedule = Array<Array<[number, number]>>;

function oneByOne(seqs: number[][]): Schedule {
  const out: Schedule = [];
  seqs.forEach((s, q) => s.forEach((_, p) => out.push([[q, p]])));
  return out;
}

function wholePrompts(seqs: number[][], chunk: number): Schedule {
  const out: Schedule = [];
  seqs.forEach((s, q) => {
    for (let p = 0; p < s.length; p += chunk) {
      out.push(Array.from({ length: Math.min(chunk, s.length - p) }, (_, i) => [q, p + i]));
    }
  });
  return out;
}

/** Batches of 1, 2, ..., 8, 1, ... tokens taken round-robin from the sequences still open. */
function mixed(seqs: number[][]): Schedule {
  const next = seqs.map(() => 0);
  const out: Schedule = [];
  let size = 1;
  let q = 0;
  while (next.some((p, i) => p < seqs[i]!.length)) {
    const batch: Array<[number, number]> = [];
    while (batch.length < size && next.some((p, i) => p < seqs[i]!.length)) {
      if (next[q]! < seqs[q]!.length) batch.push([q, next[q]!++]);
      q = (q + 1) % seqs.length;
    }
    out.push(batch);
    size = size % 8 + 1;
  }
  return out;
}

interface Run {
  kernels: KernelSet;
  threads: number;
  schedule: "one" | "whole" | "mixed";
  repack?: boolean;
}

/** Logits at the wanted positions, keyed "seq:pos", as bytes. */
async function runLogits(
  path: string,
  head: OutputHead,
  kv: KvType,
  run: Run,
  reuse = false,
): Promise<Map<string, Uint8Array>> {
  await setKernels(run.kernels);
  try {
    using model = await openModel(path, { outputHead: head, repack: run.repack ?? false });
    const nCtx = Math.min(240, model.info.nCtxTrain);
    const seqs = sequences(model.info.nVocab, nCtx);
    using ctx = model.createContext({
      nCtx,
      nSeq: 3,
      nBatch: 64,
      nThreads: run.threads,
      kvType: kv,
    });
    const plan = run.schedule === "one"
      ? oneByOne(seqs)
      : run.schedule === "whole"
      ? wholePrompts(seqs, 64)
      : mixed(seqs);
    const out = new Map<string, Uint8Array>();
    const exec = (batch: Array<[number, number]>) => {
      const flags = batch.map(([q, p]) => wanted(p, seqs[q]!.length));
      ctx.decode(batch.map(([q, p]) => seqs[q]![p]!), {
        seq: batch.map(([q]) => q),
        pos: batch.map(([, p]) => p),
        logits: flags,
      });
      let row = 0;
      batch.forEach(([q, p], i) => {
        if (!flags[i]) return;
        out.set(`${q}:${p}`, new Uint8Array(ctx.logits(row++).slice().buffer));
      });
    };
    for (const batch of plan) exec(batch);
    if (reuse) {
      // the prompt-cache path: keep a prefix of each sequence's cache, evaluate the rest again
      for (let q = 0; q < seqs.length; q++) {
        const keep = Math.floor(seqs[q]!.length / 2);
        ctx.truncate(q, keep);
        for (const batch of wholePrompts([seqs[q]!.slice(keep)], 16)) {
          exec(batch.map(([, p]) => [q, keep + p]));
        }
      }
    }
    return out;
  } finally {
    await setKernels("auto");
  }
}

function expectSame(got: Map<string, Uint8Array>, want: Map<string, Uint8Array>): void {
  expect(got.size).toBe(want.size);
  const differing: string[] = [];
  for (const [k, v] of want) {
    const g = got.get(k);
    if (!g || Buffer.compare(Buffer.from(g), Buffer.from(v)) !== 0) differing.push(k);
  }
  expect(differing).toEqual([]);
}

const features = (await kernelInfo()).cpuFeatures.split(" ");
const TABLES: KernelSet[] = ["ref"];
if (features.includes("avx2")) TABLES.push("avx2");
if (features.includes("avxvnni")) TABLES.push("avxvnni");
if (features.includes("avx512vnni")) TABLES.push("avx512");

/** The runs compared with the reference run, covering tables x threads x schedules x layouts. */
function variants(): Run[] {
  const runs: Run[] = [{ kernels: "ref", threads: 2, schedule: "mixed" }];
  for (const k of TABLES.filter((t) => t !== "ref")) {
    runs.push({ kernels: k, threads: 1, schedule: "mixed" });
    runs.push({ kernels: k, threads: 3, schedule: "whole", repack: true });
  }
  if (TABLES.includes("avx512")) {
    runs.push({ kernels: "avx512", threads: 2, schedule: "mixed", repack: true });
  }
  return runs;
}

const root = mkdtempSync(join(tmpdir(), "aria-numerics-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("the library reports numerics contract 2", async () => {
  expect(await numericsContract()).toBe(2);
  expect((await kernelInfo()).numericsContract).toBe(2);
});

describe("logits bit-identical across tables, threads, batches and layouts", () => {
  const cases: Array<{ name: string; model: () => Promise<string>; head: OutputHead; kv: KvType }> =
    [
      {
        name: "TQ2_0 bitnet-b1.58 (ReLU²), F16 head, f32 KV",
        model: () => testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" }),
        head: "float",
        kv: "f32",
      },
      {
        name: "TQ1_0 bitnet (SiLU), int8 head, f16 KV",
        model: () => testModel({ preset: "tiny", arch: "bitnet", type: "tq1_0" }),
        head: "int8",
        kv: "f16",
      },
      {
        name: "I2_S llama (own F32 output), f32 KV",
        model: () => testModel({ preset: "tiny", arch: "llama", type: "i2_s", embdType: "f32" }),
        head: "float",
        kv: "f32",
      },
      {
        name: "TQ2_0 bitnet, int4 head (x16), f16 KV",
        model: () => testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" }),
        head: "int4",
        kv: "f16",
      },
      {
        name: "I2_S bitnet-b1.58, int8 head, f32 KV",
        model: () => testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "i2_s" }),
        head: "int8",
        kv: "f32",
      },
      {
        name: "fallback Q4_0 projections (hidden 384, FFN 864, TQ2_0 conversion), f16 KV",
        model: () => {
          writeHfCheckpoint(join(root, "awkward"), {
            nEmbd: 384,
            nFf: 864,
            nLayer: 2,
            nHead: 4,
            nHeadKv: 2,
            nVocab: 300,
          });
          return Promise.resolve(
            convertCheckpoint(join(root, "awkward"), join(root, "awkward.gguf"), "tq2_0").out,
          );
        },
        head: "float",
        kv: "f16",
      },
      {
        name: "fallback F16 ffn_down (hidden 256, FFN 872), int8 head, f32 KV",
        model: () => {
          writeHfCheckpoint(join(root, "odd"), {
            nEmbd: 256,
            nFf: 872,
            nLayer: 2,
            nHead: 4,
            nHeadKv: 2,
            nVocab: 300,
          });
          return Promise.resolve(
            convertCheckpoint(join(root, "odd"), join(root, "odd.gguf"), "tq2_0").out,
          );
        },
        head: "int8",
        kv: "f32",
      },
    ];
  for (const c of cases) {
    test(c.name, async () => {
      const path = await c.model();
      const want = await runLogits(path, c.head, c.kv, {
        kernels: "ref",
        threads: 1,
        schedule: "one",
      });
      expect(want.size).toBeGreaterThan(10);
      for (const run of variants()) {
        const got = await runLogits(path, c.head, c.kv, run);
        try {
          expectSame(got, want);
        } catch (err: unknown) {
          // converts the failure into one that names the run
          throw new Error(`Logits differ from the reference run: ${JSON.stringify(run)}`, {
            cause: err,
          });
        }
      }
      // the prompt-cache reuse path (truncate to a prefix, evaluate the rest again), on the
      // fastest table: the re-evaluated positions give the same logits again
      const fast = TABLES[TABLES.length - 1]!;
      const reused = await runLogits(path, c.head, c.kv, {
        kernels: fast,
        threads: 2,
        schedule: "mixed",
      }, true);
      expectSame(reused, want);
    });
  }
});
