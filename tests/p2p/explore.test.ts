/**
 * Bounded exploration in the router (src/p2p/score.ts `explore`, src/p2p/router.ts): once one
 * peer has a measured speed, a new peer still gets a share of the routed requests (so it is
 * measured and audited), within EXPLORE_EVERY requests even when the random draw never favours
 * it; a banned peer, or one whose advertised consent refuses the model, gets none. In-process
 * nodes over the memory transport; requests one at a time, so a queue never sends the new peer
 * anything.
 */
import { describe, expect, test } from "bun:test";
import { P2PNode } from "../../src/p2p/node.ts";
import { PeerBackend } from "../../src/p2p/router.ts";
import { advertFromBackend, serveFromBackend } from "../../src/p2p/serve-peer.ts";
import { MemoryNetwork } from "../../src/p2p/transport.ts";
import { EXPLORE_EVERY, EXPLORE_UNTIL } from "../../src/p2p/score.ts";
import type { CompletionBackend, CompletionRequest } from "../../src/contract/index.ts";
import { CountingBackend } from "../helpers/counting-backend.ts";
import { edCrypto, ManualClock, seededHex } from "../helpers/p2p.ts";

const clock = new ManualClock();
const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

function makeNode(
  net: MemoryNetwork,
  seed: number,
  backend: CompletionBackend | null,
  boot: string[],
  consent: Record<string, unknown> = {},
) {
  return new P2PNode({
    crypto: edCrypto(seed),
    transport: net.transport(`n${seed}`),
    clock,
    randomHex: seededHex(seed),
    bootstrap: boot,
    ...(backend
      ? {
        advert: () => ({
          ...advertFromBackend(backend, { tokensPerSecond: 20 }),
          consent,
        }),
        onRequest: serveFromBackend(backend, {}),
      }
      : {}),
  });
}

const request = (i: number): CompletionRequest => ({
  id: `r${i}`,
  model: "m",
  input: { kind: "text", prompt: `Once upon ${i}` },
  maxTokens: 4,
  sampling: { temperature: 0 },
  stop: [],
});

async function servedBy(router: PeerBackend, i: number): Promise<string> {
  const gen = router.complete(request(i), new AbortController().signal);
  let s = await gen.next();
  for (; !s.done; s = await gen.next());
  return s.value.servedBy[0] ?? "";
}

/** A router in front of peers a (measured first), b (new), x (banned), y (consent refuses). */
async function network(draw: () => number) {
  const net = new MemoryNetwork({ auto: true });
  const a = makeNode(net, 1, new CountingBackend(["m"], "a"), []);
  const x = makeNode(net, 3, new CountingBackend(["m"], "x"), []);
  const y = makeNode(net, 4, new CountingBackend(["m"], "y"), [], { refuse: true });
  const aUrl = (await a.start())!;
  const others = [(await x.start())!, (await y.start())!];
  const r = makeNode(net, 9, null, [aUrl, ...others]);
  await r.start();
  for (let i = 0; i < 100 && r.state.peers.size < 3; i++) await settle();
  r.ban(x.id, "test: banned");
  const router = new PeerBackend({
    local: new CountingBackend([], "local"),
    node: r,
    refuses: (consent) => (consent["refuse"] === true ? "refuses" : undefined),
    draw,
  });
  // a is measured before b exists: it is the score's choice from then on
  for (let i = 0; i < EXPLORE_UNTIL + 2; i++) expect(await servedBy(router, i)).toBe(a.id);
  const b = makeNode(net, 2, new CountingBackend(["m"], "b"), [], {});
  r.dial(b.id, (await b.start())!);
  for (let i = 0; i < 100 && router.candidates("m").length < 2; i++) await settle();
  expect(router.candidates("m").sort()).toEqual([a.id, b.id].sort());
  return { router, a, b, x, y, stop: () => Promise.all([a, b, x, y, r].map((n) => n.stop())) };
}

describe("exploration", () => {
  test("a new peer is routed to within EXPLORE_EVERY requests, even when no draw favours it", async () => {
    const n = await network(() => 0.99);
    const served: string[] = [];
    for (let i = 0; i < 3 * EXPLORE_EVERY; i++) served.push(await servedBy(n.router, 100 + i));
    const first = served.indexOf(n.b.id);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThan(EXPLORE_EVERY);
    // at least one request in every EXPLORE_EVERY until b is measured EXPLORE_UNTIL times
    expect(served.filter((s) => s === n.b.id).length).toBeGreaterThanOrEqual(3);
    expect(served).not.toContain(n.x.id);
    expect(served).not.toContain(n.y.id);
    expect(n.router.explored).toBeGreaterThanOrEqual(3);
    await n.stop();
  });

  test("a draw under the share explores at once", async () => {
    const n = await network(() => 0);
    expect(await servedBy(n.router, 200)).toBe(n.b.id);
    await n.stop();
  });
});
