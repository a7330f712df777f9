/**
 * The Auditor shell (src/p2p/auditor.ts) with fakes around it: a local backend that "re-executes"
 * by returning fixed ids, a node that records sends and bans, an in-memory proof store. Covers
 * what the loopback test (audit.test.ts) cannot reach cheaply: every verdict on a received proof,
 * the consent refusal, restart from stored proofs, hostile bodies.
 */
import { describe, expect, test } from "bun:test";
import { DEFAULT_SAMPLER_OPTIONS } from "../../src/generation/sampler-ref.ts";
import type {
  CompletionBackend,
  CompletionRequest,
  CompletionResult,
} from "../../src/contract/index.ts";
import { buildReceipt, hashTokenIds, signRecord } from "../../src/ledger/index.ts";
import {
  Auditor,
  type AuditStatsStore,
  FRAUD_PROOF_KIND,
  type FraudProof,
} from "../../src/p2p/index.ts";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLedger } from "../../src/ledger/index.ts";
import { auditStatsStore } from "../../src/node/peers.ts";
import { fraudProofId } from "../../src/p2p/fraud-proof.ts";
import { requestFromWire } from "../../src/p2p/serve-peer.ts";
import type { Envelope } from "../../src/p2p/protocol.ts";
import { fixedIdentity } from "../helpers/ledger.ts";
import { FRAUD_REQUEST, fraudProofAgainst, makeV2Record } from "../helpers/fraud.ts";

const MODEL_SHA = makeV2Record(fixedIdentity(1), 0).modelSha256;
const TRUTH = [11, 12, 13];
const cheater = fixedIdentity(1);
const honest = fixedIdentity(3);
const self = fixedIdentity(2);
const relay = fixedIdentity(4);
const request: CompletionRequest = requestFromWire("r1", FRAUD_REQUEST);

/** A backend whose every run samples TRUTH after prompt ids [1, 2, 3] (as makeV2Record says). */
function fakeLocal(head: "int8" | "float" = "int8") {
  const runs: CompletionRequest[] = [];
  const backend: CompletionBackend = {
    kind: "native",
    listModels: () => [{ id: "aria-nano", created: 0, ownedBy: "me", contextLength: 256 }],
    health: () => "ready",
    stats: () => ({ queueDepth: 0, activeSequences: 0, slots: 1 }),
    async *complete(r: CompletionRequest) {
      runs.push(r);
      yield { text: "abc", tokens: TRUTH };
      const result: CompletionResult = {
        tail: "",
        finishReason: "length",
        stopReason: "max_tokens",
        usage: { promptTokens: 3, completionTokens: 3 },
        timings: { queueMs: 0, promptMs: 0, decodeMs: 1 },
        servedBy: ["me"],
        replay: {
          contract: 2,
          sampler: 1,
          head,
          kvType: "f32",
          sampling: { ...DEFAULT_SAMPLER_OPTIONS, temperature: 0.9 },
          seed: r.seed ?? 0,
          promptIds: [1, 2, 3],
          continued: 0,
          outputIds: TRUTH,
        },
      };
      return result;
    },
    close: () => Promise.resolve(),
  };
  return { backend, runs };
}

function fakeNode(connected: string[]) {
  const sent: { to: string; kind: string; body: unknown }[] = [];
  const banned: string[] = [];
  let handler: ((peer: string, env: Envelope) => void) | undefined;
  return {
    sent,
    banned,
    deliver: (from: string, body: unknown) =>
      handler!(from, { kind: FRAUD_PROOF_KIND, body } as unknown as Envelope),
    node: {
      send: (to: string, m: { kind: string; body: unknown }) => (sent.push({ to, ...m }), true),
      connectedPeers: () => connected,
      ban: (p: string) => void banned.push(p),
      setAuditHandler: (h: { onMessage(peer: string, env: Envelope): void }) =>
        void (handler = (p, e) => h.onMessage(p, e)),
    },
  };
}

function memoryStore(initial: FraudProof[] = []) {
  const saved = new Map<string, FraudProof>();
  initial.forEach((p) => saved.set(fraudProofId(p.claim), p));
  return {
    saved,
    list: () => [...saved.values()],
    save: (id: string, p: FraudProof) => void saved.set(id, p),
  };
}

