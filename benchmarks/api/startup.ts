/**
 * Startup to ready: spawn `aria serve --port 0`, poll /health until 200; median of N runs.
 * Usage: bun benchmarks/api/startup.ts [--model MODEL.gguf] [--exe dist/aria-linux-x64] [--runs 5]
 * Without --model: the built-in aria-nano. Without --exe: `bun src/main.ts`. A compiled binary
 * runs with a fresh ARIA_HOME, so its first run includes copying aria-nano out of the binary.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    exe: { type: "string" },
    runs: { type: "string", default: "5" },
  },
});
const runs = Number(values.runs);
const cmd = values.exe
  ? [values.exe]
  : [process.execPath, join(import.meta.dir, "../../src/main.ts")];
const home = mkdtempSync(join(tmpdir(), "aria-startup-"));
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const proc = Bun.spawn(
    [...cmd, "serve", ...(values.model ? ["--model", values.model] : []), "--port", "0"],
    { stdout: "pipe", stderr: "inherit", env: { ...process.env, ARIA_HOME: home } },
  );
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  let url = "";
  while (!url) {
    const { value, done } = await reader.read();
    if (done) throw new Error(out);
    out += new TextDecoder().decode(value);
    // the port is printed with the ready line; poll /health from then on
    url = /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? "";
  }
  while ((await fetch(`${url}/health`).catch(() => null))?.status !== 200) await Bun.sleep(1);
  times.push(performance.now() - t0);
  proc.kill("SIGTERM");
  await proc.exited;
}
rmSync(home, { recursive: true, force: true });
const first = Math.round(times[0]!);
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    model: values.model ?? "aria-nano (built-in)",
    exe: values.exe ?? "bun src/main.ts",
    runs,
    first_run_ms: first,
    startup_ms_median: Math.round(times[runs >> 1]!),
    startup_ms: times.map(Math.round),
  }),
);
