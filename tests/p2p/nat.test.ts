/**
 * Serving from behind NAT, with real `aria serve` processes on loopback. N (the built-in
 * aria-nano) runs with --no-listen: it has no peer port at all, as behind a home router, and can
 * only dial out. R is a reachable relay (--relay). C (simulation backend, no aria-nano, also
 * --no-listen) can reach R but never N. N finds itself unreachable, reserves a slot at R and
 * publishes provider records naming R; C's request for aria-nano finds N on the overlay and is
 * served through R, with N's receipt. R itself learns it is reachable from its peers' dial-backs.
 * A second relay changes one character of every frame it forwards (the ARIA_TEST_RELAY_TAMPER
 * switch): the answer is refused, never passed on. R's consent policy caps bytes per circuit:
 * a long answer is cut off with the limit named.
 *
 * Network namespaces (`unshare -n`) would isolate loopback itself, so N could not reach R
 * either without a veth pair; a node without a listening socket is the same situation for
 * every peer (nobody can open a connection to it) and needs no privileges.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Receipt, sha256Text, verifyReceipt } from "../../src/ledger/index.ts";
import { type Node, peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const ROOT = join(import.meta.dir, "..", "..");
const procs = new ProcessGroup();

interface OverlayView {
  reachability: string;
  relayedBy: string | null;
  reachEvidence: { ok: number; failed: number };
  relaying: { reservations: number; circuits: number; closed: Record<string, number> };
  refusedRelayedFrames: Record<string, number>;
}

async function overlayOf(n: Node): Promise<OverlayView> {
  return (await peers(n) as unknown as { overlay: OverlayView }).overlay;
}

/** Bytes per relayed circuit at R (consent relay-limits): a short answer fits, a request with a
 * prompt over this size does not. */
const CIRCUIT_BYTES = 12 * 1024;

let r: Node; // relay, reachable, simulation backend
let n: Node; // aria-nano, --no-listen
let c: Node; // simulation backend, --no-listen
let bad: Node; // a relay that tampers with frames
let n2: Node;
let c2: Node;

