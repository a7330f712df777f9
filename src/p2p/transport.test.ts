import { describe, expect, test } from "bun:test";
import { type Connection, MemoryNetwork, type TransportHandlers } from "./transport.ts";

function recorder(log: string[], name: string): TransportHandlers {
  return {
    onOpen: (_c, url) => log.push(`${name} open ${url ?? "in"}`),
    onMessage: (_c, d) => log.push(`${name} got ${String(d)}`),
    onClose: (_c, code) => log.push(`${name} closed ${code}`),
  };
}

describe("MemoryNetwork", () => {
  test("queued, ordered delivery; frames sent before close still arrive", async () => {
    const net = new MemoryNetwork();
    const log: string[] = [];
    const a = net.transport("a");
    const b = net.transport("b");
    await a.start(recorder(log, "a"));
    const url = await b.start(recorder(log, "b"));
    const conn: Connection = await a.dial(url!);
    conn.send("1");
    conn.send("2");
    conn.close(4000, "bye");
    conn.send("3"); // after close: dropped
    expect(log).toEqual([]); // nothing moves until flush
    net.flush();
    expect(log).toEqual([
      "b open in",
      "a open ws://mem/b",
      "b got 1",
      "b got 2",
      "a closed 4000",
      "b closed 4000",
    ]);
    expect(net.delivered).toBe(2);
  });

  test("dialling nothing rejects; a stopped transport closes its connections", async () => {
    const net = new MemoryNetwork();
    const log: string[] = [];
    const a = net.transport("a");
    await a.start(recorder(log, "a"));
    expect(a.dial("ws://mem/none")).rejects.toThrow(/nothing listens/);
    const b = net.transport("b");
    const url = await b.start(recorder(log, "b"));
    await a.dial(url!);
    net.flush();
    await b.stop();
    net.flush();
    expect(log.filter((l) => l.includes("closed"))).toEqual(["a closed 1001", "b closed 1001"]);
    expect(a.dial(url!)).rejects.toThrow();
  });
});
