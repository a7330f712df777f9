/**
 * @module The arm64 build of libbitnet under qemu-aarch64: the NEON kernel tables against the
 * scalar reference (tests/native/test-kernels.c), once on an emulated CPU with dotprod (`-cpu max`:
 * both the ARMv8.0 and the dotprod tables) and once without (`-cpu cortex-a53`: the ARMv8.0 table,
 * chosen at run time), and a whole forward pass with NEON against the same pass with the
 * reference kernels (tests/native/neon-forward.c). Skipped, with a message, where the Debian cross
 * compiler (gcc-aarch64-linux-gnu) or qemu-user is missing. Emulated timings are meaningless here:
 * this checks results only.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { testModel } from "../helpers/models.ts";

const ROOT = join(import.meta.dir, "..", "..");
const CROSS = "aarch64-linux-gnu-";
const BUILD = join(ROOT, "native", "build", "aarch64-linux-gnu");
/** Debian's arm64 sysroot (libc-dev-arm64-cross), where qemu finds the dynamic loader. */
const SYSROOT = "/usr/aarch64-linux-gnu";

const missing = [
  Bun.which(`${CROSS}gcc`) ? "" : `${CROSS}gcc`,
  Bun.which("qemu-aarch64") ? "" : "qemu-aarch64",
  existsSync(join(SYSROOT, "lib", "ld-linux-aarch64.so.1"))
    ? ""
    : `${SYSROOT}/lib/ld-linux-aarch64.so.1`,
].filter((m) => m !== "");
if (missing.length > 0) {
  console.warn(
    `Skipping the arm64 NEON tests: ${
      missing.join(", ")
    } not found (apt-get install gcc-aarch64-linux-gnu qemu-user)`,
  );
}

function run(cmd: string[]): { code: number; out: string } {
  const p = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: p.stdout.toString() + p.stderr.toString() };
}

/** Runs an arm64 program under qemu with the given emulated CPU model. */
function qemu(cpu: string, program: string, args: string[] = []): { code: number; out: string } {
  return run(["qemu-aarch64", "-cpu", cpu, "-L", SYSROOT, join(BUILD, program), ...args]);
}

describe.skipIf(missing.length > 0)("libbitnet on arm64 (qemu)", () => {
  test("the cross build with NEON kernels compiles without warnings", () => {
    const built = run([
      "make",
      "-s",
      "-C",
      "native",
      `CROSS=${CROSS}`,
      "build/aarch64-linux-gnu/test-kernels",
      "build/aarch64-linux-gnu/neon-forward",
    ]);
    expect(built.out).toBe("");
    expect(built.code).toBe(0);
  });

  test("test-kernels passes for both NEON tables on a CPU with dotprod", () => {
    const ran = qemu("max", "test-kernels");
    if (ran.code !== 0) console.error(ran.out);
    expect(ran.out).toContain("cpu features: neon dotprod");
    expect(ran.out).toContain("ok   NEON selects the neon-dotprod table");
    expect(ran.out).toMatch(/^ok {3}neon vec_dot_tq1_0_q8_K_multi /m);
    expect(ran.out).toMatch(/^ok {3}neon-dotprod vec_dot_tq2_0_q8_K /m);
    expect(ran.out).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(ran.code).toBe(0);
  });

  test("test-kernels passes and NEON picks the ARMv8.0 table on a CPU without dotprod", () => {
    const ran = qemu("cortex-a53", "test-kernels");
    if (ran.code !== 0) console.error(ran.out);
    expect(ran.out).toContain("cpu features: neon\n");
    expect(ran.out).toContain("ok   NEON selects the neon table (dotprod absent)");
    expect(ran.out).toContain("skip neon-dotprod: this CPU lacks dotprod");
    expect(ran.out).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(ran.code).toBe(0);
  });

  test("a forward pass with NEON kernels matches the reference kernels (float and int8 heads)", async () => {
    const model = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
    const ran = qemu("max", "neon-forward", [model]);
    if (ran.code !== 0) console.error(ran.out);
    expect(ran.out).toMatch(/\n4 passed, 0 failed\n$/);
    expect(ran.code).toBe(0);
  });
});
