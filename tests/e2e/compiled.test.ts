/**
 * @module The single executable: `bun build --compile` embeds libbitnet, and the binary copied
 * alone into an empty directory loads it from inside itself (library.ts's embedded path) and
 * runs a model.
 */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testModel } from "../helpers/models.ts";

const ROOT = join(import.meta.dir, "..", "..");

test("a compiled aria binary in an empty directory runs a model with its embedded libbitnet", async () => {
  const model = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
  const dir = mkdtempSync(join(tmpdir(), "aria-bin-"));
  try {
    const exe = join(dir, "aria");
    const build = Bun.spawnSync(
      [process.execPath, "build", "--compile", join(ROOT, "src", "main.ts"), "--outfile", exe],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
    );
    expect(build.stderr.toString()).not.toContain("error");
    expect(build.exitCode).toBe(0);
    const run = Bun.spawnSync(
      [
        exe,
        "run",
        "--model",
        model,
        "--prompt-tokens",
        "1,450,7483",
        "--max-tokens",
        "3",
        "--temperature",
        "0",
        "--json",
      ],
      { cwd: dir, stdout: "pipe", stderr: "pipe" },
    );
    expect(run.stderr.toString()).toBe("");
    expect(run.exitCode).toBe(0);
    const out = JSON.parse(run.stdout.toString()) as { tokens: number[]; prompt_tokens: number };
    expect(out.prompt_tokens).toBe(3);
    expect(out.tokens).toHaveLength(3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
