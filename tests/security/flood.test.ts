/**
 * Issue 19, hole 7: hundreds of sockets that never handshake cannot keep an honest node out. A
 * real `aria serve` on loopback gets 300 idle WebSockets at once (and more while the honest node
 * joins); pending handshakes are limited per address (the oldest give way) and closed at the
 * 3 s deadline, and the newcomer joins within seconds. Bounded: every socket is closed at the end.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const procs = new ProcessGroup();
const sockets: WebSocket[] = [];
afterAll(() => {
  for (const s of sockets) s.close();
  procs.close();
});

describe("connection floods (issue 19, hole 7)", () => {
  test("300 idle sockets: at most 16 stay pending, and a new node joins at once", async () => {
    const a = await procs.serve("a", ["--backend", "simulation", "--p2p-port", "0"]);
    let closed = 0;
    const open = (): void => {
      const ws = new WebSocket(a.ws);
      ws.onclose = () => void closed++;
      sockets.push(ws);
    };
    for (let i = 0; i < 300; i++) open();
    await until(
      () => Promise.resolve(closed >= 300 - 16),
      "the flood's extra sockets to be evicted",
      10_000,
    );
    // the flood goes on while the honest node joins: 10 more idle sockets every 200 ms
    const timer = setInterval(() => {
      for (let i = 0; i < 10; i++) open();
    }, 200);
    try {
      const t0 = performance.now();
      const b = await procs.serve("b", ["--backend", "simulation", "--peers", a.ws]);
      await until(
        async () => (await peers(a)).peers.some((p) => p.id === b.id),
        "the new node to join during the flood",
        10_000,
      );
      // before the fix a flood held every slot for 10 s (13 s to join); joining takes a node
      // start plus a handshake now
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      clearInterval(timer);
    }
    // the deadline: every flood socket is closed within the handshake deadline and a tick
    const total = sockets.length;
    await until(() => Promise.resolve(closed >= total), "every idle socket to be closed", 8_000);
  }, 60_000);
});
