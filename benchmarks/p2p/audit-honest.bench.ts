/**
 * No false accusations among honest nodes (issue 20, "with no cheater, nothing is flagged over
 * hundreds of requests even when the nodes use different kernel tables"), with real `aria serve`
 * processes on loopback and aria-nano: three nodes, each with another kernel table (`--kernels
 * ref`, `avx2`, and the automatic choice), each routing (`--parallel 1`: a burst overflows to the
 * peers) and auditing every routed answer it gets (`--audit-rate 1`), so an answer computed with
 * one table is re-executed with another. Requests vary: prompts, seeds, temperatures (0 included),
 * top_p, top_k, min_p, max_tokens, completions and chat, some with response_format json_object.
 * After each round the benchmark waits for the audits to drain (the audit queue holds 16; a full
 * queue would skip audits, which says nothing about honesty). At the end it reads every node's
 * /v1/aria/peers and its log (the reasons of skipped audits), prints a JSON summary and writes it
 * to benchmarks/results/audit-honest.json with the machine. Any failed audit or fraud proof is a
 * false accusation: its proof files are copied into the result, and the exit code is 1.
 *
 * Usage: bun benchmarks/p2p/audit-honest.bench.ts [--requests 300] [--burst 3] [--minutes 25]
 * (--requests in all: half in the trio, a sixth in each pair; --minutes bounds the whole run, a
 * phase stops early at its share of it and says so)
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { kernelInfo } from "../../src/engine/index.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string" },
    burst: { type: "string" },
    minutes: { type: "string" },
  },
});
/** Requests sent in all (each node gets a third). */
const REQUESTS = Number(values.requests ?? 300);
/** Concurrent requests per node per round (with --parallel 1, all but about one are routed). */
const BURST = Number(values.burst ?? 3);
/** Stop sending new rounds after this many minutes (the summary says so). */
const MINUTES = Number(values.minutes ?? 25);
const ROOT = join(import.meta.dir, "..", "..");
const OUT = join(ROOT, "benchmarks", "results", "audit-honest.json");
const MODEL = "aria-nano";

/** The three nodes: name and kernel table ("auto": the startup choice for this CPU). */
const TABLES = [
  { name: "ref", kernels: "ref" },
  { name: "avx2", kernels: "avx2" },
  { name: "auto", kernels: "auto" },
] as const;

interface Node {
  name: string;
  kernels: string;
  proc: ReturnType<typeof Bun.spawn>;
  api: string;
  ws: string;
  id: string;
  log: string;
  dataDir: string;
}

interface Reputation {
  answers: number;
  passed: number;
  failed: number;
  skipped: number;
  convicted: string | null;
}
interface PeersJson {
  self: string;
  peers: { id: string; models: unknown[] }[];
  audits: {
    answers: number;
    audits: number;
    reexecutedTokens: number;
    skipped: number;
    proofsMade: number;
    proofsAccepted: number;
    proofsForged: number;
  };
  reputation: Record<string, Reputation>;
}

const PEER_LINE = /ARIA peer node listening on (wss?:\/\/\S+) \(node ([0-9a-f]{64})\)/;
const API_LINE = /ARIA listening on (http:\/\/\S+)/;

/** Starts `aria serve` with its stderr (the JSON log) in a file; resolves once it listens. */
async function serve(home: string, t: (typeof TABLES)[number], peers: string[]): Promise<Node> {
  const dataDir = join(home, t.name);
  const log = join(home, `${t.name}.log`);
  const args = [
    ...["--port", "0", "--p2p-port", "0", "--threads", "1", "--parallel", "1"],
    ...["--audit-rate", "1", "--data-dir", dataDir],
    ...(t.kernels === "auto" ? [] : ["--kernels", t.kernels]),
    ...(peers.length > 0 ? ["--peers", peers.join(",")] : []),
  ];
  const proc = Bun.spawn([process.execPath, "src/main.ts", "serve", ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: Bun.file(log),
  });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let out = "";
  while (!(PEER_LINE.test(out) && API_LINE.test(out))) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`aria serve ${t.name} exited before listening: ${out}`);
    out += new TextDecoder().decode(value);
  }
  // keep draining stdout so the child never blocks on a full pipe
  (async () => {
    for (;;) if ((await reader.read()).done) break;
  })();
  const p = PEER_LINE.exec(out)!;
  return {
    name: t.name,
    kernels: t.kernels,
    proc,
    api: API_LINE.exec(out)![1]!,
    ws: p[1]!,
    id: p[2]!,
    log,
    dataDir,
  };
}

