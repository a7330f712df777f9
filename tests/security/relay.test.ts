/**
 * Issue 19, hole 2: a third party that relays the handshake between two real `aria serve`
 * processes (forwarding every frame verbatim, both directions) must not get either to accept
 * the other through it. Loopback sockets only.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Node, peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const procs = new ProcessGroup();
const relays: ReturnType<typeof Bun.serve>[] = [];
const sockets: WebSocket[] = [];

/** Pipes two WebSockets together, frame by frame, queuing until each is open. */
function pipe(
  left: { send(d: string | ArrayBuffer): unknown },
  right: WebSocket,
): (d: string | ArrayBuffer) => void {
  const queued: (string | ArrayBuffer)[] = [];
  right.binaryType = "arraybuffer";
  right.onopen = () => queued.splice(0).forEach((d) => right.send(d));
  right.onmessage = (e) => void left.send(e.data as string | ArrayBuffer);
  return (d) => (right.readyState === WebSocket.OPEN ? right.send(d) : queued.push(d));
}

/** A relay on loopback: each connection to it is forwarded to `target`. */
function relayTo(target: string): string {
  type Data = { forward: (d: string | ArrayBuffer) => void };
  const server = Bun.serve<Data>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      return srv.upgrade(req, { data: { forward: () => {} } })
        ? undefined
        : new Response("", { status: 400 });
    },
    websocket: {
      open(ws) {
        const out = new WebSocket(target);
        sockets.push(out);
        out.onclose = () => ws.close();
        ws.data.forward = pipe(ws, out);
      },
      message(ws, msg) {
        ws.data.forward(typeof msg === "string" ? msg : new Uint8Array(msg).slice().buffer);
      },
      close() {},
    },
  });
  relays.push(server);
  return `ws://127.0.0.1:${server.port}`;
}

let b: Node;
beforeAll(async () => {
  b = await procs.serve("b", ["--backend", "simulation", "--p2p-port", "0"]);
}, 60_000);

afterAll(() => {
  for (const s of sockets) s.close();
  for (const r of relays) r.stop(true);
  procs.close();
});

describe("handshake relay (issue 19, hole 2)", () => {
  test("A dials a relay that forwards to B: neither accepts the other", async () => {
    const relay = relayTo(b.ws);
    const a = await procs.serve("a", ["--backend", "simulation", "--peers", relay]);
    // B must see the relayed handshake and refuse it (it counts refusals by code)
    await until(
      async () => ((await peers(b)).refused["BAD_SIGNATURE"] ?? 0) > 0,
      "B to refuse the relayed proof",
    );
    expect((await peers(a)).peers.map((p) => p.id)).not.toContain(b.id);
    expect((await peers(b)).peers.map((p) => p.id)).not.toContain(a.id);
  }, 60_000);

  test(
    "a relay that dials both A and B and joins the sockets: neither accepts the other",
    async () => {
      const a = await procs.serve("a2", ["--backend", "simulation", "--p2p-port", "0"]);
      const before = (await peers(a)).refused["BAD_SIGNATURE"] ?? 0;
      const toA = new WebSocket(a.ws);
      const toB = new WebSocket(b.ws);
      sockets.push(toA, toB);
      // join two client sockets: each side's frames go to the other once it is open
      const q = new Map<WebSocket, (string | ArrayBuffer)[]>([[toA, []], [toB, []]]);
      for (const [from, to] of [[toA, toB], [toB, toA]] as const) {
        from.binaryType = "arraybuffer";
        from.onopen = () => q.get(from)!.splice(0).forEach((d) => from.send(d));
        from.onmessage = (e) => {
          const d = e.data as string | ArrayBuffer;
          if (to.readyState === WebSocket.OPEN) to.send(d);
          else q.get(to)!.push(d);
        };
      }
      await until(
        async () => ((await peers(a)).refused["BAD_SIGNATURE"] ?? 0) > before,
        "A to refuse the relayed proof",
      );
      expect((await peers(a)).peers.map((p) => p.id)).not.toContain(b.id);
      expect((await peers(b)).peers.map((p) => p.id)).not.toContain(a.id);
    },
    60_000,
  );

  test("control: A dialling B directly is accepted", async () => {
    const a = await procs.serve("a3", ["--backend", "simulation", "--peers", b.ws]);
    await until(
      async () => (await peers(a)).peers.some((p) => p.id === b.id),
      "A and B to connect",
    );
  }, 60_000);
});
