/**
 * @module The HTTP layer's cost: time to first token (TTFT) and aggregate generated tokens/s with
 * 1, 4 and 8 concurrent clients, (a) over HTTP against a real `aria serve` process (streamed chat
 * completions through fetch, `stream_options.include_usage`), and (b) against the same backend
 * (NativeBackend, built as src/cli/serve.ts builds it) called in this process. Both stay loaded for
 * the whole run (the engine's worker threads sleep when idle); per repetition and client count the
 * two modes run interleaved (A B, then B A). Medians over the repetitions; one JSON row per (mode,
 * clients) appended to benchmarks/results/api.jsonl with the commit, date, machine and load
 * average.
 *
 * What is timed: each client sends one request at t0 (all clients at once); TTFT is t0 → the first
 * piece of generated text (HTTP: the first non-empty `delta.content`; direct: the first chunk
 * with non-empty text), averaged over the clients of a round; aggregate tokens/s is the sum of
 * the completion tokens (from `usage`) ÷ (t0 → the last client's end). Greedy (temperature 0),
 * fixed prompts (one per client), fixed seed, max_tokens 64 by default. One unmeasured warmup
 * round per mode. The HTTP client runs in this process, so its SSE parsing shares the 2 cores
 * with the server: that cost is counted in (a), as a real client's would be on the same machine.
 *
 * Usage:
 *   bun benchmarks/api/api.bench.ts [--model PATH] [--clients 1,4,8] [--max-tokens 64] [--reps 5]
 *     [--threads N] [--parallel 8]
 * Without --model it generates (or reuses) the `small` bitnet-b1.58 TQ2_0 model in
 * benchmarks/models/ (git-ignored).
 */
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import type { CompletionRequest } from "../../src/contract/index.ts";
import { NativeBackend } from "../../src/serve/native-backend.ts";
import { makeModel } from "../../scripts/make-model.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    clients: { type: "string", default: "1,4,8" },
    "max-tokens": { type: "string", default: "64" },
    reps: { type: "string", default: "5" },
    threads: { type: "string" },
    parallel: { type: "string", default: "8" },
  },
});

const PROMPTS = [
  "Write a long story about a lighthouse keeper and a storm.",
  "Explain in detail how a steam engine works, step by step.",
  "Describe a walk through a busy market in a coastal town.",
  "List the history of the printing press with many details.",
  "Tell a long fable about a fox, a crow and a river.",
  "Describe the life cycle of a star from nebula to remnant.",
  "Write a travel diary of a week spent in the mountains.",
  "Explain how bread is made, from the field to the oven.",
];
const SEED = 1;

async function defaultModel(): Promise<string> {
  const dir = join(ROOT, "benchmarks", "models");
  const path = join(dir, "small-bitnet-b1.58-tq2_0.gguf");
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    console.error(`generating ${path} …`);
    await makeModel({ preset: "small", arch: "bitnet-b1.58", type: "tq2_0", out: path });
  }
  return path;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const ms = (ns: number) => ns / 1e6;

/** One client's outcome: ns from the round's t0 to the first text and to the end; tokens. */
interface ClientRun {
  ttftNs: number;
  endNs: number;
  tokens: number;
}

/** One round: every client at once; mean TTFT (ms) and aggregate tokens/s. */
interface Round {
  ttftMs: number;
  aggTps: number;
  tokens: number;
}

function summarize(runs: readonly ClientRun[]): Round {
  const tokens = runs.reduce((s, r) => s + r.tokens, 0);
  const wallNs = Math.max(...runs.map((r) => r.endNs));
  return {
    ttftMs: ms(runs.reduce((s, r) => s + r.ttftNs, 0) / runs.length),
    aggTps: tokens / (wallNs / 1e9),
    tokens,
  };
}

async function startServer(model: string): Promise<{ url: string; proc: Bun.Subprocess }> {
  const args = [
    process.execPath,
    join(ROOT, "src", "main.ts"),
    "serve",
    "--model",
    model,
    "--port",
    "0",
    "--parallel",
    values.parallel!,
  ];
  if (values.threads) args.push("--threads", values.threads);
  // the server's JSON access log goes to stderr: drop it (writing it is part of the server's work)
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "ignore" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let out = "";
  let url = "";
  while (!url) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`aria serve exited before listening:\n${out}`);
    out += decoder.decode(value, { stream: true });
    url = /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? "";
  }
  // keep draining stdout so that the server never blocks on a full pipe
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return { url, proc };
}

/** One streamed chat completion over HTTP; times relative to `t0` (Bun.nanoseconds). */
async function httpClient(
  url: string,
  modelId: string,
  prompt: string,
  maxTokens: number,
  t0: number,
): Promise<ClientRun> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: modelId,
      messages: [{ role: "user", content: prompt }],
      temperature: 0,
      max_tokens: maxTokens,
      seed: SEED,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let buf = "";
  let ttftNs = -1;
  let tokens = -1;
  for await (const bytes of res.body) {
    buf += decoder.decode(bytes, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      if (!event.startsWith("data: ")) continue;
      const data = event.slice(6);
      if (data === "[DONE]") continue;
      const msg = JSON.parse(data) as {
        choices: { delta: { content?: string } }[];
        usage?: { completion_tokens: number };
      };
      if (ttftNs < 0 && (msg.choices[0]?.delta.content ?? "") !== "") {
        ttftNs = Bun.nanoseconds() - t0;
      }
      if (msg.usage) tokens = msg.usage.completion_tokens;
    }
  }
  const endNs = Bun.nanoseconds() - t0;
  if (tokens < 0) throw new Error("stream ended without a usage chunk");
  return { ttftNs: ttftNs < 0 ? endNs : ttftNs, endNs, tokens };
}