function auditor(
  opts: {
    head?: "int8" | "float";
    admit?: () => never;
    store?: ReturnType<typeof memoryStore>;
    statsStore?: AuditStatsStore;
    draw?: number;
  } = {},
) {
  const net = fakeNode([honest.nodeId, cheater.nodeId, relay.nodeId]);
  const local = fakeLocal(opts.head);
  const store = opts.store ?? memoryStore();
  const convicted: string[] = [];
  const a = new Auditor({
    node: net.node,
    local: local.backend,
    identity: self,
    rate: 0.05,
    localSha256: () => MODEL_SHA,
    store,
    onConvicted: (p) => void convicted.push(p),
    clock: { nowMs: () => 1_700_000_000_000 },
    draw: () => opts.draw ?? 0.5,
    ...(opts.admit ? { admit: opts.admit } : {}),
    ...(opts.statsStore ? { statsStore: opts.statsStore } : {}),
  });
  return { a, net, local, store, convicted };
}

const receiptOf = (signer = cheater, ids = [11, 99, 13]) =>
  buildReceipt(signRecord(makeV2Record(signer, 1, ids), signer).signed);

describe("Auditor", () => {
  test("a lying answer: re-run with the record's seed and length, proof made, stored, gossiped", async () => {
    const t = auditor();
    t.a.afterAnswer(cheater.nodeId, request, receiptOf(), "abc");
    await t.a.idle();
    expect(t.local.runs[0]).toMatchObject({ seed: 42, maxTokens: 3, stop: [] });
    expect(t.a.convicted(cheater.nodeId)).toBe(true);
    expect(t.a.trust(cheater.nodeId)).toBe(0);
    expect(t.a.stats(cheater.nodeId)).toMatchObject({ answers: 1, failed: 1 });
    expect(t.net.banned).toEqual([cheater.nodeId]);
    expect(t.convicted).toEqual([cheater.nodeId]);
    expect(t.store.saved.size).toBe(1);
    // gossiped to every connected peer but the accused
    expect(t.net.sent.map((s) => s.to).sort()).toEqual([honest.nodeId, relay.nodeId].sort());
    const proof = t.net.sent[0]!.body as FraudProof;
    expect(JSON.parse(proof.claim)).toMatchObject({
      reporter: self.nodeId,
      accused: cheater.nodeId,
      observed: hashTokenIds(TRUTH),
    });
    expect(t.a.counters).toMatchObject({
      answers: 1,
      audits: 1,
      proofsMade: 1,
      reexecutedTokens: 6,
    });
  });

  test("an honest answer passes; its text is checked against the re-run when there are no stops", async () => {
    const t = auditor();
    t.a.afterAnswer(honest.nodeId, request, receiptOf(honest, TRUTH), "abc");
    await t.a.idle();
    expect(t.a.stats(honest.nodeId)).toMatchObject({ answers: 1, passed: 1, failed: 0 });
    expect(t.a.trust(honest.nodeId)).toBeGreaterThan(0.5);
    expect(t.net.banned).toEqual([]);
    t.a.afterAnswer(honest.nodeId, request, receiptOf(honest, TRUTH), "not abc");
    await t.a.idle();
    expect(t.net.banned).toEqual([honest.nodeId]); // dropped here; no proof (not provable)
    expect(t.net.sent).toEqual([]);
  });

  test("another head here: the audit is inconclusive and nobody is accused", async () => {
    const t = auditor({ head: "float" });
    t.a.afterAnswer(cheater.nodeId, request, receiptOf(), "abc");
    await t.a.idle();
    expect(t.a.stats(cheater.nodeId)).toMatchObject({ failed: 0, skipped: 1 });
    expect(t.net.banned).toEqual([]);
  });

  test("the consent policy refusing audit work skips the audit", async () => {
    const t = auditor({
      admit: () => {
        throw new Error("CONSENT_DENIED: outside the schedule");
      },
    });
    t.a.afterAnswer(cheater.nodeId, request, receiptOf(), "abc");
    await t.a.idle();
    expect(t.local.runs).toEqual([]);
    expect(t.a.stats(cheater.nodeId)).toMatchObject({ skipped: 1, failed: 0 });
  });

  test("a received valid proof: re-run, accepted, passed on to others than sender and accused", async () => {
    const t = auditor();
    const proof = fraudProofAgainst(
      signRecord(makeV2Record(cheater, 1, [11, 99, 13]), cheater).signed,
      relay,
    );
    t.net.deliver(relay.nodeId, proof);
    t.net.deliver(relay.nodeId, proof); // a second copy is ignored
    await t.a.idle();
    expect(t.local.runs.length).toBe(1);
    expect(t.a.counters.proofsAccepted).toBe(1);
    expect(t.net.banned).toEqual([cheater.nodeId]);
    expect(t.net.sent.map((s) => s.to)).toEqual([honest.nodeId]);
  });

  test("a forged proof: the reporter and the sender are banned, the accused is not", async () => {
    const t = auditor();
    const forger = fixedIdentity(9);
    const forged = fraudProofAgainst(
      signRecord(makeV2Record(honest, 1, TRUTH), honest).signed,
      forger,
    );
    t.net.deliver(relay.nodeId, forged);
    await t.a.idle();
    expect(t.a.counters.proofsForged).toBe(1);
    expect(t.net.banned.sort()).toEqual([forger.nodeId, relay.nodeId].sort());
    expect(t.a.convicted(honest.nodeId)).toBe(false);
    expect(t.net.sent).toEqual([]);
    expect(t.store.saved.size).toBe(0);
  });

  test("one proof per sender waits at a time; another sender's is judged", async () => {
    const t = auditor();
    const lie = (n: number) => signRecord(makeV2Record(cheater, n, [11, 99, 13]), cheater).signed;
    const fair = signRecord(makeV2Record(honest, 7, TRUTH), honest).signed;
    const other = fixedIdentity(5);
    t.net.deliver(relay.nodeId, fraudProofAgainst(lie(1), relay));
    t.net.deliver(relay.nodeId, fraudProofAgainst(lie(2), relay)); // dropped: one is waiting
    t.net.deliver(other.nodeId, fraudProofAgainst(fair, other)); // judged (and found forged)
    await t.a.idle();
    expect(t.local.runs.length).toBe(2);
    expect(t.a.counters).toMatchObject({ proofsAccepted: 1, proofsForged: 1 });
  });

  test("hostile bodies are dropped without a re-run", async () => {
    const t = auditor();
    for (
      const body of [null, 5, "x", { claim: "{}", signature: "00" }, {
        claim: "x".repeat(1e6),
        signature: "0".repeat(128),
      }]
    ) {
      t.net.deliver(relay.nodeId, body);
    }
    await t.a.idle();
    expect(t.local.runs).toEqual([]);
    expect(t.net.banned).toEqual([]);
  });

  test("stored proofs convict again at start (a restart keeps the bans)", () => {
    const proof = fraudProofAgainst(
      signRecord(makeV2Record(cheater, 1, [11, 99, 13]), cheater).signed,
      relay,
    );
    const t = auditor({ store: memoryStore([proof]) });
    expect(t.a.convicted(cheater.nodeId)).toBe(true);
    expect(t.net.banned).toEqual([cheater.nodeId]);
    expect(t.a.reputation()[cheater.nodeId]?.convicted).toBe(fraudProofId(proof.claim));
  });
});

