/**
 * @module Decode speed against context length (issue 6: "measure tokens/s at context 32, 512 and
 * 2048"): tg of N tokens decoded one by one after D random tokens already sit in the KV cache
 * (llama-bench's -d), for ARIA with an f32 and an f16 KV cache and for llama.cpp (its default f16
 * cache, flash attention auto), each run in its own process, engines interleaved, medians of the
 * repetitions. Same generated 2B-4T-sized TQ2_0 file as the engine suite.
 *
 * Usage: bun benchmarks/engine/context.bench.ts [--file 2b-4t:tq2_0] [--depths 32,512,2048]
 *          [--threads 2] [--tg 32] [--reps 3] [--output-head float]
 * Writes benchmarks/results/engine-context.json and prints a Markdown table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ariaBenchCommand, median, modelFile } from "./_files.ts";
import { llamaBench } from "../../tests/helpers/llama-oracle.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    file: { type: "string", default: "2b-4t:tq2_0" },
    depths: { type: "string", default: "32,512,2048" },
    threads: { type: "string", default: "2" },
    tg: { type: "string", default: "32" },
    reps: { type: "string", default: "3" },
    "output-head": { type: "string", default: "float" },
  },
});
const depths = values.depths!.split(",").map(Number);
const threads = Number(values.threads);
const tg = Number(values.tg);
const reps = Number(values.reps);

function aria(path: string, depth: number, kv: "f32" | "f16"): number {
  const p = Bun.spawnSync(
    ariaBenchCommand(path, threads, 0, tg, [
      "--depth",
      String(depth),
      "--kv-type",
      kv,
      "--output-head",
      values["output-head"]!,
    ]),
    { stderr: "inherit" },
  );
  if (p.exitCode !== 0) throw new Error(`aria bench failed at depth ${depth}`);
  return (JSON.parse(p.stdout.toString()) as { tg_tps: number }).tg_tps;
}

const path = await modelFile(values.file!);
const engines = ["aria f32 KV", "aria f16 KV", "llama.cpp f16 KV"] as const;
const runs: Record<string, Record<number, number[]>> = {};
for (const e of engines) runs[e] = Object.fromEntries(depths.map((d) => [d, []]));
const load0 = loadavg()[0]!;
for (let r = 0; r < reps; r++) {
  for (const d of depths) {
    // engines in a rotated order each repetition, so drift in machine load hits all of them
    const order = engines.map((_, i) => engines[(i + r) % engines.length]!);
    for (const e of order) {
      const tps = e === "llama.cpp f16 KV"
        ? llamaBench(path, { threads, pp: 0, tg, reps: 1, depth: d }).tgTps
        : aria(path, d, e === "aria f16 KV" ? "f16" : "f32");
      runs[e]![d]!.push(tps);
      console.error(`rep ${r + 1} depth ${d} ${e}: ${tps.toFixed(2)} t/s`);
    }
  }
}
const rows = depths.map((d) => {
  const m = Object.fromEntries(engines.map((e) => [e, median(runs[e]![d]!)]));
  return { depth: d, ...m, runs: Object.fromEntries(engines.map((e) => [e, runs[e]![d]])) };
});
const result = {
  date: new Date().toISOString(),
  commit: Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim(),
  cpu: cpus()[0]?.model,
  file: values.file,
  threads,
  tg,
  reps,
  output_head: values["output-head"],
  load_average_start: load0,
  load_average_end: loadavg()[0],
  rows,
};
mkdirSync(join(ROOT, "benchmarks", "results"), { recursive: true });
writeFileSync(
  join(ROOT, "benchmarks", "results", "engine-context.json"),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(`| depth | ${engines.join(" | ")} | f16/f32 | ARIA f16 / llama.cpp |`);
console.log(`| --- | ${engines.map(() => "---").join(" | ")} | --- | --- |`);
for (const row of rows) {
  const r = row as unknown as Record<string, number>;
  const [a, b, l] = engines.map((e) => r[e]!);
  console.log(
    `| ${row.depth} | ${a!.toFixed(2)} | ${b!.toFixed(2)} | ${l!.toFixed(2)} | ${
      (b! / a!).toFixed(2)
    } | ${(b! / l!).toFixed(2)} |`,
  );
}
