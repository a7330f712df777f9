/**
 * Peer routing and fail-over on loopback, with real `aria serve` processes and aria-nano:
 * - local: a completion asked directly of a node that has the model;
 * - routed: the same asked of a node without the model (simulation backend), which routes it;
 * - fail-over: the routed request again, with the serving node killed (SIGKILL) at its first
 *   streamed text; the time it adds = fail-over run - routed run of the same repetition, and the
 *   longest stall between two pieces of text a client sees (against the routed run's).
 * Each repetition starts three fresh processes (two replicas, one router). Medians are printed
 * and every run is appended to benchmarks/results/p2p.jsonl.
 *
 * Usage: bun benchmarks/p2p/failover.bench.ts [--reps 3] [--tokens 200] [--threads 1]
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Node, peers, ProcessGroup, until } from "../../tests/helpers/p2p-procs.ts";
import { sseChunks } from "../../tests/helpers/api.ts";

const { values } = parseArgs({
  options: { reps: { type: "string" }, tokens: { type: "string" }, threads: { type: "string" } },
});
const REPS = Number(values.reps ?? 3);
const TOKENS = Number(values.tokens ?? 200);
const THREADS = values.threads ?? "1";
const OUT = join(import.meta.dir, "..", "results", "p2p.jsonl");

interface Timed {
  ms: number;
  tokens: number;
  text: string;
  /** Longest wait between two pieces of text (the stall a client sees). */
  maxGapMs: number;
}

async function run(n: Node, onFirst?: (servedBy: string) => void): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(`${n.api}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "aria-nano",
      prompt: "The history of the city",
      max_tokens: TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  const servedBy = res.headers.get("x-aria-served-by") ?? "";
  let text = "";
  let tokens = 0;
  let last = 0;
  let maxGapMs = 0;
  for await (const raw of sseChunks(res)) {
    const chunk = raw as {
      choices?: { text?: string }[];
      usage?: { completion_tokens: number };
    };
    const piece = chunk.choices?.[0]?.text ?? "";
    if (piece) {
      const now = performance.now();
      if (last > 0) maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
    }
    if (piece && !text && onFirst) onFirst(servedBy);
    text += piece;
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
  }
  return { ms: performance.now() - t0, tokens, text, maxGapMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: Record<string, number>[] = [];
for (let rep = 0; rep < REPS; rep++) {
  const procs = new ProcessGroup();
  try {
    const a = await procs.serve("a", ["--p2p-port", "0", "--threads", THREADS]);
    const d = await procs.serve("d", ["--p2p-port", "0", "--threads", THREADS, "--peers", a.ws]);
    const b = await procs.serve("b", ["--backend", "simulation", "--peers", a.ws]);
    await until(
      async () =>
        (await peers(b)).peers.filter((p) => p.models.some((m) => m.id === "aria-nano")).length ===
          2,
      "b to see both replicas",
    );
    await run(a); // warm-up
    const local = await run(a);
    const routed = await run(b);
    const failed = await run(b, (servedBy) => {
      [a, d].find((n) => n.id === servedBy)?.proc.kill(9);
    });
    if (failed.text !== routed.text) throw new Error("Fail-over changed the text");
    const row = {
      rep,
      tokens: routed.tokens,
      localMs: Math.round(local.ms),
      routedMs: Math.round(routed.ms),
      failoverMs: Math.round(failed.ms),
      addedMs: Math.round(failed.ms - routed.ms),
      localTps: Math.round((local.tokens / local.ms) * 10000) / 10,
      routedTps: Math.round((routed.tokens / routed.ms) * 10000) / 10,
      routedMaxGapMs: Math.round(routed.maxGapMs),
      failoverMaxGapMs: Math.round(failed.maxGapMs),
    };
    rows.push(row);
    appendFileSync(
      OUT,
      JSON.stringify({
        bench: "p2p-failover",
        threads: THREADS,
        date: new Date().toISOString(),
        ...row,
      }) + "\n",
    );
    console.log(JSON.stringify(row));
  } finally {
    procs.close();
  }
}
const pick = (k: string) => median(rows.map((r) => r[k]!));
console.log(
  `median over ${REPS}: local ${pick("localTps")} t/s, routed ${
    pick("routedTps")
  } t/s (${TOKENS} tokens, end to end), ` +
    `fail-over adds ${pick("addedMs")} ms in total; longest stall ${pick("failoverMaxGapMs")} ms ` +
    `(${pick("routedMaxGapMs")} ms without a failure)`,
);
