/**
 * What a relay costs a streamed answer on loopback: three P2PNodes in one process over real
 * WebSockets with real ed25519 keys (client C, relay R, serving node N), N's backend a stand-in
 * that streams `--chunks` chunks of `--chunk-chars` characters as fast as it can. Each repetition
 * runs, interleaved, the same request direct (C -> N on their own connection) and relayed
 * (C -> R -> N through a circuit): time to first chunk, total time, and characters per second.
 * Per chunk, direct costs one signature (N) and one verification (C); relayed costs three of
 * each (N signs the inner frame and the relay.data around it, R verifies and signs its own
 * relay.data, C verifies both), plus a hop. Medians go to benchmarks/results/relay.json.
 *
 * Usage: bun benchmarks/p2p/relay.bench.ts [--reps 7] [--chunks 100] [--chunk-chars 64]
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { bytesToHex } from "@noble/hashes/utils.js";
import { bunTransport, P2PNode } from "../../src/p2p/index.ts";
import type { RequestHandler } from "../../src/p2p/node.ts";
import { type CompleteRequestBody, encodeFrame, type Outgoing } from "../../src/p2p/protocol.ts";
import { DEFAULT_RELAY_POLICY } from "../../src/p2p/relay/relay.ts";
import { RelayService } from "../../src/p2p/relay/service.ts";
import { edCrypto } from "../../tests/helpers/p2p.ts";

const { values } = parseArgs({
  options: {
    reps: { type: "string" },
    chunks: { type: "string" },
    "chunk-chars": { type: "string" },
  },
});
const REPS = Number(values.reps ?? 7);
const CHUNKS = Number(values.chunks ?? 100);
const CHARS = Number(values["chunk-chars"] ?? 64);
const OUT = join(import.meta.dir, "..", "results", "relay.json");

const clock = { nowMs: () => Date.now() };
const randomHex = (n: number) => bytesToHex(crypto.getRandomValues(new Uint8Array(n)));
const piece = "x".repeat(CHARS);
const serve: RequestHandler = async (_peer, _env, reply) => {
  for (let i = 0; i < CHUNKS; i++) {
    reply({ kind: "complete.chunk", body: { text: piece, tokens: [i] } });
    if (i % 10 === 9) await Bun.sleep(0); // let the socket drain, as a real decode loop yields
  }
  reply({
    kind: "complete.end",
    body: {
      tail: "",
      finishReason: "length",
      stopReason: "max_tokens",
      usage: { promptTokens: 1, completionTokens: CHUNKS },
      servedBy: [],
    },
  });
};
const request: CompleteRequestBody = {
  model: "m",
  input: { kind: "text", prompt: "go" },
  sampling: { temperature: 0 },
  stop: [],
};

const nodes: P2PNode[] = [];
const make = async (seed: number, bootstrap: string[], onRequest?: RequestHandler) => {
  const c = edCrypto(seed);
  const node = new P2PNode({
    crypto: c,
    transport: bunTransport({ port: 0, hostname: "127.0.0.1" }),
    clock,
    randomHex,
    bootstrap,
    ...(onRequest ? { onRequest } : {}),
  });
  nodes.push(node);
  const url = await node.start();
  return { node, c, url: url! };
};
const r = await make(41, []);
const n = await make(42, [r.url], serve);
const c = await make(43, [r.url, n.url]);
const svc = (x: typeof r, extra: object) => {
  const s = new RelayService({
    node: x.node,
    sign: x.c.sign,
    verify: x.c.verify,
    clock,
    randomHex,
    ...extra,
  });
  x.node.setOverlayHandler(s);
  return s;
};
svc(r, { policy: { ...DEFAULT_RELAY_POLICY, enabled: true } });
const ns = svc(n, { onRequest: serve });
const cs = svc(c, {});
const timer = setInterval(() => nodes.forEach((x) => x.tick()), 200);
while (
  !c.node.connectedPeers().includes(n.node.id) || !c.node.connectedPeers().includes(r.node.id) ||
  !n.node.connectedPeers().includes(r.node.id)
) await Bun.sleep(20);
await ns.reserve(r.node.id);

interface Run {
  firstMs: number;
  totalMs: number;
  chars: number;
}
async function timed(gen: AsyncIterable<{ kind: string; body: unknown }>): Promise<Run> {
  const t0 = performance.now();
  let first = 0, chars = 0;
  for await (const env of gen) {
    if (env.kind === "complete.chunk") {
      if (first === 0) first = performance.now() - t0;
      chars += (env.body as { text: string }).text.length;
    }
    if (env.kind === "complete.end") break;
  }
  return { firstMs: first, totalMs: performance.now() - t0, chars };
}
const direct = () => {
  const req = c.node.open(n.node.id, "complete.request", request);
  return (async function* () {
    try {
      for await (const env of req.replies) {
        yield env;
        if (env.kind === "complete.end") return;
      }
    } finally {
      req.close();
    }
  })();
};

const runs: { direct: Run[]; relayed: Run[] } = { direct: [], relayed: [] };
await timed(direct()); // warm-up, not kept
await timed(cs.request(r.node.id, n.node.id, request));
for (let i = 0; i < REPS; i++) {
  const order = i % 2 === 0 ? ["direct", "relayed"] as const : ["relayed", "direct"] as const;
  for (const which of order) {
    runs[which].push(
      await timed(which === "direct" ? direct() : cs.request(r.node.id, n.node.id, request)),
    );
  }
}
clearInterval(timer);
for (const x of nodes) await x.stop();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sum = (rs: Run[]) => ({
  firstChunkMs: Math.round(median(rs.map((x) => x.firstMs)) * 10) / 10,
  totalMs: Math.round(median(rs.map((x) => x.totalMs)) * 10) / 10,
  charsPerSecond: Math.round(median(rs.map((x) => (x.chars / x.totalMs) * 1000))),
});
// Counts that do not depend on the machine: bytes on the wire for one chunk, direct (N -> C) and
// relayed (N -> R, then R -> C, the inner frame escaped inside relay.data), and signatures.
const frameOf = (x: typeof r, msg: Omit<Outgoing, "id">) =>
  encodeFrame({ ...msg, id: "0".repeat(16) } as Outgoing, {
    from: x.node.id,
    ts: Date.now(),
    nonce: "0".repeat(32),
    sign: x.c.sign,
  });
const inner = frameOf(n, {
  kind: "complete.chunk",
  re: "0".repeat(16),
  to: c.node.id,
  body: { text: piece, tokens: [CHUNKS] },
} as Omit<Outgoing, "id">);
const circuit = `c${"0".repeat(24)}`;
const hop = (from: typeof r, to: typeof r) =>
  frameOf(from, {
    kind: "relay.data",
    to: to.node.id,
    body: { circuit, frame: inner },
  } as Omit<Outgoing, "id">).length;
const relayedBytes = hop(n, r) + hop(r, c);
const wire = {
  directBytesPerChunk: inner.length,
  relayedBytesPerChunk: relayedBytes,
  bytesRatio: Math.round((relayedBytes / inner.length) * 100) / 100,
  signaturesPerChunk: { direct: 1, relayed: 3 },
  verificationsPerChunk: { direct: 1, relayed: 3 },
};
const row = {
  bench: "relay",
  wire,
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? "unknown"}, ${cpus().length} cores, shared with other jobs`,
  reps: REPS,
  chunks: CHUNKS,
  chunkChars: CHARS,
  direct: sum(runs.direct),
  relayed: sum(runs.relayed),
  raw: runs,
};
writeFileSync(OUT, JSON.stringify(row, null, 2) + "\n");
console.log(JSON.stringify({ direct: row.direct, relayed: row.relayed, wire }));
