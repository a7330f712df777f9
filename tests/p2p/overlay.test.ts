/**
 * The overlay shell (src/p2p/overlay.ts) on in-memory nodes with real ed25519 keys: provider
 * records published by a node that does not listen, found by name from another, the models the
 * neighbours know, and a reachable node's dial-back test. Fast: no sockets, a manual tick loop.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { MemoryNetwork, Overlay, P2PNode, type Transport } from "../../src/p2p/index.ts";
import { DEFAULT_RELAY_POLICY } from "../../src/p2p/relay/relay.ts";
import { edCrypto } from "../helpers/p2p.ts";

const clock = { nowMs: () => Date.now() };
const randomHex = (n: number) => bytesToHex(crypto.getRandomValues(new Uint8Array(n)));
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error("Timed out waiting");
    await Bun.sleep(20);
  }
}

interface Made {
  node: P2PNode;
  overlay: Overlay;
  url: string | null;
}

async function make(
  net: MemoryNetwork,
  seed: number,
  opts: { listen: boolean; bootstrap: string[]; relay?: boolean },
): Promise<Made> {
  const c = edCrypto(seed);
  const base = net.transport(`n${seed}`);
  // a node that does not listen: nobody can open a connection to it, it only dials
  const transport: Transport = opts.listen ? base : {
    start: async (h) => {
      await base.start(h);
      return null;
    },
    dial: (url) => base.dial(url),
    stop: () => base.stop(),
  };
  const node = new P2PNode({ crypto: c, transport, clock, randomHex, bootstrap: opts.bootstrap });
  const overlay = new Overlay({
    node,
    sign: c.sign,
    verify: c.verify,
    clock,
    randomHex,
    dialBack: () => Promise.resolve(false),
    ...(opts.relay ? { relayPolicy: DEFAULT_RELAY_POLICY } : {}),
  });
  node.setOverlayHandler(overlay);
  const url = await node.start();
  overlay.start(url);
  const timer = setInterval(() => {
    node.tick();
    overlay.tick();
  }, 50);
  stops.push(async () => {
    clearInterval(timer);
    overlay.stop();
    await node.stop();
  });
  return { node, overlay, url };
}

describe("overlay on in-memory nodes", () => {
  test("an unreachable provider reserves at a relay; another node finds it by name", async () => {
    const net = new MemoryNetwork({ auto: true });
    const r = await make(net, 41, { listen: true, bootstrap: [], relay: true });
    const n = await make(net, 42, { listen: false, bootstrap: [r.url!] });
    const c = await make(net, 43, { listen: false, bootstrap: [r.url!] });
    n.overlay.provide([{ id: "tiny", sha256: "ab".repeat(32), layers: null, nLayers: 4 }]);
    await until(() => n.overlay.view().relayedBy === r.node.id);
    expect(n.overlay.view().reachability).toBe("unreachable");
    await until(() => r.overlay.view().dht.storedRecords >= 2);
    // the relay's neighbours learn the model's name from the records it stores (dht.list_models)
    await until(() => c.overlay.networkModels().some((m) => m.id === "tiny"), 15_000);
    const routes = await c.overlay.findProviders("tiny");
    expect(routes).toEqual([{ target: n.node.id, url: null, relay: r.node.id, layers: null }]);
    // by file hash too
    const byHash = await c.overlay.findProviders("ab".repeat(32));
    expect(byHash.map((x) => x.target)).toEqual([n.node.id]);
    expect(c.overlay.networkModels()).toContainEqual({ id: "tiny", providers: 1 });
  }, 20_000);
});
