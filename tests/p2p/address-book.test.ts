/**
 * The address book across a restart, with real processes on loopback: b joins through a (--peers),
 * is stopped with SIGTERM (it saves <data-dir>/peers.json), and started again with no --peers:
 * it finds a from the saved book alone.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const procs = new ProcessGroup();
afterAll(() => procs.close());

test("a restarted node without bootstrap peers rejoins from its saved address book", async () => {
  const a = await procs.serve("a", ["--backend", "simulation", "--p2p-port", "0"]);
  const b = await procs.serve("b", ["--backend", "simulation", "--p2p-port", "0", "--peers", a.ws]);
  await until(async () => (await peers(b)).peers.some((p) => p.id === a.id), "b to connect to a");
  b.proc.kill("SIGTERM");
  await b.proc.exited;
  const saved = await Bun.file(join(procs.home, "b", "peers.json")).json() as {
    version: number;
    addresses: { url: string; id: string | null }[];
  };
  expect(saved.version).toBe(1);
  expect(saved.addresses).toContainEqual(expect.objectContaining({ url: a.ws, id: a.id }));
  const again = await procs.serve("b", ["--backend", "simulation", "--p2p-port", "0"]);
  expect(again.id).toBe(b.id); // same data dir, same identity
  await until(async () => (await peers(again)).peers.some((p) => p.id === a.id), "b to rejoin a");
}, 90_000);
