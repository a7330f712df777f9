/**
 * @module Builds and runs the native C test programs (tests/native/test-*.c) through
 * `make -C native test-<name>`: kernels against their scalar reference, the GGUF reader fuzz.
 * Each program prints its own checks and exits non-zero on the first failure.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
/** Programs that need arguments run from their own test file (test-forward: forward-asan.test.ts). */
const NEEDS_ARGUMENTS = new Set(["test-forward"]);
const programs = readdirSync(join(ROOT, "tests", "native"))
  .filter((f) => /^test-.*\.c$/.test(f))
  .map((f) => f.slice(0, -2))
  .filter((name) => !NEEDS_ARGUMENTS.has(name));

function run(cmd: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

describe("native C tests", () => {
  for (const name of programs) {
    test(`${name} passes`, () => {
      const built = run(["make", "-s", "-C", "native", `build/${name}`]);
      expect(built.out).toBe("");
      expect(built.code).toBe(0);
      const ran = run([join(ROOT, "native", "build", name)]);
      if (ran.code !== 0) console.error(ran.out);
      expect(ran.code).toBe(0);
    });
  }
});
