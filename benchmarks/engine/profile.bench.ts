/**
 * @module Where the engine's instructions go, counted by valgrind's callgrind (`perf stat` here
 * counts no hardware events: "instructions <not supported>"): decode of one sequence with the F16,
 * the int8 and the int4 head, decode of 4 sequences together (logits of the last only, then of all
 * four with each head), and a prefill batch, per file. Instrumentation is on only around the
 * measured work (benchmarks/engine/profile-driver.c: the model load and a warm-up step are not
 * counted; valgrind runs no AVX-512, so these are the AVX2 kernels' counts), so the counts are per
 * token and do not depend on the load of the machine. Instructions are grouped by
 * function: the ternary kernels, the output head, activation quantization, attention, the matmul
 * loop around the kernels, and the rest. Decode rows also give instructions per byte of weights
 * read, the figure that says whether one core can keep up with memory.
 *
 * Usage: bun benchmarks/engine/profile.bench.ts [--files 2b-4t:tq2_0,2b-4t:tq1_0,2b-4t:i2_s]
 *          [--steps 2] [--prefill 64] [--out benchmarks/results/engine-profile.json]
 * Needs valgrind (apt install valgrind) and a C compiler; builds native/ first.
 */
import { rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildProfileDriver, callgrindFunctions, ROOT, run } from "./_callgrind.ts";
import { bytesPerToken, modelFile } from "./_files.ts";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "2b-4t:tq2_0,2b-4t:tq1_0,2b-4t:i2_s" },
    steps: { type: "string", default: "2" },
    prefill: { type: "string", default: "64" },
    out: { type: "string", default: "benchmarks/results/engine-profile.json" },
  },
});
const steps = Number(values.steps);
const prefill = Number(values.prefill);

/** Function-name groups, first match wins. */
const GROUPS: [string, RegExp][] = [
  ["ternary kernel", /vec_dot_(tq2_0|tq1_0|i2_s)|(tq2_0|i2_s)_x16/],
  ["output head", /vec_dot_(f16_f32|q8_W)|q[84]_W_x16/],
  ["quantize activations", /quantize_(row|worker)/],
  ["attention", /axpy|attn_worker|vec_dot_f32|softmax/],
  ["matmul loop", /matmul_(set_)?worker|matmul_q|matmul_rows|matmul_many|x16_q8_K_call/],
];

/** Instructions by group (and in total) of one driver run. */
function profile(exe: string, args: string[]): Record<string, number> {
  const out = join(tmpdir(), `aria-cg-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    run([
      "valgrind",
      "--tool=callgrind",
      "--instr-atstart=no",
      `--callgrind-out-file=${out}`,
      exe,
      ...args,
    ]);
    const { total, fns } = callgrindFunctions(out);
    const groups: Record<string, number> = { total };
    for (const [name] of GROUPS) groups[name] = 0;
    groups.other = 0;
    for (const [fn, ir] of fns) {
      const group = GROUPS.find(([, re]) => re.test(fn))?.[0] ?? "other";
      groups[group]! += ir;
    }
    return groups;
  } finally {
    rmSync(out, { force: true });
  }
}

const perToken = (g: Record<string, number>, n: number) =>
  Object.fromEntries(Object.entries(g).map(([k, v]) => [k, Math.round(v / n)]));

const exe = buildProfileDriver();
const rows: Record<string, unknown>[] = [];
const commit = run(["git", "rev-parse", "--short", "HEAD"]).trim();
const outPath = values.out!.startsWith("/") ? values.out! : join(ROOT, values.out!);
/** Written after every row: a run cut short keeps what it measured. */
function save(): void {
  const result = {
    date: new Date().toISOString(),
    commit,
    cpu: cpus()[0]?.model ?? "unknown",
    command: `bun benchmarks/engine/profile.bench.ts ${Bun.argv.slice(2).join(" ")}`.trim(),
    steps,
    prefill,
    rows,
  };
  writeFileSync(outPath, JSON.stringify(result, null, 1) + "\n");
}
for (const spec of values.files!.split(",")) {
  const path = await modelFile(spec);
  const cases: { name: string; args: string[]; tokens: number; bytes?: number }[] = [
    {
      name: "decode, F16 head",
      args: ["decode", path, String(steps), "1", "0"],
      tokens: steps,
      bytes: bytesPerToken(path, "float"),
    },
    {
      name: "decode, int8 head",
      args: ["decode", path, String(steps), "1", "1"],
      tokens: steps,
      bytes: bytesPerToken(path, "int8"),
    },
    {
      name: "decode, int4 head",
      args: ["decode", path, String(steps), "1", "4"],
      tokens: steps,
      bytes: bytesPerToken(path, "int4"),
    },
    {
      name: "decode, 4 sequences",
      args: ["decode", path, String(steps), "4", "0"],
      tokens: 4 * steps,
    },
    // batched decode as the API's continuous batching runs it: logits for every sequence, so the
    // head runs for 4 tokens per step (the multi-token head kernels)
    {
      name: "decode, 4 sequences, all logits, F16 head",
      args: ["decode", path, String(steps), "4", "0", "1"],
      tokens: 4 * steps,
    },
    {
      name: "decode, 4 sequences, all logits, int8 head",
      args: ["decode", path, String(steps), "4", "1", "1"],
      tokens: 4 * steps,
    },
    { name: `prefill ${prefill}`, args: ["prefill", path, String(prefill), "0"], tokens: prefill },
  ];
  for (const c of cases) {
    console.error(`${spec}: ${c.name} …`);
    const per = perToken(profile(exe, c.args), c.tokens);
    const row = {
      file: spec,
      case: c.name,
      instructions_per_token: per,
      ...(c.bytes !== undefined
        ? { bytes_per_token: c.bytes, instructions_per_byte: per.total! / c.bytes }
        : {}),
    };
    rows.push(row);
    save();
  }
}

const M = (x: number | undefined) => ((x ?? 0) / 1e6).toFixed(1);
console.log(
  "| file | case | M instr/token | ternary kernel | output head | quantize | attention | matmul loop | other | instr/byte |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (
  const r of rows as {
    file: string;
    case: string;
    instructions_per_token: Record<string, number>;
    instructions_per_byte?: number;
  }[]
) {
  const g = r.instructions_per_token;
  console.log(
    `| ${r.file} | ${r.case} | ${M(g.total)} | ${M(g["ternary kernel"])} | ${
      M(g["output head"])
    } | ${M(g["quantize activations"])} | ${M(g.attention)} | ${M(g["matmul loop"])} | ${
      M(g.other)
    } | ${r.instructions_per_byte?.toFixed(3) ?? "—"} |`,
  );
}