beforeAll(async () => {
  // R's owner caps bytes per circuit (aria consent set relay-limits, before the node starts)
  const set = Bun.spawnSync([
    process.execPath,
    "src/main.ts",
    "consent",
    "set",
    "relay-limits",
    `16,4,${CIRCUIT_BYTES},600,1M`,
    "--data-dir",
    join(procs.home, "r"),
  ], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(set.exitCode).toBe(0);
  [r, bad] = await Promise.all([
    procs.serve("r", ["--backend", "simulation", "--p2p-port", "0", "--relay"]),
    procs.serve("bad", ["--backend", "simulation", "--p2p-port", "0", "--relay"], {
      ARIA_TEST_RELAY_TAMPER: "1",
    }),
  ]);
  [n, c, n2, c2] = await Promise.all([
    procs.serve("n", ["--no-listen", "--peers", r.ws, "--threads", "1"]),
    procs.serve("c", ["--backend", "simulation", "--no-listen", "--peers", r.ws]),
    procs.serve("n2", ["--no-listen", "--peers", bad.ws, "--threads", "1"]),
    procs.serve("c2", ["--backend", "simulation", "--no-listen", "--peers", bad.ws]),
  ]);
}, 60_000);

afterAll(() => procs.close());

async function complete(node: Node, maxTokens: number, stream = false): Promise<Response> {
  return await fetch(`${node.api}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "aria-nano",
      prompt: "The history of the city",
      max_tokens: maxTokens,
      temperature: 0,
      stream,
    }),
  });
}

describe("a node behind NAT serves through a relay", () => {
  test("N is unreachable and reserves at R; R's address is tested by dial-back", async () => {
    expect(n.ws).toBe(""); // no peer port
    await until(async () => (await overlayOf(n)).relayedBy === r.id, "N to reserve at R", 30_000);
    expect((await overlayOf(n)).reachability).toBe("unreachable");
    expect((await overlayOf(r)).relaying.reservations).toBeGreaterThanOrEqual(1);
    // R's address is tested by its peers dialling it back from a fresh connection: R counts a
    // success only when the nonce arrives on an inbound connection. Two successes make it
    // "reachable"; on this loaded machine a peer still loading its model may miss the first
    // round's deadline, so the test asks for one observed success and no "unreachable" verdict.
    await until(
      async () => (await overlayOf(r)).reachEvidence.ok >= 1,
      "a dial-back of R's address",
      40_000,
    );
    expect((await overlayOf(r)).reachability).not.toBe("unreachable");
  }, 60_000);

  test("C's request for a model it lacks is served by N through R, with N's receipt", async () => {
    await until(async () => (await overlayOf(n)).relayedBy === r.id, "N's reservation", 30_000);
    const direct = await (await complete(n, 6)).json() as { choices: { text: string }[] };
    // the provider records are published on N's next tick; C looks them up when asked
    let res: Response | null = null;
    await until(
      async () => {
        res = await complete(c, 6);
        return res.status === 200;
      },
      "C to find N on the overlay",
      30_000,
    );
    const body = await res!.json() as {
      choices: { text: string }[];
      provenance?: unknown;
    };
    expect(res!.headers.get("x-aria-served-by")).toBe(n.id);
    expect(body.choices[0]!.text).toBe(direct.choices[0]!.text);
    expect(body.choices[0]!.text.length).toBeGreaterThan(0);
    // N signed the receipt of its own record of this answer; the relay could not change it
    expect(verifyReceipt(body.provenance).ok).toBe(true);
    const { record } = (body.provenance as Receipt).record;
    expect(record.signer as string).toBe(n.id);
    expect(record.outputHash).toBe(sha256Text(body.choices[0]!.text));
    // the network view: C knows aria-nano's provider; N says it is reached through R
    const cView = (await peers(c) as unknown as { network: { models: { id: string }[] } }).network;
    expect(cView.models.map((m) => m.id)).toContain("aria-nano");
    const nView = (await peers(n) as unknown as { network: { relayedBy: string | null } }).network;
    expect(nView.relayedBy).toBe(r.id);
    // and the dashboard's peers page says so
    const page = await (await fetch(`${n.api}/peers`)).text();
    expect(page).toContain('data-field="network"');
    expect(page).toContain("relayed by");
    // C and N never connected: the answer came through R
    expect((await peers(c)).peers.map((p) => p.id)).not.toContain(n.id);
    expect((await peers(n)).peers.map((p) => p.id)).not.toContain(c.id);
  }, 60_000);

  test("R's byte limit per circuit closes a circuit that carries too much", async () => {
    await until(async () => (await complete(c, 2)).status === 200, "the route through R", 30_000);
    const closedBefore = (await overlayOf(r)).relaying.closed["limit_bytes"] ?? 0;
    // a request frame larger than CIRCUIT_BYTES: the relay closes the circuit instead of
    // forwarding it, so N never sees it (N would have answered 400: the prompt exceeds its context)
    const res = await fetch(`${c.api}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "aria-nano",
        prompt: "word ".repeat(CIRCUIT_BYTES / 4),
        max_tokens: 2,
        temperature: 0,
      }),
    });
    expect(res.status).toBe(503);
    expect((await overlayOf(r)).relaying.closed["limit_bytes"]).toBeGreaterThan(closedBefore);
  }, 60_000);
});

describe("a relay cannot change a byte unnoticed", () => {
  test("frames changed by the relay are refused: no answer is passed on", async () => {
    await until(async () => (await overlayOf(n2)).relayedBy === bad.id, "N2 to reserve", 30_000);
    let last: Response | null = null;
    let message = "";
    // C2 looks N2 up (404 until it knows the model), then asks through the tampering relay
    await until(
      async () => {
        last = await complete(c2, 6);
        message = JSON.stringify(await last.json());
        return last.status !== 404;
      },
      "C2 to find N2 on the overlay",
      30_000,
    );
    expect(last!.status).toBe(503);
    expect(message).not.toContain('"choices"');
    // N2 refused the altered request frame (its signature no longer matched) before running it
    expect((await overlayOf(n2)).refusedRelayedFrames["BAD_SIGNATURE"]).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