async function peersOf(n: Node): Promise<PeersJson> {
  return await (await fetch(`${n.api}/v1/aria/peers`)).json() as PeersJson;
}

async function until(check: () => Promise<boolean>, what: string, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await check()) return true;
    await Bun.sleep(250);
  }
  console.error(`timed out waiting for ${what}`);
  return false;
}

/** A seeded generator (mulberry32): the same requests on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const PROMPTS = [
  "Once upon a time, in a small village,",
  "The history of the city",
  "Tom and Lily went to the park. They",
  "A little bird wanted to fly",
  "The sun was shining and",
  "Mia found a red ball under the tree.",
  "One day, a big dog",
  "The old man said,",
  "There was a girl named Sue who liked to",
  "It was a cold winter night",
  "Ben wanted to help his mom",
  "The cat and the mouse",
  "Write a story about a brave knight.",
  "What did the frog see in the pond?",
  "Tell me about the moon.",
  "Once there was a boat",
];

interface Sent {
  endpoint: "completions" | "chat";
  json: boolean;
  body: Record<string, unknown>;
}

/** One varied request: every sampler knob drawn from its own list. */
function makeRequest(r: () => number, k: number): Sent {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chat = r() < 0.4;
  const json = r() < 0.15;
  const prompt = pick(PROMPTS);
  const body: Record<string, unknown> = {
    model: MODEL,
    seed: 1000 + k,
    max_tokens: pick([4, 8, 16, 24, 32, 48, 64, 96, 120]),
    temperature: pick([0, 0.3, 0.7, 0.9, 1.0, 1.3]),
  };
  const topP = pick([undefined, 1, 0.95, 0.8, 0.5]);
  if (topP !== undefined) body["top_p"] = topP;
  const topK = pick([undefined, 0, 40, 10, 3]);
  if (topK !== undefined) body["top_k"] = topK;
  const minP = pick([undefined, 0, 0.05, 0.1, 0.2]);
  if (minP !== undefined) body["min_p"] = minP;
  if (json) body["response_format"] = { type: "json_object" };
  if (chat) body["messages"] = [{ role: "user", content: prompt }];
  else body["prompt"] = prompt;
  return { endpoint: chat ? "chat" : "completions", json, body };
}

interface Outcome {
  status: number;
  servedBy: string;
  error?: string;
}