let nextId = 0;

/** The same request through NativeBackend.complete() in this process. */
async function directClient(
  backend: NativeBackend,
  modelId: string,
  prompt: string,
  maxTokens: number,
  t0: number,
): Promise<ClientRun> {
  // what src/api/schemas.ts builds from the HTTP body above (temperature 0 → greedy)
  const request: CompletionRequest = {
    id: `chatcmpl-bench-${nextId++}`,
    model: modelId,
    input: { kind: "chat", messages: [{ role: "user", content: prompt }] },
    maxTokens,
    sampling: { temperature: 0, topP: 1, topK: 40 },
    seed: SEED,
    stop: [],
  };
  const gen = backend.complete(request, new AbortController().signal);
  let ttftNs = -1;
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) {
    if (ttftNs < 0 && step.value.text !== "") ttftNs = Bun.nanoseconds() - t0;
  }
  const endNs = Bun.nanoseconds() - t0;
  return {
    ttftNs: ttftNs < 0 ? endNs : ttftNs,
    endNs,
    tokens: step.value.usage.completionTokens,
  };
}

type Client = (prompt: string, t0: number) => Promise<ClientRun>;

async function round(client: Client, n: number): Promise<Round> {
  const t0 = Bun.nanoseconds();
  const runs = await Promise.all(
    Array.from({ length: n }, (_, i) => client(PROMPTS[i % PROMPTS.length]!, t0)),
  );
  return summarize(runs);
}

const model = values.model ?? await defaultModel();
const modelId = basename(model).replace(/\.gguf$/i, "");
const clientCounts = values.clients!.split(",").map(Number);
const maxTokens = Number(values["max-tokens"]);
const reps = Number(values.reps);
const parallel = Number(values.parallel);
const threads = values.threads ? Number(values.threads) : undefined;
const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout
  .toString().trim();
const cpu = cpus()[0]?.model ?? "unknown";
const loadBefore = loadavg();

const server = await startServer(model);
// as src/cli/serve.ts builds it with the defaults of `aria serve` (queue 64)
const backend = new NativeBackend({
  modelPath: model,
  nodeId: "node-bench",
  threads,
  parallel,
  queue: 64,
});
await backend.ready;
while ((await fetch(`${server.url}/health`).catch(() => null))?.status !== 200) await Bun.sleep(5);

const modes = {
  http: ((p, t0) => httpClient(server.url, modelId, p, maxTokens, t0)) as Client,
  direct: ((p, t0) => directClient(backend, modelId, p, maxTokens, t0)) as Client,
};
type Mode = keyof typeof modes;

const rows: Record<string, unknown>[] = [];
try {
  // warmup: one round of each mode at the widest client count (page-in, JIT, allocations)
  const widest = Math.max(...clientCounts);
  await round(modes.http, widest);
  await round(modes.direct, widest);

  for (const clients of clientCounts) {
    const results: Record<Mode, Round[]> = { http: [], direct: [] };
    for (let r = 0; r < reps; r++) {
      const order: Mode[] = r % 2 === 0 ? ["http", "direct"] : ["direct", "http"];
      for (const mode of order) results[mode].push(await round(modes[mode], clients));
    }
    for (const mode of ["http", "direct"] as const) {
      const rs = results[mode];
      rows.push({
        commit,
        date: new Date().toISOString(),
        cpu,
        cores: cpus().length,
        model: modelId,
        threads: threads ?? null,
        parallel,
        max_tokens: maxTokens,
        mode,
        clients,
        ttft_ms: Number(median(rs.map((x) => x.ttftMs)).toFixed(2)),
        agg_tps: Number(median(rs.map((x) => x.aggTps)).toFixed(2)),
        reps,
        tokens: rs.map((x) => x.tokens),
        ttft_runs: rs.map((x) => Number(x.ttftMs.toFixed(2))),
        tps_runs: rs.map((x) => Number(x.aggTps.toFixed(2))),
        loadavg_start: loadBefore.map((x) => Number(x.toFixed(2))),
        loadavg_end: loadavg().map((x) => Number(x.toFixed(2))),
      });
    }
    const h = rows.at(-2)!;
    const d = rows.at(-1)!;
    const pct = (a: number, b: number) => `${((a / b - 1) * 100).toFixed(1)}%`;
    console.log(
      `clients ${clients}: TTFT http ${h.ttft_ms} ms direct ${d.ttft_ms} ms (${
        pct(h.ttft_ms as number, d.ttft_ms as number)
      }) | agg tok/s http ${h.agg_tps} direct ${d.agg_tps} (${
        pct(h.agg_tps as number, d.agg_tps as number)
      }) | tokens ${JSON.stringify(h.tokens)}`,
    );
  }
} finally {
  server.proc.kill("SIGTERM");
  await server.proc.exited;
  await backend.close();
}

const at = (mode: Mode, clients: number) =>
  rows.find((r) => r.mode === mode && r.clients === clients)?.agg_tps as number | undefined;
for (const mode of ["http", "direct"] as const) {
  const one = at(mode, 1);
  const four = at(mode, 4);
  if (one !== undefined && four !== undefined) {
    console.log(`scaling at 4 clients (${mode}): x${(four / one).toFixed(2)}`);
  }
}
console.log(
  `load average: start ${loadBefore.map((x) => x.toFixed(2)).join(" ")}, end ${
    loadavg().map((x) => x.toFixed(2)).join(" ")
  }`,
);

mkdirSync(join(ROOT, "benchmarks", "results"), { recursive: true });
appendFileSync(
  join(ROOT, "benchmarks", "results", "api.jsonl"),
  rows.map((r) => JSON.stringify(r)).join("\n") + "\n",
);
