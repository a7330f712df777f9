/**
 * @module Record what aria-nano's tests and model card check, after export: the GGUF's SHA-256,
 * the held-out perplexity computed by PyTorch on the trained checkpoint (scripts/nano/eval.py),
 * by ARIA and by llama.cpp on the GGUF — over the whole held-out text and over the first
 * TEST_CHUNKS chunks (what CI re-measures) — and greedy continuations of a few prompts.
 *
 * Usage: bun scripts/nano/record.ts --run DIR --data DIR [--model static/models/aria-nano.gguf]
 * Writes tests/fixtures/aria-nano/expected.json and prints it.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runPerplexity } from "../../src/cli/perplexity.ts";
import { runGenerate } from "../../src/cli/run.ts";
import { parseCommand, type PerplexityCommand, type RunCommand } from "../../src/cli/args.ts";
import { llamaPerplexity } from "../../tests/helpers/llama-perplexity.ts";
import { llamaTokenize } from "../../tests/helpers/llama-oracle.ts";

/** Chunks of 256 tokens the CI regression test scores (about 5 s on 2 cores). */
export const TEST_CHUNKS = 40;
/** Context of every recorded perplexity: the model's training context. */
export const PPL_CTX = 256;
/** Prompts whose greedy continuations the tests compare with llama.cpp's. */
export const PROMPTS = [
  "The jury said",
  "In the morning, the",
  "He looked at her and",
  "The United States",
];

const ROOT = join(import.meta.dir, "../..");
const HELDOUT = join(ROOT, "tests/fixtures/aria-nano/heldout.txt");

function torchPpl(run: string, data: string, chunks: number): number {
  const p = Bun.spawnSync([
    "/usr/bin/python3",
    join(import.meta.dir, "eval.py"),
    "--run",
    resolve(run),
    "--tokens",
    resolve(data, "heldout-text.bin"),
    "--ctx",
    String(PPL_CTX),
    "--chunks",
    String(chunks),
  ], { cwd: import.meta.dir, stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error("eval.py failed");
  return (JSON.parse(p.stdout.toString()) as { perplexity: number }).perplexity;
}

async function ariaPpl(model: string, chunks: number | undefined): Promise<number> {
  const cmd: PerplexityCommand = {
    verb: "perplexity",
    model,
    file: HELDOUT,
    ctx: PPL_CTX,
    json: true,
    outputHead: "float", // the model's own head: the figure compared with PyTorch's
    repack: true,
  };
  if (chunks !== undefined) cmd.chunks = chunks;
  return (await runPerplexity(cmd, () => {})).perplexity;
}

async function continuation(model: string, prompt: string, sampled: boolean): Promise<string> {
  const args = ["run", "--model", model, "--prompt", prompt, "--max-tokens", "40", "--json"];
  const cmd = parseCommand(sampled ? [...args, "--seed", "7"] : [...args, "--temperature", "0"]);
  return (await runGenerate(cmd as RunCommand, () => {})).text;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      run: { type: "string" },
      data: { type: "string" },
      model: { type: "string", default: join(ROOT, "static/models/aria-nano.gguf") },
    },
  });
  if (values.run === undefined || values.data === undefined) {
    throw new Error("usage: bun scripts/nano/record.ts --run DIR --data DIR [--model FILE]");
  }
  const model = values.model;
  const bytes = readFileSync(model);
  const text = readFileSync(HELDOUT, "utf8");
  const tokens = llamaTokenize(model, text);
  const expected = {
    model: "static/models/aria-nano.gguf",
    sha256: createHash("sha256").update(bytes).digest("hex"),
    bytes: bytes.length,
    ctx: PPL_CTX,
    test_chunks: TEST_CHUNKS,
    heldout_tokens: tokens.length,
    perplexity: {
      torch_full: torchPpl(values.run, values.data, 0),
      aria_full: await ariaPpl(model, undefined),
      llama_cpp_full: llamaPerplexity(model, tokens, PPL_CTX, tokens[0]).perplexity,
      torch_test_chunks: torchPpl(values.run, values.data, TEST_CHUNKS),
      aria_test_chunks: await ariaPpl(model, TEST_CHUNKS),
    },
    greedy: await Promise.all(
      PROMPTS.map(async (p) => ({ prompt: p, text: await continuation(model, p, false) })),
    ),
    sampled: await Promise.all(
      PROMPTS.map(async (p) => ({ prompt: p, text: await continuation(model, p, true) })),
    ),
  };
  const json = JSON.stringify(expected, null, 2) + "\n";
  writeFileSync(join(ROOT, "tests/fixtures/aria-nano/expected.json"), json);
  console.log(json);
}

if (import.meta.main) await main();
