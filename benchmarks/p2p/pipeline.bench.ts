/**
 * @module Pipeline parallelism's cost: decode tokens/s of a 2-stage pipeline against one node with
 * the same model, and the time a fail-over adds.
 *
 * Modes (all greedy, float output head, the same thread count per engine):
 * - `single`: the whole model in this process (createGenerationEngine over one context);
 * - `inproc-2`: two StageServers in this process, in-process links (the coordinator's own cost:
 *   frames encoded, checksummed, decoded; no network);
 * - `loopback-2`: two `aria serve --layers` child processes, HTTP POST links on 127.0.0.1.
 * - `p2p-2`: two `aria serve --layers --peers <coordinator>` child processes reached over the
 *   peer network: the coordinator is a P2PNode in this process (real ed25519 handshake, Bun
 *   WebSocket transport on 127.0.0.1), each frame a binary message through StageWire.
 * Fail-over rows (`*-failover`): the same route plus a replica of the second stage; at decode step
 * n/2 the second stage fails (in-process: its link starts rejecting; loopback: `kill -9` of its
 * process; p2p: `kill -9`, noticed when its WebSocket closes). `failover_added_ms` = duration of that step − the median step of the same run: the
 * re-plan plus the replay of prompt + tokens so far through the new route.
 *
 * What is timed: the prompt (`--prompt` tokens, fixed ids, one evalPrompt) and `--tokens` decode
 * steps (evalToken of the argmax; EOS not checked, so every run has the same length), from an
 * empty cache. Tokenization and the generation loop's stop logic are not involved. Medians over
 * `--reps` runs; one unmeasured warm-up per mode. Machine, commit and load average are recorded.
 *
 * Usage:
 *   bun benchmarks/p2p/pipeline.bench.ts [--model PATH] [--tokens 64] [--prompt 32] [--reps 3]
 *     [--threads 1]
 * Default model: the built-in aria-nano (6 blocks). benchmarks/results/pipeline.json holds one
 * entry per model file (a new run replaces that model's entry). The `large` synthetic model:
 *   bun scripts/make-model.ts --preset large --type tq2_0 \
 *     --out benchmarks/models/aria-large-bitnet-tq2_0.gguf
 */
import { execSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { createGenerationEngine, openModel } from "../../src/engine/index.ts";
import { argmax, type GenerationEngine } from "../../src/generation/index.ts";
import {
  createPipelineEngine,
  type StageLink,
  type StageNetwork,
} from "../../src/pipeline/pipeline.ts";
import type { StageAdvert } from "../../src/pipeline/pipeline-plan.ts";
import { createInProcessLink, StageServer } from "../../src/pipeline/stage.ts";
import { createHttpStageLink } from "../../src/pipeline/stage-http.ts";
import { spawnStage, type StageProcess } from "../../tests/helpers/pipeline.ts";
import { bunTransport, P2PNode } from "../../src/p2p/node.ts";
import { StageWire } from "../../src/pipeline/stage-p2p.ts";
import { ProcessGroup } from "../../tests/helpers/p2p-procs.ts";
import { edCrypto } from "../../tests/helpers/p2p.ts";

const ROOT = join(import.meta.dir, "..", "..");
const { values } = parseArgs({
  options: {
    model: { type: "string", default: join(ROOT, "static", "models", "aria-nano.gguf") },
    tokens: { type: "string", default: "64" },
    prompt: { type: "string", default: "32" },
    reps: { type: "string", default: "3" },
    threads: { type: "string", default: "1" },
  },
});
const MODEL = values.model!;
const N_TOKENS = Number(values.tokens);
const N_PROMPT = Number(values.prompt);
const REPS = Number(values.reps);
const THREADS = Number(values.threads);
const HASH = "bench";

interface Run {
  promptMs: number;
  decodeMs: number;
  stepMs: number[];
}

async function timeRun(engine: GenerationEngine, prompt: number[]): Promise<Run> {
  const t0 = performance.now();
  let logits = await engine.evalPrompt(prompt);
  const t1 = performance.now();
  const stepMs: number[] = [];
  for (let i = 0; i < N_TOKENS; i++) {
    const s = performance.now();
    logits = await engine.evalToken(argmax(logits));
    stepMs.push(performance.now() - s);
  }
  return { promptMs: t1 - t0, decodeMs: performance.now() - t1, stepMs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A network whose node `failing` starts failing at its `failAt`-th decode call. */
function network(
  links: Record<string, StageLink>,
  ranges: Record<string, [number, number]>,
  nLayer: number,
  fail?: { nodeId: string; atCall: number; action: () => Promise<void> | void },
): StageNetwork {
  let calls = 0;
  return {
    adverts: (): StageAdvert[] =>
      Object.entries(ranges).map(([nodeId, [b, e]]) => ({
        nodeId,
        modelHash: HASH,
        nLayer,
        layerBegin: b,
        layerEnd: e,
        load: 0,
        tokensPerSecond: nodeId.endsWith("-replica") ? 1 : 100, // the replica only as fallback
        alive: true,
      })),
    link: (nodeId: string): StageLink => ({
      nodeId,
      async request(frame, signal) {
        if (fail && nodeId === fail.nodeId && ++calls === fail.atCall) await fail.action();
        return await links[nodeId]!.request(frame, signal);
      },
    }),
  };
}

function row(mode: string, runs: Run[], extra: Record<string, number> = {}) {
  const decode = runs.map((r) => (N_TOKENS / r.decodeMs) * 1000);
  return {
    mode,
    tg_tps_median: Number(median(decode).toFixed(1)),
    tg_tps_runs: decode.map((x) => Number(x.toFixed(1))),
    prompt_ms_median: Number(median(runs.map((r) => r.promptMs)).toFixed(2)),
    step_ms_median: Number(median(runs.map((r) => median(r.stepMs))).toFixed(3)),
    // robust to the odd slow step of a shared machine (and to the fail-over step)
    tg_tps_from_median_step: Number((1000 / median(runs.map((r) => median(r.stepMs)))).toFixed(1)),
    ...extra,
  };
}

function failoverAdded(runs: Run[]): number {
  // the slowest step of a fail-over run is the step that failed over (re-plan + replay)
  return median(runs.map((r) => Math.max(...r.stepMs) - median(r.stepMs)));
}

type Made = { engine: GenerationEngine; done: () => Promise<void> | void };

async function measure(make: () => Promise<Made> | Made) {
  const runs: Run[] = [];
  for (let rep = 0; rep <= REPS; rep++) {
    const { engine, done } = await make();
    const run = await timeRun(engine, PROMPT);
    await done();
    if (rep > 0) runs.push(run); // rep 0 is the warm-up
  }
  return runs;
}

using whole = await openModel(MODEL);
const N_LAYER = whole.info.nLayer;
const HALF = N_LAYER >> 1;
const PROMPT = Array.from({ length: N_PROMPT }, (_, i) => (i * 7919 + 13) % whole.info.nVocab);
const rows = [];

rows.push(row(
  "single",
  await measure(() => {
    const ctx = whole.createContext({ nCtx: 256, nThreads: THREADS });
    return { engine: createGenerationEngine(ctx), done: () => ctx.close() };
  }),
));

// a session on a stage whose link "died" is never closed (the close cannot reach it) and would
// hold its slot until the idle time-out: one slot per run keeps every run's route the same
const stageOptions = { nThreads: THREADS, nCtx: 256, nSessions: REPS + 2 };
const inproc = {
  a: await StageServer.open(MODEL, { layerBegin: 0, layerEnd: HALF, ...stageOptions }),
  b: await StageServer.open(MODEL, { layerBegin: HALF, layerEnd: -1, ...stageOptions }),
  "b-replica": await StageServer.open(MODEL, { layerBegin: HALF, layerEnd: -1, ...stageOptions }),
};
const ranges: Record<string, [number, number]> = { a: [0, HALF], b: [HALF, N_LAYER] };
const withReplica = { ...ranges, "b-replica": [HALF, N_LAYER] as [number, number] };
const inprocLinks = Object.fromEntries(
  Object.entries(inproc).map(([id, s]) => [id, createInProcessLink(id, s)]),
);
/** Fail-over runs must fail over exactly once, during decode (checked, not assumed). */
const pipeline = (net: StageNetwork, expectFailover = false) => {
  const replays: number[] = [];
  const engine = createPipelineEngine(net, {
    modelHash: HASH,
    nLayer: N_LAYER,
    nCtx: 256,
    onEvent: (e) => e.kind === "failover" && replays.push(e.replayTokens),
  });
  const done = async () => {
    await engine.close();
    const want = expectFailover ? [N_PROMPT + (N_TOKENS >> 1) - 1] : [];
    if (JSON.stringify(replays) !== JSON.stringify(want)) {
      throw new Error(
        `Fail-overs replayed ${JSON.stringify(replays)} tokens, expected ${JSON.stringify(want)}`,
      );
    }
  };
  return { engine, done };
};

rows.push(
  row("inproc-2", await measure(() => pipeline(network(inprocLinks, ranges, N_LAYER)))),
);
const inprocFail = await measure(() => {
  let dead = false;
  const links = {
    ...inprocLinks,
    b: {
      nodeId: "b",
      request: (f: Uint8Array, s: AbortSignal) =>
        dead ? Promise.reject(new Error("link down")) : inprocLinks.b!.request(f, s),
    },
  };
  // b's calls: 1 for the prompt, then one per token: fail at decode step n/2
  const fail = { nodeId: "b", atCall: 1 + (N_TOKENS >> 1), action: () => void (dead = true) };
  return pipeline(network(links, withReplica, N_LAYER, fail), true);
});
rows.push(
  row("inproc-2-failover", inprocFail, {
    failover_added_ms: Number(failoverAdded(inprocFail).toFixed(2)),
  }),
);
for (const s of Object.values(inproc)) s.close();

const procs: StageProcess[] = [];
const spawn = async (id: string, layers: string) => {
  const p = await spawnStage(MODEL, id, layers, THREADS);
  procs.push(p);
  return p;
};
const httpLinks = async (ids: Record<string, string>) => {
  const out: Record<string, StageLink> = {};
  for (const [id, layers] of Object.entries(ids)) {
    out[id] = createHttpStageLink(id, (await spawn(id, layers)).url);
  }
  return out;
};
const fixed = await httpLinks({ a: `0-${HALF}`, b: `${HALF}-end` });
rows.push(row("loopback-2", await measure(() => pipeline(network(fixed, ranges, N_LAYER)))));
const loopFail = await measure(async () => {
  const links = await httpLinks({ b: `${HALF}-end`, "b-replica": `${HALF}-end` });
  const victim = procs.at(-2)!;
  // fresh processes: one short unmeasured run through each, so neither starts cold (JIT, pages)
  for (const id of ["b", "b-replica"]) {
    const warm = pipeline(
      network({ a: fixed.a!, [id]: links[id]! }, { a: ranges.a!, [id]: ranges.b! }, N_LAYER),
    );
    let logits = await warm.engine.evalPrompt(PROMPT);
    for (let i = 0; i < 8; i++) logits = await warm.engine.evalToken(argmax(logits));
    await warm.done();
  }
  const fail = {
    nodeId: "b",
    atCall: 1 + (N_TOKENS >> 1),
    action: async () => {
      victim.process.kill(9);
      await victim.process.exited;
    },
  };
  const p = pipeline(network({ ...links, a: fixed.a! }, withReplica, N_LAYER, fail), true);
  return {
    engine: p.engine,
    done: async () => {
      await p.done();
      procs.at(-1)!.process.kill(9);
    },
  };
});
rows.push(
  row("loopback-2-failover", loopFail, {
    failover_added_ms: Number(failoverAdded(loopFail).toFixed(2)),
  }),
);
for (const p of procs) p.process.kill(9);

// the same two modes over the peer network: stages dial the coordinator's p2p port
const hasher = new Bun.CryptoHasher("sha256");
hasher.update(readFileSync(MODEL));
const fileHash = hasher.digest("hex");
const group = new ProcessGroup();
const wire = new StageWire();
const coordinator = new P2PNode({
  crypto: edCrypto(1),
  transport: bunTransport({ port: 0, hostname: "127.0.0.1" }),
  clock: { nowMs: () => Date.now() },
  randomHex: (n) => Buffer.from(crypto.getRandomValues(new Uint8Array(n))).toString("hex"),
});
wire.attach(coordinator);
const coordinatorUrl = (await coordinator.start())!;
const tick = setInterval(() => coordinator.tick(), 1000);
const p2pStage = async (name: string, layers: string) => {
  const n = await group.stage(name, [
    "--layers",
    layers,
    "--peers",
    coordinatorUrl,
    "--threads",
    String(THREADS),
    "--output-head",
    "float",
    "--ctx",
    "256",
  ]);
  // ready when its advert (with the file hash) has reached the coordinator
  const advertised = async () =>
    (await wire.network().adverts(fileHash)).some((x) => x.nodeId === n.id);
  for (let i = 0; !(await advertised()); i++) {
    if (i > 400) throw new Error(`Stage ${name} never advertised to the coordinator`);
    await Bun.sleep(25);
  }
  return { n, link: wire.link(n.id) };
};
const p2pA = await p2pStage("a", `0-${HALF}`);
const p2pB = await p2pStage("b", `${HALF}-end`);
const p2pFixed = { a: p2pA.link, b: p2pB.link };
rows.push(row("p2p-2", await measure(() => pipeline(network(p2pFixed, ranges, N_LAYER)))));
p2pB.n.proc.kill(9);
let p2pRep = 0;
const p2pFail = await measure(async () => {
  p2pRep++;
  const b = await p2pStage(`b-${p2pRep}`, `${HALF}-end`);
  const replica = await p2pStage(`b-replica-${p2pRep}`, `${HALF}-end`);
  const links = { a: p2pA.link, b: b.link, "b-replica": replica.link };
  // fresh processes: one short unmeasured run through each, so neither starts cold
  for (const id of ["b", "b-replica"] as const) {
    const warm = pipeline(
      network({ a: p2pA.link, [id]: links[id] }, { a: ranges.a!, [id]: ranges.b! }, N_LAYER),
    );
    let logits = await warm.engine.evalPrompt(PROMPT);
    for (let i = 0; i < 8; i++) logits = await warm.engine.evalToken(argmax(logits));
    await warm.done();
  }
  const fail = {
    nodeId: "b",
    atCall: 1 + (N_TOKENS >> 1),
    action: async () => {
      b.n.proc.kill(9);
      await b.n.proc.exited;
    },
  };
  const p = pipeline(network(links, withReplica, N_LAYER, fail), true);
  return {
    engine: p.engine,
    done: async () => {
      await p.done();
      replica.n.proc.kill(9);
    },
  };
});
rows.push(
  row("p2p-2-failover", p2pFail, {
    failover_added_ms: Number(failoverAdded(p2pFail).toFixed(2)),
  }),
);
clearInterval(tick);
await coordinator.stop();
group.close();

const commit = execSync("git rev-parse --short HEAD", { cwd: ROOT }).toString().trim();
const result = {
  benchmark: "pipeline",
  date: new Date().toISOString(),
  commit,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  loadavg_1m_end: Number(loadavg()[0]!.toFixed(2)),
  model: basename(MODEL),
  n_layer: N_LAYER,
  n_embd: whole.info.nEmbd,
  n_vocab: whole.info.nVocab,
  split: `[0,${HALF}) + [${HALF},${N_LAYER})`,
  threads_per_engine: THREADS,
  prompt_tokens: N_PROMPT,
  decode_tokens: N_TOKENS,
  reps: REPS,
  rows,
};
// one entry per model file: a new run replaces the previous run of the same model
const OUT = join(ROOT, "benchmarks", "results", "pipeline.json");
const previous: { model: string }[] = existsSync(OUT) ? JSON.parse(readFileSync(OUT, "utf8")) : [];
const all = [...previous.filter((r) => r.model !== result.model), result];
writeFileSync(OUT, `${JSON.stringify(all, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
