/**
 * @module libbitnet's C tests built for Windows (mingw-w64, linked statically: `make -C native
 * test-win`) and run under wine: the kernel tables against the scalar reference (test-kernels),
 * the GGUF reader with its truncation and fuzz cases (test-gguf), and the public API end to end on
 * generated models of every architecture (test-forward). This is the Windows build of the same
 * code the Windows binary embeds: its threads (winpthreads), file I/O and printf (mingw's C99 one)
 * run for real. Skipped, with a message, where mingw-w64 or wine is missing (apt-get install
 * mingw-w64 wine). Wine keeps its state in <tmpdir>/aria-wine-prefix (created on first use, ~30 s);
 * never inside the checkout: a prefix holds the link dosdevices/z: -> /, which `bun test`'s file
 * discovery would follow into the whole filesystem.
 */
import { describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testModel } from "../helpers/models.ts";

const ROOT = join(import.meta.dir, "..", "..");
const CROSS = "x86_64-w64-mingw32-";
const BUILD = join(ROOT, "native", "build", "x86_64-w64-mingw32");
const WINE = Bun.which("wine") ?? Bun.which("wine64");

const missing = [Bun.which(`${CROSS}gcc`) ? "" : `${CROSS}gcc`, WINE ? "" : "wine"]
  .filter((m) => m !== "");
if (missing.length > 0) {
  console.warn(
    `Skipping the Windows C tests: ${
      missing.join(", ")
    } not found (apt-get install mingw-w64 wine)`,
  );
}

function run(cmd: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...process.env,
      WINEPREFIX: join(tmpdir(), "aria-wine-prefix"),
      WINEDEBUG: "-all", // wine's own fixme lines are not the program's output
      WINEDLLOVERRIDES: "mscoree,mshtml=", // no Mono / Gecko install prompts in a new prefix
    },
  });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

/** Runs a Windows test program under wine; checks its "N passed, 0 failed" and exit code. */
function wine(program: string, args: string[] = []): string {
  const ran = run([WINE!, join(BUILD, `${program}.exe`), ...args]);
  if (ran.code !== 0) console.error(ran.out);
  expect(ran.out).toMatch(/\n\d+ passed, 0 failed\r?\n/);
  expect(ran.code).toBe(0);
  return ran.out;
}

describe.skipIf(missing.length > 0)("libbitnet's C tests on Windows (mingw + wine)", () => {
  test("the static mingw builds compile without warnings", () => {
    const built = run(["make", "-s", "-C", "native", "test-win"]);
    expect(built.out).toBe("");
    expect(built.code).toBe(0);
  }, 240_000);

  test("test-kernels passes under wine (the x86 tables the CPU has, against the reference)", () => {
    const out = wine("test-kernels");
    expect(out).toContain("AUTO picks the best table");
    expect(out).toContain("NEON is UNSUPPORTED on x86-64");
  }, 240_000);

  test("test-gguf passes under wine (every truncation, the fuzz)", () => {
    const out = wine("test-gguf");
    expect(out).toMatch(/truncated at every length 0\.\.\d+: all BAD_FORMAT/);
    expect(out).toMatch(/fuzz: 20000 mutated files: .* 0 wrong/);
  }, 240_000);

  test("test-forward passes under wine on bitnet, bitnet-b1.58 and llama models", async () => {
    const models = [
      await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" }),
      await testModel({ preset: "tiny", arch: "bitnet-b1.58", type: "i2_s" }),
      await testModel({ preset: "tiny", arch: "llama", type: "tq1_0" }),
    ];
    const out = wine("test-forward", models);
    for (const m of models) expect(out).toContain(`ok ${m}`);
  }, 300_000);
});
