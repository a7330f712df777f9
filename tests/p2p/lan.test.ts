/**
 * LAN discovery with real processes: two `aria serve --lan-discovery` nodes on one host, with no
 * bootstrap list, find each other through signed UDP multicast announcements; a hostile datagram
 * sent to the group is ignored and counted.
 */
import { afterAll, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { LAN_GROUP, LAN_PORT } from "../../src/p2p/lan.ts";
import { peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const procs = new ProcessGroup();
afterAll(() => procs.close());

describe("LAN discovery", () => {
  test("two nodes with no configuration find each other; junk datagrams are ignored", async () => {
    const flags = ["--backend", "simulation", "--p2p-port", "0", "--lan-discovery"];
    const [a, b] = await Promise.all([procs.serve("a", flags), procs.serve("b", flags)]);
    await until(
      async () => {
        const [pa, pb] = await Promise.all([peers(a), peers(b)]);
        return pa.peers.some((p) => p.id === b.id) && pb.peers.some((p) => p.id === a.id);
      },
      "a and b to connect through LAN announcements",
      30_000,
    );
    // hostile datagrams: not JSON, and a well-formed but unsigned announcement
    const s = dgram.createSocket({ type: "udp4", reuseAddr: true });
    const junk = [
      "{nope",
      JSON.stringify({
        v: 1,
        id: "a".repeat(64),
        url: "ws://127.0.0.1:1",
        ts: Date.now(),
        sig: "0".repeat(128),
      }),
    ];
    for (const j of junk) await new Promise((r) => s.send(j, LAN_PORT, LAN_GROUP, r));
    s.close();
    await until(
      async () => {
        const lan = (await peers(a) as unknown as { lan: Record<string, number> }).lan;
        return (lan["not_json"] ?? 0) >= 1 && (lan["bad_signature"] ?? 0) >= 1;
      },
      "a to count the junk",
      10_000,
    );
    // whichever read the other's announcement first dialled it
    const accepted = async (n: typeof a) =>
      (await peers(n) as unknown as { lan: Record<string, number> }).lan["accepted"] ?? 0;
    expect((await accepted(a)) + (await accepted(b))).toBeGreaterThanOrEqual(1);
    // still serving
    expect((await fetch(`${a.api}/v1/models`)).status).toBe(200);
  }, 60_000);
});
