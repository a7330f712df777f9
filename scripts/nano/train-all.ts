/**
 * @module Reproduce aria-nano from scratch (docs/aria-nano.md), one stage after the other:
 * 1. data.ts: Brown corpus -> splits, BPE vocabulary, token files;
 * 2. train.py: BitNet b1.58 training in PyTorch (Debian's python3-torch, ~1 hour on 2 cores);
 * 3. export.ts: best checkpoint -> static/models/aria-nano.gguf (TQ2_0);
 * 4. record.ts: perplexities (PyTorch, ARIA, llama.cpp) and samples -> expected.json.
 *
 * Usage: npm run train:nano [-- --work DIR --steps N]
 * Needs: apt-get install python3-torch libopenblas0-pthread (torch for /usr/bin/python3).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";

const ROOT = join(import.meta.dir, "../..");

function stage(name: string, cmd: string[], cwd = ROOT): void {
  console.log(`\n== ${name}: ${cmd.join(" ")}`);
  const p = Bun.spawnSync(cmd, { cwd, stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error(`${name} failed (exit ${p.exitCode})`);
}

const { values } = parseArgs({
  options: {
    work: { type: "string", default: join(ROOT, "node_modules/.cache/aria-nano") },
    steps: { type: "string", default: "950" },
  },
});
const work = values.work;
const run = join(work, "run");
const torch = Bun.spawnSync(["/usr/bin/python3", "-c", "import torch"], { stderr: "pipe" });
if (torch.exitCode !== 0) {
  console.error("PyTorch is missing: apt-get install python3-torch libopenblas0-pthread");
  process.exit(1);
}
const bun = process.execPath;
stage("data", [bun, "scripts/nano/data.ts", "--out", work]);
stage("train", [
  "/usr/bin/python3",
  "scripts/nano/train.py",
  "--data",
  work,
  "--out",
  run,
  "--steps",
  values.steps,
  "--warmup",
  "50",
  "--eval-every",
  "50",
]);
stage("export", [
  bun,
  "scripts/nano/export.ts",
  "--run",
  run,
  "--data",
  work,
  "--out",
  "static/models/aria-nano.gguf",
]);
stage("record", [bun, "scripts/nano/record.ts", "--run", run, "--data", work]);
