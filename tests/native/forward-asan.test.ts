/**
 * @module libbitnet's public API on generated models of every architecture, built with
 * AddressSanitizer and UndefinedBehaviorSanitizer (native/Makefile's debug flags): any
 * out-of-bounds access, use after free, leak or undefined behaviour in loading, decoding,
 * sequences, pipeline stages or refusing bad input fails the test (tests/native/test-forward.c).
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { EMBEDDING_MODEL, testModel } from "../helpers/models.ts";

const ROOT = join(import.meta.dir, "..", "..");
const SANITIZE = "-fsanitize=address,undefined -fno-omit-frame-pointer";

test("test-forward passes under ASan and UBSan on bitnet, bitnet-b1.58, llama and qwen3 embedding models", async () => {
  const models = [
    await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" }),
    await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "i2_s" }),
    await testModel({ preset: "tiny", arch: "llama", type: "tq1_0" }),
    // qwen3 with the BitNet embedding models' per-projection input norms (their own buffer)
    await testModel(EMBEDDING_MODEL),
  ];
  const build = Bun.spawnSync(
    [
      "make",
      "-s",
      "-C",
      "native",
      "BUILD=build/debug",
      `OPT=-O1 -g ${SANITIZE}`,
      `LDFLAGS=${SANITIZE}`,
      "build/debug/test-forward",
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  expect(build.stderr.toString()).toBe("");
  expect(build.exitCode).toBe(0);
  const run = Bun.spawnSync([join(ROOT, "native", "build", "debug", "test-forward"), ...models], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...process.env,
      ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0",
      UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1",
    },
  });
  const out = run.stdout.toString() + run.stderr.toString();
  if (run.exitCode !== 0) console.error(out);
  expect(out).toMatch(/\d+ passed, 0 failed/);
  expect(run.exitCode).toBe(0);
});
