/**
 * @module Peak resident memory (benchmarks/METHODOLOGY.md, "Peak RSS"): for each file, head and
 * kernel table, the peak RSS of an `aria bench --pp PP --tg TG --reps 1` process (what the engine
 * suite records), and where it comes from: the same run in a small C driver against libbitnet
 * (rss-phases.c: VmHWM / RssAnon / RssFile and the model mapping's resident KiB after load,
 * repack, head, context, prefill and decode), a bare `bun` process and `bun src/main.ts bench
 * --help` (the JS runtime with the CLI loaded, which C++ peers do not carry). Peers, when their
 * build directories are given: `llama-bench -p PP -n TG -t THREADS -r 1` of bitnet.cpp on the I2_S
 * file and of ik_llama.cpp on its IQ2_BN copies (Q6_K and F16 heads) where they exist next to it
 * (_peers.ts names; made by the suite). Every process runs at nice 19; peak RSS does not depend on
 * load, so the machine may be busy; it does depend a little on the page cache (a fault maps the
 * whole cached folio around it, in the bun executable too), so each process runs --reps times and
 * the median, min and max are kept.
 *
 * Usage: bun benchmarks/engine/rss.bench.ts [--files large:i2_s,large:tq2_0,2b-4t:i2_s,2b-4t:tq2_0]
 *          [--models benchmarks/models] [--heads int8,float] [--kernels auto,avx2] [--pp 128]
 *          [--tg 64] [--threads 1] [--reps 3] [--bitnet-cpp DIR] [--ik-llama DIR] [--root DIR]
 *          [--out benchmarks/results/engine-rss.json]
 * --root: the checkout whose `src/main.ts` and `native/` are measured (default: this one), e.g. a
 * worktree of an older commit for a before / after comparison (it needs a node_modules link).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ariaBenchCommand, median, modelFile } from "./_files.ts";
import { peerSpecs } from "./_peers.ts";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "large:i2_s,large:tq2_0,2b-4t:i2_s,2b-4t:tq2_0" },
    models: { type: "string", default: join(import.meta.dir, "..", "models") },
    heads: { type: "string", default: "int8,float" },
    kernels: { type: "string", default: "auto,avx2" },
    pp: { type: "string", default: "128" },
    tg: { type: "string", default: "64" },
    threads: { type: "string", default: "1" },
    reps: { type: "string", default: "3" },
    "bitnet-cpp": { type: "string" },
    "ik-llama": { type: "string" },
    root: { type: "string", default: join(import.meta.dir, "..", "..") },
    out: { type: "string", default: join(import.meta.dir, "..", "results", "engine-rss.json") },
  },
});
const ROOT = values.root!;
const pp = Number(values.pp), tg = Number(values.tg), threads = Number(values.threads);
const reps = Number(values.reps);
const MiB = 2 ** 20;

/** Median, min and max of the peak RSS of `reps` runs of cmd, in MiB (one decimal). */
function peak(cmd: string[]): { median: number; min: number; max: number } {
  const xs = Array.from({ length: reps }, () => run(cmd).maxRss / MiB).sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return { median: r(median(xs)), min: r(xs[0]!), max: r(xs.at(-1)!) };
}

/**
 * Runs cmd; its peak RSS is GNU time's (%M, KiB): Bun.spawn starts a child sharing this process's
 * memory until exec (vfork), and Linux then counts this process's peak in the child's maxrss, so
 * `resourceUsage.maxRSS` never reads below the parent's own RSS (about 25-35 MiB here; the suite's
 * figures of 290 MiB and more are above that floor).
 */
