/**
 * @module The arm64 build of libbitnet under qemu-aarch64: the NEON kernel tables against the
 * scalar reference (tests/native/test-kernels.c), on an emulated CPU with dotprod and i8mm (`-cpu max`:
 * the ARMv8.0, dotprod and i8mm tables), with dotprod only (`-cpu neoverse-n1`) and without either
 * (`-cpu cortex-a53`: the ARMv8.0 table, chosen at run time), and a whole forward pass with NEON against the same pass with the
 * reference kernels and against this machine's x86 build, bit for bit (tests/native/neon-forward.c). Skipped, with a message, where the Debian cross
 * compiler (gcc-aarch64-linux-gnu) or qemu-user is missing. Emulated timings are meaningless here:
 * this checks results only.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openModel } from "../../src/engine/index.ts";
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

/** FNV-1a (32 bits) of bytes, as neon-forward.c computes it. */
function fnv1a32(bytes: Uint8Array): string {
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** The x86 (this machine's) logits of neon-forward.c's prompt, one batch, every row, hashed. */
async function x86LogitsHash(model: string, head: "float" | "int8"): Promise<string> {
  const PROMPT = [1, 450, 7483, 310, 3444, 338, 263, 4086]; // neon-forward.c PROMPT
  using m = await openModel(model, { outputHead: head });
  using ctx = m.createContext({ nCtx: 16, nSeq: 1, nBatch: PROMPT.length, nThreads: 1 });
  ctx.decode(PROMPT, { logits: "all" });
  const all = new Float32Array(PROMPT.length * m.info.nVocab);
  PROMPT.forEach((_, i) => all.set(ctx.logits(i), i * m.info.nVocab));
  return fnv1a32(new Uint8Array(all.buffer));
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

  test("test-kernels passes for the three NEON tables on a CPU with dotprod and i8mm", () => {
    const ran = qemu("max", "test-kernels");
    if (ran.code !== 0) console.error(ran.out);
    expect(ran.out).toContain("cpu features: neon dotprod i8mm\n");
    expect(ran.out).toContain(
      "ok   NEON selects the neon-i8mm table (dotprod present, i8mm present)",
    );
    expect(ran.out).toMatch(/^ok {3}neon vec_dot_tq1_0_q8_K_multi /m);
    expect(ran.out).toMatch(/^ok {3}neon-dotprod vec_dot_tq2_0_q8_K /m);
    for (const t of ["neon-dotprod", "neon-i8mm"]) {
      for (const k of ["tq2_0", "i2_s", "q8_W"]) {
        expect(ran.out).toContain(`ok   ${t} gemm_${k}_x16: 32 cases`);
      }
    }
    expect(ran.out).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(ran.code).toBe(0);
  });

  test("test-kernels passes and NEON picks the dotprod table on a CPU without i8mm (Neoverse N1)", () => {
    const ran = qemu("neoverse-n1", "test-kernels");
    if (ran.code !== 0) console.error(ran.out);
    expect(ran.out).toContain("cpu features: neon dotprod\n");
    expect(ran.out).toContain(
      "ok   NEON selects the neon-dotprod table (dotprod present, i8mm absent)",
    );
    expect(ran.out).toContain("skip neon-i8mm: this CPU lacks i8mm");
    expect(ran.out).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(ran.code).toBe(0);
  });

  test("test-kernels passes and NEON picks the ARMv8.0 table on a CPU without dotprod", () => {
    const ran = qemu("cortex-a53", "test-kernels");
    if (ran.code !== 0) console.error(ran.out);
    expect(ran.out).toContain("cpu features: neon\n");
    expect(ran.out).toContain("ok   NEON selects the neon table (dotprod absent, i8mm absent)");
    expect(ran.out).toContain("skip neon-dotprod: this CPU lacks dotprod");
    expect(ran.out).toMatch(/\n\d+ passed, 0 failed\n$/);
    expect(ran.code).toBe(0);
  });

  // Contract v2 (docs/engine.md): NEON (with and without dotprod) gives the reference kernels'
  // logits bit for bit, and the arm64 build gives the x86 build's logits bit for bit. With i8mm
  // and with dotprod the model is repacked first (x16 groups: SMMLA / SDOT by element); without
  // dotprod it keeps the file's rows.
  for (
    const [cpu, repack] of [["max", true], ["neoverse-n1", true], ["cortex-a53", false]] as const
  ) {
    test(`a forward pass with NEON kernels (-cpu ${cpu}${repack ? ", x16" : ""}) gives the reference kernels' logits and the x86 build's, bit for bit`, async () => {
      const model = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
      const ran = qemu(cpu, "neon-forward", [...(repack ? ["--repack"] : []), model]);
      if (ran.code !== 0) console.error(ran.out);
      expect(ran.out).toMatch(/\n4 passed, 0 failed\n$/);
      expect(ran.code).toBe(0);
      for (const head of ["float", "int8"] as const) {
        const layout = repack ? " repacked" : "";
        const m = ran.out.match(
          new RegExp(`^logits fnv1a32 ${head} head${layout} ([0-9a-f]{8})$`, "m"),
        );
        expect(m?.[1]).toBe(await x86LogitsHash(model, head));
      }
    });
  }
});
