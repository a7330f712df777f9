/**
 * @module Prefill instruction counts on the AVX2 code paths, ARIA against the peers (valgrind's
 * callgrind; valgrind runs no AVX-512 and no VNNI, so every engine takes its AVX2 kernels and the
 * counts do not depend on the load of the machine). Each engine prefills two prompt lengths (64 and
 * 128 by default) in separate processes; the per-function difference of the two runs, divided by the
 * prompt tokens it adds, is the marginal cost of a prompt token: model load, warm-up, the output head
 * (every engine computes logits for the last prompt token only) and every fixed cost cancel.
 *
 *  - ARIA: benchmarks/engine/profile-driver.c `prefill FILE N 1` (int8 head) with ARIA_REPACK=1 (as
 *    `aria serve` loads: the x16 layout), instrumentation on around the prefill batch only.
 *  - ik_llama.cpp (IQ2_BN, IQ2_BN_R4, Q6_K head) and bitnet.cpp (I2_S, F16 head): their AVX2-only
 *    builds' `llama-bench -p N -n 0 -t 1 -r 1`, the whole process counted. bitnet.cpp's llama-bench
 *    warms up with the full prompt, so its runs prefill the prompt twice (tokens counted twice);
 *    ik_llama.cpp's warm-up is one token (the same in both runs: cancels).
 *
 * Usage: bun benchmarks/engine/prefill-profile.ts --ik DIR --bitnet DIR [--models DIR]
 *          [--lengths 64,128] [--cg-dir DIR] [--out benchmarks/results/prefill-profile-avx2.json]
 * DIR: a peer build's bin/ directory (built without AVX-512: valgrind cannot run it). --cg-dir keeps
 * the callgrind files; an existing file is read instead of rerun (a cut-short run resumes). Needs
 * valgrind and a C compiler; builds native/ first. Runs everything under `nice -n 19`.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openGguf } from "../../src/model/open.ts";
import { buildProfileDriver, callgrindFunctions, ROOT, run } from "./_callgrind.ts";

const { values } = parseArgs({
  options: {
    ik: { type: "string" },
    bitnet: { type: "string" },
    models: { type: "string", default: join(ROOT, "benchmarks", "models") },
    lengths: { type: "string", default: "64,128" },
    "cg-dir": {
      type: "string",
      default: join(ROOT, "node_modules", ".cache", "aria-bench", "prefill-cg"),
    },
    out: { type: "string", default: "benchmarks/results/prefill-profile-avx2.json" },
  },
});
const [short, long] = values.lengths!.split(",").map(Number) as [number, number];
if (!(short > 0 && long > short)) throw new Error("--lengths: two increasing prompt lengths");
const cgDir = values["cg-dir"]!;
mkdirSync(cgDir, { recursive: true });

/** Function groups, first match wins (names as callgrind_annotate prints them, C++ demangled). */
const GROUPS: [string, RegExp][] = [
  ["ternary kernel", /(tq2_0|i2_s)_x16|vec_dot_(tq2_0|i2_s)|mul_mat_iq2_?bn|vec_dot_i2_i8_s/],
  ["output head", /q8_W_x16|vec_dot_q8_W|q6_?k/i],
  ["quantize activations", /quantize_(row|worker)|quantize_row|act_quant/],
  [
    "attention",
    /axpy|attn_worker|vec_dot_f32|softmax|soft_max|vec_dot_f16|fp32_to_fp16|flash|_fa\d|v_expf|tinyBLAS/i,
  ],
  [
    "matmul driver",
    /matmul_(set_)?worker|matmul_q|matmul_rows|matmul_many|x16_q8_K_call|forward_mul_mat|iqk_mul_mat|gemm_i2/,
  ],
  [
    "graph and threads",
    /ggml_graph_compute|ggml_barrier|ggml_compute_forward\b|sched_yield|threadpool|memset|memcpy|memmove/,
  ],
];

