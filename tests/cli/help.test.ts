/**
 * @module The command line as a user meets it: `aria --help` and per-verb help (real process),
 * aliases of the earlier ARIA, exit codes (0 ok, 1 failure, 2 usage) with messages that say
 * what to do, model names that are known but not pulled, and the pull progress display.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { progressPrinter } from "../../src/cli/model.ts";

const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

async function aria(...args: string[]) {
  const home = mkdtempSync(join(tmpdir(), "aria-help-"));
  try {
    const p = Bun.spawn([process.execPath, MAIN, ...args], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ARIA_HOME: home, HF_ENDPOINT: "http://127.0.0.1:9" },
    });
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

describe("help", () => {
  test("aria --help lists every verb, the aliases and the exit codes", async () => {
    const r = await aria("--help");
    expect(r.code).toBe(0);
    for (const verb of ["run", "serve", "bench", "perplexity", "tokenize", "model", "ledger"]) {
      expect(r.stdout).toContain(`\n  ${verb} `);
    }
    expect(r.stdout).toContain("aria node start");
    expect(r.stdout).toMatch(/Exit codes:[\s\S]*2 +usage error/);
  });

  test("aria <verb> --help, aria help <verb> and the old names print the verb's help", async () => {
    const model = await aria("model", "pull", "--help");
    expect(model.code).toBe(0);
    expect(model.stdout).toMatch(/^Usage: aria model /);
    expect((await aria("help", "model")).stdout).toBe(model.stdout);
    const serve = await aria("node", "start", "--help");
    expect(serve.stdout).toMatch(/^Usage: aria serve /);
    expect((await aria("api", "start", "--help")).stdout).toBe(serve.stdout);
    expect((await aria("infer", "--help")).stdout).toMatch(/^Usage: aria run /);
    expect((await aria("keys", "--help")).stdout).toMatch(/^Usage: aria keys show/);
  });
});

describe("errors and exit codes", () => {
  test("usage errors exit 2 and say what to do", async () => {
    const unknown = await aria("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('aria: Unknown command "frobnicate": see aria --help\n');
    const missing = await aria("model", "pull");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("aria model pull takes NAME");
    const badType = await aria("model", "convert", "a", "b", "--type", "q4_k");
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('Invalid --type "q4_k": expected tq2_0, tq1_0, i2_s');
  });

  test("runtime failures exit 1: a known model not pulled, an unknown name, no hub", async () => {
    const run = await aria("run", "--model", "aria-2b-1bit", "--prompt", "hi");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("is not installed: run aria model pull bitnet-b1.58-2b-4t");
    const info = await aria("model", "info", "no-such-model");
    expect(info.code).toBe(1);
    expect(info.stderr).toContain('No file or known model named "no-such-model"');
    const pull = await aria("model", "pull", "falcon3-1b"); // HF_ENDPOINT: a closed port
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/Cannot reach 127\.0\.0\.1:9: .*run the command again/);
    const noHash = await aria("model", "pull", "falcon3-10b");
    expect(noHash.code).toBe(1);
    expect(noHash.stderr).toContain("pass --no-verify");
  });
});

describe("pull progress display", () => {
  test("a terminal gets one redrawn bar (at most every 100 ms, always the end)", () => {
    let out = "";
    let clock = 0;
    const show = progressPrinter({ err: (t) => (out += t), tty: true }, () => clock);
    for (let done = 100; done <= 1000; done += 100) {
      clock += 30;
      show({ done, total: 1000, received: done });
    }
    const frames = out.split("\r").filter((f) => f !== "");
    expect(frames.length).toBeLessThan(10); // throttled
    expect(frames[0]).toContain("10%");
    expect(frames.at(-1)).toMatch(/\[#+\] 100% .*\n$/);
  });

  test("a log gets one plain line per 10%", () => {
    const lines: string[] = [];
    const show = progressPrinter({ err: (t) => lines.push(t), tty: false }, () => 0);
    for (let done = 50; done <= 1000; done += 50) show({ done, total: 1000, received: done });
    expect(lines).toHaveLength(11); // 0%..100%
    expect(lines.every((l) => !l.includes("\r") && l.endsWith("\n"))).toBe(true);
    expect(lines.at(-1)).toContain("100%");
  });
});
