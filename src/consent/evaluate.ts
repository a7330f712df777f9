/**
 * @module `evaluateConsent(policy, request, usage, nowMs)`: may this node take this request now?
 * And `policySummary(policy)`, the compact form advertised to peers, and `summaryRefusal`, what a
 * router reads from a peer's summary before it sends the peer a request. Pure: the clock and the
 * usage counters are passed in; nothing is counted here (gate.ts counts).
 *
 * Evaluation order (the first failing rule answers; BUSY is last because it is transient: a
 * request the policy refuses anyway gets CONSENT_DENIED, never a "retry later"):
 *   1. task kind is in taskKinds
 *   2. a request from a peer needs servePeers
 *   3. a pipeline stage needs pipelineStages
 *   4. model is allowed ("*" or listed)
 *   5. model memory (when the caller knows it) <= maxMemoryBytes
 *   6. now is inside the schedule (UTC)
 *   7. tokens used today (UTC day) < dailyTokenQuota
 *   8. requests in flight < maxConcurrent, else BUSY
 */
import {
  type ConsentPolicy,
  parseHhmm,
  policyHash,
  type ScheduleWindow,
  TASK_KINDS,
  type TaskKind,
  WEEKDAYS,
} from "./policy.ts";

/** What is asked of the node. */
export interface ConsentRequest {
  model: string;
  kind: TaskKind;
  /** True when the work arrives from a peer (routed or pipelined). */
  fromPeer?: boolean;
  /** Resident size of the model in bytes, when the caller knows it. */
  memoryBytes?: number;
  /** The request's id, carried for energy and ledger records (not part of the decision). */
  requestId?: string;
}

/** The counters the decision depends on. */
export interface ConsentUsage {
  /** Requests admitted and not yet finished. */
  inFlight: number;
  /** Tokens counted on UTC day `day`. */
  tokens: number;
  /** The UTC day (`utcDay(ms)`) `tokens` belongs to; another day means 0 used today. */
  day: number;
}

/** The answer. */
export type ConsentDecision =
  | { allow: true }
  | { allow: false; code: "CONSENT_DENIED" | "BUSY"; reason: string };

const MS_PER_DAY = 86_400_000;

/**
 * The UTC day number of a time (days since 1970-01-01).
 *
 * @param ms Unix milliseconds.
 * @returns the day index (negative before 1970).
 */