interface Engine {
  name: string;
  file: string;
  /** A file of the same shape ARIA's GGUF reader reads (it does not know ik_llama.cpp's types). */
  shape: string;
  /** The command for a prompt of n tokens. */
  cmd: (n: number) => string[];
  env?: Record<string, string>;
  /** How many times a run prefills its prompt. */
  passes: number;
  /** The last layer's matrices the engine runs for the output token only: the FFN in llama.cpp's
   * forks (inp_out_ids), also the attention output in ARIA (docs/engine.md). */
  lastOutputOnly: readonly string[];
  /** The driver turns instrumentation on around the batch (callgrind --instr-atstart=no). */
  toggled: boolean;
}

/** Everything here runs at nice 19 (valgrind runs are long; counts do not depend on load). */
const NICE = 19;

/** Ternary weights a prompt token multiplies: every block matrix (bar the last layer's skipped ones). */
function ternaryWeights(path: string, lastOutputOnly: readonly string[]): number {
  const { file } = openGguf(path);
  let n = 0;
  const layers = new Set<string>();
  for (const t of file.tensors) {
    const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(t.name);
    if (!m || t.dims.length !== 2) continue;
    layers.add(m[1]!);
    n += t.dims[0]! * t.dims[1]!;
  }
  if (lastOutputOnly.length > 0) {
    const last = Math.max(...[...layers].map(Number));
    for (const t of file.tensors) {
      if (lastOutputOnly.some((kind) => t.name === `blk.${last}.${kind}.weight`)) {
        n -= t.dims[0]! * t.dims[1]!;
      }
    }
  }
  return n;
}

/** A peer's llama-bench (in binDir) prefilling n tokens of file once, on one thread. */
function llamaBenchPrefill(binDir: string, file: string, n: number): string[] {
  const args = ["-m", file, "-p", String(n), "-n", "0", "-t", "1", "-r", "1"];
  return [join(binDir, "llama-bench"), ...args];
}

const FFN = ["ffn_gate", "ffn_up", "ffn_down"];
const models = values.models!;
const driver = buildProfileDriver(NICE);
const engines: Engine[] = [];
for (const type of ["tq2_0", "i2_s"]) {
  const file = join(models, `large-bitnet-${type}-f16.gguf`);
  engines.push({
    name: `ARIA ${type.toUpperCase()} x16, int8 head`,
    file,
    shape: file,
    cmd: (n) => [driver, "prefill", file, String(n), "1"],
    env: { ARIA_REPACK: "1" },
    passes: 1,
    lastOutputOnly: ["attn_output", ...FFN],
    toggled: true,
  });
}
if (values.ik !== undefined) {
  for (const q of ["iq2_bn", "iq2_bn_r4"]) {
    const file = join(models, `large-bitnet-i2_s-f16.ik-${q}.gguf`);
    engines.push({
      name: `ik_llama.cpp ${q.toUpperCase()}, Q6_K head`,
      file,
      shape: join(models, "large-bitnet-i2_s-f16.gguf"),
      cmd: (n) => llamaBenchPrefill(values.ik!, file, n),
      passes: 1,
      lastOutputOnly: FFN,
      toggled: false,
    });
  }
}
if (values.bitnet !== undefined) {
  const file = join(models, "large-bitnet-i2_s-f16.gguf");
  engines.push({
    name: "bitnet.cpp I2_S, F16 head",
    file,
    shape: file,
    cmd: (n) => llamaBenchPrefill(values.bitnet!, file, n),
    passes: 2,
    lastOutputOnly: FFN,
    toggled: false,
  });
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/-$/, "");
function counted(e: Engine, n: number): Map<string, number> {
  const cg = join(cgDir, `${slug(e.name)}-${n}.cg`);
  if (!existsSync(cg)) {
    console.error(`${e.name}: prompt ${n} under callgrind …`);
    run([
      "valgrind",
      "--tool=callgrind",
      ...(e.toggled ? ["--instr-atstart=no"] : []),
      `--callgrind-out-file=${cg}`,
      ...e.cmd(n),
    ], { env: e.env, nice: NICE });
  }
  return callgrindFunctions(cg, NICE).fns;
}

