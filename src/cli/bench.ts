/**
 * @module `aria bench`: prefill and decode tokens/s, llama-bench style — random prompt tokens,
 * end of sequence ignored, a cold KV cache for every repetition, pp and tg runs interleaved,
 * medians reported. Tokenization and sampling are not part of the timing.
 */
import { defaultThreads, kernelInfo } from "../engine/index.ts";
import { openCliModel } from "./_open.ts";
import { createRng } from "../generation/index.ts";
import type { BenchCommand } from "./args.ts";

/** Result of `aria bench` (also its --json output). */
export interface BenchResult {
  model: string;
  arch: string;
  threads: number;
  kernels: string;
  cpu_features: string;
  pp: number;
  tg: number;
  /** Sequences decoded together in the tg test (tg_tps is their aggregate). */
  seqs: number;
  /** Tokens in the cache before each test. */
  depth: number;
  kv_type: string;
  /** Whether TQ1_0 repacking was asked for (--no-repack turns it off). */
  repack: boolean;
  /** Projections repacked TQ1_0 -> TQ2_0 at load (0: none, or none was TQ1_0). */
  repacked: number;
  /** Run-time types of the block projections, e.g. {"TQ2_0": 210}. */
  weight_types: Record<string, number>;
  reps: number;
  pp_tps: number | null;
  tg_tps: number | null;
  pp_runs_tps: number[];
  tg_runs_tps: number[];
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Runs the benchmark.
 *
 * @param cmd parsed options.
 * @returns the measurements.
 * @throws {EngineError} if the model cannot be loaded.
 */
export async function runBench(cmd: BenchCommand): Promise<BenchResult> {
  using model = await openCliModel(cmd);
  const threads = cmd.threads ?? defaultThreads();
  const depth = cmd.depth;
  const need = depth + Math.max(cmd.pp, cmd.tg, 1); // positions the tests use
  if (need > model.info.nCtxTrain) {
    throw new RangeError(
      `Cannot bench at --depth ${depth}: depth + max(pp, tg) is ${need} tokens, the model's context is ${model.info.nCtxTrain}`,
    );
  }
  const seqs = cmd.seqs;
  // the --depth fill goes in batches of up to 512 too (one token per step would take minutes)
  const nBatch = Math.min(Math.max(cmd.pp, seqs, Math.min(depth, 512), 1), 512);
  using ctx = model.createContext({
    nCtx: need,
    nSeq: seqs,
    nBatch,
    nThreads: threads,
    kvType: cmd.kvType,
  });
  const rng = createRng(1234);
  const randomTokens = (n: number): number[] =>
    Array.from({ length: n }, () => Math.floor(rng() * model.info.nVocab));
  const prompt = randomTokens(cmd.pp);
  const decodeTokens = randomTokens(cmd.tg);
  // --depth: every sequence's cache is filled with the same random tokens once, then each test
  // truncates back to `depth` (cheap) instead of starting empty
  const filler = randomTokens(depth);
  const fill = (): void => {
    for (let s = 0; s < seqs; s++) {
      ctx.truncate(s, 0);
      for (let i = 0; i < depth; i += nBatch) {
        const part = filler.slice(i, i + nBatch);
        ctx.decode(part, {
          seq: part.map(() => s),
          pos: part.map((_, j) => i + j),
        });
      }
    }
  };
  fill();

  const runPp = (): number => {
    ctx.truncate(0, depth);
    const t0 = Bun.nanoseconds();
    ctx.decode(prompt, { pos: prompt.map((_, j) => depth + j) });
    return cmd.pp / ((Bun.nanoseconds() - t0) / 1e9);
  };
  // tg: one token per step, or with --seqs N one token of each of N sequences per step (one
  // batch, the weights read once for all): aggregate tokens/s
  const seqIds = Array.from({ length: seqs }, (_, s) => s);
  const runTg = (): number => {
    for (const s of seqIds) ctx.truncate(s, depth);
    const t0 = Bun.nanoseconds();
    if (seqs === 1) {
      decodeTokens.forEach((tok, j) => ctx.decode([tok], { pos: [depth + j] }));
    } else {
      decodeTokens.forEach((tok, j) => {
        ctx.decode(seqIds.map((s) => (tok + s) % model.info.nVocab), {
          seq: seqIds,
          pos: seqIds.map(() => depth + j),
          logits: "all",
        });
      });
    }
    return (cmd.tg * seqs) / ((Bun.nanoseconds() - t0) / 1e9);
  };
  // warm-up: page the weights in and wake the threads (not reported)
  if (cmd.pp > 0) runPp();
  if (cmd.tg > 0) runTg();
  const pp: number[] = [];
  const tg: number[] = [];
  for (let r = 0; r < cmd.reps; r++) {
    if (cmd.pp > 0) pp.push(runPp());
    if (cmd.tg > 0) tg.push(runTg());
  }
  const k = await kernelInfo();
  return {
    model: cmd.model,
    arch: model.info.arch,
    threads,
    kernels: k.kernels,
    cpu_features: k.cpuFeatures,
    pp: cmd.pp,
    tg: cmd.tg,
    seqs,
    depth,
    kv_type: cmd.kvType,
    repack: cmd.repack,
    repacked: model.info.repacked,
    weight_types: model.info.matrixTypes,
    reps: cmd.reps,
    pp_tps: median(pp),
    tg_tps: median(tg),
    pp_runs_tps: pp,
    tg_runs_tps: tg,
  };
}

/** The weights' run-time types, and whether TQ1_0 was repacked ("TQ2_0 (210 repacked from TQ1_0)"). */
function weightsText(r: BenchResult): string {
  const types = Object.keys(r.weight_types).join("+") || "none";
  if (r.repacked > 0) return `${types} (${r.repacked} repacked from TQ1_0)`;
  return `${types}${!r.repack && "TQ1_0" in r.weight_types ? " (--no-repack)" : ""}`;
}

/** Human-readable table of a bench result, llama-bench style. */
export function formatBench(r: BenchResult): string {
  const rows = [
    `model: ${r.model} (${r.arch})  threads: ${r.threads}  kernels: ${r.kernels}  kv: ${r.kv_type}${
      r.depth > 0 ? `  depth: ${r.depth}` : ""
    }  weights: ${weightsText(r)}`,
    `| test  | tokens/s |`,
    `| ----- | -------- |`,
  ];
  if (r.pp_tps !== null) rows.push(`| pp${r.pp} | ${r.pp_tps.toFixed(2)} |`);
  if (r.tg_tps !== null) {
    rows.push(`| tg${r.tg}${r.seqs > 1 ? ` x${r.seqs} seqs` : ""} | ${r.tg_tps.toFixed(2)} |`);
  }
  return rows.join("\n");
}
