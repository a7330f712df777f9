/**
 * Two and three nodes over the in-memory transport exchanging signed block headers: a peer's
 * chain is verified and stored, countersigned, and a forged or rewritten chain is rejected and
 * reported. Real ed25519 keys and real sqlite (in memory); no sockets.
 */
import { describe, expect, test } from "bun:test";
import { fixedIdentity, makeChain, makeSigned } from "../helpers/ledger.ts";
import { edCrypto, ManualClock, seededHex } from "../helpers/p2p.ts";
import { LedgerSync } from "../../src/node/ledger-sync.ts";
import {
  type Block,
  findRewrite,
  hashHeader,
  type LedgerStore,
  openLedger,
  sealBlock,
} from "../../src/ledger/index.ts";
import { MemoryNetwork, P2PNode } from "../../src/p2p/index.ts";

const clock = new ManualClock();
const alice = fixedIdentity(1);
const bob = fixedIdentity(2);
const mallory = fixedIdentity(3);

/** A store holding exactly `blocks` (through an export file, so it is verified on the way in). */
function storeWith(blocks: readonly Block[]): LedgerStore {
  const store = openLedger(":memory:", { clock });
  const head = blocks[blocks.length - 1]!.header;
  store.importLines([
    JSON.stringify({
      kind: "aria.ledger.export",
      version: 1,
      height: head.height,
      headHash: hashHeader(head),
    }),
    ...blocks.map((block) => JSON.stringify({ kind: "block", block })),
  ]);
  return store;
}

async function peerNode(
  net: MemoryNetwork,
  seed: number,
  store: LedgerStore,
  bootstrap: string[] = [],
) {
  const identity = fixedIdentity(seed);
  const node = new P2PNode({
    crypto: edCrypto(seed),
    transport: net.transport(`n${seed}`),
    clock,
    randomHex: seededHex(seed),
    bootstrap,
  });
  const logs: Record<string, unknown>[] = [];
  const sync = new LedgerSync({ node, store, identity, clock, log: (e) => logs.push(e) });
  await node.start();
  return { node, sync, store, logs };
}

/** Chain `chain` with block 2 re-sealed with other records and every later block re-signed. */
function rewrite(chain: readonly Block[]): Block[] {
  const out: Block[] = chain.slice(0, 2);
  const t = chain[2]!.header.timestampMs;
  out.push(
    sealBlock(out[1]!.header, [makeSigned(alice, 999)], { identity: alice, timestampMs: t }),
  );
  for (const b of chain.slice(3)) {
    const prev = out[out.length - 1]!.header;
    out.push(sealBlock(prev, b.records, { identity: alice, timestampMs: b.header.timestampMs }));
  }
  return out;
}

