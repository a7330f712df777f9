/**
 * @module What the callgrind benchmarks share (profile.bench.ts, prefill-profile.ts): running a
 * command from the repository root, building benchmarks/engine/profile-driver.c against libbitnet,
 * and reading a callgrind output file's exclusive instructions by function.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");

/** Runs cmd from the repository root (at `nice` when given) and returns its stdout; throws on failure. */
export function run(
  cmd: string[],
  options: { env?: Record<string, string> | undefined; nice?: number | undefined } = {},
): string {
  const argv = options.nice === undefined ? cmd : ["nice", "-n", String(options.nice), ...cmd];
  const r = Bun.spawnSync(argv, {
    cwd: ROOT,
    stderr: "pipe",
    stdout: "pipe",
    env: { ...process.env, ...options.env },
  });
  if (r.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
  }
  return r.stdout.toString();
}

/** Builds native/ and benchmarks/engine/profile-driver.c against it; returns the driver's path. */
export function buildProfileDriver(nice?: number): string {
  run(["make", "-s", "-C", "native"], { nice });
  const exe = join(ROOT, "node_modules", ".cache", "aria-bench", "profile-driver");
  mkdirSync(join(exe, ".."), { recursive: true });
  run([
    "cc",
    "-O2",
    "-Inative/include",
    join(import.meta.dir, "profile-driver.c"),
    "native/build/libbitnet.a",
    "-lm",
    "-pthread",
    "-o",
    exe,
  ], { nice });
  return exe;
}

/** A callgrind file's total instructions and its exclusive instructions by function name (the same
 * function in several files summed; "file:function [object]", where a C++ function may hold ':'). */
export function callgrindFunctions(
  cgFile: string,
  nice?: number,
): { total: number; fns: Map<string, number> } {
  const text = run(["callgrind_annotate", "--threshold=100", "--auto=no", cgFile], { nice });
  const fns = new Map<string, number>();
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)$/.exec(line);
    if (!m) continue;
    const ir = Number(m[1]!.replaceAll(",", ""));
    const where = m[2]!;
    if (where.startsWith("PROGRAM TOTALS")) {
      total = ir;
      continue;
    }
    const fn = where.replace(/ \[[^\]]*\]$/, "").replace(/^[^:]*:/, "");
    fns.set(fn, (fns.get(fn) ?? 0) + ir);
  }
  return { total, fns };
}
