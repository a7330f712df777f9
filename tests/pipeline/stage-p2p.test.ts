/**
 * @module StageWire over real P2PNodes on the in-memory transport (real ed25519 keys, real
 * StageServers of aria-nano): a 3-stage pipeline over the peer network equals one node; a stage
 * whose node goes away mid-generation is replaced by its replica with identical output; consent
 * refusals, foreign sessions and frames before the handshake are refused.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { P2PNode } from "../../src/p2p/node.ts";
import { createPipelineEngine, type PipelineEvent } from "../../src/pipeline/pipeline.ts";
import type { StageNetwork } from "../../src/pipeline/pipeline.ts";
import { StageServer } from "../../src/pipeline/stage.ts";
import { type StageTicket, StageWire } from "../../src/pipeline/stage-p2p.ts";
import {
  decodeStageMessage,
  encodeStageMessage,
  stageAdvertModel,
} from "../../src/pipeline/stage-wire.ts";
import { decodeTensorFrame, encodeTensorFrame } from "../../src/pipeline/tensor-frame.ts";
import { MemoryNetwork } from "../../src/p2p/transport.ts";
import { ConsentDeniedError } from "../../src/shared/errors.ts";
import { edCrypto, seededHex } from "../helpers/p2p.ts";
import { generateIds, singleNodeIds, TEST_MODEL_HASH, tokenizerOf } from "../helpers/pipeline.ts";

const NANO = join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf");
const clock = { nowMs: () => Date.now() };

interface StageNode {
  name: string;
  node: P2PNode;
  wire: StageWire;
  stage: StageServer;
  tickets: { open: number; admitted: number };
  refuse: boolean;
}

const net = new MemoryNetwork({ auto: true });
const stages: StageNode[] = [];
let coordinator: P2PNode;
let wire: StageWire;

async function stageNode(
  name: string,
  seed: number,
  begin: number,
  end: number,
): Promise<StageNode> {
  const stage = await StageServer.open(NANO, {
    layerBegin: begin,
    layerEnd: end,
    nThreads: 1,
    nCtx: 256,
    nSessions: 4,
  });
  const tickets = { open: 0, admitted: 0 };
  const s: StageNode = { name, stage, tickets, refuse: false } as StageNode;
  s.wire = new StageWire({
    stage,
    admit: (): StageTicket => {
      if (s.refuse) throw new ConsentDeniedError("This node does not run pipeline stages");
      tickets.open++;
      tickets.admitted++;
      let released = false;
      return {
        addTokens: () => {},
        release: () => {
          if (!released) tickets.open--;
          released = true;
        },
      };
    },
  });
  s.node = new P2PNode({
    crypto: edCrypto(seed),
    transport: net.transport(name),
    clock,
    randomHex: seededHex(seed),
    advert: () => ({
      models: [stageAdvertModel({
        modelId: "aria-nano",
        sha256: TEST_MODEL_HASH,
        nLayer: stage.nLayer,
        layerBegin: stage.layerBegin,
        layerEnd: stage.layerEnd,
      })],
      slots: stage.slotCount,
      freeSlots: stage.slotCount - stage.sessionCount,
      tokensPerSecond: 0,
      consent: {},
      listen: null,
    }),
  });
  s.wire.attach(s.node);
  await s.node.start();
  return s;
}

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

beforeAll(async () => {
  stages.push(
    await stageNode("a", 11, 0, 2),
    await stageNode("b", 12, 2, 4),
    await stageNode("b2", 13, 2, 4),
    await stageNode("c", 14, 4, -1),
  );
  wire = new StageWire();
  coordinator = new P2PNode({
    crypto: edCrypto(10),
    transport: net.transport("coordinator"),
    clock,
    randomHex: seededHex(10),
    bootstrap: stages.map((s) => `ws://mem/${s.name}`),
  });
  wire.attach(coordinator);
  await coordinator.start();
  await until(
    async () => (await wire.network().adverts(TEST_MODEL_HASH)).length === 4,
    "the coordinator to hold the four stage adverts",
  );
});

afterAll(async () => {
  await coordinator.stop();
  for (const s of stages) {
    await s.node.stop();
    s.stage.close();
  }
});

const byId = (id: string) => stages.find((s) => s.node.id === id)!;
const OPTIONS = { modelHash: TEST_MODEL_HASH, nLayer: 6, nCtx: 256, timeoutMs: 10_000 };

describe("StageWire", () => {
  test("a 3-stage pipeline over the peer network gives single-node greedy output", async () => {
    const tokenizer = tokenizerOf(NANO);
    const prompt = tokenizer.encode("Once upon a time there was a little robot who", {
      addBos: true,
    });
    const want = await singleNodeIds(NANO, prompt, { maxTokens: 24 });
    const engine = createPipelineEngine(wire.network(), OPTIONS);
    expect(await generateIds(engine, tokenizer, prompt, { maxTokens: 24 })).toEqual(want);
    const route = engine.route!.stages.map((s) => byId(s.nodeId).name);
    expect([route[0], route[2]]).toEqual(["a", "c"]);
    expect(["b", "b2"]).toContain(route[1]!);
    await engine.close();
    await until(() => stages.every((s) => s.stage.sessionCount === 0), "sessions to close");
    expect(stages.map((s) => s.tickets.open)).toEqual([0, 0, 0, 0]);
  });

  test("a middle stage whose node goes away mid-generation is replaced by its replica", async () => {
    const tokenizer = tokenizerOf(NANO);
    const prompt = tokenizer.encode("The little robot", { addBos: true });
    const want = await singleNodeIds(NANO, prompt, { maxTokens: 24 });
    const inner = wire.network();
    let calls = 0;
    let victim: StageNode | undefined;
    // the 10th request to the middle stage finds its node stopped (connection closed)
    const network: StageNetwork = {
      adverts: (h) => inner.adverts(h),
      link: (nodeId) => {
        const link = wire.link(nodeId);
        return {
          nodeId,
          request: async (frame, signal) => {
            const s = byId(nodeId);
            if ((s.name === "b" || s.name === "b2") && ++calls === 10) {
              victim = s;
              await s.node.stop();
            }
            return await link.request(frame, signal);
          },
        };
      },
    };
    const events: PipelineEvent[] = [];
    const engine = createPipelineEngine(network, { ...OPTIONS, onEvent: (e) => events.push(e) });
    expect(await generateIds(engine, tokenizer, prompt, { maxTokens: 24 })).toEqual(want);
    expect(victim).toBeDefined();
    const failovers = events.filter((e) => e.kind === "failover");
    expect(failovers.map((e) => e.kind === "failover" && [e.nodeId, e.code])).toEqual([
      [victim!.node.id, "UNREACHABLE"],
    ]);
    const middle = engine.route!.stages[1]!.nodeId;
    expect(middle).not.toBe(victim!.node.id);
    expect(["b", "b2"]).toContain(byId(middle).name);
    await engine.close();
    // the stopped node's sessions: the stage saw its coordinator go and released the consent
    expect(victim!.tickets.open).toBe(0);
  });
});

describe("StageWire refusals", () => {
  const session = "0f".repeat(16);
  const tokens = (seq: number) =>
    encodeTensorFrame({
      session,
      sequence: seq,
      posStart: 0,
      layerBegin: 0,
      layerEnd: 2,
      kind: "tokens",
      tokens: Int32Array.of(1, 2, 3),
    });
  const ask = async (from: StageWire, to: StageNode, seq: number) =>
    decodeTensorFrame(
      await from.link(to.node.id).request(tokens(seq), new AbortController().signal),
    );

  test("a session the consent gate refuses gets a CONSENT_DENIED error frame", async () => {
    const a = stages.find((s) => s.name === "a")!;
    a.refuse = true;
    try {
      const reply = await ask(wire, a, 1);
      expect(reply.kind === "error" && reply.code).toBe("CONSENT_DENIED");
      expect(a.stage.sessionCount).toBe(0);
    } finally {
      a.refuse = false;
    }
  });

  test("frames for a session opened by another peer are refused", async () => {
    const a = stages.find((s) => s.name === "a")!;
    const otherWire = new StageWire();
    const other = new P2PNode({
      crypto: edCrypto(20),
      transport: net.transport("other"),
      clock,
      randomHex: seededHex(20),
      bootstrap: ["ws://mem/a"],
    });
    otherWire.attach(other);
    await other.start();
    try {
      await until(() => other.state.peers.has(a.node.id), "the other peer to connect");
      expect((await ask(wire, a, 2)).kind).toBe("hidden");
      const stolen = await ask(otherWire, a, 3);
      expect(stolen.kind === "error" && [stolen.code, stolen.message]).toEqual([
        "BAD_REQUEST",
        "Session belongs to another peer",
      ]);
    } finally {
      await other.stop();
    }
    // the owner closes its session: slot and consent ticket are given back
    await wire.link(a.node.id).request(
      encodeTensorFrame({
        session,
        sequence: 4,
        posStart: 0,
        layerBegin: 0,
        layerEnd: 0,
        kind: "close",
      }),
      new AbortController().signal,
    );
    expect([a.stage.sessionCount, a.tickets.open]).toEqual([0, 0]);
  });

  test("a binary frame before the handshake is refused UNAUTHENTICATED and never served", async () => {
    const a = stages.find((s) => s.name === "a")!;
    const got: { kind: string; body: { code?: string } }[] = [];
    let binaries = 0;
    const t = net.transport("raw");
    await t.start({
      onOpen: () => {},
      onMessage: (_c, d) => {
        if (typeof d !== "string") return void binaries++;
        got.push(JSON.parse(JSON.parse(d).msg));
      },
      onClose: () => {},
    });
    const conn = await t.dial("ws://mem/a");
    const admitted = a.tickets.admitted;
    conn.send(encodeStageMessage({ type: "request", id: 1, frame: tokens(5) }));
    await until(() => got.some((m) => m.kind === "error"), "an error reply");
    expect(got.find((m) => m.kind === "error")?.body.code).toBe("UNAUTHENTICATED");
    expect([binaries, a.stage.sessionCount, a.tickets.admitted]).toEqual([0, 0, admitted]);
    conn.close(1000, "done");
  });
});

describe("StageWire links", () => {
  test("replies arrive out of order and each resolves its own request; an aborted request rejects and its late reply is ignored", async () => {
    // a peer that holds requests and answers them in reverse order, echoing each frame
    const held: { peer: string; id: number; frame: Uint8Array }[] = [];
    const echo = new P2PNode({
      crypto: edCrypto(30),
      transport: net.transport("echo"),
      clock,
      randomHex: seededHex(30),
    });
    echo.setExtension({
      onMessage: () => {},
      onBinary: (peer, bytes) => {
        const m = decodeStageMessage(bytes);
        if (m.ok) held.push({ peer, id: m.value.id, frame: m.value.frame.slice() });
      },
    });
    await echo.start();
    const client = new StageWire();
    const node = new P2PNode({
      crypto: edCrypto(31),
      transport: net.transport("client"),
      clock,
      randomHex: seededHex(31),
      bootstrap: ["ws://mem/echo"],
    });
    client.attach(node);
    await node.start();
    try {
      await until(() => node.state.peers.has(echo.id), "the client to connect");
      const link = client.link(echo.id);
      const frames = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
      const aborted = new AbortController();
      const [first, second, third] = [
        link.request(frames[0]!, new AbortController().signal),
        link.request(frames[1]!, new AbortController().signal),
        link.request(frames[2]!, aborted.signal),
      ];
      await until(() => held.length === 3, "three requests at the echo peer");
      aborted.abort(new Error("Timed out"));
      await expect(third).rejects.toThrow("Timed out");
      const ignoredBefore = client.ignored;
      for (const h of [...held].reverse()) {
        echo.sendBinary(h.peer, encodeStageMessage({ type: "reply", id: h.id, frame: h.frame }));
      }
      expect([...await second]).toEqual([2]);
      expect([...await first]).toEqual([1]);
      await until(() => client.ignored === ignoredBefore + 1, "the late reply to be ignored");
    } finally {
      await node.stop();
      await echo.stop();
    }
  });

  test("a request to a peer that is not connected, or that disconnects, rejects at once", async () => {
    const silent = new P2PNode({
      crypto: edCrypto(32),
      transport: net.transport("silent"),
      clock,
      randomHex: seededHex(32),
    });
    silent.setExtension({ onMessage: () => {}, onBinary: () => {} });
    await silent.start();
    const client = new StageWire();
    const node = new P2PNode({
      crypto: edCrypto(33),
      transport: net.transport("client2"),
      clock,
      randomHex: seededHex(33),
      bootstrap: ["ws://mem/silent"],
    });
    client.attach(node);
    await node.start();
    try {
      await expect(
        client.link("ee".repeat(32)).request(Uint8Array.of(1), new AbortController().signal),
      ).rejects.toMatchObject({ code: "PEER_GONE" });
      await until(() => node.state.peers.has(silent.id), "the client to connect");
      const pending = client.link(silent.id).request(
        Uint8Array.of(1),
        new AbortController().signal,
      );
      await silent.stop();
      await expect(pending).rejects.toMatchObject({ code: "PEER_GONE" });
    } finally {
      await node.stop();
    }
  });
});