async function send(n: Node, s: Sent): Promise<Outcome> {
  const path = s.endpoint === "chat" ? "/v1/chat/completions" : "/v1/completions";
  try {
    const r = await fetch(`${n.api}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(s.body),
    });
    const text = await r.text();
    const servedBy = r.headers.get("x-aria-served-by") ?? "";
    return r.status === 200
      ? { status: r.status, servedBy }
      : { status: r.status, servedBy, error: text.slice(0, 300) };
  } catch (err: unknown) {
    return { status: 0, servedBy: "", error: String(err).slice(0, 300) };
  }
}

/** Audits finished or skipped reach the answers that can be audited (queue drained). */
async function drained(n: Node): Promise<boolean> {
  const { audits, reputation } = await peersOf(n);
  const settled = Object.values(reputation).reduce(
    (k, r) => k + r.passed + r.failed + r.skipped,
    0,
  );
  return settled >= audits.answers || audits.audits + audits.skipped >= audits.answers;
}

/** The machine: CPU model, the ISA flags that pick kernel tables, and what "auto" picks here. */
async function machine(): Promise<Record<string, unknown>> {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? "unknown";
  const flags = (/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? "").split(/\s+/);
  const isa = flags.filter((f) =>
    /^(sse4_1|sse4_2|ssse3|avx|avx2|fma|f16c|bmi2|avx_vnni|avx512\w*)$/.test(f)
  );
  return {
    cpu: model,
    cpus: (info.match(/^processor\s*:/gm) ?? []).length,
    isa,
    loadAverage: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number),
    bun: Bun.version,
    // the same library and CPU as the nodes: the table a node without --kernels uses
    engine: await kernelInfo(),
  };
}

/** Log events of one node about audits (skips with reasons, refusals, errors, convictions). */
function auditLog(n: Node): Record<string, unknown>[] {
  if (!existsSync(n.log)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(n.log, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (typeof e["event"] === "string" && (e["event"] as string).startsWith("audit_")) {
        out.push(e);
      } else if (typeof e["msg"] === "string" && /audit|fraud/i.test(e["msg"] as string)) {
        out.push(e);
      }
    } catch {
      // handled here: a non-JSON line (a stack trace) is not an audit event
    }
  }
  return out;
}

function countBy(xs: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const x of xs) c[x] = (c[x] ?? 0) + 1;
  return c;
}

interface Totals {
  answersRouted: number;
  audits: number;
  passed: number;
  failed: number;
  skipped: number;
  notAudited: number;
  proofsMade: number;
  proofsAccepted: number;
  proofsForged: number;
  convicted: number;
  reexecutedTokens: number;
}
const zero = (): Totals => ({
  answersRouted: 0,
  audits: 0,
  passed: 0,
  failed: 0,
  skipped: 0,
  notAudited: 0,
  proofsMade: 0,
  proofsAccepted: 0,
  proofsForged: 0,
  convicted: 0,
  reexecutedTokens: 0,
});

const home = mkdtempSync(join(tmpdir(), "aria-audit-honest-"));
const t0 = performance.now();
const deadline = t0 + MINUTES * 60_000;
const r = rng(20);
let k = 0;
/** Answers passed, per (table that answered -> table that re-executed). */
const auditedBy: Record<string, number> = {};
const grand = zero();
const falseAccusations: unknown[] = [];
const phases: unknown[] = [];
const allSent: { node: string; req: Sent; out: Outcome }[] = [];
let keepLogs = false;

/**
 * One phase: fresh nodes with the given tables, all peered, `requests` requests in rounds of
 * BURST per node. The trio phase routes mostly to the fastest tables (the score trusts measured
 * speed), so the pair phases make the slower table's answers audited too.
 */
async function phase(
  name: string,
  tables: (typeof TABLES)[number][],
  requests: number,
  share: number,
) {
  const dir = join(home, name);
  mkdirSync(dir, { recursive: true });
  const nodes: Node[] = [];
  const sent: { node: string; req: Sent; out: Outcome }[] = [];
  try {
    for (const t of tables) nodes.push(await serve(dir, t, nodes.map((n) => n.ws)));
    for (const n of nodes) {
      const ok = await until(
        async () =>
          (await peersOf(n)).peers.filter((p) => p.models.length > 0).length === nodes.length - 1,
        `${n.name} to see its peers' adverts`,
        60_000,
      );
      if (!ok) throw new Error(`${name}: ${n.name} never saw its peers`);
    }
    const end = performance.now() + (deadline - performance.now()) * share;
    let stoppedEarly = false;
    while (sent.length < requests) {
      if (performance.now() > end) {
        stoppedEarly = true;
        break;
      }
      const round = nodes.flatMap((n) =>
        Array.from({ length: BURST }, () => ({ n, req: makeRequest(r, k++) }))
      );
      const outs = await Promise.all(round.map(({ n, req }) => send(n, req)));
      outs.forEach((out, i) => sent.push({ node: round[i]!.n.name, req: round[i]!.req, out }));
      for (const n of nodes) await until(() => drained(n), `${n.name}'s audits`, 120_000);
      if (sent.length % (nodes.length * BURST * 10) === 0) {
        console.error(
          `${name}: ${sent.length} requests, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
        );
      }
    }
    const idName = new Map(nodes.map((n) => [n.id, n.name]));
    const perNode = [];
    const totals = zero();
    for (const n of nodes) {
      const seen = await peersOf(n);
      const reps = Object.entries(seen.reputation).map(([id, rep]) => ({
        peer: idName.get(id) ?? id,
        ...rep,
      }));
      for (const x of reps) {
        const key = `${x.peer}->${n.name}`;
        auditedBy[key] = (auditedBy[key] ?? 0) + x.passed;
      }
      const sum = (f: (x: Reputation) => number) => reps.reduce((a, x) => a + f(x), 0);
      const passed = sum((x) => x.passed);
      const failed = sum((x) => x.failed);
      const skipped = sum((x) => x.skipped);
      const events = auditLog(n);
      const isSkip = (e: Record<string, unknown>) =>
        e["event"] === "audit_skipped" || e["event"] === "audit_refused";
      perNode.push({
        node: n.name,
        kernels: n.kernels,
        id: n.id,
        audits: seen.audits,
        reputation: reps,
        skippedReasons: countBy(events.filter(isSkip).map((e) => String(e["reason"]))),
        otherAuditEvents: events.filter((e) => !isSkip(e)),
      });
      totals.answersRouted += seen.audits.answers;
      totals.audits += seen.audits.audits;
      totals.passed += passed;
      totals.failed += failed;
      totals.skipped += skipped;
      totals.notAudited += seen.audits.answers - passed - failed - skipped;
      totals.proofsMade += seen.audits.proofsMade;
      totals.proofsAccepted += seen.audits.proofsAccepted;
      totals.proofsForged += seen.audits.proofsForged;
      totals.convicted += reps.filter((x) => x.convicted !== null).length;
      totals.reexecutedTokens += seen.audits.reexecutedTokens;
      const proofs = join(n.dataDir, "fraud-proofs");
      if (existsSync(proofs)) {
        for (const f of readdirSync(proofs)) {
          falseAccusations.push({
            phase: name,
            node: n.name,
            file: f,
            proof: JSON.parse(readFileSync(join(proofs, f), "utf8")),
          });
        }
      }
    }
    for (const key of Object.keys(grand) as (keyof Totals)[]) grand[key] += totals[key];
    const errors = sent.filter((s) => s.out.status !== 200);
    phases.push({
      phase: name,
      nodes: tables.map((t) => t.name),
      sent: sent.length,
      ok: sent.length - errors.length,
      stoppedEarly,
      servedBy: countBy(
        sent.filter((s) => s.out.servedBy !== "").map((s) =>
          `${s.node}->${idName.get(s.out.servedBy) ?? s.out.servedBy.slice(0, 12)}`
        ),
      ),
      errors: errors.slice(0, 10).map((s) => ({ node: s.node, ...s.out, body: s.req.body })),
      totals,
      perNode,
    });
    allSent.push(...sent);
    if (totals.failed > 0 || totals.proofsMade > 0) keepLogs = true;
  } finally {
    for (const n of nodes) n.proc.kill(9);
  }
}

try {
  const [ref, avx2, auto] = TABLES;
  const pair = Math.round(REQUESTS / 6);
  await phase("trio", [ref, avx2, auto], REQUESTS - 3 * pair, 0.5);
  await phase("ref+avx2", [ref, avx2], pair, 1 / 3);
  await phase("ref+auto", [ref, auto], pair, 1 / 2);
  await phase("avx2+auto", [avx2, auto], pair, 1);
  const summary = {
    bench: "audit-honest",
    date: new Date().toISOString(),
    commit: Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: ROOT }).stdout.toString().trim(),
    machine: await machine(),
    setup: {
      model: MODEL,
      args: "--threads 1 --parallel 1 --audit-rate 1 (auto: no --kernels flag)",
      burstPerNode: BURST,
      requestsPlanned: REQUESTS,
      phases: "trio (ref, avx2, auto) then the pairs ref+avx2, ref+auto, avx2+auto",
    },
    requests: {
      sent: allSent.length,
      ok: allSent.filter((s) => s.out.status === 200).length,
      chat: allSent.filter((s) => s.req.endpoint === "chat").length,
      jsonObject: allSent.filter((s) => s.req.json).length,
      greedy: allSent.filter((s) => s.req.body["temperature"] === 0).length,
      maxTokens: countBy(allSent.map((s) => String(s.req.body["max_tokens"]))),
    },
    totals: grand,
    passedByTable: auditedBy,
    falseAccusations,
    phases,
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  writeFileSync(OUT, JSON.stringify(summary, null, 2) + "\n");
  console.log(JSON.stringify(summary, null, 2));
  if (grand.failed > 0 || grand.proofsMade > 0 || falseAccusations.length > 0) {
    console.error(`FALSE ACCUSATION: see falseAccusations in ${OUT}; logs kept in ${home}`);
    keepLogs = true;
    process.exitCode = 1;
  }
} finally {
  if (!keepLogs) rmSync(home, { recursive: true, force: true });
}
