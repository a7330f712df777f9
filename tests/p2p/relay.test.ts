/**
 * Serving from behind NAT through a relay, over real WebSockets on loopback with real ed25519
 * keys: three P2PNodes in this process. N accepts no connections at all (its transport does not
 * listen: it only dials out, as behind a home router); R is reachable and relays; C is a client
 * that can reach R but not N. N reserves a slot at R; C's completion request reaches N through R
 * and N's streamed answer comes back. A dishonest R that changes one character is caught by C, and
 * R's byte limit closes the circuit for both ends. C does not listen either, so the two can never
 * connect directly (N could dial a reachable C, and would after peer exchange).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { bunTransport, type Envelope, P2PNode } from "../../src/p2p/index.ts";
import type { RequestHandler } from "../../src/p2p/node.ts";
import { type CompleteRequestBody } from "../../src/p2p/protocol.ts";
import { DEFAULT_RELAY_POLICY, type RelayPolicy } from "../../src/p2p/relay/relay.ts";
import { RelayService } from "../../src/p2p/relay/service.ts";
import { edCrypto } from "../helpers/p2p.ts";

const clock = { nowMs: () => Date.now() };
const randomHex = (n: number) => bytesToHex(crypto.getRandomValues(new Uint8Array(n)));
const ANSWER = ["The quick ", "brown fox ", "jumps over ", "the lazy dog."];

/** N's backend: streams ANSWER in chunks, then ends. */
const serveAnswer: RequestHandler = async (_peer, _env, reply) => {
  for (const text of ANSWER) {
    reply({ kind: "complete.chunk", body: { text, tokens: [1] } });
    await Bun.sleep(5);
  }
  reply({
    kind: "complete.end",
    body: {
      tail: "",
      finishReason: "stop",
      stopReason: "eog",
      usage: { promptTokens: 3, completionTokens: ANSWER.length },
      servedBy: ["n"],
    },
  });
};

const request: CompleteRequestBody = {
  model: "m",
  input: { kind: "text", prompt: "Say it" },
  sampling: { temperature: 0 },
  stop: [],
};

interface Net {
  r: P2PNode;
  n: P2PNode;
  c: P2PNode;
  rs: RelayService;
  ns: RelayService;
  cs: RelayService;
  nUrl: string | null;
}

const running: P2PNode[] = [];
const timers: ReturnType<typeof setInterval>[] = [];
afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const node of running.splice(0)) await node.stop();
});

async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("Timed out waiting");
    await Bun.sleep(20);
  }
}

