/**
 * Seeded sampling reproduces across runs and across kernel tables (issue 20): `aria run` with
 * temperature, top-p, min-p and a repetition penalty, the int8 and the float head, gives the same
 * tokens and the same logprobs, bit for bit, with --kernels ref, avx2 and avx512 (where the CPU
 * has it). The engine's logits are the same bits on every table (numerics contract 2) and the
 * sampler's exp and log are ARIA's own (src/generation/portable-math.ts).
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { testModel } from "../helpers/models.ts";
import { kernelInfo } from "../../src/engine/index.ts";

const ROOT = join(import.meta.dir, "..", "..");

function run(model: string, kernels: string, head: string): string {
  const r = Bun.spawnSync([
    process.execPath,
    "src/main.ts",
    "run",
    "--model",
    model,
    "--prompt",
    "The old lighthouse keeper",
    "--max-tokens",
    "24",
    "--temperature",
    "0.9",
    "--top-p",
    "0.95",
    "--min-p",
    "0.02",
    "--repeat-penalty",
    "1.1",
    "--seed",
    "31337",
    "--logprobs",
    "3",
    "--output-head",
    head,
    "--kernels",
    kernels,
    "--threads",
    "2",
    "--json",
  ], { cwd: ROOT });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  const out = JSON.parse(r.stdout.toString());
  // the timings differ between runs; tokens and logprobs must not
  return JSON.stringify({ tokens: out.tokens, logprobs: out.logprobs });
}

describe("seeded sampling across kernel tables", () => {
  test("same tokens and logprobs with ref, avx2 and avx512, float and int8 heads", async () => {
    const model = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
    const features = (await kernelInfo()).cpuFeatures;
    const tables = ["ref", "avx2", ...(features.includes("avx512") ? ["avx512"] : [])];
    for (const head of ["float", "int8"]) {
      const ref = run(model, "ref", head);
      expect(JSON.parse(ref).tokens.length).toBeGreaterThan(10);
      for (const k of tables.slice(1)) expect(run(model, k, head)).toBe(ref);
    }
  }, 180_000);
});
