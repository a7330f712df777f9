/**
 * @module Shell: audits of peers' answers on a routing node (issue 20). After a peer answers a
 * routed request whole, the router hands the answer here; the pure planner (audit-plan.ts)
 * decides whether to re-execute it, and if so the request runs again on the local backend, in the
 * background, one audit at a time, admitted by the owner's consent policy like a peer's request
 * (kind "peer-request": servePeers, schedule, quota and concurrency all apply; a refusal skips
 * the audit). A different output makes a fraud proof (fraud-proof.ts), signed by this node:
 * stored, the accused banned and its ledger chain rejected, the proof gossiped to every connected
 * peer (`audit.fraud-proof`). A proof received from a peer is checked, re-run when this node
 * holds the model file, and then either acted on and passed on ("fraud") or, when the accused's
 * record reproduces ("forged"), the reporter and the peer that sent it are banned.
 *
 * Each peer's counts are written through to `statsStore` (the data dir's ledger file) and read
 * back at start, so a restart keeps every peer's record and audit-rate warm-up.
 *
 * Bounds: at most MAX_QUEUE audits and proof checks wait (beyond, an audit is skipped and counted,
 * a received proof dropped), and one received proof per sender at a time; proofs already seen
 * (by id) or against a node already convicted are ignored; only proofs this node judged
 * itself are passed on, so a forged proof travels one hop.
 */
import type { CompletionBackend, CompletionRequest, ConsentTicket } from "../contract/index.ts";
import { metered } from "../contract/index.ts";
import { hashTokenIds, type Receipt, sha256Text } from "../ledger/index.ts";
import {
  applyAuditOutcome,
  type AuditOutcome,
  auditRate,
  type AuditStats,
  auditStatsFromRow,
  auditTrust,
  decideAudit,
  DEFAULT_AUDIT_RATE,
  MAX_AUDITED_PEERS,
  NO_AUDITS,
} from "./audit-plan.ts";
import {
  bindRequest,
  buildFraudProof,
  type CheckedProof,
  checkFraudProof,
  type FraudProof,
  judgeRerun,
  type Rerun,
  verifyFraudProof,
} from "./fraud-proof.ts";
import type { P2PNode } from "./node.ts";
import type { Envelope } from "./protocol.ts";
import { requestToWire } from "./serve-peer.ts";

/** The peer message that gossips a fraud proof. */
export const FRAUD_PROOF_KIND = "audit.fraud-proof";
/** Most audits and proof checks waiting. Why 16: audits are a background duty; when the local
 * backend cannot keep up, skipping (and counting) beats an unbounded queue. */
const MAX_QUEUE = 16;
/** Most proof ids remembered as seen. */
const MAX_SEEN = 4096;

/** Where fraud proofs are kept (src/node/fraud-proofs.ts: one file per proof in the data dir). */
export interface FraudProofStore {
  /** Every stored proof. */
  list(): FraudProof[];
  /** Stores a proof under its id (idempotent). */
  save(id: string, proof: FraudProof): void;
}

/**
 * Where each peer's audit stats are kept across restarts (src/node/peers.ts: the data dir's ledger
 * file, table `peer_audits`).
 */
export interface AuditStatsStore {
  /** The stored rows, newest first, at most `keep` (untrusted: each is checked). */
  list(keep: number): readonly unknown[];
  /** Saves a peer's stats (replacing what was stored). */
  save(peer: string, stats: Readonly<AuditStats>, updatedMs: number): void;
}