describe("Auditor stats across a restart (the data dir's ledger file)", () => {
  const clock = { nowMs: () => 1_700_000_000_000 };
  function withLedger(run: (path: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), "aria-audit-stats-"));
    return run(join(dir, "ledger.sqlite")).finally(() => rmSync(dir, { recursive: true }));
  }

  test("a restarted auditor keeps each peer's counts and warm-up; a new identity is still new", () =>
    withLedger(async (path) => {
      const first = openLedger(path, { clock });
      // draw 0: every answer is audited, whatever the rate
      const t = auditor({ statsStore: auditStatsStore(first), draw: 0 });
      for (let i = 0; i < 6; i++) {
        t.a.afterAnswer(honest.nodeId, request, receiptOf(honest, TRUTH), "abc");
        await t.a.idle();
      }
      expect(t.a.stats(honest.nodeId)).toEqual({ answers: 6, passed: 6, failed: 0, skipped: 0 });
      first.close();

      const again = openLedger(path, { clock });
      const r = auditor({ statsStore: auditStatsStore(again) });
      expect(r.a.stats(honest.nodeId)).toEqual({ answers: 6, passed: 6, failed: 0, skipped: 0 });
      expect(r.a.trust(honest.nodeId)).toBeCloseTo(0.5 + 0.5 * 6 / 8);
      // warm: 2 / (2 + 6) = 0.25, not a new identity's 1
      expect(r.a.reputation()[honest.nodeId]?.rate).toBe(0.25);
      // a draw of 0.5 is above that rate: the answer is not audited (a new peer's would be)
      r.a.afterAnswer(honest.nodeId, request, receiptOf(honest, TRUTH), "abc");
      await r.a.idle();
      expect(r.local.runs).toEqual([]);
      r.a.afterAnswer(relay.nodeId, request, receiptOf(relay, TRUTH), "abc");
      await r.a.idle();
      expect(r.local.runs.length).toBe(1);
      expect(r.a.reputation()[relay.nodeId]).toMatchObject({ answers: 1, passed: 1 });
      again.close();
    }));

  test("a peer that failed an audit stays at trust 0 after a restart", () =>
    withLedger(async (path) => {
      const first = openLedger(path, { clock });
      const t = auditor({ statsStore: auditStatsStore(first) });
      t.a.afterAnswer(honest.nodeId, request, receiptOf(honest, TRUTH), "not abc");
      await t.a.idle();
      expect(t.a.stats(honest.nodeId).failed).toBe(1);
      first.close();
      const again = openLedger(path, { clock });
      const r = auditor({ statsStore: auditStatsStore(again) });
      expect(r.a.trust(honest.nodeId)).toBe(0);
      again.close();
    }));

  test("damaged rows are skipped, a missing table or store does not stop the start", () =>
    withLedger(async (path) => {
      const first = openLedger(path, { clock });
      const good = { answers: 3, passed: 2, failed: 0, skipped: 0 };
      first.putPeerAudits(honest.nodeId, good, 5);
      first.putPeerAudits(relay.nodeId, good, 6);
      first.close();
      const db = new Database(path);
      db.run("UPDATE peer_audits SET passed = -4 WHERE peer = ?", [relay.nodeId]);
      db.run("INSERT INTO peer_audits VALUES ('not a node id', 1, 1, 0, 0, 7)");
      db.close();
      const again = openLedger(path, { clock });
      const logs: Record<string, unknown>[] = [];
      const a = new Auditor({
        node: fakeNode([]).node,
        local: fakeLocal().backend,
        identity: self,
        localSha256: () => MODEL_SHA,
        statsStore: auditStatsStore(again),
        clock,
        log: (e) => void logs.push(e),
      });
      expect(a.stats(honest.nodeId)).toEqual(good);
      expect(a.stats(relay.nodeId)).toEqual({ answers: 0, passed: 0, failed: 0, skipped: 0 });
      expect(logs).toContainEqual({ event: "audit_stats_rows_refused", refused: 2 });
      again.close();
      // the table gone (a hand-edited file): logged, the auditor starts empty and keeps working
      const db2 = new Database(path);
      db2.run("DROP TABLE peer_audits");
      db2.close();
      const third = openLedger(path, { clock });
      logs.length = 0;
      const t = auditor({ statsStore: auditStatsStore(third) });
      expect(t.a.stats(honest.nodeId).answers).toBe(0);
      t.a.afterAnswer(honest.nodeId, request, receiptOf(honest, TRUTH), "abc");
      await t.a.idle();
      expect(t.a.stats(honest.nodeId).passed).toBe(1);
      third.close();
    }));

  test("the table keeps only the newest rows", () =>
    withLedger((path) => {
      const store = openLedger(path, { clock });
      const counts = { answers: 1, passed: 0, failed: 0, skipped: 0 };
      for (let i = 0; i < 5; i++) store.putPeerAudits(String(i).repeat(64), counts, 100 + i);
      expect(store.peerAudits(3).map((r) => r["peer"])).toEqual(
        ["4", "3", "2"].map((c) => c.repeat(64)),
      );
      expect(store.peerAudits(10).length).toBe(3);
      store.close();
      return Promise.resolve();
    }));
});
