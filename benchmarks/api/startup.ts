/**
 * Startup to ready: spawn `aria serve --port 0`, poll /health until 200; median of N runs.
 * Usage: bun benchmarks/api/startup.ts MODEL.gguf [runs=5]
 */
import { join } from "node:path";

const model = process.argv[2];
const runs = Number(process.argv[3] ?? 5);
if (!model) throw new Error("Usage: bun benchmarks/api/startup.ts MODEL.gguf [runs]");
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const proc = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "../../src/main.ts"),
      "serve",
      "--model",
      model,
      "--port",
      "0",
    ],
    { stdout: "pipe", stderr: "inherit" },
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
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    model,
    runs,
    startup_ms_median: Math.round(times[runs >> 1]!),
    startup_ms: times.map(Math.round),
  }),
);