const rows: Record<string, unknown>[] = [];
const commit = run(["git", "rev-parse", "--short", "HEAD"], { nice: NICE }).trim();
const outPath = values.out!.startsWith("/") ? values.out! : join(ROOT, values.out!);
function save(): void {
  writeFileSync(
    outPath,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        commit,
        cpu: cpus()[0]?.model ?? "unknown",
        command: `bun benchmarks/engine/prefill-profile.ts ${Bun.argv.slice(2).join(" ")}`.trim(),
        lengths: [short, long],
        rows,
      },
      null,
      1,
    ) + "\n",
  );
}

for (const e of engines) {
  const a = counted(e, short);
  const b = counted(e, long);
  const tokens = (long - short) * e.passes;
  const byFn = new Map<string, number>();
  for (const fn of new Set([...a.keys(), ...b.keys()])) {
    byFn.set(fn, (b.get(fn) ?? 0) - (a.get(fn) ?? 0));
  }
  const groups: Record<string, number> = { total: 0 };
  for (const [g] of GROUPS) groups[g] = 0;
  groups.other = 0;
  const kernelFns: Record<string, number> = {};
  for (const [fn, ir] of byFn) {
    const g = GROUPS.find(([, re]) => re.test(fn))?.[0] ?? "other";
    groups[g]! += ir;
    groups.total! += ir;
    if (g === "ternary kernel") {
      const base = fn.replace(/\(.*$/, "");
      kernelFns[base] = (kernelFns[base] ?? 0) + ir / tokens;
    }
  }
  const per = Object.fromEntries(
    Object.entries(groups).map(([k, v]) => [k, Math.round(v / tokens)]),
  );
  const weights = ternaryWeights(e.shape, e.lastOutputOnly);
  const top = [...byFn].sort((x, y) => y[1] - x[1]).slice(0, 12)
    .map(([fn, ir]) => ({ fn: fn.slice(0, 160), per_token: Math.round(ir / tokens) }));
  // ARIA's driver counts the batch only: its long run per token, the head included
  const whole = e.toggled
    ? Math.round([...b.values()].reduce((s, v) => s + v, 0) / long)
    : undefined;
  rows.push({
    engine: e.name,
    file: e.file.split("/").at(-1),
    marginal_tokens: tokens,
    instructions_per_token: per,
    ternary_weights_per_token: weights,
    kernel_instructions_per_1000_weight_tokens: (per["ternary kernel"]! / weights) * 1000,
    kernel_functions_per_token: Object.fromEntries(
      Object.entries(kernelFns).map(([k, v]) => [k, Math.round(v)]),
    ),
    top_functions: top,
    // not differenced: the head of the long run's output token(s) (ik_llama.cpp: and its warm-up
    // token; bitnet.cpp's F16 head shares its functions with attention, so it is not told apart)
    output_head_in_long_run: [...b].filter(([fn]) => GROUPS[1]![1].test(fn)).reduce(
      (s, [, v]) => s + v,
      0,
    ),
    ...(whole !== undefined ? { [`batch_of_${long}_per_token`]: whole } : {}),
  });
  save();
}

const M = (x: number | undefined) => ((x ?? 0) / 1e6).toFixed(1);
console.log(
  "| engine | M instr/token | ternary kernel | instr per 1000 weight·tokens | quantize | attention | matmul driver | graph, threads | other |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (
  const r of rows as {
    engine: string;
    instructions_per_token: Record<string, number>;
    kernel_instructions_per_1000_weight_tokens: number;
  }[]
) {
  const g = r.instructions_per_token;
  console.log(
    `| ${r.engine} | ${M(g.total)} | ${M(g["ternary kernel"])} | ${
      r.kernel_instructions_per_1000_weight_tokens.toFixed(1)
    } | ${M(g["quantize activations"])} | ${M(g.attention)} | ${M(g["matmul driver"])} | ${
      M(g["graph and threads"])
    } | ${M(g.other)} |`,
  );
}
