/**
 * @module The audit planner (issue 20, audits and reputation): which of a peer's answers this
 * routing node re-executes, and what the outcomes say about the peer. Pure: the random draw, the
 * clock and the re-execution are the shell's (src/p2p/auditor.ts).
 *
 * Rate. A peer's answer is audited with probability
 *
 *     rate = max(base, NEW_PEER_AUDITS / (NEW_PEER_AUDITS + passed))
 *
 * where `passed` is how many of its answers this node re-executed and found identical. A new
 * identity's first answer is always audited, the next ones at 2/3, 1/2, 2/5 … until the rate
 * reaches `base` (default 5%, `aria serve --audit-rate`): expected extra audits for a peer's
 * first n answers are about 2 ln n, and a fresh key pair buys a cheater nothing but more audits.
 * A peer that ever failed an audit is not routed to again (fraud proof), so its rate is moot.
 *
 * What can be audited: an answer produced whole by one peer (no fail-over continuation) whose
 * record carries replay facts (record version 2: sampling settings, the seed used, grammar and
 * logit-bias hashes, prompt and output id hashes), on a model file this node holds.
 *
 * Reputation. The outcomes feed the routing score (score.ts) as a trust factor
 *
 *     trust = 1/2 + 1/2 * passed / (passed + NEW_PEER_AUDITS)     (0 after a failed audit)
 *
 * so an audited peer is preferred over an equally fast unaudited one, by at most a factor 2.
 */

/** Default fraction of peers' answers re-executed once a peer is known. */
export const DEFAULT_AUDIT_RATE = 0.05;
/** Warm-up constant of a new identity's rate (see the module comment). Why 2: the first answer
 * is always audited, and the warm-up costs ~2 ln n audits over a peer's first n answers. */
export const NEW_PEER_AUDITS = 2;

/** What this node knows of one peer's audits. */
export interface AuditStats {
  /** Whole answers the peer gave this node (auditable or not). */
  answers: number;
  /** Answers re-executed and found identical. */
  passed: number;
  /** Answers re-executed and found different (each made a fraud proof). */
  failed: number;
  /** Audits drawn but not run: the local backend busy, the consent policy refusing, no model. */
  skipped: number;
}

/** A peer never seen. */
export const NO_AUDITS: Readonly<AuditStats> = { answers: 0, passed: 0, failed: 0, skipped: 0 };

/** The facts about one answer the decision needs. */
export interface AnswerFacts {
  /** Tokens came from more than one node (fail-over) or continue earlier ones. */
  continued: boolean;
  /** The peer's record carries replay facts (version 2). */
  replayable: boolean;
  /** This node holds the model file the peer advertised (same SHA-256). */
  haveModel: boolean;
}

/** The decision for one answer. */
export type AuditDecision =
  | { audit: true; rate: number }
  | { audit: false; rate: number; reason: "not drawn" | "not auditable" | "no model" };

/**
 * The audit rate for a peer.
 *
 * @param stats the peer's audits so far.
 * @param base the configured rate, 0..1 (values outside are clamped).
 * @returns the probability that its next auditable answer is re-executed.
 */
export function auditRate(stats: Readonly<AuditStats>, base: number): number {
  const b = Math.min(1, Math.max(0, Number.isFinite(base) ? base : DEFAULT_AUDIT_RATE));
  if (stats.failed > 0) return 1;
  return Math.max(b, NEW_PEER_AUDITS / (NEW_PEER_AUDITS + stats.passed));
}

/**
 * Decides whether to re-execute one answer.
 *
 * @param stats the peer's audits so far.
 * @param base the configured rate.
 * @param answer what the answer was.
 * @param draw a uniform random number in [0, 1) (the shell draws it from a CSPRNG, so a peer
 *   cannot predict which answers are audited).
 * @returns audit or not, with the rate used.
 */
export function decideAudit(
  stats: Readonly<AuditStats>,
  base: number,
  answer: Readonly<AnswerFacts>,
  draw: number,
): AuditDecision {
  const rate = auditRate(stats, base);
  if (answer.continued || !answer.replayable) {
    return { audit: false, rate, reason: "not auditable" };
  }
  if (!answer.haveModel) return { audit: false, rate, reason: "no model" };
  return draw < rate ? { audit: true, rate } : { audit: false, rate, reason: "not drawn" };
}

/** What happened to one answer. */
export type AuditOutcome = "answered" | "passed" | "failed" | "skipped";

/**
 * Folds one outcome into a peer's stats (a new object; the input is not changed).
 *
 * @param stats the stats so far.
 * @param outcome the event.
 * @returns the new stats.
 */
export function applyAuditOutcome(
  stats: Readonly<AuditStats>,
  outcome: AuditOutcome,
): AuditStats {
  switch (outcome) {
    case "answered":
      return { ...stats, answers: stats.answers + 1 };
    case "passed":
      return { ...stats, passed: stats.passed + 1 };
    case "failed":
      return { ...stats, failed: stats.failed + 1 };
    case "skipped":
      return { ...stats, skipped: stats.skipped + 1 };
  }
}

/**
 * The routing score's trust factor for a peer (see the module comment).
 *
 * @param stats the peer's audits (undefined = never seen).
 * @returns 0 after a failed audit, else 0.5 .. 1, growing with passed audits.
 */
export function auditTrust(stats: Readonly<AuditStats> | undefined): number {
  if (stats === undefined) return 0.5;
  if (stats.failed > 0) return 0;
  return 0.5 + (0.5 * stats.passed) / (stats.passed + NEW_PEER_AUDITS);
}

/** Most peers whose audit stats are kept (in memory and on disk). Why 4096: far more peers than a
 * node routes to, and a bound on what a stream of fresh identities can make it keep. */
export const MAX_AUDITED_PEERS = 4096;

/** Counts above this are not believed (a damaged row). Why 2^40: a peer answering a request per
 * millisecond for 30 years stays below it. */
const MAX_COUNT = 2 ** 40;

/**
 * Reads one stored row of audit stats (the data dir's ledger file, `peer_audits`): the peer's id
 * and its four counts. Handled here: a row that is not an object, whose peer is not a 64-hex node
 * id, or whose counts are not integers in 0 .. 2^40, or that counts more passed, failed or skipped
 * audits than answers, is refused (undefined), so a damaged row cannot stop a start or invent
 * trust.
 *
 * @param row the row as stored (columns by name; untrusted).
 * @returns the peer and its stats, or undefined.
 */
export function auditStatsFromRow(row: unknown): { peer: string; stats: AuditStats } | undefined {
  if (row === null || typeof row !== "object") return undefined;
  const r = row as Record<string, unknown>;
  const { peer } = r;
  if (typeof peer !== "string" || !/^[0-9a-f]{64}$/.test(peer)) return undefined;
  const counts: number[] = [];
  for (const k of ["answers", "passed", "failed", "skipped"] as const) {
    const v = r[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > MAX_COUNT) return undefined;
    counts.push(v);
  }
  const [answers, passed, failed, skipped] = counts as [number, number, number, number];
  if (passed > answers || failed > answers || skipped > answers) return undefined;
  return { peer, stats: { answers, passed, failed, skipped } };
}
