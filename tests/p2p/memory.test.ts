import { transcriptBytes } from "../../src/p2p/handshake.ts";
/**
 * The node over the in-memory transport: handshake, adverts, request/response correlation,
 * hostile frames answered with codes while the connection stays open, routing and fail-over.
 * Real ed25519 keys; no sockets.
 */
import { describe, expect, test } from "bun:test";
import { P2PNode } from "../../src/p2p/node.ts";
import { PeerBackend } from "../../src/p2p/router.ts";
import {
  advertFromBackend,
  type PeerProvenance,
  serveFromBackend,
} from "../../src/p2p/serve-peer.ts";
import { identityFromSecret } from "../../src/identity/index.ts";
import {
  checkRelayedReceipt,
  createProvenanceRecorder,
  hashRecord,
  type Hex32,
} from "../../src/ledger/index.ts";
import { type Connection, MemoryNetwork } from "../../src/p2p/transport.ts";
import { encodeFrame, type Outgoing, PROTOCOL_VERSION_STRING } from "../../src/p2p/protocol.ts";
import type { CompletionBackend, CompletionRequest } from "../../src/contract/index.ts";
import { CountingBackend } from "../helpers/counting-backend.ts";
import { edCrypto, ManualClock, seededHex } from "../helpers/p2p.ts";

const clock = new ManualClock();

function makeNode(
  net: MemoryNetwork,
  seed: number,
  backend: CompletionBackend | null,
  bootstrap: string[] = [],
  serving: { consent?: Record<string, unknown>; provenance?: PeerProvenance } = {},
) {
  const transport = net.transport(`n${seed}`);
  const node = new P2PNode({
    crypto: edCrypto(seed),
    transport,
    clock,
    randomHex: seededHex(seed),
    bootstrap,
    rate: { ratePerSec: 20, burst: 40 },
    ...(backend
      ? {
        advert: () =>
          advertFromBackend(backend, serving.consent ? { consent: serving.consent } : {}),
        onRequest: serveFromBackend(
          backend,
          serving.provenance ? { provenance: serving.provenance } : {},
        ),
      }
      : {}),
  });
  return { node, transport };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

/** A raw client on the network that records what the node sends back. */
async function rawClient(net: MemoryNetwork, url: string) {
  const got: { kind: string; body: unknown; re?: string }[] = [];
  let closed: { code: number; reason: string } | null = null;
  const t = net.transport(`raw-${Math.random()}`);
  await t.start({
    onOpen: () => {},
    onMessage: (_c, d) => {
      const m = JSON.parse(JSON.parse(d as string).msg);
      got.push({ kind: m.kind, body: m.body, re: m.re });
    },
    onClose: (_c, code, reason) => (closed = { code, reason }),
  });
  const conn: Connection = await t.dial(url);
  return { conn, got, closed: () => closed };
}

function request(model: string, maxTokens = 10): CompletionRequest {
  return {
    id: "r1",
    model,
    input: { kind: "text", prompt: "Once upon" },
    maxTokens,
    sampling: { temperature: 0 },
    stop: [],
  };
}

async function collect(
  gen: AsyncGenerator<
    { text: string; servedBy?: readonly string[] },
    { servedBy: readonly string[] }
  >,
) {
  let text = "";
  let first: readonly string[] | undefined;
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) {
    text += step.value.text;
    first ??= step.value.servedBy;
  }
  return { text, first, servedBy: step.value.servedBy };
}