/** Options of {@link Auditor}. */
export interface AuditorOptions {
  node: Pick<P2PNode, "send" | "connectedPeers" | "ban" | "setAuditHandler">;
  /** The local backend that re-executes (never the router). */
  local: CompletionBackend;
  identity: { nodeId: string; sign(bytes: Uint8Array): Uint8Array };
  /** Base audit rate, 0..1 (default DEFAULT_AUDIT_RATE). */
  rate?: number;
  /** The SHA-256 of the model file the local backend serves under a name, if any. */
  localSha256: (model: string) => string | undefined;
  /** Admits an audit's re-execution under the consent policy; throws to refuse. Unset: allowed. */
  admit?: (request: CompletionRequest) => ConsentTicket;
  store?: FraudProofStore;
  /** Keeps the audit stats across restarts. Unset: in memory only. */
  statsStore?: AuditStatsStore;
  /** Called once per convicted node (e.g. its ledger chain is rejected). */
  onConvicted?: (accused: string, proofId: string) => void;
  clock: { nowMs(): number };
  log?: (entry: Record<string, unknown>) => void;
  /** Uniform draw in [0, 1); default from a CSPRNG (peers cannot predict audits). */
  draw?: () => number;
}

/** What the auditor did so far (the benchmark and /v1/aria/peers read it). */
export interface AuditCounters {
  /** Whole answers by peers seen. */
  answers: number;
  /** Audits run (re-executions finished). */
  audits: number;
  /** Tokens re-executed by audits and proof checks: prompt + completion. */
  reexecutedTokens: number;
  /** Audits drawn but skipped (queue full, consent refused, backend error). */
  skipped: number;
  /** Fraud proofs made here, received and judged fraud, received and judged forged. */
  proofsMade: number;
  proofsAccepted: number;
  proofsForged: number;
}

/** What a local re-run produced: its whole text and replay facts (null: not run or no facts). */
type RerunOutput = { text: string; replay: Rerun } | null;

function cryptoDraw(): number {
  const b = crypto.getRandomValues(new Uint32Array(1));
  return b[0]! / 2 ** 32;
}

/** Audits peers' answers and gossips fraud proofs. */
export class Auditor {
  readonly #o: AuditorOptions;
  readonly #stats = new Map<string, AuditStats>();
  /** Convicted node -> the proof id that convicted it. */
  readonly #convicted = new Map<string, string>();
  readonly #seen = new Set<string>();
  /** Peers with a received proof waiting to be judged (one each: a re-run costs a generation). */
  readonly #judging = new Set<string>();
  #queue: (() => Promise<void>)[] = [];
  #running: Promise<void> | null = null;
  readonly counters: AuditCounters = {
    answers: 0,
    audits: 0,
    reexecutedTokens: 0,
    skipped: 0,
    proofsMade: 0,
    proofsAccepted: 0,
    proofsForged: 0,
  };