export function utcDay(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

/**
 * UTC weekday of a day number (0 = Sunday; 1970-01-01 was a Thursday).
 *
 * @param day a `utcDay` value.
 * @returns 0..6.
 */
export function weekdayOf(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

/**
 * Whether `nowMs` falls inside a window. A window with end <= start wraps past midnight and
 * belongs to its start day: "fri 22:00-06:00" covers Friday 22:00 to Saturday 06:00.
 *
 * @param w the window.
 * @param nowMs Unix milliseconds.
 * @returns true inside [start, end).
 */
export function insideWindow(w: ScheduleWindow, nowMs: number): boolean {
  const day = utcDay(nowMs);
  const minute = Math.floor((nowMs - day * MS_PER_DAY) / 60_000);
  const start = parseHhmm(w.start) ?? 0;
  const end = parseHhmm(w.end) ?? 0;
  const on = (d: number) => w.days.includes(WEEKDAYS[weekdayOf(d)]!);
  if (start < end) return on(day) && minute >= start && minute < end;
  return (on(day) && minute >= start) || (on(day - 1) && minute < end);
}

function deny(reason: string): ConsentDecision {
  return { allow: false, code: "CONSENT_DENIED", reason };
}

function describeSchedule(policy: ConsentPolicy): string {
  if (policy.schedule === "always") return "always";
  return policy.schedule.map((w) => `${w.days.join(",")} ${w.start}-${w.end}`).join("; ");
}

/**
 * Why a model of `bytes` may not be loaded under the policy, if it may not.
 *
 * @param policy the policy.
 * @param model the model's name (for the message).
 * @param bytes the model's resident size (its file size for mmapped GGUF weights).
 * @returns the reason, or undefined when it fits.
 */
export function modelMemoryDenial(
  policy: ConsentPolicy,
  model: string,
  bytes: number,
): string | undefined {
  if (bytes <= policy.maxMemoryBytes) return undefined;
  return `Model "${model}" needs ${bytes} bytes, above the ${policy.maxMemoryBytes} allowed ` +
    "by the consent policy (max-memory)";
}

/**
 * Engine threads under the policy: the requested number, capped at maxThreads.
 *
 * @param policy the policy.
 * @param requested threads asked for (--threads / ARIA_THREADS), or undefined.
 * @returns maxThreads when nothing is requested, else min(requested, maxThreads).
 */
export function engineThreads(policy: ConsentPolicy, requested: number | undefined): number {
  return Math.min(requested ?? policy.maxThreads, policy.maxThreads);
}

function ruleDenial(policy: ConsentPolicy, r: ConsentRequest, nowMs: number): string | undefined {
  if (!policy.taskKinds.includes(r.kind)) {
    return `Task kind "${r.kind}" is not allowed (allowed: ${policy.taskKinds.join(", ")})`;
  }
  if (r.fromPeer === true && !policy.servePeers) return "This node does not serve peers";
  if (r.kind === "pipeline-stage" && !policy.pipelineStages) {
    return "This node does not run pipeline stages";
  }
  if (policy.models !== "*" && !policy.models.includes(r.model)) {
    return `Model "${r.model}" is not allowed (allowed: ${policy.models.join(", ")})`;
  }
  if (r.memoryBytes !== undefined) {
    const memory = modelMemoryDenial(policy, r.model, r.memoryBytes);
    if (memory !== undefined) return memory;
  }
  if (policy.schedule !== "always" && !policy.schedule.some((w) => insideWindow(w, nowMs))) {
    return `Outside the allowed hours (UTC: ${describeSchedule(policy)})`;
  }
  return undefined;
}

/**
 * Decides a request against a policy (the order is in the module header).
 *
 * @param policy the node owner's policy.
 * @param request what is asked.
 * @param usage requests in flight and tokens used on a UTC day.
 * @param nowMs the current time (Unix ms), passed in so the decision is reproducible.
 * @returns allow, or the code and the reason.
 * @example
 * ```ts
 * evaluateConsent(policy, { model: "aria-nano", kind: "chat" }, { inFlight: 0, tokens: 0, day: 0 }, 0);
 * ```
 */
export function evaluateConsent(
  policy: ConsentPolicy,
  request: ConsentRequest,
  usage: ConsentUsage,
  nowMs: number,
): ConsentDecision {
  const reason = ruleDenial(policy, request, nowMs);
  if (reason !== undefined) return deny(reason);
  const quota = policy.dailyTokenQuota;
  const usedToday = usage.day === utcDay(nowMs) ? usage.tokens : 0;
  if (quota !== null && usedToday >= quota) {
    return deny(`The daily token quota is used up (${usedToday} of ${quota}; resets 00:00 UTC)`);
  }
  if (usage.inFlight >= policy.maxConcurrent) {
    return {
      allow: false,
      code: "BUSY",
      reason: `The node is busy: ${usage.inFlight} of ${policy.maxConcurrent} concurrent ` +
        "requests allowed by its consent policy are running; retry shortly",
    };
  }
  return { allow: true };
}

/** What a node advertises to peers about its policy (routing uses it; the hash names it). */
export interface PolicySummary {
  hash: string;
  models: "*" | string[];
  kinds: TaskKind[];
  servePeers: boolean;
  pipelineStages: boolean;
  maxConcurrent: number;
  /** "always" or compact windows such as "mon,tue 22:00-06:00". */
  schedule: "always" | string[];
  dailyTokenQuota: number | null;
}

/**
 * The compact advert of a policy.
 *
 * @param policy the policy.
 * @returns the summary (lists sorted, kinds in TASK_KINDS order).
 */
export function policySummary(policy: ConsentPolicy): PolicySummary {
  return {
    hash: policyHash(policy),
    models: policy.models === "*" ? "*" : [...new Set(policy.models)].sort(),
    kinds: TASK_KINDS.filter((k) => policy.taskKinds.includes(k)),
    servePeers: policy.servePeers,
    pipelineStages: policy.pipelineStages,
    maxConcurrent: policy.maxConcurrent,
    schedule: policy.schedule === "always"
      ? "always"
      : policy.schedule.map((w) => `${w.days.join(",")} ${w.start}-${w.end}`),
    dailyTokenQuota: policy.dailyTokenQuota,
  };
}

const SUMMARY_WINDOW = /^([a-z]{3}(?:,[a-z]{3})*) (\d{2}:\d{2})-(\d{2}:\d{2})$/;

/**
 * Why a peer's advertised consent summary refuses a routed request for `model` at `nowMs`, if it
 * does: peer requests not served, the `peer-request` kind or the model not allowed, or outside
 * every schedule window. It reads what a peer sent, so anything missing or malformed refuses
 * nothing (handled here: the peer's own answer decides); quota and concurrency are not judged
 * from an advert (they change faster than adverts travel).
 *
 * @param summary the `consent` object of a peer's advert (a `PolicySummary` when well formed).
 * @param model the model of the request.
 * @param nowMs Unix milliseconds.
 * @returns the reason, or undefined when the summary does not refuse.
 */
export function summaryRefusal(
  summary: Readonly<Record<string, unknown>>,
  model: string,
  nowMs: number,
): string | undefined {
  if (summary.servePeers === false) return "the peer does not serve other nodes";
  const { kinds, models, schedule } = summary;
  if (Array.isArray(kinds) && !kinds.includes("peer-request")) {
    return "the peer does not take peer requests";
  }
  if (Array.isArray(models) && !models.includes(model)) {
    return `the peer does not allow model "${model}"`;
  }
  if (Array.isArray(schedule) && schedule.length > 0) {
    const windows: ScheduleWindow[] = [];
    for (const text of schedule) {
      const m = typeof text === "string" ? SUMMARY_WINDOW.exec(text) : null;
      if (!m) return undefined;
      const days = m[1]!.split(",");
      if (!days.every((d) => (WEEKDAYS as readonly string[]).includes(d))) return undefined;
      if (parseHhmm(m[2]!) === undefined || parseHhmm(m[3]!) === undefined) return undefined;
      windows.push({ days: days as ScheduleWindow["days"], start: m[2]!, end: m[3]! });
    }
    if (!windows.some((w) => insideWindow(w, nowMs))) return "the peer is outside its schedule";
  }
  return undefined;
}
