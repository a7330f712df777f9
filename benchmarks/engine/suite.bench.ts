/**
 * @module The engine speed suite (benchmarks/METHODOLOGY.md): ARIA and llama.cpp side by side on
 * the same generated files — bitnet-b1.58-2B-4T's dimensions in TQ2_0, TQ1_0 and I2_S (ARIA only:
 * llama.cpp has no I2_S) and bitnet_b1_58-large's in TQ2_0, all with an F16 embedding — at each
 * thread count: pp (prefill of N random tokens) and tg (N tokens decoded one by one), each engine
 * in its own process per repetition, the engines' runs interleaved and their order rotated,
 * medians reported. Also: the ratio to llama.cpp, bytes read per decoded token, the decode
 * roofline from a STREAM-like read-bandwidth probe (bandwidth.c) measured in the same run, the
 * share of it reached, and each process's peak RSS.
 *
 * Engines: `aria` (the file as it is, but TQ1_0 repacked to TQ2_0 at load, the default),
 * `aria-int8head` (`--output-head int8`: the F16 head requantized to int8 at load, serve's default),
 * `aria-int4head` (`--output-head int4`: requantized to int4, an option with an accuracy cost),
 * `aria-int8head-norepack` (TQ1_0 files only: the int8 head with `--no-repack`, the TQ1_0 kernels),
 * `llama.cpp` (node-llama-cpp's prebuilt CPU build through tests/helpers/llama-oracle.ts,
 * llama-bench's defaults: F16 KV cache, flash attention auto), `llama.cpp-q6khead` (the same on the
 * file with a Q6_K embedding, the tied head llama.cpp's own quantizer writes).
 * Peers, when their builds are given (`--bitnet-cpp DIR`, `--ik-llama DIR`: the bin/ directories of
 * builds made outside the repository with ../shared/peers/; _peers.ts): `bitnet.cpp` (I2_S, F16
 * head) and `ik_llama.cpp:iq2_bn[_r4][-f16head]` (Q6_K or F16 head), on the I2_S files only (the
 * same weights: bitnet.cpp reads ARIA's I2_S file as it is, ik_llama.cpp requantizes it). Each row
 * also gets the ratio to the best peer of its file (the fastest of llama.cpp and these) and to the
 * best peer of its shape (every file of a preset holds the same weights). All engines on all files
 * of a preset run interleaved: one run of each per repetition, the order rotated.
 *
 * Usage: bun benchmarks/engine/suite.bench.ts [--files 2b-4t:tq2_0,2b-4t:tq1_0,2b-4t:i2_s,large:tq2_0]
 *          [--threads 1,2] [--pp 128] [--tg 64] [--reps 5] [--engines aria,aria-int8head,aria-int4head,aria-int8head-norepack,llama.cpp,llama.cpp-q6khead]
 *          [--kernels auto|avx2|avxvnni|avx512] [--bitnet-cpp DIR] [--ik-llama DIR]
 *          [--out benchmarks/results/engine-suite.json]
 * Writes the results (default benchmarks/results/engine-suite.json) and prints a Markdown table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ariaBenchCommand, bytesPerToken, median, modelFile } from "./_files.ts";
import type { OutputHead } from "../../src/engine/index.ts";
import { llamaBench } from "../../tests/helpers/llama-oracle.ts";
import { peerBench, peerModel, peerSpecs } from "./_peers.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    files: { type: "string", default: "2b-4t:tq2_0,2b-4t:tq1_0,2b-4t:i2_s,large:tq2_0" },
    threads: { type: "string", default: "1,2" },
    pp: { type: "string", default: "128" },
    tg: { type: "string", default: "64" },
    reps: { type: "string", default: "5" },
    engines: {
      type: "string",
      default:
        "aria,aria-int8head,aria-int4head,aria-int8head-norepack,llama.cpp,llama.cpp-q6khead",
    },
    out: { type: "string", default: "benchmarks/results/engine-suite.json" },
    kernels: { type: "string", default: "auto" },
    "bitnet-cpp": { type: "string" },
    "ik-llama": { type: "string" },
  },
});
const pp = Number(values.pp);
const tg = Number(values.tg);
const reps = Number(values.reps);
const threadList = values.threads!.split(",").map(Number);
const peers = peerSpecs(values["bitnet-cpp"], values["ik-llama"]);
const engines = [...values.engines!.split(","), ...peers.map((p) => p.engine)];

/** The output head each ARIA engine runs with. */
function headOf(engine: string): OutputHead {
  return engine.startsWith("aria-int8head")
    ? "int8"
    : engine === "aria-int4head"
    ? "int4"
    : "float";
}