  /** @param options node, local backend, identity, rate, consent, store. */
  constructor(options: AuditorOptions) {
    this.#o = options;
    options.node.setAuditHandler({ onMessage: (peer, env) => this.#onMessage(peer, env) });
    this.#loadStats();
    for (const proof of options.store?.list() ?? []) {
      // stored proofs were judged before they were stored; a damaged file is skipped (logged)
      const c = checkFraudProof(proof);
      if (!c.ok) {
        options.log?.({ event: "audit_stored_proof_refused", reason: c.error });
        continue;
      }
      this.#seen.add(c.value.id);
      this.#convict(c.value, false);
    }
  }

  /**
   * Reads the stored stats (oldest first into the map, so eviction order is kept). Handled here:
   * an unreadable store (a damaged file, a missing table) and rows that do not check are logged
   * and skipped; the node starts with what could be read.
   */
  #loadStats(): void {
    let rows: readonly unknown[];
    try {
      rows = this.#o.statsStore?.list(MAX_AUDITED_PEERS) ?? [];
    } catch (err: unknown) {
      this.#o.log?.({ event: "audit_stats_unreadable", error: String(err).slice(0, 200) });
      return;
    }
    let refused = 0;
    for (const row of [...rows].reverse()) {
      const got = auditStatsFromRow(row);
      if (got === undefined) refused++;
      else this.#stats.set(got.peer, got.stats);
    }
    if (refused > 0) this.#o.log?.({ event: "audit_stats_rows_refused", refused });
  }

  /** The audit stats of a peer. */
  stats(peer: string): AuditStats {
    return this.#stats.get(peer) ?? NO_AUDITS;
  }

  /**
   * Every peer's stats, conviction and current audit rate (the peers route): the probability
   * that its next auditable answer is re-executed (1 for a new identity, see audit-plan.ts).
   */
  reputation(): Record<string, AuditStats & { convicted: string | null; rate: number }> {
    const out: Record<string, AuditStats & { convicted: string | null; rate: number }> = {};
    const rate = (s: AuditStats) => auditRate(s, this.#o.rate ?? DEFAULT_AUDIT_RATE);
    for (const [peer, s] of this.#stats) out[peer] = { ...s, convicted: null, rate: rate(s) };
    for (const [peer, id] of this.#convicted) {
      const s = out[peer] ?? { ...NO_AUDITS, rate: 1 };
      out[peer] = { ...s, convicted: id, rate: 1 };
    }
    return out;
  }

  /** The routing score's trust factor for a peer (0 once convicted). */
  trust(peer: string): number {
    return this.#convicted.has(peer) ? 0 : auditTrust(this.#stats.get(peer));
  }

  /** True once a valid fraud proof names `peer`. */
  convicted(peer: string): boolean {
    return this.#convicted.has(peer);
  }

  /** Resolves once no audit or proof check waits or runs (tests, benchmark). */
  async idle(): Promise<void> {
    while (this.#running !== null) await this.#running;
  }

  /**
   * A peer answered a routed request whole: count it and maybe audit it in the background.
   *
   * @param peer the node that answered and signed the receipt.
   * @param request the request as sent (with the seed the router fixed).
   * @param receipt the peer's receipt, already checked against the request and output.
   * @param output the text the peer sent (its chunks and tail).
   */
  afterAnswer(peer: string, request: CompletionRequest, receipt: Receipt, output: string): void {
    this.counters.answers++;
    const stats = this.#bump(peer, "answered");
    const record = receipt.record.record;
    const decision = decideAudit(stats, this.#o.rate ?? DEFAULT_AUDIT_RATE, {
      continued: (request.continueFrom?.length ?? 0) > 0,
      replayable: record.replay !== undefined,
      haveModel: this.#o.localSha256(request.model) === record.modelSha256,
    }, (this.#o.draw ?? cryptoDraw)());
    if (!decision.audit) return;
    const job = () => this.#audit(peer, request, receipt, output);
    if (!this.#enqueue(job)) this.#skip(peer, "queue full");
  }

  #bump(peer: string, outcome: AuditOutcome): AuditStats {
    const s = applyAuditOutcome(this.stats(peer), outcome);
    this.#stats.delete(peer); // re-inserted last: the map's order is the eviction order
    this.#stats.set(peer, s);
    if (this.#stats.size > MAX_AUDITED_PEERS) {
      this.#stats.delete(this.#stats.keys().next().value!);
    }
    try {
      this.#o.statsStore?.save(peer, s, this.#o.clock.nowMs());
    } catch (err: unknown) {
      // handled here: the stats hold for this run even if the disk refuses; logged
      this.#o.log?.({ event: "audit_stats_not_stored", peer, error: String(err).slice(0, 200) });
    }
    return s;
  }

  #skip(peer: string, reason: string): void {
    this.counters.skipped++;
    this.#bump(peer, "skipped");
    this.#o.log?.({ event: "audit_skipped", peer, reason });
  }

  #enqueue(job: () => Promise<void>): boolean {
    if (this.#queue.length >= MAX_QUEUE) return false;
    this.#queue.push(job);
    this.#running ??= this.#drain();
    return true;
  }

  async #drain(): Promise<void> {
    try {
      for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
        try {
          await job();
        } catch (err: unknown) {
          // terminated: a failed job is logged; the next one runs
          this.#o.log?.({ event: "audit_error", error: String(err) });
        }
      }
    } finally {
      this.#running = null;
    }
  }

  /**
   * Runs a request on the local backend under the consent policy.
   *
   * @returns the whole output text and the replay facts of the run, or null when the consent
   *   policy refuses it or the backend reports no replay facts (it cannot be compared).
   * @throws the backend's error.
   */
  async #rerun(request: CompletionRequest): Promise<RerunOutput> {
    let ticket: ConsentTicket | undefined;
    try {
      ticket = this.#o.admit?.(request);
    } catch (err: unknown) {
      // handled here: the owner's policy refuses audit work now; the caller skips it
      this.#o.log?.({ event: "audit_refused", reason: String(err).slice(0, 200) });
      return null;
    }
    const started = this.#o.local.complete(request, new AbortController().signal);
    const gen = ticket === undefined ? started : metered(started, ticket);
    let text = "";
    let step = await gen.next();
    for (; !step.done; step = await gen.next()) text += step.value.text;
    const { usage, replay } = step.value;
    this.counters.reexecutedTokens += usage.promptTokens + usage.completionTokens;
    return replay === undefined ? null : { text: text + step.value.tail, replay };
  }

  async #audit(
    peer: string,
    request: CompletionRequest,
    receipt: Receipt,
    output: string,
  ): Promise<void> {
    if (this.#convicted.has(peer)) return;
    const body = requestToWire(request, []);
    const bound = bindRequest(body, receipt);
    if (!bound.ok) return this.#skip(peer, bound.error);
    let got: RerunOutput;
    try {
      got = await this.#rerun({ ...bound.value.request, id: `audit-${request.id}`.slice(0, 200) });
    } catch (err: unknown) {
      // handled here: a busy or failing backend is no evidence either way; the audit is skipped
      return this.#skip(peer, `re-execution failed: ${String(err).slice(0, 200)}`);
    }
    if (got === null) return this.#skip(peer, "consent refused or no replay facts here");
    this.counters.audits++;
    const verdict = judgeRerun(bound.value, got.replay);
    if (verdict === "unjudged") return this.#skip(peer, "another head, KV type or contract here");
    if (verdict === "forged") {
      // the ids reproduce. Without stop strings the re-run's text is the answer's text too: a
      // peer that sent other text than its ids decode to is dropped here (not provable to others:
      // stop strings are not in the record)
      if (request.stop.length === 0 && sha256Text(got.text) !== sha256Text(output)) {
        this.#bump(peer, "failed");
        this.#o.node.ban(peer, "audit: its text is not what its token ids decode to");
        return;
      }
      this.#bump(peer, "passed");
      return;
    }
    this.#bump(peer, "failed");
    const proof = buildFraudProof({
      reporter: this.#o.identity.nodeId,
      request: body,
      receipt,
      observed: hashTokenIds(got.replay.outputIds),
      timestampMs: this.#o.clock.nowMs(),
    }, (b) => this.#o.identity.sign(b));
    const checked = checkFraudProof(proof);
    if (!checked.ok) {
      // handled here: cannot happen for a receipt bound above; logged, nothing gossiped
      this.#o.log?.({ event: "audit_proof_invalid", peer, reason: checked.error });
      return;
    }
    this.counters.proofsMade++;
    this.#seen.add(checked.value.id);
    this.#accept(checked.value, proof, null);
  }

  /** Stores, convicts and gossips a proof judged fraud (by this node). */
  #accept(checked: CheckedProof, proof: FraudProof, from: string | null): void {
    try {
      this.#o.store?.save(checked.id, proof);
    } catch (err: unknown) {
      // handled here: the conviction holds for this run even if the disk refuses; logged
      this.#o.log?.({ event: "audit_proof_not_stored", id: checked.id, error: String(err) });
    }
    this.#convict(checked, true);
    for (const p of this.#o.node.connectedPeers()) {
      if (p === from || p === checked.accused) continue;
      this.#o.node.send(p, { kind: FRAUD_PROOF_KIND, body: proof });
    }
  }

  #convict(checked: CheckedProof, fresh: boolean): void {
    if (this.#convicted.has(checked.accused)) return;
    this.#convicted.set(checked.accused, checked.id);
    if (this.#convicted.size > MAX_SEEN) {
      this.#convicted.delete(this.#convicted.keys().next().value!);
    }
    this.#o.log?.({
      event: "audit_convicted",
      accused: checked.accused,
      proof: checked.id,
      record: checked.recordHash,
      fresh,
    });
    this.#o.node.ban(checked.accused, `fraud proof ${checked.id.slice(0, 16)}`);
    this.#o.onConvicted?.(checked.accused, checked.id);
  }

  /** A peer's `audit.*` message. Never throws (STYLE.md B7.4). */
  #onMessage(peer: string, env: Envelope): void {
    if (env.kind !== FRAUD_PROOF_KIND) {
      this.#o.log?.({ event: "audit_unknown_kind", peer, kind: env.kind.slice(0, 64) });
      return;
    }
    // handled here: a malformed proof (hostile or damaged) is logged and dropped, nothing re-run
    const checked = checkFraudProof(env.body);
    if (!checked.ok) {
      this.#o.log?.({ event: "audit_proof_refused", peer, reason: checked.error });
      return;
    }
    const { id, accused } = checked.value;
    if (this.#seen.has(id) || this.#convicted.has(accused)) return;
    this.#seen.add(id);
    if (this.#seen.size > MAX_SEEN) this.#seen.delete(this.#seen.values().next().value!);
    const proof = env.body as FraudProof;
    // handled here: one proof per sender waits at a time (each costs a re-run), and the queue is
    // bounded; a dropped proof is forgotten, so a later copy is checked
    const busy = this.#judging.has(peer);
    if (busy || !this.#enqueue(() => this.#judge(peer, proof))) {
      this.#seen.delete(id);
      const reason = busy ? "one proof of this sender is being judged" : "queue full";
      this.#o.log?.({ event: "audit_proof_dropped", peer, id, reason });
      return;
    }
    this.#judging.add(peer);
  }

  async #judge(from: string, proof: FraudProof): Promise<void> {
    try {
      await this.#judgeNow(from, proof);
    } finally {
      this.#judging.delete(from);
    }
  }

  async #judgeNow(from: string, proof: FraudProof): Promise<void> {
    const v = await verifyFraudProof(proof, async (request, sha) => {
      if (this.#o.localSha256(request.model) !== sha) return null;
      try {
        return (await this.#rerun(request))?.replay ?? null;
      } catch (err: unknown) {
        // handled here: a failing backend judges nothing; the proof stays unjudged
        this.#o.log?.({ event: "audit_rerun_failed", error: String(err).slice(0, 200) });
        return null;
      }
    });
    if (!v.ok) return; // checked on arrival; cannot change
    const { checked, verdict } = v.value;
    if (verdict === "fraud") {
      this.counters.proofsAccepted++;
      this.#accept(checked, proof, from);
      return;
    }
    if (verdict === "forged") {
      this.counters.proofsForged++;
      this.#o.log?.({
        event: "audit_proof_forged",
        from,
        reporter: checked.reporter,
        accused: checked.accused,
        id: checked.id,
      });
      // the reporter signed a false accusation; the sender passed it on without judging it
      // (honest nodes pass on only proofs they re-ran)
      this.#o.node.ban(checked.reporter, `forged fraud proof ${checked.id.slice(0, 16)}`);
      if (from !== checked.reporter) {
        this.#o.node.ban(from, `passed on forged fraud proof ${checked.id.slice(0, 16)}`);
      }
      return;
    }
    // unjudged: this node lacks the model file; it does not act on or pass on what it cannot check
    this.#o.log?.({ event: "audit_proof_unjudged", from, id: checked.id });
  }
}
