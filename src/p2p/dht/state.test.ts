import { parseDhtMessage } from "./wire.ts";
import { describe, expect, test } from "bun:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import { identityFromSecret, verifySignature } from "../../identity/identity.ts";
import { hexToBytes as h2b } from "@noble/hashes/utils.js";

const verify = (id: string, bytes: Uint8Array, sig: string) => verifySignature(id, bytes, h2b(sig));
import { RECORD_TTL_MS, signProviderRecord } from "./providers.ts";
import { answer, heard, initialDht, setOwnRecord, tick } from "./state.ts";
import { tableSize } from "./routing-table.ts";

const me = identityFromSecret(new Uint8Array(32).fill(1));
const peer = identityFromSecret(new Uint8Array(32).fill(2));
const KEY = "cd".repeat(32);
const fill = new Uint8Array(32).fill(9);

describe("dht node state", () => {
  test("only dialable senders enter the routing table", () => {
    let s = initialDht(me.nodeId);
    s = heard(s, { id: peer.nodeId, url: null }, 0).state;
    expect(tableSize(s.table)).toBe(0);
    s = heard(s, { id: peer.nodeId, url: "ws://p:1" }, 0).state;
    expect(tableSize(s.table)).toBe(1);
  });

  test("find_node answers closest contacts without the asker", () => {
    let s = initialDht(me.nodeId);
    s = heard(s, { id: peer.nodeId, url: "ws://p:1" }, 0).state;
    const a = answer(s, peer.nodeId, { kind: "dht.find_node", body: { target: KEY } }, 0, verify);
    expect(a.reply).toEqual({ kind: "dht.nodes", body: { closer: [] } });
    const b = answer(
      s,
      "00".repeat(32),
      { kind: "dht.find_node", body: { target: KEY } },
      0,
      verify,
    );
    expect(b.reply).toEqual({
      kind: "dht.nodes",
      body: { closer: [{ id: peer.nodeId, url: "ws://p:1" }] },
    });
  });

  test("add_provider stores only the sender's own valid record; find_providers returns it", () => {
    const rec = signProviderRecord({
      key: KEY,
      provider: peer.nodeId,
      model: "m",
      url: "ws://p:1",
      relay: null,
      layers: null,
      nLayers: 30,
      expiresMs: 1000 + RECORD_TTL_MS,
    }, (b) => bytesToHex(peer.sign(b)));
    let s = initialDht(me.nodeId);
    const forged = answer(
      s,
      me.nodeId,
      { kind: "dht.add_provider", body: { record: rec } },
      1000,
      verify,
    );
    expect(forged.reply).toEqual({ kind: "dht.stored", body: { ok: false, reason: "not_sender" } });
    const ok = answer(
      s,
      peer.nodeId,
      { kind: "dht.add_provider", body: { record: rec } },
      1000,
      verify,
    );
    expect(ok.reply.body).toEqual({ ok: true, reason: "" });
    s = ok.state;
    const f = answer(
      s,
      me.nodeId,
      { kind: "dht.find_providers", body: { key: KEY } },
      2000,
      verify,
    );
    expect(f.reply.kind === "dht.providers" && f.reply.body.providers).toEqual([rec]);
    // list_models names the models of live records, with distinct providers
    const lm = answer(s, me.nodeId, { kind: "dht.list_models", body: {} }, 2000, verify);
    expect(lm.reply).toEqual({ kind: "dht.models", body: { models: [{ id: "m", providers: 1 }] } });
    expect(parseDhtMessage(lm.reply.kind, lm.reply.body).ok).toBe(true);
    // expired records are pruned by the timer and never answered
    s = tick(s, 1000 + RECORD_TTL_MS, fill).state;
    expect(s.store.size).toBe(0);
  });

  test("tick publishes own records once per period and refreshes stale buckets", () => {
    let s = setOwnRecord(initialDht(me.nodeId), KEY, {
      key: KEY,
      provider: me.nodeId,
      model: "m",
      url: "ws://me:1",
      relay: null,
      layers: null,
      nLayers: 30,
    });
    const t1 = tick(s, 0, fill);
    expect(t1.actions.map((a) => a.type)).toEqual(["refresh", "publish"]);
    const t2 = tick(t1.state, 1000, fill);
    expect(t2.actions).toEqual([]);
    s = tick(t2.state, 10 * 60_000, fill).state;
    expect(s.own.get(KEY)!.publishedMs).toBe(10 * 60_000);
  });
});