const BANDWIDTH_EXE = join(ROOT, "node_modules", ".cache", "aria-bench", "bandwidth");

function buildBandwidth(): void {
  mkdirSync(join(BANDWIDTH_EXE, ".."), { recursive: true });
  const cc = Bun.spawnSync(
    ["cc", "-O2", "-mavx2", "-pthread", join(import.meta.dir, "bandwidth.c"), "-o", BANDWIDTH_EXE],
    { stderr: "inherit" },
  );
  if (cc.exitCode !== 0) throw new Error("cannot build bandwidth.c");
}

/** Read bandwidth in GB/s at each of the given thread counts (bandwidth.c, best of 5 passes). */
function bandwidth(threads: readonly number[]): Record<string, number> {
  const run = Bun.spawnSync([BANDWIDTH_EXE, "1024", "5", ...threads.map(String)]);
  return JSON.parse(run.stdout.toString()) as Record<string, number>;
}

interface Sample {
  pp: number[];
  tg: number[];
  rss: number[];
  /** aria only: aggregate tg tokens/s of 4 sequences decoded together. */
  tg4: number[];
}

function ariaBench(
  path: string,
  threads: number,
  head: OutputHead,
  ppTokens: number,
  extra: string[],
) {
  const args = ariaBenchCommand(path, threads, ppTokens, tg, [
    "--output-head",
    head,
    "--kernels",
    values.kernels!,
    ...extra,
  ]);
  const p = Bun.spawnSync(args, { stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error(`aria bench failed on ${path}`);
  const r = JSON.parse(p.stdout.toString()) as { pp_tps: number | null; tg_tps: number | null };
  return { ...r, rss: p.resourceUsage?.maxRSS ?? 0 };
}

function runAria(
  path: string,
  threads: number,
  head: OutputHead,
  repack: boolean,
  s: Sample,
): void {
  const r = ariaBench(path, threads, head, pp, repack ? [] : ["--no-repack"]);
  if (r.pp_tps !== null) s.pp.push(r.pp_tps);
  if (r.tg_tps !== null) s.tg.push(r.tg_tps);
  s.rss.push(r.rss);
  if (repack) {
    // batched decode: 4 sequences, one token each per step (the tokens count as 4), same head
    const b = ariaBench(path, threads, head, 0, ["--seqs", "4"]);
    if (b.tg_tps !== null) s.tg4.push(b.tg_tps);
  }
}

function runLlama(path: string, threads: number, s: Sample): void {
  const r = llamaBench(path, { threads, pp, tg, reps: 1 });
  if (pp > 0) s.pp.push(r.ppTps);
  if (tg > 0) s.tg.push(r.tgTps);
  s.rss.push(r.peakRssBytes);
}

const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout
  .toString().trim();
buildBandwidth();
const bw = bandwidth(threadList);
console.error(`read bandwidth: ${JSON.stringify(bw)}`);
const rows: Record<string, unknown>[] = [];
const specs = values.files!.split(",");
/** One engine on one file: the unit the runs interleave. */
interface Unit {
  spec: string;
  path: string;
  type: string;
  engine: string;
}
// The files of one preset hold the same weights (same seed; _files.ts): every engine on every file
// of a shape runs interleaved with the others, and each row gets the ratio to the best peer of its
// file and to the best peer of the shape (whatever its format).
for (const preset of [...new Set(specs.map((s) => s.split(":")[0]!))]) {
  const units: Unit[] = [];
  for (const spec of specs.filter((s) => s.split(":")[0] === preset)) {
    const type = spec.split(":")[1]!;
    // no I2_S in llama.cpp; the no-repack row only where there is something to repack;
    // peers: the I2_S files only
    for (
      const engine of engines.filter((e) =>
        (!e.startsWith("llama.cpp") || type !== "i2_s") &&
        (e !== "aria-int8head-norepack" || type === "tq1_0") &&
        (!peers.some((p) => p.engine === e) || type === "i2_s")
      )
    ) {
      const peer = peers.find((p) => p.engine === engine);
      const base = await modelFile(spec, engine === "llama.cpp-q6khead" ? "q6_k" : "f16");
      units.push({ spec, type, engine, path: peer ? peerModel(peer, base) : base });
    }
  }
  for (const threads of threadList) {
    const samples = units.map(() => ({ pp: [], tg: [], rss: [], tg4: [] } as Sample));
    // the machine's bandwidth drifts on a shared host: measured again before each repetition, and
    // the roofline of these rows uses the median of those measurements
    const gbsRuns: number[] = [];
    for (let r = 0; r < reps; r++) {
      gbsRuns.push(bandwidth([threads])[`threads_${threads}_gbs`] ?? NaN);
      for (let k = 0; k < units.length; k++) {
        const i = (k + r) % units.length; // rotated order each repetition
        const u = units[i]!, s = samples[i]!;
        const peer = peers.find((p) => p.engine === u.engine);
        if (peer !== undefined) {
          const b = peerBench(peer, u.path, threads, pp, tg);
          s.pp.push(b.ppTps);
          s.tg.push(b.tgTps);
          s.rss.push(b.rss);
        } else if (u.engine.startsWith("llama.cpp")) runLlama(u.path, threads, s);
        else runAria(u.path, threads, headOf(u.engine), u.engine !== "aria-int8head-norepack", s);
      }
    }
    const isPeer = (e: string) => e.startsWith("llama.cpp") || peers.some((p) => p.engine === e);
    /** The best peer's medians among the units of `keep`, and its name. */
    const best = (keep: (u: Unit) => boolean) => {
      const runs = units.map((u, i) => ({ u, s: samples[i]! })).filter(({ u }) =>
        isPeer(u.engine) && keep(u)
      );
      // the fastest median (a NaN median, a failed measurement, never wins; none at all: NaN)
      const by = (f: (s: Sample) => number[]) =>
        runs.reduce<{ v: number; name: string | null }>(
          (b, { u, s }) =>
            median(f(s)) > b.v || (Number.isNaN(b.v) && !Number.isNaN(median(f(s))))
              ? { v: median(f(s)), name: `${u.engine} (${u.spec})` }
              : b,
          { v: NaN, name: null },
        );
      return { pp: by((s) => s.pp), tg: by((s) => s.tg), any: runs.length > 0 };
    };
    const shapeBest = best(() => true);
    const gbs = median(gbsRuns);
    units.forEach((u, i) => {
      const s = samples[i]!;
      const fileBest = best((v) => v.spec === u.spec);
      const llama = units.findIndex((v) => v.spec === u.spec && v.engine === "llama.cpp");
      const ls = llama >= 0 ? samples[llama]! : undefined;
      // aria repacks TQ1_0 blocks to TQ2_0 (unless --no-repack): it reads those bytes
      const repacked = u.engine.startsWith("aria") && u.engine !== "aria-int8head-norepack";
      // handled here: a peer's own format (ik_llama.cpp's IQ2_BN, type 135) is not one ARIA's
      // GGUF reader knows, so that row has no roofline instead of ending the run
      let bpt = Number.NaN;
      try {
        bpt = bytesPerToken(
          u.path,
          u.engine.startsWith("aria") ? headOf(u.engine) : "float",
          repacked,
        );
      } catch { /* NaN: no roofline */ }
      const roofline = (gbs * 1e9) / bpt;
      const row = {
        file: u.spec,
        engine: u.engine,
        threads,
        repacked: repacked && u.type === "tq1_0",
        pp_tps: median(s.pp),
        tg_tps: median(s.tg),
        pp_vs_llama: ls ? median(s.pp) / median(ls.pp) : null,
        tg_vs_llama: ls ? median(s.tg) / median(ls.tg) : null,
        pp_vs_best_peer: fileBest.any ? median(s.pp) / fileBest.pp.v : null,
        tg_vs_best_peer: fileBest.any ? median(s.tg) / fileBest.tg.v : null,
        pp_vs_best_peer_shape: shapeBest.any ? median(s.pp) / shapeBest.pp.v : null,
        tg_vs_best_peer_shape: shapeBest.any ? median(s.tg) / shapeBest.tg.v : null,
        best_peer_shape_pp: shapeBest.pp.name,
        best_peer_shape_tg: shapeBest.tg.name,
        bytes_per_token: bpt,
        bandwidth_gbs: gbs,
        bandwidth_runs_gbs: gbsRuns,
        roofline_tg_tps: roofline,
        pct_roofline: (100 * median(s.tg)) / roofline,
        peak_rss_mib: Math.round(Math.max(...s.rss) / 2 ** 20),
        tg_4seq_tps: s.tg4.length > 0 ? median(s.tg4) : null,
        tg_4seq_scaling: s.tg4.length > 0 ? median(s.tg4) / median(s.tg) : null,
        pp_runs: s.pp,
        tg_runs: s.tg,
      };
      rows.push(row);
      console.error(JSON.stringify({ ...row, pp_runs: undefined, tg_runs: undefined }));
    });
  }
}

const result = {
  date: new Date().toISOString(),
  commit,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  kernels: values.kernels,
  pp,
  tg,
  reps,
  bandwidth_gbs: bw,
  command: `bun benchmarks/engine/suite.bench.ts ${Bun.argv.slice(2).join(" ")}`.trim(),
  rows,
};
mkdirSync(join(ROOT, "benchmarks", "results"), { recursive: true });
writeFileSync(
  resolve(ROOT, values.out!),
  JSON.stringify(result, null, 1) + "\n",
);

const f = (x: number | null, d = 1) => (x === null || Number.isNaN(x) ? "–" : x.toFixed(d));
console.log(
  "| file | engine | threads | pp t/s | × llama.cpp | × best peer (file) | × best peer (shape) | tg t/s | × llama.cpp | × best peer (file) | × best peer (shape) | % roofline | 4 seqs | peak RSS MiB |",
);
console.log(
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
);
for (const r of rows as Array<Record<string, number | null | string>>) {
  console.log(
    `| ${r.file} | ${r.engine} | ${r.threads} | ${f(r.pp_tps as number)} | ${
      f(r.pp_vs_llama as number | null, 2)
    } | ${f(r.pp_vs_best_peer as number | null, 2)} | ${
      f(r.pp_vs_best_peer_shape as number | null, 2)
    } | ${f(r.tg_tps as number)} | ${f(r.tg_vs_llama as number | null, 2)} | ${
      f(r.tg_vs_best_peer as number | null, 2)
    } | ${f(r.tg_vs_best_peer_shape as number | null, 2)} | ${f(r.pct_roofline as number, 0)} | ${
      r.tg_4seq_scaling === null ? "–" : `${f(r.tg_4seq_scaling as number, 2)}×`
    } | ${r.peak_rss_mib} |`,
  );
}
