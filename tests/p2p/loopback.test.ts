/**
 * Real processes on loopback (free ports): `aria serve` nodes with the built-in aria-nano model or
 * the simulation backend (nodes meant not to have the model). Three nodes discover each other
 * through one bootstrap; a request is routed to a node with the model; `kill -9` of the serving
 * node mid-generation gives the identical greedy text through a replica; hostile peers are
 * refused and the node keeps serving.
 */
import { promptHash, type Receipt, sha256Text, verifyReceipt } from "../../src/ledger/index.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import {
  applyHandshake,
  helloMessage,
  startHandshake,
  transcriptBytes,
} from "../../src/p2p/handshake.ts";
import {
  encodeFrame,
  MAX_FRAME_BYTES,
  type Outgoing,
  PROTOCOL_VERSION_STRING,
} from "../../src/p2p/protocol.ts";
import { edCrypto } from "../helpers/p2p.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Node, peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";
import { sseChunks } from "../helpers/api.ts";

const procs = new ProcessGroup();
const serve = (name: string, args: string[]) => procs.serve(name, args);

const BODY = {
  model: "aria-nano",
  prompt: "The history of the city",
  max_tokens: 120,
  temperature: 0,
};

async function streamed(
  n: Node,
  onFirst?: (servedBy: string) => void,
): Promise<{ text: string; servedBy: string; provenance?: unknown }> {
  const res = await fetch(`${n.api}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...BODY, stream: true }),
  });
  const servedBy = res.headers.get("x-aria-served-by") ?? "";
  let text = "";
  let first = true;
  let provenance: unknown;
  for await (const chunk of sseChunks(res)) {
    const event = chunk as { object?: string; provenance?: unknown };
    if (event.object === "aria.provenance") provenance = event.provenance;
    text += (chunk as { choices?: { text?: string }[] }).choices?.[0]?.text ?? "";
    if (first && text.length > 0) {
      first = false;
      onFirst?.(servedBy);
    }
  }
  return { text, servedBy, provenance };
}

let a: Node; // aria-nano, the bootstrap
let b: Node; // no model (simulation backend), bootstraps from a
let c: Node; // no model, bootstraps from a

beforeAll(async () => {
  a = await serve("a", ["--p2p-port", "0", "--threads", "1"]);
  [b, c] = await Promise.all([
    serve("b", ["--backend", "simulation", "--peers", a.ws]),
    serve("c", ["--backend", "simulation", "--peers", a.ws]),
  ]);
}, 60_000);

afterAll(() => procs.close());

describe("peer network on loopback", () => {
  test("three nodes discover each other through one bootstrap", async () => {
    const all = [a, b, c];
    await until(async () => {
      for (const n of all) {
        const ids = (await peers(n)).peers.map((p) => p.id).sort();
        if (ids.join() !== all.filter((x) => x !== n).map((x) => x.id).sort().join()) return false;
      }
      return true;
    }, "every node to list the other two");
    const seenByB = (await peers(b)).peers.find((p) => p.id === a.id)!;
    expect(seenByB.models.map((m) => m.id)).toEqual(["aria-nano"]);
  }, 30_000);

  test("a request for a model this node lacks is served by the node that has it", async () => {
    await until(
      async () => (await peers(b)).peers.some((p) => p.models.some((m) => m.id === "aria-nano")),
      "b to see a's advert",
    );
    const local = await streamed(a);
    const routed = await streamed(b);
    expect(local.servedBy).toBe(a.id);
    expect(routed.servedBy).toBe(a.id);
    expect(routed.text).toBe(local.text);
    expect(routed.text.length).toBeGreaterThan(0);
    // the routed answer carries the receipt a signed for its own record (b has no ledger)
    expect(verifyReceipt(routed.provenance).ok).toBe(true);
    const { record } = (routed.provenance as Receipt).record;
    expect(record.signer as string).toBe(a.id);
    expect(record.outputHash).toBe(sha256Text(routed.text));
    expect(record.promptHash).toBe(promptHash({ kind: "text", prompt: BODY.prompt }));
    expect(verifyReceipt(local.provenance).ok).toBe(true);
  }, 30_000);

  test("hostile peers are refused and the node keeps serving", async () => {
    const ws = new WebSocket(a.ws);
    const got: { kind: string; body: { code?: string; challenge?: string } }[] = [];
    let closed: { code: number; reason: string } | null = null;
    ws.onmessage = (e) => got.push(JSON.parse(JSON.parse(e.data as string).msg));
    ws.onclose = (e) => (closed = { code: e.code, reason: e.reason });
    await new Promise((r) => (ws.onopen = r));
    await until(() => Promise.resolve(got.length > 0), "hello");
    const codes = () => got.filter((m) => m.kind === "error").map((m) => m.body.code);
    ws.send("{nope");
    ws.send(JSON.stringify({ sig: "", msg: JSON.stringify({ v: "1.0", kind: "teleport" }) }));
    ws.send(JSON.stringify({ sig: "", msg: "x".repeat(MAX_FRAME_BYTES + 1) }));
    await until(() => Promise.resolve(codes().length === 3), "three error replies");
    expect(codes()).toEqual(["INVALID_JSON", "MISSING_FIELDS", "FRAME_TOO_LARGE"]);
    expect(closed).toBeNull(); // the connection stays open after bad frames

    // spoofed id: claims b's id, signs with its own key
    const mallory = edCrypto(99);
    const challenge = got[0]!.body.challenge!;
    const hello: Outgoing = {
      kind: "hello",
      id: "h",
      to: "",
      body: {
        version: PROTOCOL_VERSION_STRING,
        nodeId: b.id,
        challenge: "e".repeat(64),
        listen: null,
        agent: "x",
      },
    };
    ws.send(encodeFrame(hello, { from: b.id, ts: Date.now(), nonce: "0".repeat(32), sign: null }));
    const proof = mallory.sign(
      transcriptBytes("dialer", { nodeId: b.id, challenge: "e".repeat(64) }, {
        nodeId: a.id,
        challenge,
      }, new URL(a.ws).host),
    );
    ws.send(
      encodeFrame({ kind: "auth", id: "a", to: a.id, body: { proof } }, {
        from: b.id,
        ts: Date.now(),
        nonce: "1".repeat(32),
        sign: null,
      }),
    );
    await until(() => Promise.resolve(closed !== null), "the spoofer to be closed");
    expect(codes().at(-1)).toBe("BAD_SIGNATURE");
    expect(closed!.code).toBe(4001);

    // another major version
    const v2 = new WebSocket(a.ws);
    const v2got: { kind: string; body: { code?: string } }[] = [];
    let v2closed = 0;
    v2.onmessage = (e) => v2got.push(JSON.parse(JSON.parse(e.data as string).msg));
    v2.onclose = (e) => (v2closed = e.code);
    await new Promise((r) => (v2.onopen = r));
    const eve = edCrypto(98);
    v2.send(
      encodeFrame({
        kind: "hello",
        id: "h",
        to: "",
        body: {
          version: PROTOCOL_VERSION_STRING,
          nodeId: eve.nodeId,
          challenge: "e".repeat(64),
          listen: null,
          agent: "x",
        },
      }, { from: eve.nodeId, ts: Date.now(), nonce: "0".repeat(32), sign: null }).replace(
        `"version\\":\\"${PROTOCOL_VERSION_STRING}`,
        '"version\\":\\"9.0',
      ),
    );
    await until(() => Promise.resolve(v2closed !== 0), "the 9.0 peer to be closed");
    expect(v2got.find((m) => m.kind === "error")?.body.code).toBe("VERSION");

    // an authenticated peer that replays a message and then floods
    const honestKey = edCrypto(97);
    const conn = new WebSocket(a.ws);
    const cgot: { kind: string; re?: string; body: { code?: string; challenge?: string } }[] = [];
    conn.onmessage = (e) => cgot.push(JSON.parse(JSON.parse(e.data as string).msg));
    await new Promise((r) => (conn.onopen = r));
    let hs = startHandshake(honestKey.nodeId, "f".repeat(64), a.id, {
      channel: new URL(a.ws).host,
    });
    const signer = { sign: honestKey.sign, verify: honestKey.verify };
    conn.send(
      encodeFrame(helloMessage(hs, null, "test"), {
        from: honestKey.nodeId,
        ts: Date.now(),
        nonce: "2".repeat(32),
        sign: null,
      }),
    );
    await until(
      () =>
        Promise.resolve(cgot.filter((m) => m.kind === "hello" || m.kind === "auth").length === 2),
      "hello and auth from a",
    );
    for (const m of cgot.filter((x) => x.kind === "hello" || x.kind === "auth")) {
      const step = applyHandshake(hs, { kind: m.kind, from: a.id, body: m.body }, signer);
      hs = step.state;
      for (const out of step.send) {
        conn.send(
          encodeFrame(out, {
            from: honestKey.nodeId,
            ts: Date.now(),
            nonce: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
            sign: null,
          }),
        );
      }
    }
    expect(hs.authenticated).toBe(true);
    const ping = encodeFrame({ kind: "ping", id: "ping1", to: a.id, body: {} }, {
      from: honestKey.nodeId,
      ts: Date.now(),
      nonce: "3".repeat(32),
      sign: honestKey.sign,
    });
    conn.send(ping);
    conn.send(ping);
    await until(
      () => Promise.resolve(cgot.some((m) => m.body.code === "REPLAY")),
      "the replay to be refused",
    );
    expect(cgot.filter((m) => m.kind === "pong" && m.re === "ping1").length).toBe(1);
    const stale = encodeFrame({ kind: "ping", id: "ping2", to: a.id, body: {} }, {
      from: honestKey.nodeId,
      ts: Date.now() - 120_000,
      nonce: "4".repeat(32),
      sign: honestKey.sign,
    });
    conn.send(stale);
    await until(
      () => Promise.resolve(cgot.some((m) => m.body.code === "STALE")),
      "the stale message to be refused",
    );
    // signed first, then sent in one burst: far more than the bucket's burst of 100
    const flood = Array.from(
      { length: 400 },
      (_, i) =>
        encodeFrame({ kind: "ping", id: `f${i}`, to: a.id, body: {} }, {
          from: honestKey.nodeId,
          ts: Date.now(),
          nonce: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
          sign: honestKey.sign,
        }),
    );
    for (const frame of flood) conn.send(frame);
    await until(
      async () => ((await peers(a)).refused["RATE_LIMITED"] ?? 0) > 0,
      "the flood to be rate limited",
    );
    await until(
      () => Promise.resolve(cgot.some((m) => m.body.code === "RATE_LIMITED")),
      "a RATE_LIMITED reply",
    );
    // every flood frame was either answered or refused; not all of them were answered
    const limited = (await peers(a)).refused["RATE_LIMITED"]!;
    const pongs = cgot.filter((m) => m.kind === "pong" && m.re?.startsWith("f")).length;
    expect(limited).toBeGreaterThan(0);
    expect(pongs).toBeLessThan(400);
    ws.close();
    v2.close();
    conn.close();

    // the node still serves its API and its honest peers
    const after = await streamed(b);
    expect(after.servedBy).toBe(a.id);
    expect(after.text.length).toBeGreaterThan(0);
  }, 60_000);

  test(
    "kill -9 of the serving node mid-generation: the replica continues, text identical",
    async () => {
      const d = await serve("d", ["--p2p-port", "0", "--threads", "1", "--peers", a.ws]);
      await until(
        async () =>
          (await peers(b)).peers.filter((p) => p.models.some((m) => m.id === "aria-nano"))
            .length === 2,
        "b to see both replicas",
        30_000,
      );
      const reference = await streamed(b);
      const okOf = async (n: Node) => (await peers(b)).peers.find((p) => p.id === n.id)?.ok ?? 0;
      const okBefore = { a: await okOf(a), d: await okOf(d) };
      let victim: Node | undefined;
      const failed = await streamed(b, (servedBy) => {
        victim = [a, d].find((n) => n.id === servedBy);
        victim?.proc.kill(9);
      });
      expect(victim).toBeDefined();
      expect(failed.text).toBe(reference.text);
      const survivor = victim === a ? d : a;
      // the survivor finished a request it did not start: the fail-over continuation
      expect(await okOf(survivor)).toBe(okBefore[survivor === a ? "a" : "d"] + 1);
      // the survivor's record continued the victim's tokens; its receipt carries them, and
      // aria verify on one machine re-runs the survivor's part bit for bit from the prompt the
      // client kept and those ids
      const receipt = failed.provenance as Receipt & { continuedIds?: number[] };
      expect(receipt.record.record.signer as string).toBe(survivor.id);
      const continued = receipt.record.record.replay!.continued;
      expect(continued).toBeGreaterThan(0);
      expect(receipt.continuedIds?.length).toBe(continued);
      const dir = mkdtempSync(join(tmpdir(), "aria-failover-verify-"));
      try {
        writeFileSync(join(dir, "receipt.json"), JSON.stringify(receipt));
        writeFileSync(join(dir, "request.json"), JSON.stringify(BODY));
        const r = Bun.spawnSync([
          process.execPath,
          "src/main.ts",
          "verify",
          "--receipt",
          join(dir, "receipt.json"),
          "--prompt",
          join(dir, "request.json"),
          "--model",
          join(import.meta.dir, "..", "..", "static", "models", "aria-nano.gguf"),
        ], { cwd: join(import.meta.dir, "..", "..") });
        expect(r.stdout.toString()).toStartWith(
          `reproduced: ${receipt.record.record.replay!.outputIdCount} tokens, bit for bit`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      await until(
        async () => !(await peers(b)).peers.some((p) => p.id === victim!.id),
        "b to drop the dead node",
      );
      expect((await peers(b)).peers.map((p) => p.id)).toContain(survivor.id);
    },
    60_000,
  );
});
