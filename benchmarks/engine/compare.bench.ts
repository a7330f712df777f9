/**
 * @module ARIA against llama.cpp on the same GGUF file, llama-bench style: pp (prefill of N
 * random tokens in one batch) and tg (N tokens decoded one by one from an empty cache), at each
 * thread count, the two engines' runs interleaved (A B A B …) so that a busy neighbour hurts both
 * alike; medians of the repetitions; one JSON row per (engine, threads) appended to
 * benchmarks/results/engine-compare.jsonl, with the commit and machine.
 *
 * llama.cpp runs through tests/helpers/llama-oracle.ts (node-llama-cpp's prebuilt CPU build,
 * KV cache F16 and flash attention "auto" as llama-bench's defaults). ARIA runs through
 * `aria bench` in this process (KV cache f32).
 *
 * Usage:
 *   bun benchmarks/engine/compare.bench.ts [--model PATH] [--threads 1,2] [--pp 128] [--tg 64] [--reps 5]
 * Without --model it generates the 2B-4T-sized TQ2_0 `bitnet` file (F16 embedding, Llama-3
 * vocabulary) into benchmarks/models/ (git-ignored) first.
 */
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBench } from "../../src/cli/bench.ts";
import { llamaBench } from "../../tests/helpers/llama-oracle.ts";
import { makeModel } from "../../scripts/make-model.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    threads: { type: "string", default: "1,2" },
    pp: { type: "string", default: "128" },
    tg: { type: "string", default: "64" },
    reps: { type: "string", default: "5" },
  },
});

async function defaultModel(): Promise<string> {
  const dir = join(ROOT, "benchmarks", "models");
  const path = join(dir, "2b-4t-bitnet-tq2_0-f16.gguf");
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    console.error(`generating ${path} …`);
    await makeModel({ preset: "2b-4t", arch: "bitnet", type: "tq2_0", out: path });
  }
  return path;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const model = values.model ?? await defaultModel();
const pp = Number(values.pp);
const tg = Number(values.tg);
const reps = Number(values.reps);
const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout
  .toString().trim();
const cpu = cpus()[0]?.model ?? "unknown";
const rows: Record<string, unknown>[] = [];

for (const threads of values.threads!.split(",").map(Number)) {
  const aria = { pp: [] as number[], tg: [] as number[] };
  const llama = { pp: [] as number[], tg: [] as number[] };
  for (let r = 0; r < reps; r++) {
    // one repetition of each engine per round, alternating which goes first
    const runAria = async () => {
      const a = await runBench({
        verb: "bench",
        model,
        threads,
        pp,
        tg,
        seqs: 1,
        reps: 1,
        json: true,
        outputHead: "float",
        repack: true,
        depth: 0,
        kvType: "f32",
      });
      if (a.pp_tps !== null) aria.pp.push(a.pp_tps);
      if (a.tg_tps !== null) aria.tg.push(a.tg_tps);
    };
    const runLlama = () => {
      const l = llamaBench(model, { threads, pp, tg, reps: 1 });
      if (pp > 0) llama.pp.push(l.ppTps);
      if (tg > 0) llama.tg.push(l.tgTps);
    };
    if (r % 2 === 0) {
      await runAria();
      runLlama();
    } else {
      runLlama();
      await runAria();
    }
  }
  for (const [engine, m] of [["aria", aria], ["llama.cpp", llama]] as const) {
    rows.push({
      commit,
      date: new Date().toISOString(),
      cpu,
      engine,
      model,
      threads,
      pp,
      tg,
      reps,
      pp_tps: pp > 0 ? median(m.pp) : null,
      tg_tps: tg > 0 ? median(m.tg) : null,
      pp_runs: m.pp,
      tg_runs: m.tg,
    });
  }
  const a = rows.at(-2)!;
  const l = rows.at(-1)!;
  console.log(
    `threads ${threads}: pp${pp} aria ${(a.pp_tps as number).toFixed(1)} llama.cpp ${
      (l.pp_tps as number).toFixed(1)
    } (x${((a.pp_tps as number) / (l.pp_tps as number)).toFixed(2)}) | tg${tg} aria ${
      (a.tg_tps as number).toFixed(1)
    } llama.cpp ${(l.tg_tps as number).toFixed(1)} (x${
      ((a.tg_tps as number) / (l.tg_tps as number)).toFixed(2)
    })`,
  );
}
mkdirSync(join(ROOT, "benchmarks", "results"), { recursive: true });
appendFileSync(
  join(ROOT, "benchmarks", "results", "engine-compare.jsonl"),
  rows.map((r) => JSON.stringify(r)).join("\n") + "\n",
);