describe("header exchange over the peer node", () => {
  test("a peer's chain is verified, stored and countersigned; its producer keeps the attestation", async () => {
    const net = new MemoryNetwork();
    const chain = makeChain(alice, [2, 1, 3]);
    const a = await peerNode(net, 1, storeWith(chain));
    const b = await peerNode(net, 2, openLedger(":memory:", { clock }), ["ws://mem/n1"]);
    net.flush();
    expect(a.node.connectedPeers()).toEqual([bob.nodeId]);
    a.sync.announce();
    b.sync.announce(); // bob is at genesis: alice records him at height 0
    net.flush();
    expect(b.store.peerChains()).toMatchObject([{
      peer: alice.nodeId,
      height: 3,
      headHash: hashHeader(chain[3]!.header),
      rejectedReason: null,
    }]);
    expect(b.store.peerHeaders(alice.nodeId).map((h) => h.header.height)).toEqual([1, 2, 3]);
    // the blocks behind the headers were fetched and their records checked
    expect(b.store.peerChains()[0]!.bodiesHeight).toBe(3);
    expect(a.store.peerChains()).toMatchObject([{ peer: bob.nodeId, height: 0 }]);
    const attested = a.store.headAttestations(alice.nodeId);
    expect(attested).toMatchObject([{ witness: bob.nodeId, height: 3 }]);
    // what alice can check offline later: her chain agrees with what bob countersigned
    expect(findRewrite(chain.map((x) => x.header), attested)).toBeUndefined();
    expect(findRewrite(rewrite(chain).map((x) => x.header), attested)?.height).toBe(3);
  });

  test("missing headers are requested when the announcement does not reach back", async () => {
    const net = new MemoryNetwork();
    const chain = makeChain(alice, Array.from({ length: 20 }, () => 1)); // more than one announcement
    const a = await peerNode(net, 1, storeWith(chain));
    const b = await peerNode(net, 2, openLedger(":memory:", { clock }), ["ws://mem/n1"]);
    net.flush();
    a.sync.announce(); // heights 5..20 only: bob asks for 1..20 and gets them
    net.flush();
    // 20 blocks: fetched 32 at most per request, here in one
    expect(b.store.peerChains()[0]).toMatchObject({
      height: 20,
      rejectedReason: null,
      bodiesHeight: 20,
    });
    expect(b.store.peerHeaders(alice.nodeId)).toHaveLength(20);
  });

  test("a rewritten history is rejected, reported, and the verified chain is kept", async () => {
    const net = new MemoryNetwork();
    const chain = makeChain(alice, [2, 1, 3]);
    const a = await peerNode(net, 1, storeWith(chain));
    const b = await peerNode(net, 2, openLedger(":memory:", { clock }), ["ws://mem/n1"]);
    net.flush();
    a.sync.announce();
    net.flush();
    await a.node.stop();
    net.flush();
    // alice comes back with a re-signed history (same key, same height, other block 2)
    const a2 = await peerNode(net, 1, storeWith(rewrite(chain)));
    await b.node.stop();
    net.flush();
    const b2 = await peerNode(net, 2, b.store, ["ws://mem/n1"]);
    net.flush();
    a2.sync.announce();
    net.flush();
    const seen = b2.store.peerChains()[0]!;
    expect(seen.rejectedReason).toMatch(/the peer rewrote block 2/);
    expect(seen.headHash).toBe(hashHeader(chain[3]!.header)); // the honest head stays
    expect(b2.logs.some((e) => e.msg === "peer chain rejected")).toBe(true);
  });

  test("a chain of blocks produced by another node, or with a forged signature, is rejected", async () => {
    const net = new MemoryNetwork();
    // mallory serves alice's blocks as if they were her own chain
    const m = await peerNode(net, 3, storeWith(makeChain(alice, [1, 1])));
    const b = await peerNode(net, 2, openLedger(":memory:", { clock }), ["ws://mem/n3"]);
    net.flush();
    m.sync.announce();
    net.flush();
    expect(b.store.peerChains()).toMatchObject([{ peer: mallory.nodeId, height: 0 }]);
    expect(b.store.peerChains()[0]!.rejectedReason).toMatch(/not by the peer/);
    // a forged header sent by hand: mallory's block with a changed weight
    const forged = makeChain(mallory, [1])[1]!;
    m.node.send(bob.nodeId, {
      kind: "ledger.headers",
      body: {
        kind: "ledger.headers",
        version: 1,
        headers: [{ header: { ...forged.header, totalTokens: 500 }, signature: forged.signature }],
      },
    });
    net.flush();
    expect(b.store.peerChains()[0]!.rejectedReason).toMatch(/signature is invalid/);
    expect(b.store.peerHeaders(mallory.nodeId)).toHaveLength(0);
  });

  test("a fetched block whose records do not match its header rejects the chain", async () => {
    const net = new MemoryNetwork();
    const chain = makeChain(alice, [2, 2]);
    const a = await peerNode(net, 1, storeWith(chain));
    const b = await peerNode(net, 2, openLedger(":memory:", { clock }), ["ws://mem/n1"]);
    net.flush();
    // alice's node answers block requests with a block 1 whose second record was swapped for
    // another record she signed: the header (and its signature) is the real one
    const forged = { ...chain[1]!, records: [chain[1]!.records[0]!, makeSigned(alice, 77)] };
    a.node.setLedgerHandler({
      onMessage: (peer, env) => {
        if (env.kind !== "ledger.blocks.request") return;
        a.node.send(peer, {
          kind: "ledger.blocks",
          re: env.id,
          body: { kind: "ledger.blocks", version: 1, blocks: [forged, chain[2]!] },
        });
      },
    });
    a.sync.announce();
    net.flush();
    const seen = b.store.peerChains()[0]!;
    expect(seen.rejectedReason).toBe("block 1: the Merkle root does not match the records");
    expect(seen.bodiesHeight).toBe(0);
    expect(b.logs.some((e) => e.msg === "peer chain rejected")).toBe(true);
  });
});
