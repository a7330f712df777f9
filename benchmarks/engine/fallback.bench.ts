/**
 * @module What the converter's fallback costs at decode time: one generated checkpoint whose rows
 * are multiples of 128 but not of 256 (hidden 1664, FFN 4480, like bitnet_b1_58-3B's 3200), so
 * `--type i2_s` keeps every projection ternary and `--type tq2_0` sends every projection to the
 * Q4_0 fallback (docs/engine.md "Fallback projections"). Decodes N tokens one by one with each
 * file, alternating, and prints the median tokens/s and the load average.
 *
 * Usage: bun benchmarks/engine/fallback.bench.ts [--layers 2] [--threads 2] [--tg 32] [--reps 3]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openModel } from "../../src/engine/index.ts";
import { convertCheckpoint } from "../../src/model/convert-files.ts";
import { writeHfCheckpoint } from "../../tests/helpers/hf-checkpoint.ts";

const { values } = parseArgs({
  options: {
    layers: { type: "string", default: "2" },
    threads: { type: "string", default: "2" },
    tg: { type: "string", default: "32" },
    reps: { type: "string", default: "3" },
  },
});
const tg = Number(values.tg);
const dims = {
  nEmbd: 1664,
  nFf: 4480,
  nLayer: Number(values.layers),
  nHead: 16,
  nHeadKv: 16,
  nVocab: 300,
};

const dir = mkdtempSync(join(tmpdir(), "aria-fallback-bench-"));
try {
  writeHfCheckpoint(join(dir, "ckpt"), dims);
  const files = {
    i2_s: convertCheckpoint(join(dir, "ckpt"), join(dir, "i2_s.gguf"), "i2_s"),
    "tq2_0 (all Q4_0)": convertCheckpoint(join(dir, "ckpt"), join(dir, "tq2_0.gguf"), "tq2_0"),
  };
  const speeds: Record<string, number[]> = {};
  const load = loadavg()[0]!;
  for (let rep = 0; rep < Number(values.reps); rep++) {
    for (const [name, r] of Object.entries(files)) {
      using model = await openModel(r.out);
      using ctx = model.createContext({ nCtx: tg + 8, nThreads: Number(values.threads) });
      ctx.decode([256]);
      const t0 = performance.now();
      for (let i = 0; i < tg; i++) ctx.decode([72 + (i % 20)]);
      (speeds[name] ??= []).push(tg / ((performance.now() - t0) / 1000));
    }
  }
  console.log(
    `hidden ${dims.nEmbd}, FFN ${dims.nFf}, ${dims.nLayer} layers, ${values.threads} threads`,
  );
  console.log("| file | size MB | decode tokens/s (median) |\n| --- | --- | --- |");
  for (const [name, r] of Object.entries(files)) {
    const s = [...speeds[name]!].sort((a, b) => a - b)[speeds[name]!.length >> 1]!;
    console.log(`| ${name} | ${(r.bytes / 1e6).toFixed(1)} | ${s.toFixed(1)} |`);
  }
  console.log(`load average ${load.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