function run(cmd: string[]): { stdout: string; maxRss: number } {
  const p = Bun.spawnSync(["nice", "-n", "19", "/usr/bin/time", "-f", "maxrss_kib=%M", ...cmd], {
    stderr: "pipe",
  });
  const err = p.stderr.toString();
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${err.slice(-2000)}`);
  const kib = Number(/maxrss_kib=(\d+)\s*$/.exec(err)?.[1] ?? NaN);
  return { stdout: p.stdout.toString(), maxRss: kib * 1024 };
}

// the phase driver, linked statically against this checkout's libbitnet
run(["make", "-s", "-C", join(ROOT, "native")]);
const DRIVER = join(ROOT, "native", "build", "rss-phases");
mkdirSync(join(DRIVER, ".."), { recursive: true });
run([
  "cc",
  "-std=c11",
  "-O2",
  "-I",
  join(ROOT, "native", "include"),
  join(import.meta.dir, "rss-phases.c"),
  join(ROOT, "native", "build", "libbitnet.a"),
  "-lpthread",
  "-lm",
  "-o",
  DRIVER,
]);

/** The suite's file for "preset:type" in --models, or made by _files.ts when that is the default. */
async function fileOf(spec: string): Promise<string> {
  const [preset, type] = spec.split(":") as [string, string];
  const path = join(values.models!, `${preset}-bitnet-${type}-f16.gguf`);
  return existsSync(path) ? path : await modelFile(spec);
}

/** Peak RSS (MiB) of a peer's `llama-bench -p PP -n TG -t THREADS -r 1` on file. */
function peakOfPeer(binDir: string, file: string): number {
  const cmd = [join(binDir, "llama-bench"), "-m", file, "-t", String(threads), "-p", String(pp)];
  return run([...cmd, "-n", String(tg), "-r", "1", "-o", "json"]).maxRss / MiB;
}

const baselines = {
  bare_bun_mib: peak([process.execPath, "-e", "0"]),
  cli_bench_help_mib: peak([process.execPath, join(ROOT, "src", "main.ts"), "bench", "--help"]),
};
console.error(`baselines: ${JSON.stringify(baselines)}`);

const rows: Record<string, unknown>[] = [];
for (const spec of values.files!.split(",")) {
  const path = await fileOf(spec);
  for (const head of values.heads!.split(",")) {
    for (const kernels of values.kernels!.split(",")) {
      const bench = peak(
        ariaBenchCommand(
          path,
          threads,
          pp,
          tg,
          ["--output-head", head, "--kernels", kernels],
          ROOT,
        ),
      );
      const phases = run([DRIVER, path, kernels, head, String(pp), String(tg), String(threads)])
        .stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>);
      const row = {
        file: spec,
        engine: "aria",
        head,
        kernels,
        peak_rss_mib: bench.median,
        peak_rss_mib_range: [bench.min, bench.max],
        native_peak_mib: Math.round((Number(phases.at(-1)?.hwm_kib) / 1024) * 10) / 10,
        phases,
      };
      console.error(
        `${spec} aria ${head} ${kernels}: ${row.peak_rss_mib} MiB (libbitnet alone ${row.native_peak_mib})`,
      );
      rows.push(row);
    }
  }
  if (spec.endsWith(":i2_s")) {
    for (const peer of peerSpecs(values["bitnet-cpp"], values["ik-llama"])) {
      if (peer.quantType === "IQ2_BN_R4") continue; // the same bytes as IQ2_BN (the suite: same peak)
      const file = peer.quantType === undefined ? path : path.replace(
        /\.gguf$/,
        `.ik-${peer.quantType.toLowerCase()}${peer.f16Head ? "-f16" : ""}.gguf`,
      );
      if (!existsSync(file)) {
        console.error(`${spec} ${peer.engine}: no ${file} (the suite makes it), skipped`);
        continue;
      }
      let xs: number[];
      try {
        xs = Array.from({ length: reps }, () => peakOfPeer(peer.binDir, file)).sort((a, b) =>
          a - b
        );
      } catch (e: unknown) { // e.g. a copy the suite is still writing: reported, not recorded
        console.error(`${spec} ${peer.engine}: ${e instanceof Error ? e.message : e}, skipped`);
        continue;
      }
      const row = {
        file: spec,
        engine: peer.engine,
        head: peer.quantType === undefined || peer.f16Head ? "f16" : "q6_k",
        peak_rss_mib: Math.round(median(xs) * 10) / 10,
        peak_rss_mib_range: [Math.round(xs[0]! * 10) / 10, Math.round(xs.at(-1)! * 10) / 10],
      };
      console.error(`${spec} ${peer.engine}: ${row.peak_rss_mib} MiB`);
      rows.push(row);
    }
  }
}

const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout
  .toString().trim();
writeFileSync(
  values.out!,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      commit,
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      pp,
      tg,
      threads,
      reps,
      command: `bun benchmarks/engine/rss.bench.ts ${process.argv.slice(2).join(" ")}`,
      baselines,
      rows,
    },
    null,
    1,
  ) + "\n",
);
console.error(`wrote ${values.out}`);
