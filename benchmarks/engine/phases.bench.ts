/**
 * @module Where a decode step's time goes, phase by phase: libbitnet built with forward.c's phase
 * timers (-DARIA_PHASE_TIMES, into native/build/phases; the library proper has no timers) and
 * benchmarks/engine/phases.c, on the suite's generated files loaded as `aria serve` loads them
 * (repacked, int8 head unless --head says float or int4). For each thread count and sequence count: STEPS decode steps (one token
 * per sequence, logits for all) after 2 warm-up steps, in a fresh process per repetition, the
 * median over repetitions of each phase's milliseconds per step: the blocks' matmuls, the output
 * head, activation quantization, RoPE + KV stores, attention, the FFN activation, the norms, and
 * the rest ("other": embedding, residual adds, the pool's starts and barriers outside the phases).
 * Wall time on a shared machine: compare phases within one run, not across runs.
 *
 * Usage: bun benchmarks/engine/phases.bench.ts [--files 2b-4t:tq2_0] [--threads 1,2] [--seqs 1,4]
 *          [--steps 32] [--reps 3] [--head int8] [--kernels auto] [--pin]
 *          [--out benchmarks/results/engine-phases.json]
 * --kernels: auto, avx2, avxvnni, avx512, ref (phases.c, aria_kernels_set); --pin: 1-thread runs on
 * CPU 1 only (taskset), for a steadier figure on a shared machine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median, modelFile } from "./_files.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    files: { type: "string", default: "2b-4t:tq2_0" },
    threads: { type: "string", default: "1,2" },
    seqs: { type: "string", default: "1,4" },
    steps: { type: "string", default: "32" },
    reps: { type: "string", default: "3" },
    head: { type: "string", default: "int8" },
    kernels: { type: "string", default: "auto" },
    pin: { type: "boolean", default: false },
    out: { type: "string", default: "benchmarks/results/engine-phases.json" },
  },
});

function run(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { cwd: ROOT, stderr: "pipe", stdout: "pipe" });
  if (r.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
  }
  return r.stdout.toString();
}

run(["make", "-s", "-C", "native", "BUILD=build/phases", "CFLAGS=-DARIA_PHASE_TIMES"]);
const exe = join(ROOT, "node_modules", ".cache", "aria-bench", "phases");
mkdirSync(join(exe, ".."), { recursive: true });
run([
  "cc",
  "-std=c11",
  "-O2",
  "-D_GNU_SOURCE",
  "-DARIA_PHASE_TIMES",
  "-Inative/include",
  "-Inative/src",
  join(import.meta.dir, "phases.c"),
  "native/build/phases/libbitnet.a",
  "-lm",
  "-pthread",
  "-o",
  exe,
]);

interface Row {
  file: string;
  kernels: string;
  threads: number;
  seqs: number;
  tps: number;
  ms_per_step: Record<string, number>;
  runs: { tps: number; ms_per_step: Record<string, number> }[];
}
const rows: Row[] = [];
for (const spec of values.files!.split(",")) {
  const path = await modelFile(spec);
  for (const threads of values.threads!.split(",").map(Number)) {
    for (const seqs of values.seqs!.split(",").map(Number)) {
      const runs: Row["runs"] = [];
      for (let r = 0; r < Number(values.reps); r++) {
        const cmd = [
          exe,
          path,
          String(threads),
          String(seqs),
          values.steps!,
          values.head!,
          values.kernels!,
        ];
        const out = run(values.pin && threads === 1 ? ["taskset", "-c", "1", ...cmd] : cmd);
        const j = JSON.parse(out) as { tps: number; ms_per_step: Record<string, number> };
        runs.push({ tps: j.tps, ms_per_step: j.ms_per_step });
      }
      const phases = Object.keys(runs[0]!.ms_per_step);
      const row: Row = {
        file: spec,
        kernels: values.kernels!,
        threads,
        seqs,
        tps: median(runs.map((x) => x.tps)),
        ms_per_step: Object.fromEntries(
          phases.map((k) => [k, median(runs.map((x) => x.ms_per_step[k]!))]),
        ),
        runs,
      };
      rows.push(row);
      console.error(JSON.stringify({ ...row, runs: undefined }));
    }
  }
}

const commit = run(["git", "rev-parse", "--short", "HEAD"]).trim();
writeFileSync(
  resolve(ROOT, values.out!),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      commit,
      cpu: cpus()[0]?.model ?? "unknown",
      command: `bun benchmarks/engine/phases.bench.ts ${Bun.argv.slice(2).join(" ")}`.trim(),
      head: values.head,
      kernels: values.kernels,
      rows,
    },
    null,
    1,
  ) + "\n",
);
const f = (x: number | undefined) => (x === undefined ? "–" : x.toFixed(2));
const phases = Object.keys(rows[0]?.ms_per_step ?? {});
console.log(`| file | threads | seqs | t/s | ${phases.join(" | ")} |`);
console.log(`| --- | --- | --- | --- | ${phases.map(() => "---").join(" | ")} |`);
for (const r of rows) {
  console.log(
    `| ${r.file} | ${r.threads} | ${r.seqs} | ${r.tps.toFixed(1)} | ${
      phases.map((k) => f(r.ms_per_step[k])).join(" | ")
    } |`,
  );
}
