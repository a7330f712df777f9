/**
 * @module What a second core gives prefill, for ARIA and llama.cpp, measured three ways on the same
 * file: one process with 1 thread, one process with 2 threads, and two 1-thread processes at once.
 * The third case shares nothing in software (no threadpool, no barrier, no shared buffers), so its
 * per-process speed against the first shows what the machine itself (shared caches, memory,
 * frequency, the hypervisor) takes away when both cores run this engine's kernels; the second case
 * against the third shows what the engine's threading costs on top.
 *
 * Usage: bun benchmarks/engine/scaling.bench.ts [--file 2b-4t:tq2_0] [--pp 64] [--reps 3]
 *          [--out benchmarks/results/engine-scaling.json]
 *
 * Runs are interleaved (aria 1, aria 2, aria 1+1, llama 1, llama 2, llama 1+1, repeated) and the
 * figures are medians. Run it on a quiet machine: any other load falsifies all three cases.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { llamaOraclePath } from "../../tests/helpers/llama-oracle.ts";
import { ariaBenchCommand, median, modelFile } from "./_files.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    file: { type: "string", default: "2b-4t:tq2_0" },
    pp: { type: "string", default: "64" },
    reps: { type: "string", default: "3" },
    out: { type: "string", default: join(ROOT, "benchmarks", "results", "engine-scaling.jsonl") },
  },
});
const pp = Number(values.pp);
const reps = Number(values.reps);
const path = await modelFile(values.file!);

/** The command for one prefill measurement (pp tokens, 1 repetition after a warm-up). */
function command(engine: "aria" | "llama.cpp", threads: number): string[] {
  if (engine === "aria") {
    return ariaBenchCommand(path, threads, pp, 0);
  }
  return [
    llamaOraclePath(),
    "bench",
    path,
    "--threads",
    String(threads),
    "--pp",
    String(pp),
    "--tg",
    "0",
    "--reps",
    "1",
    "--depth",
    "0",
    "--kv",
    "f16",
    "--flash-attn",
    "auto",
  ];
}

/** Prefill tokens/s from one process's JSON output. */
function ppTps(engine: "aria" | "llama.cpp", stdout: string): number {
  const r = JSON.parse(stdout);
  return engine === "aria" ? (r.pp_tps as number) : (pp * 1000) / median(r.pp_ms as number[]);
}

/** Runs `count` processes of the engine at once; their prefill speeds. */
async function run(
  engine: "aria" | "llama.cpp",
  threads: number,
  count: number,
): Promise<number[]> {
  const procs = Array.from(
    { length: count },
    () => Bun.spawn(command(engine, threads), { stdout: "pipe", stderr: "pipe" }),
  );
  return await Promise.all(procs.map(async (p) => {
    const out = await new Response(p.stdout).text();
    if ((await p.exited) !== 0) {
      throw new Error(
        `${engine} bench failed: ${(await new Response(p.stderr).text()).slice(-400)}`,
      );
    }
    return ppTps(engine, out);
  }));
}

const engines = ["aria", "llama.cpp"] as const;
const one: Record<string, number[]> = { aria: [], "llama.cpp": [] };
const two: Record<string, number[]> = { aria: [], "llama.cpp": [] };
const pair: Record<string, number[]> = { aria: [], "llama.cpp": [] };
for (let r = 0; r < reps; r++) {
  for (const e of engines) {
    one[e]!.push(...(await run(e, 1, 1)));
    two[e]!.push(...(await run(e, 2, 1)));
    pair[e]!.push(...(await run(e, 1, 2)));
    console.error(`rep ${r + 1}/${reps} ${e} done`);
  }
}

const rows = engines.map((e) => {
  const o = median(one[e]!), t = median(two[e]!), p = median(pair[e]!);
  return {
    engine: e,
    pp1_tps: o,
    pp2_tps: t,
    pp_each_of_two_processes_tps: p,
    threads_2_speedup: t / o,
    machine_share: p / o, // what each of two independent processes keeps of one alone
    runs: { one: one[e], two: two[e], pair: pair[e] },
  };
});
const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout
  .toString().trim();
const record = {
  date: new Date().toISOString(),
  commit,
  file: values.file,
  pp,
  reps,
  command: `bun benchmarks/engine/scaling.bench.ts --file ${values.file} --pp ${pp} --reps ${reps}`,
  rows,
};
mkdirSync(dirname(values.out!), { recursive: true });
appendFileSync(values.out!, JSON.stringify(record) + "\n");
const f = (x: number) => x.toFixed(2);
console.log(
  `| engine | pp${pp} 1 thread | 2 threads | × | each of two 1-thread processes | share |`,
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.engine} | ${f(r.pp1_tps)} | ${f(r.pp2_tps)} | ${f(r.threads_2_speedup)} | ${
      f(r.pp_each_of_two_processes_tps)
    } | ${f(r.machine_share)} |`,
  );
}
