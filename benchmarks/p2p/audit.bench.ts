/**
 * Audit overhead on a routing node (issue 20), counted, not timed: the machine is shared, so the
 * result is how much work audits add, in re-executed tokens, for a given audit rate.
 *
 * Setup, in one process with the real parts: the peers' answers are real aria-nano generations
 * (NativeBackend, seeded sampling at temperature 0.9) recorded as version 2 records and signed by
 * each peer's key (the receipts the router receives); the router's real Auditor (src/p2p/
 * auditor.ts) gets every answer, draws from a seeded generator, and re-executes on its own
 * NativeBackend. Reported per rate: answers routed, audits run, tokens routed (prompt +
 * completion), tokens re-executed, overhead = re-executed / routed; also the audits a new peer
 * costs in its warm-up (rate 1, 2/3, 1/2, ... down to the base) and the process CPU time spent
 * in audits (indicative only on a loaded machine).
 *
 * Usage: bun benchmarks/p2p/audit.bench.ts [--answers 400] [--peers 4] [--tokens 24]
 * Appends one JSON line per rate to benchmarks/results/audit.jsonl.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { identityFromSecret } from "../../src/identity/index.ts";
import {
  buildReceipt,
  buildRecord,
  type Hex32,
  type Receipt,
  signRecord,
} from "../../src/ledger/index.ts";
import { resolveModelPath } from "../../src/model/index.ts";
import { Auditor } from "../../src/p2p/index.ts";
import { NativeBackend } from "../../src/serve/index.ts";
import type { CompletionRequest } from "../../src/contract/index.ts";
import { sha256File } from "../../src/node/peers.ts";

const { values } = parseArgs({
  options: { answers: { type: "string" }, peers: { type: "string" }, tokens: { type: "string" } },
});
const ANSWERS = Number(values.answers ?? 400);
const PEERS = Number(values.peers ?? 4);
const TOKENS = Number(values.tokens ?? 24);
const DISTINCT = 16; // distinct prompts; answers cycle through them (each audit re-runs one)
const OUT = join(import.meta.dir, "..", "results", "audit.jsonl");

const modelPath = await resolveModelPath("aria-nano", "/tmp");
const modelSha = await sha256File(modelPath) as Hex32;
const backend = new NativeBackend({ modelPath, nodeId: "router", parallel: 1, queue: 64 });
await backend.ready;
const model = backend.listModels()[0]!.id;
const nLayers = 1;

/** A seeded uniform generator (mulberry32), so each rate sees the same draws. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const peers = Array.from(
  { length: PEERS },
  (_, i) => identityFromSecret(new Uint8Array(32).fill(i + 10)),
);
interface Answer {
  request: CompletionRequest;
  receipt: Receipt;
  output: string;
  tokens: number;
}
/** The answers of each peer to each distinct prompt (what the router would receive). */
const answers: Answer[][] = [];
for (const peer of peers) {
  const mine: Answer[] = [];
  for (let i = 0; i < DISTINCT; i++) {
    const request: CompletionRequest = {
      id: `bench-${i}`,
      model,
      input: { kind: "text", prompt: `Story number ${i}: once upon a time` },
      maxTokens: TOKENS,
      sampling: { temperature: 0.9 },
      seed: 1000 + i,
      stop: [],
    };
    const gen = backend.complete(request, new AbortController().signal);
    let text = "";
    let step = await gen.next();
    for (; !step.done; step = await gen.next()) text += step.value.text;
    const result = step.value;
    const output = text + result.tail;
    const record = buildRecord({ request, result, output }, {
      identity: peer,
      modelSha256: modelSha,
      nLayers,
      clock: { nowMs: () => 1_700_000_000_000 },
    });
    const receipt = buildReceipt(signRecord(record, peer).signed);
    mine.push({
      request,
      receipt,
      output,
      tokens: result.usage.promptTokens + result.usage.completionTokens,
    });
  }
  answers.push(mine);
}

const node = {
  send: () => true,
  connectedPeers: () => [],
  ban: (peer: string, reason: string) => {
    throw new Error(`an honest peer was banned: ${peer} ${reason}`);
  },
  setAuditHandler: () => {},
};

for (const rate of [0.05, 0.2]) {
  const draw = seeded(7);
  const auditor = new Auditor({
    node,
    local: backend,
    identity: identityFromSecret(new Uint8Array(32).fill(1)),
    rate,
    localSha256: () => modelSha,
    clock: { nowMs: () => 1_700_000_000_000 },
    draw,
  });
  let routedTokens = 0;
  const cpu0 = process.cpuUsage();
  const warmup: number[] = [];
  for (let n = 0; n < ANSWERS; n++) {
    const p = n % PEERS;
    const a = answers[p]![Math.floor(n / PEERS) % DISTINCT]!;
    routedTokens += a.tokens;
    const before = auditor.counters.audits + auditor.counters.skipped;
    auditor.afterAnswer(peers[p]!.nodeId, a.request, a.receipt, a.output);
    await auditor.idle(); // one at a time: the queue never overflows, so no audit is skipped
    if (p === 0 && warmup.length < 40) warmup.push(auditor.counters.audits - before);
  }
  const cpu = process.cpuUsage(cpu0);
  const c = auditor.counters;
  const row = {
    bench: "audit-overhead",
    model: "aria-nano",
    rate,
    peers: PEERS,
    answers: c.answers,
    audits: c.audits,
    skipped: c.skipped,
    proofsMade: c.proofsMade,
    routedTokens,
    reexecutedTokens: c.reexecutedTokens,
    overhead: Math.round((c.reexecutedTokens / routedTokens) * 10000) / 10000,
    expectedAudits: Math.round(
      expectedAudits(rate, Math.ceil(ANSWERS / PEERS)) * PEERS * 10,
    ) / 10,
    firstPeerAuditsOfFirst40: warmup.reduce((x, y) => x + y, 0),
    cpuMsAudits: Math.round((cpu.user + cpu.system) / 1000),
    at: new Date().toISOString(),
  };
  console.log(JSON.stringify(row));
  appendFileSync(OUT, JSON.stringify(row) + "\n");
}
await backend.close();

/** Expected audits over a peer's first n answers: sum of max(rate, 2 / (2 + passed)). */
function expectedAudits(rate: number, n: number): number {
  // passed grows by one per audit; simulate the expectation with a mean-field recursion
  let passed = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.max(rate, 2 / (2 + passed));
    total += r;
    passed += r;
  }
  return total;
}