describe("P2PNode over memory", () => {
  test("two nodes authenticate, exchange adverts and ping", async () => {
    const net = new MemoryNetwork({ auto: true });
    const a = makeNode(net, 1, new CountingBackend(["m"], "a"));
    const urlA = await a.node.start();
    const b = makeNode(net, 2, null, [urlA!]);
    await b.node.start();
    await settle();
    expect([...b.node.state.peers.keys()]).toEqual([a.node.id]);
    expect([...a.node.state.peers.keys()]).toEqual([b.node.id]);
    expect(b.node.state.peers.get(a.node.id)!.advert!.models.map((m) => m.id)).toEqual(["m"]);
    expect(b.node.state.peers.get(a.node.id)!.rttMs).toBe(0); // manual clock
    expect(b.node.state.peers.get(a.node.id)!.url).toBe(urlA);
  });

  test("bad frames get coded errors and the connection keeps working", async () => {
    const net = new MemoryNetwork({ auto: true });
    const a = makeNode(net, 1, null);
    const url = await a.node.start();
    const raw = await rawClient(net, url!);
    await settle();
    raw.conn.send("{not json");
    raw.conn.send(JSON.stringify({ sig: "" }));
    raw.conn.send(JSON.stringify({ sig: "", msg: "x".repeat(1024 * 1024 + 1) }));
    await settle();
    expect(raw.got.map((m) => m.kind)).toEqual(["hello", "error", "error", "error"]);
    expect(raw.got.slice(1).map((m) => (m.body as { code: string }).code)).toEqual([
      "INVALID_JSON",
      "MISSING_FIELDS",
      "FRAME_TOO_LARGE",
    ]);
    expect(raw.closed()).toBeNull();
  });

  test("a spoofed id is refused with a reason and the connection closed", async () => {
    const net = new MemoryNetwork({ auto: true });
    const a = makeNode(net, 1, null);
    const url = await a.node.start();
    const raw = await rawClient(net, url!);
    await settle();
    const victim = edCrypto(7);
    const mallory = edCrypto(8);
    const hello: Outgoing = {
      kind: "hello",
      id: "h",
      to: "",
      body: {
        version: PROTOCOL_VERSION_STRING,
        nodeId: victim.nodeId,
        challenge: "c".repeat(64),
        listen: null,
        agent: "x",
      },
    };
    raw.conn.send(
      encodeFrame(hello, { from: victim.nodeId, ts: clock.now, nonce: "0".repeat(32), sign: null }),
    );
    const challenge = (raw.got[0]!.body as { challenge: string }).challenge;
    const proof = mallory.sign(
      transcriptBytes("dialer", { nodeId: victim.nodeId, challenge: "c".repeat(64) }, {
        nodeId: a.node.id,
        challenge,
      }, url!),
    );
    raw.conn.send(
      encodeFrame({ kind: "auth", id: "a", to: a.node.id, body: { proof } }, {
        from: victim.nodeId,
        ts: clock.now,
        nonce: "1".repeat(32),
        sign: null,
      }),
    );
    await settle();
    const err = raw.got.find((m) => m.kind === "error");
    expect((err?.body as { code: string }).code).toBe("BAD_SIGNATURE");
    expect(raw.closed()).toEqual({
      code: 4001,
      reason: "Handshake proof does not match the claimed node id",
    });
    expect(a.node.state.peers.size).toBe(0);
  });

  test("replies arrive out of order and are matched by id", async () => {
    const net = new MemoryNetwork({ auto: true });
    const slow = new CountingBackend(["m"], "a");
    const a = makeNode(net, 1, slow);
    const b = makeNode(net, 2, null, [(await a.node.start())!]);
    await b.node.start();
    await settle();
    const s1 = b.node.open(a.node.id, "complete.request", {
      model: "m",
      input: { kind: "text", prompt: "x" },
      maxTokens: 6,
      sampling: { temperature: 0 },
      stop: [],
    });
    const s2 = b.node.open(a.node.id, "complete.request", {
      model: "m",
      input: { kind: "text", prompt: "y" },
      maxTokens: 2,
      sampling: { temperature: 0 },
      stop: [],
    });
    const ends: string[] = [];
    const drain = async (s: typeof s1, name: string) => {
      for await (const e of s.replies) if (e.kind === "complete.end") return ends.push(name);
    };
    await Promise.all([drain(s1, "long"), drain(s2, "short")]);
    expect(ends).toEqual(["short", "long"]);
  });

  test("a request for a missing model is answered NO_MODEL", async () => {
    const net = new MemoryNetwork({ auto: true });
    const a = makeNode(net, 1, new CountingBackend(["m"], "a"));
    const b = makeNode(net, 2, null, [(await a.node.start())!]);
    await b.node.start();
    await settle();
    const s = b.node.open(a.node.id, "complete.request", {
      model: "zzz",
      input: { kind: "text", prompt: "x" },
      sampling: { temperature: 0 },
      stop: [],
    });
    const first = (await s.replies.next()).value!;
    expect(first.kind).toBe("error");
    expect((first.body as { code: string }).code).toBe("NO_MODEL");
  });

  test("a flood is answered RATE_LIMITED, then dropped, and other peers are still served", async () => {
    const net = new MemoryNetwork({ auto: true });
    const a = makeNode(net, 1, new CountingBackend(["m"], "a"));
    const url = (await a.node.start())!;
    const flooder = makeNode(net, 3, null, [url]);
    const honest = makeNode(net, 2, null, [url]);
    await flooder.node.start();
    await honest.node.start();
    await settle();
    for (let i = 0; i < 500; i++) flooder.node.send(a.node.id, { kind: "ping", body: {} });
    await settle();
    expect(a.node.refused.RATE_LIMITED).toBeGreaterThan(400);
    const router = new PeerBackend({ local: new CountingBackend([], "h"), node: honest.node });
    const r = await collect(router.complete(request("m", 4), new AbortController().signal));
    expect(r.servedBy).toEqual([a.node.id]);
  });

  test("routing picks a peer with the model; fail-over continues the identical stream", async () => {
    const net = new MemoryNetwork({ auto: true });
    const backA = new CountingBackend(["m"], "a");
    const backB = new CountingBackend(["m"], "b");
    const a = makeNode(net, 1, backA);
    const b = makeNode(net, 2, backB);
    const urlA = (await a.node.start())!;
    const urlB = (await b.node.start())!;
    const c = makeNode(net, 3, null, [urlA, urlB]);
    await c.node.start();
    await settle();
    const router = new PeerBackend({ local: new CountingBackend([], "c"), node: c.node });
    expect(router.listModels().map((m) => m.id)).toEqual(["m"]);
    const first = router.candidates("m")[0]!;
    const reference = await collect(
      router.complete(request("m", 10), new AbortController().signal),
    );
    expect(reference.servedBy).toEqual([first]);
    // now the preferred peer dies after 4 tokens
    const [victim, other] = first === a.node.id ? [a, b] : [b, a];
    const victimBackend = victim === a ? backA : backB;
    victimBackend.dieAfter(4, () => void victim.transport.stop());
    const failed = await collect(router.complete(request("m", 10), new AbortController().signal));
    expect(failed.text).toBe(reference.text);
    expect(failed.first).toEqual([victim.node.id]);
    expect(failed.servedBy).toEqual([victim.node.id, other.node.id]);
    const otherBackend = victim === a ? backB : backA;
    const resumed = otherBackend.requests.at(-1)!;
    expect(resumed.continueFrom?.length).toBe(4);
    expect(resumed.maxTokens).toBe(6);
  });
  test("a grammar request goes only to a peer that advertises enforcing it, grammar included", async () => {
    const net = new MemoryNetwork({ auto: true });
    const plain = new CountingBackend(["m"], "a"); // a simulation backend: no "grammar" feature
    const enforcing = new CountingBackend(["m"], "b");
    Object.defineProperty(enforcing, "kind", { value: "native" });
    const a = makeNode(net, 1, plain);
    const b = makeNode(net, 2, enforcing);
    const c = makeNode(net, 3, null, [(await a.node.start())!, (await b.node.start())!]);
    await c.node.start();
    await settle();
    const router = new PeerBackend({ local: new CountingBackend([], "c"), node: c.node });
    expect(router.candidates("m").length).toBe(2);
    expect(router.candidates("m", new Set(), true)).toEqual([b.node.id]);
    const grammar = 'root ::= "x"';
    const r = await collect(
      router.complete({ ...request("m", 4), grammar }, new AbortController().signal),
    );
    expect(r.servedBy).toEqual([b.node.id]);
    expect(enforcing.requests.at(-1)!.grammar).toBe(grammar);
    expect(plain.requests.length).toBe(0);
  });

  test("a request with tools goes only to a peer that advertises rendering them", async () => {
    const net = new MemoryNetwork({ auto: true });
    const plain = new CountingBackend(["m"], "a"); // a simulation backend: no "tools" feature
    const rendering = new CountingBackend(["m"], "b");
    Object.defineProperty(rendering, "kind", { value: "native" });
    const a = makeNode(net, 1, plain);
    const b = makeNode(net, 2, rendering);
    const c = makeNode(net, 3, null, [(await a.node.start())!, (await b.node.start())!]);
    await c.node.start();
    await settle();
    const router = new PeerBackend({ local: new CountingBackend([], "c"), node: c.node });
    expect(router.candidates("m", new Set(), false, true)).toEqual([b.node.id]);
    const base = request("m", 4);
    const input = {
      kind: "chat" as const,
      messages: [{ role: "user" as const, content: "x" }],
      tools: [{ name: "f" }],
    };
    const r = await collect(router.complete({ ...base, input }, new AbortController().signal));
    expect(r.servedBy).toEqual([b.node.id]);
    expect(rendering.requests.at(-1)!.input).toEqual(input);
    expect(plain.requests.length).toBe(0);
  });

  test("a silent peer times out and the request moves to another", async () => {
    const net = new MemoryNetwork({ auto: true });
    const backA = new CountingBackend(["m"], "a");
    const backB = new CountingBackend(["m"], "b");
    const a = makeNode(net, 1, backA);
    const b = makeNode(net, 2, backB);
    const c = makeNode(net, 3, null, [(await a.node.start())!, (await b.node.start())!]);
    await c.node.start();
    await settle();
    const router = new PeerBackend({
      local: new CountingBackend([], "c"),
      node: c.node,
      replyTimeoutMs: 200,
    });
    const reference = await collect(router.complete(request("m", 8), new AbortController().signal));
    const first = router.candidates("m")[0]!;
    const [slowBack, other] = first === a.node.id ? [backA, b] : [backB, a];
    slowBack.dieAfter(3, () => {}); // stays connected, never answers again
    const r = await collect(router.complete(request("m", 8), new AbortController().signal));
    expect(r.text).toBe(reference.text);
    expect(r.servedBy).toEqual([first, other.node.id]);
    expect(c.node.state.peers.get(first)!.failed).toBe(1);
  });

  test("a saturated node sends work to a peer with free slots; an idle one serves locally", async () => {
    const net = new MemoryNetwork({ auto: true });
    const a = makeNode(net, 1, new CountingBackend(["m"], "a"));
    const busy = new CountingBackend(["m"], "busy", 1);
    const c = makeNode(net, 3, busy, [(await a.node.start())!]);
    await c.node.start();
    await settle();
    const router = new PeerBackend({ local: busy, node: c.node });
    expect((await collect(router.complete(request("m", 3), new AbortController().signal))).servedBy)
      .toEqual(["busy"]);
    busy.active = 1; // its only slot is taken
    expect((await collect(router.complete(request("m", 3), new AbortController().signal))).servedBy)
      .toEqual([a.node.id]);
  });
  test("the serving peer's own receipt comes back with the answer and checks out", async () => {
    const net = new MemoryNetwork({ auto: true });
    const identity = identityFromSecret(new Uint8Array(32).fill(1));
    const recorded: string[] = [];
    const recorder = createProvenanceRecorder({
      identity,
      writer: { append: (signed) => ({ hash: hashRecord(signed.record) }) },
      clock,
      modelSha256: "ab".repeat(32) as Hex32,
      nLayers: 4,
    });
    const provenance: PeerProvenance = (request, result, output) => {
      recorded.push(request.id);
      return recorder.record({ request, result, output }).receipt;
    };
    const a = makeNode(net, 1, new CountingBackend(["m"], "a"), [], { provenance });
    const c = makeNode(net, 3, null, [(await a.node.start())!]);
    await c.node.start();
    await settle();
    const router = new PeerBackend({ local: new CountingBackend([], "c"), node: c.node });
    const req = request("m", 5);
    const gen = router.complete(req, new AbortController().signal);
    let text = "";
    let step = await gen.next();
    for (; !step.done; step = await gen.next()) text += step.value.text;
    const result = step.value;
    expect(recorded).toHaveLength(1);
    expect(result.relayed?.from).toBe(a.node.id);
    const checked = checkRelayedReceipt(result.relayed!.receipt, {
      peer: a.node.id,
      model: "m",
      input: req.input,
      output: text + result.tail,
    });
    expect(checked.ok).toBe(true);
    // the same receipt does not pass for another answer, or as another node's
    expect(checkRelayedReceipt(result.relayed!.receipt, {
      peer: a.node.id,
      model: "m",
      input: req.input,
      output: text + "x",
    })).toEqual({ ok: false, error: "the receipt's output hash is not the answer's" });
    expect(
      checkRelayedReceipt(result.relayed!.receipt, {
        peer: c.node.id,
        model: "m",
        input: req.input,
      }).ok,
    ).toBe(false);
  });

  test("a peer whose advertised consent refuses the model is not tried", async () => {
    const net = new MemoryNetwork({ auto: true });
    const closed = makeNode(net, 1, new CountingBackend(["m"], "closed"), [], {
      consent: { servePeers: false },
    });
    const open = makeNode(net, 2, new CountingBackend(["m"], "open"));
    const c = makeNode(net, 3, null, [(await closed.node.start())!, (await open.node.start())!]);
    await c.node.start();
    await settle();
    const refuses = (summary: Readonly<Record<string, unknown>>) =>
      summary.servePeers === false ? "no peers" : undefined;
    const router = new PeerBackend({ local: new CountingBackend([], "c"), node: c.node, refuses });
    expect(router.candidates("m")).toEqual([open.node.id]);
    for (let i = 0; i < 3; i++) {
      const r = await collect(router.complete(request("m", 2), new AbortController().signal));
      expect(r.servedBy).toEqual([open.node.id]);
    }
    // without the check both are candidates
    const blind = new PeerBackend({ local: new CountingBackend([], "c"), node: c.node });
    expect(blind.candidates("m").sort()).toEqual([closed.node.id, open.node.id].sort());
  });

  test("at the cap the oldest pending handshake gives way to a newcomer; handshakes time out", async () => {
    const net = new MemoryNetwork({ auto: true });
    const node = new P2PNode({
      crypto: edCrypto(1),
      transport: net.transport("capped"),
      clock,
      randomHex: seededHex(1),
      maxSessions: 2,
      handshakeTimeoutMs: 1000,
    });
    const url = (await node.start())!;
    const raws = [await rawClient(net, url), await rawClient(net, url), await rawClient(net, url)];
    await settle();
    // issue 19, hole 7: idle sockets cannot keep a newcomer out
    expect(raws.map((r) => r.closed()?.reason ?? null)).toEqual([
      "Evicted: handshake not finished",
      null,
      null,
    ]);
    clock.now += 1001;
    node.tick();
    await settle();
    expect(raws.map((r) => r.closed()?.code ?? null)).toEqual([4003, 4002, 4002]);
  });
  test("either side of a connection can send requests", async () => {
    const net = new MemoryNetwork({ auto: true });
    const a = makeNode(net, 1, null); // accepts, has no model
    const b = makeNode(net, 2, new CountingBackend(["m"], "b"), [(await a.node.start())!]);
    await b.node.start(); // dials a
    await settle();
    expect(a.node.state.peers.get(b.node.id)!.direction).toBe("in");
    const router = new PeerBackend({ local: new CountingBackend([], "a"), node: a.node });
    const r = await collect(router.complete(request("m", 4), new AbortController().signal));
    expect(r.servedBy).toEqual([b.node.id]);
    expect(r.text.split(" ").filter(Boolean).length).toBe(4);
  });
});