async function network(policy: RelayPolicy, tamper?: (f: string) => string): Promise<Net> {
  const make = (seed: number, listen: boolean, bootstrap: string[]) => {
    const c = edCrypto(seed);
    const node = new P2PNode({
      crypto: c,
      transport: bunTransport({ port: 0, hostname: "127.0.0.1", listen }),
      clock,
      randomHex,
      bootstrap,
    });
    running.push(node);
    return { node, c };
  };
  const r = make(31, true, []);
  const rUrl = await r.node.start();
  const n = make(32, false, [rUrl!]);
  const c = make(33, false, [rUrl!]); // C cannot be dialled either: only R connects them
  const service = (
    x: { node: P2PNode; c: ReturnType<typeof edCrypto> },
    extra: Partial<ConstructorParameters<typeof RelayService>[0]>,
  ) => {
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
  const rs = service(r, { policy, ...(tamper ? { tamper } : {}) });
  const ns = service(n, { onRequest: serveAnswer });
  const cs = service(c, {});
  const nUrl = await n.node.start();
  await c.node.start();
  timers.push(setInterval(() => [r, n, c].forEach((x) => x.node.tick()), 200));
  await until(() =>
    r.node.connectedPeers().includes(n.node.id) && r.node.connectedPeers().includes(c.node.id) &&
    n.node.connectedPeers().includes(r.node.id) && c.node.connectedPeers().includes(r.node.id)
  );
  return { r: r.node, n: n.node, c: c.node, rs, ns, cs, nUrl };
}

async function collect(gen: AsyncGenerator<Envelope>): Promise<string> {
  let text = "";
  for await (const env of gen) {
    if (env.kind === "complete.chunk") text += (env.body as { text: string }).text;
  }
  return text;
}

describe("relay over loopback", () => {
  test("a node that accepts no connections serves a client through a relay", async () => {
    const net = await network({ ...DEFAULT_RELAY_POLICY, enabled: true });
    expect(net.nUrl).toBeNull(); // N listens nowhere
    expect(net.c.connectedPeers()).not.toContain(net.n.id); // and C has no way to reach it directly
    const res = await net.ns.reserve(net.r.id);
    expect(res.expiresMs).toBeGreaterThan(Date.now());
    const text = await collect(net.cs.request(net.r.id, net.n.id, request));
    expect(text).toBe(ANSWER.join(""));
    expect(net.c.connectedPeers()).not.toContain(net.n.id);
  }, 30_000);

  test("without a reservation, or with relaying off, the circuit is refused", async () => {
    const net = await network({ ...DEFAULT_RELAY_POLICY, enabled: false });
    await expect(net.ns.reserve(net.r.id)).rejects.toThrow("disabled");
    await expect(collect(net.cs.request(net.r.id, net.n.id, request))).rejects.toThrow("disabled");
    await Promise.all(running.splice(0).map((x) => x.stop()));
    const on = await network({ ...DEFAULT_RELAY_POLICY, enabled: true });
    await expect(collect(on.cs.request(on.r.id, on.n.id, request))).rejects.toThrow(
      "no_reservation",
    );
  }, 30_000);

  test("a node refuses circuits from a relay it holds no reservation at", async () => {
    const net = await network({ ...DEFAULT_RELAY_POLICY, enabled: true });
    const seen: string[] = [];
    net.r.setOverlayHandler({ onMessage: (_peer, env) => void seen.push(env.kind) });
    net.r.send(net.n.id, { kind: "relay.incoming", body: { circuit: "x1", from: net.c.id } });
    await until(() => seen.length > 0);
    expect(seen).toEqual(["relay.refuse"]);
    // after reserving, the same relay's incoming circuit is accepted
    net.r.setOverlayHandler(net.rs);
    await net.ns.reserve(net.r.id);
    net.r.setOverlayHandler({ onMessage: (_peer, env) => void seen.push(env.kind) });
    net.r.send(net.n.id, { kind: "relay.incoming", body: { circuit: "x2", from: net.c.id } });
    await until(() => seen.length > 1);
    expect(seen).toEqual(["relay.refuse", "relay.accept"]);
  }, 30_000);

  test("a relay that changes one character is caught by the client", async () => {
    // the dishonest relay rewrites "fox" in whatever it forwards
    const net = await network(
      { ...DEFAULT_RELAY_POLICY, enabled: true },
      (f) => f.replace("fox", "cat"),
    );
    await net.ns.reserve(net.r.id);
    let text = "";
    let error: unknown = null;
    try {
      for await (const env of net.cs.request(net.r.id, net.n.id, request)) {
        if (env.kind === "complete.chunk") text += (env.body as { text: string }).text;
      }
    } catch (err: unknown) {
      error = err;
    }
    expect(String(error)).toContain("Relayed frame refused");
    expect((error as { code?: string }).code).toBe("BAD_SIGNATURE");
    expect(text).toBe("The quick "); // everything before the altered frame, nothing altered
    expect(text).not.toContain("cat");
  }, 30_000);

  test("the relay's byte limit closes the circuit for both ends", async () => {
    const net = await network({ ...DEFAULT_RELAY_POLICY, enabled: true, maxCircuitBytes: 2500 });
    await net.ns.reserve(net.r.id);
    await expect(collect(net.cs.request(net.r.id, net.n.id, request))).rejects.toThrow(
      "limit_bytes",
    );
    expect(net.rs.closed.limit_bytes).toBe(2); // one relay.closed to each end
    expect(net.rs.relayState.circuits.size).toBe(0);
  }, 30_000);
});
