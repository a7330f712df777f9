/**
 * @module `aria run` and `aria bench` as a user runs them: a real process (`bun src/main.ts`),
 * output format, reproducibility, exit codes and error messages.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testModel } from "../helpers/models.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");
let model = "";

beforeAll(async () => {
  model = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq2_0" });
});

function aria(...args: string[]): { code: number; stdout: string; stderr: string } {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe("aria run", () => {
  test("--json reports text, tokens and timings; greedy runs repeat exactly", () => {
    const args = [
      "run",
      "--model",
      model,
      "--prompt",
      "The capital of France is",
      "--max-tokens",
      "8",
    ];
    const first = aria(...args, "--temperature", "0", "--json");
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out).toMatchObject({ completion_tokens: 8, finish_reason: "length" });
    expect(out.tokens).toHaveLength(8);
    expect(out.prompt_tokens).toBe(out.prompt_token_ids.length);
    expect(out.prompt_token_ids[0]).toBe(128000); // BOS of the Llama-3 vocabulary
    expect(out.prefill_ms).toBeGreaterThan(0);
    expect(out.decode_ms).toBeGreaterThan(0);
    expect(typeof out.text).toBe("string");
    expect(JSON.parse(aria(...args, "--temperature", "0", "--json").stdout).tokens).toEqual(
      out.tokens,
    );
  });

  test("the same seed reproduces a sampled run; another seed changes it", () => {
    const args = [
      "run",
      "--model",
      model,
      "--prompt-tokens",
      "128000,791,6864",
      "--max-tokens",
      "12",
      "--json",
    ];
    const a = JSON.parse(aria(...args, "--seed", "1", "--temperature", "1.5").stdout);
    const b = JSON.parse(aria(...args, "--seed", "1", "--temperature", "1.5").stdout);
    const c = JSON.parse(aria(...args, "--seed", "2", "--temperature", "1.5").stdout);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  test("prints the text without --json", () => {
    const r = aria(
      "run",
      "--model",
      model,
      "--prompt",
      "Hi",
      "--max-tokens",
      "4",
      "--temperature",
      "0",
    );
    expect(r.code).toBe(0);
    const json = aria(
      "run",
      "--model",
      model,
      "--prompt",
      "Hi",
      "--max-tokens",
      "4",
      "--temperature",
      "0",
      "--json",
    );
    expect(r.stdout).toBe(`${JSON.parse(json.stdout).text}\n`);
  });

  test("--stop cuts the text before the stop string; --logprobs adds per-token logprobs", () => {
    const args = [
      "run",
      "--model",
      model,
      "--prompt",
      "Hi",
      "--max-tokens",
      "8",
      "--temperature",
      "0",
    ];
    const full = JSON.parse(aria(...args, "--json").stdout);
    // a stop string taken from the middle of the greedy text: everything before it is kept
    const at = Math.max(1, Math.floor(full.text.length / 2));
    const stop = full.text.slice(at, at + 2);
    const r = aria(...args, "--json", "--stop", stop, "--logprobs", "3");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      text: full.text.slice(0, full.text.indexOf(stop)),
      finish_reason: "stop",
      stop_reason: "stop_string",
      stop_string: stop,
    });
    expect(out.logprobs).toHaveLength(out.tokens.length);
    expect(out.logprobs[0].id).toBe(out.tokens[0]);
    expect(out.logprobs[0].top_logprobs).toHaveLength(3);
    expect(out.logprobs[0].logprob).toBeLessThanOrEqual(0);
    // greedy: the chosen token is the likeliest
    expect(out.logprobs[0].top_logprobs[0].id).toBe(out.tokens[0]);
    const plain = aria(...args, "--stop", stop);
    expect(plain.stdout).toBe(`${out.text}\n`);
  });

  test("exits 2 with a usage message for bad arguments, 1 for a bad model file", () => {
    const usage = aria("run", "--prompt", "x", "--bogus");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--bogus");
    const missing = aria("run", "--model", "/nonexistent.gguf", "--prompt", "x");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Cannot open model file");
    const notGguf = aria("run", "--model", MAIN, "--prompt", "x");
    expect(notGguf.code).toBe(1);
    expect(notGguf.stderr).toContain("GGUF");
  });
});

describe("the built-in model", () => {
  test("aria run without --model runs aria-nano", () => {
    const r = aria(
      "run",
      "--prompt",
      "The jury",
      "--max-tokens",
      "4",
      "--temperature",
      "0",
      "--json",
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.prompt_token_ids[0]).toBe(4095); // aria-nano's <|endoftext|> BOS
    expect(out.tokens).toHaveLength(4);
  });
});

describe("aria perplexity", () => {
  const heldout = join(import.meta.dir, "..", "fixtures", "aria-nano", "heldout.txt");

  test("--json reports perplexity, tokens scored and chunks (llama-perplexity's chunking)", () => {
    const r = aria("perplexity", "--file", heldout, "--ctx", "64", "--chunks", "3", "--json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ chunks: 3, ctx: 64, tokens: 3 * 31 });
    expect(out.perplexity).toBeGreaterThan(1);
    expect(out.perplexity).toBeLessThan(4096); // better than uniform over the vocabulary
    const plain = aria("perplexity", "--file", heldout, "--ctx", "64", "--chunks", "2");
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/^\[1\][\d.]+,\[2\][\d.]+,$/);
    expect(plain.stdout).toContain("Final estimate: PPL = ");
  });

  test("a text shorter than one chunk is a clear error; a missing --file a usage error", () => {
    const tmp = join(tmpdir(), `aria-ppl-${process.pid}.txt`);
    writeFileSync(tmp, "Too short.");
    const short = aria("perplexity", "--file", tmp, "--ctx", "64");
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("fewer than one chunk of 64");
    const usage = aria("perplexity");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("Missing --file");
  });
});

describe("aria bench", () => {
  test("--json reports pp_tps and tg_tps", () => {
    const r = aria("bench", "--model", model, "--pp", "16", "--tg", "4", "--reps", "2", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.pp_tps).toBeGreaterThan(0);
    expect(out.tg_tps).toBeGreaterThan(0);
    expect(out.pp_runs_tps).toHaveLength(2);
  });

  test("a TQ1_0 file is repacked to TQ2_0 by default and kept with --no-repack", async () => {
    const tq1 = await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "tq1_0" });
    const args = [
      "bench",
      "--model",
      tq1,
      "--pp",
      "4",
      "--tg",
      "2",
      "--reps",
      "1",
      "--threads",
      "1",
    ];
    const on = aria(...args, "--json");
    expect(on.code).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({
      repack: true,
      repacked: 14,
      weight_types: { TQ2_0: 14 },
    });
    const off = aria(...args, "--json", "--no-repack");
    expect(off.code).toBe(0);
    expect(JSON.parse(off.stdout)).toMatchObject({
      repack: false,
      repacked: 0,
      weight_types: { TQ1_0: 14 },
    });
    const text = aria(...args);
    expect(text.stdout).toContain("weights: TQ2_0 (14 repacked from TQ1_0)");
  });
});

test("aria --help lists the commands", () => {
  const r = aria("--help");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("run");
  expect(r.stdout).toContain("bench");
});
