/**
 * Issue 19, hole 3: a peer that copies a model's SHA-256 into its advert, claims an absurd speed
 * and answers with text of its choosing must not take over routing: the model challenge catches
 * it before it gets traffic (and bans it), and an answer without a valid receipt is a failure for
 * the client, never a success. In-process nodes over the memory transport.
 */
import { describe, expect, test } from "bun:test";
import { P2PNode } from "../../src/p2p/node.ts";
import { PeerBackend, UnverifiedAnswerError } from "../../src/p2p/router.ts";
import {
  advertFromBackend,
  type PeerProvenance,
  serveFromBackend,
} from "../../src/p2p/serve-peer.ts";
import { MemoryNetwork } from "../../src/p2p/transport.ts";
import type {
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
} from "../../src/contract/index.ts";
import { CountingBackend } from "../helpers/counting-backend.ts";
import { edCrypto, ManualClock, seededHex } from "../helpers/p2p.ts";

const SHA = "ab".repeat(32);
const clock = new ManualClock();
const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** Answers with other tokens than the real model would (any text it likes). */
class LiarBackend extends CountingBackend {
  override async *complete(request: CompletionRequest, signal: AbortSignal) {
    const gen = super.complete(request, signal);
    let s = await gen.next();
    for (; !s.done; s = await gen.next()) {
      const c: CompletionChunk = { ...s.value, tokens: s.value.tokens.map((t) => t + 1) };
      yield { ...c, text: "buy now " };
    }
    return s.value;
  }
}

function makeNode(
  net: MemoryNetwork,
  seed: number,
  backend: CompletionBackend | null,
  bootstrap: string[],
  extra: { tokensPerSecond?: number; provenance?: PeerProvenance } = {},
) {
  const node = new P2PNode({
    crypto: edCrypto(seed),
    transport: net.transport(`n${seed}`),
    clock,
    randomHex: seededHex(seed),
    bootstrap,
    ...(backend
      ? {
        advert: () =>
          advertFromBackend(backend, {
            sha256: new Map([["m", SHA]]),
            tokensPerSecond: extra.tokensPerSecond ?? 20,
          }),
        onRequest: serveFromBackend(
          backend,
          extra.provenance ? { provenance: extra.provenance } : {},
        ),
      }
      : {}),
  });
  return node;
}

function request(): CompletionRequest {
  return {
    id: "r",
    model: "m",
    input: { kind: "text", prompt: "Once upon" },
    maxTokens: 6,
    sampling: { temperature: 0 },
    stop: [],
  };
}

async function run(router: PeerBackend) {
  const gen = router.complete(request(), new AbortController().signal);
  let text = "";
  let s = await gen.next();
  for (; !s.done; s = await gen.next()) text += s.value.text;
  return { text, servedBy: s.value.servedBy };
}

describe("routing trusts no advert blindly (issue 19, hole 3)", () => {
  test("a peer with a copied hash and an absurd speed fails the model challenge and is banned", async () => {
    const net = new MemoryNetwork({ auto: true });
    const honest = makeNode(net, 1, new CountingBackend(["m"], "h"), []);
    const liar = makeNode(net, 2, new LiarBackend(["m"], "l"), [], { tokensPerSecond: 1e9 });
    const urls = [(await honest.start())!, (await liar.start())!];
    const c = makeNode(net, 3, null, urls);
    await c.start();
    await settle();
    const router = new PeerBackend({
      local: new CountingBackend(["m"], "c"),
      node: c,
      localSha256: (m) => (m === "m" ? SHA : undefined),
    });
    expect(router.candidates("m")).toEqual([]); // nobody gets traffic before the challenge
    let chosen: string[] = [];
    for (let i = 0; i < 100 && chosen.length === 0; i++) {
      await settle();
      chosen = router.candidates("m");
    }
    expect(chosen).toEqual([honest.id]);
    for (let i = 0; i < 100 && !c.isBanned(liar.id); i++) await settle();
    expect(c.isBanned(liar.id)).toBe(true);
    expect(router.candidates("m")).toEqual([honest.id]);
    expect(c.state.peers.has(liar.id)).toBe(false); // dropped
    await Promise.all([honest.stop(), liar.stop(), c.stop()]);
  });

  test("an answer without a valid receipt fails the request (no success) and bans the peer", async () => {
    const net = new MemoryNetwork({ auto: true });
    const receipt = { signedBy: "honest" };
    const honest = makeNode(net, 1, new CountingBackend(["m"], "h"), [], {
      provenance: () => receipt,
    });
    const liar = makeNode(net, 2, new LiarBackend(["m"], "l"), [], { tokensPerSecond: 1e9 });
    const urls = [(await honest.start())!, (await liar.start())!];
    const c = makeNode(net, 3, null, urls);
    await c.start();
    await settle();
    const router = new PeerBackend({
      local: new CountingBackend([], "c"),
      node: c,
      checkReceipt: ({ receipt: r }) => (r === undefined ? "no receipt" : undefined),
    });
    const outcomes: unknown[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await run(router).catch((e: unknown) => e));
    const failures = outcomes.filter((o) => o instanceof UnverifiedAnswerError);
    const successes = outcomes.filter((o) => !(o instanceof Error)) as { servedBy: string[] }[];
    expect(failures.length).toBeLessThanOrEqual(1);
    for (const s of successes) expect(s.servedBy).toEqual([honest.id]);
    expect(successes.length).toBeGreaterThanOrEqual(2);
    if (failures.length === 1) expect(c.isBanned(liar.id)).toBe(true);
    // force the liar's turn if the ranking never chose it: it is the only peer left
    if (failures.length === 0) {
      await honest.stop();
      await settle();
      expect(await run(router).catch((e: unknown) => e)).toBeInstanceOf(UnverifiedAnswerError);
      expect(c.isBanned(liar.id)).toBe(true);
    }
    await Promise.all([honest.stop(), liar.stop(), c.stop()]);
  });
});
