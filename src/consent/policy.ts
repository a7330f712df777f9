/**
 * @module The consent policy: what the node owner allows (models, task kinds, UTC schedule,
 * resources, daily token quota, peers, pipeline stages), its zod schema, its canonical encoding
 * and SHA-256 hash, and the signed envelope it is stored in. Pure: the identity comes in as a
 * `NodeIdentity`, the time as a number; reading and writing the file is `store.ts`'s job, and
 * deciding a request is `evaluate.ts`'s.
 *
 * Policy JSON, version 1 (camelCase keys; unknown keys are refused):
 *   version          1
 *   models           "*" (every model this node serves) or a non-empty list of model names
 *   taskKinds        non-empty subset of TASK_KINDS
 *   schedule         "always" or a non-empty list of windows { days, start, end } in UTC;
 *                    start/end "HH:MM" (end may be "24:00"); end < start wraps past midnight and
 *                    the window belongs to the day it starts on; start == end is refused (empty)
 *   maxThreads       integer >= 1 (compute threads the engine may use)
 *   maxMemoryBytes   integer >= 1 (largest model a node loads, in bytes)
 *   maxConcurrent    integer >= 1 (requests admitted at once; more get BUSY)
 *   dailyTokenQuota  null (none) or integer >= 0 (prompt + generated tokens per UTC day)
 *   servePeers       boolean (accept work that arrives from peers)
 *   pipelineStages   boolean (run a layer range of a model split across nodes)
 *
 * Canonical encoding (the bytes that are hashed), a JSON array in this fixed order, integers
 * only, lists sorted so that two equal policies hash the same whatever order the owner typed:
 *   [1, anyModel 0|1, models (sorted), kinds (TASK_KINDS order), always 0|1,
 *    windows [[daysMask, startMinute, endMinute]…] (sorted), maxThreads, maxMemoryBytes,
 *    maxConcurrent, hasQuota 0|1, quota (0 when none), servePeers 0|1, pipelineStages 0|1]
 * prefixed with the domain separator POLICY_DOMAIN. daysMask bit d = weekday d (0 = Sunday).
 *
 * Envelope (consent.json): { format, version, policy, policyHash, signer, signedAtMs,
 * signature }; the signature (ed25519 by the node) covers ENVELOPE_DOMAIN +
 * JSON [policyHash, signer, signedAtMs].
 *
 * Version history: 1 — first version.
 */
import { z } from "zod";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { AriaError } from "../shared/errors.ts";
import { type NodeIdentity, verifySignature } from "../identity/identity.ts";

/**
 * Kinds of work a request can be. Append only: the canonical encoding lists a policy's kinds in
 * this order, so appending keeps every existing policy's hash ("embed": POST /v1/embeddings and
 * Ollama's /api/embed, docs/consent-energy.md).
 */
export const TASK_KINDS = [
  "chat",
  "completion",
  "pipeline-stage",
  "peer-request",
  "embed",
] as const;
/** One kind of work. */
export type TaskKind = (typeof TASK_KINDS)[number];

/** Weekday names, index = UTC weekday (0 = Sunday, as `Date.getUTCDay`). */
export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
/** A weekday name. */
export type Weekday = (typeof WEEKDAYS)[number];

/** Domain separators: a policy hash can never be confused with another ARIA hash. */
export const POLICY_DOMAIN = "aria:consent-policy:v1\n";
/** Domain separator of the envelope signature. */
export const ENVELOPE_DOMAIN = "aria:consent-envelope:v1\n";

/** A policy (or envelope) that fails validation: the message gives the field and the reason. */
export class ConsentPolicyError extends AriaError {
  /** @param message what is wrong and what to do. @param options cause. */
  constructor(message: string, options?: ErrorOptions) {
    super("CONSENT_POLICY_INVALID", message, options);
  }
}

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/**
 * Minutes since midnight of "HH:MM" ("24:00" = 1440, allowed as an end only).
 *
 * @param s the time.
 * @returns minutes, or undefined when `s` is not a valid time.
 */
export function parseHhmm(s: string): number | undefined {
  if (s === "24:00") return 1440;
  const m = HHMM.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

const time = z.string().refine((s) => parseHhmm(s) !== undefined, {
  message: 'Expected a UTC time "HH:MM" (00:00 to 23:59, or 24:00 as an end)',
});

const windowSchema = z.object({
  days: z.array(z.enum(WEEKDAYS)).min(1, "A window needs at least one weekday"),
  start: time.refine((s) => s !== "24:00", { message: "A window cannot start at 24:00" }),
  end: time,
}).strict().superRefine((w, ctx) => {
  // Handled here: an empty window would silently allow nothing; the owner gets the reason.
  if (parseHhmm(w.start) === parseHhmm(w.end)) {
    ctx.addIssue({
      code: "custom",
      message: `Empty window ${w.start}-${w.end}: start equals end; ` +
        `use 00:00-24:00 for a whole day or "always" for every hour`,
    });
  }
});

/** A UTC schedule window. */
export type ScheduleWindow = z.infer<typeof windowSchema>;

const count = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** The zod schema of a version-1 policy. */
export const consentPolicySchema = z.object({
  version: z.literal(1),
  models: z.union([
    z.literal("*"),
    z.array(z.string().min(1)).min(1, 'List at least one model, or use "*" for all'),
  ]),
  taskKinds: z.array(z.enum(TASK_KINDS)).min(1, "List at least one task kind"),
  schedule: z.union([
    z.literal("always"),
    z.array(windowSchema).min(1, 'Use "always" or add a window'),
  ]),
  maxThreads: count,
  maxMemoryBytes: count,
  maxConcurrent: count,
  dailyTokenQuota: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
  servePeers: z.boolean(),
  pipelineStages: z.boolean(),
  /** Limits of the relay role (`aria serve --relay`, src/p2p/relay): absent = the defaults of
   * relay.ts. Optional, and encoded only when present, so older policies keep their hash. */
  relay: z.object({
    /** Nodes holding a reservation at once. */
    maxReservations: count,
    /** Open circuits per reserved node. */
    maxCircuits: count,
    /** Bytes per circuit, both directions. */
    maxCircuitBytes: count,
    /** Lifetime of a circuit (seconds). */
    maxCircuitSeconds: count,
    /** Bytes per second per circuit. */
    maxBytesPerSecond: count,
  }).strict().optional(),
}).strict();

/** A validated consent policy. */
export type ConsentPolicy = z.infer<typeof consentPolicySchema>;

/**
 * Validates an unknown value as a policy.
 *
 * @param value parsed JSON.
 * @returns the policy.
 * @throws {ConsentPolicyError} naming the first bad field and why.
 */
export function parsePolicy(value: unknown): ConsentPolicy {
  const r = consentPolicySchema.safeParse(value);
  if (r.success) return r.data;
  throw new ConsentPolicyError(`Invalid consent policy: ${explainIssues(r.error.issues)}`);
}

type Issue = z.core.$ZodIssue;

/**
 * The first issue in words, as `"path": message`. A union ("*" or a list, "always" or windows)
 * reports the branch that got furthest, so that a typo inside a window is named, not "Invalid
 * input"; a tie goes to a branch with a specific complaint (too small, custom) over a type one.
 *
 * @param issues zod issues.
 * @param prefix path of the enclosing union.
 * @returns the explanation.
 */
export function explainIssues(issues: readonly Issue[], prefix: PropertyKey[] = []): string {
  const issue = issues[0];
  if (issue === undefined) return "the policy: invalid";
  const path = [...prefix, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const score = (b: Issue[]) =>
      (b[0]?.path.length ?? 0) * 2 +
      (b[0]?.code === "invalid_type" || b[0]?.code === "invalid_value" ? 0 : 1);
    const best = issue.errors.reduce((a, b) => (score(b) > score(a) ? b : a));
    return explainIssues(best, path);
  }
  const where = path.length === 0 ? "the policy" : `"${path.map(String).join(".")}"`;
  return `${where}: ${issue.message}`;
}

function daysMask(days: readonly Weekday[]): number {
  return days.reduce((m, d) => m | (1 << WEEKDAYS.indexOf(d)), 0);
}

function byArray(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/**
 * The canonical array of a policy (the module header lists the order).
 *
 * @param p the policy.
 * @returns a JSON-ready array of integers, strings and arrays of them.
 */
export function canonicalPolicy(p: ConsentPolicy): unknown[] {
  const models = p.models === "*" ? [] : [...new Set(p.models)].sort();
  const kinds = TASK_KINDS.filter((k) => p.taskKinds.includes(k));
  const windows = p.schedule === "always" ? [] : p.schedule
    .map((w) => [daysMask(w.days), parseHhmm(w.start) ?? 0, parseHhmm(w.end) ?? 0])
    .sort(byArray);
  return [
    1,
    p.models === "*" ? 1 : 0,
    models,
    kinds,
    p.schedule === "always" ? 1 : 0,
    windows,
    p.maxThreads,
    p.maxMemoryBytes,
    p.maxConcurrent,
    p.dailyTokenQuota === null ? 0 : 1,
    p.dailyTokenQuota ?? 0,
    p.servePeers ? 1 : 0,
    p.pipelineStages ? 1 : 0,
    // appended only when set: a policy without relay limits hashes as before they existed
    ...(p.relay === undefined ? [] : [[
      p.relay.maxReservations,
      p.relay.maxCircuits,
      p.relay.maxCircuitBytes,
      p.relay.maxCircuitSeconds,
      p.relay.maxBytesPerSecond,
    ]]),
  ];
}

/**
 * The bytes that are hashed: domain separator + canonical JSON.
 *
 * @param p the policy.
 * @returns UTF-8 bytes.
 */
export function policyBytes(p: ConsentPolicy): Uint8Array {
  return new TextEncoder().encode(POLICY_DOMAIN + JSON.stringify(canonicalPolicy(p)));
}

/**
 * SHA-256 of the canonical encoding, the "consent contract hash" a ledger record names.
 *
 * @param p the policy.
 * @returns 64 lowercase hex characters.
 */
export function policyHash(p: ConsentPolicy): string {
  return bytesToHex(sha256(policyBytes(p)));
}

/** The signed file form of a policy. */
export interface SignedPolicy {
  format: "aria-consent";
  version: 1;
  policy: ConsentPolicy;
  policyHash: string;
  signer: string;
  signedAtMs: number;
  signature: string;
}

function envelopeBytes(hash: string, signer: string, signedAtMs: number): Uint8Array {
  return new TextEncoder().encode(ENVELOPE_DOMAIN + JSON.stringify([hash, signer, signedAtMs]));
}

/**
 * Signs a policy with the node's identity.
 *
 * @param p the policy (validated).
 * @param identity the node's key pair.
 * @param signedAtMs when (Unix ms, integer).
 * @returns the envelope.
 */
export function signPolicy(
  p: ConsentPolicy,
  identity: NodeIdentity,
  signedAtMs: number,
): SignedPolicy {
  const hash = policyHash(p);
  const sig = identity.sign(envelopeBytes(hash, identity.nodeId, signedAtMs));
  return {
    format: "aria-consent",
    version: 1,
    policy: p,
    policyHash: hash,
    signer: identity.nodeId,
    signedAtMs,
    signature: bytesToHex(sig),
  };
}

const envelopeSchema = z.object({
  format: z.literal("aria-consent"),
  version: z.literal(1),
  policy: z.unknown(),
  policyHash: z.string().regex(/^[0-9a-f]{64}$/),
  signer: z.string(),
  signedAtMs: z.number().int().min(0),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
}).strict();

/**
 * Checks an envelope: shape, policy, hash and signature, and that `expectedSigner` signed it.
 *
 * @param value parsed JSON of the file.
 * @param expectedSigner the node id that must have signed it.
 * @returns the verified envelope.
 * @throws {ConsentPolicyError} saying which check failed.
 */
export function verifySignedPolicy(value: unknown, expectedSigner: string): SignedPolicy {
  const env = envelopeSchema.safeParse(value);
  if (!env.success) {
    throw new ConsentPolicyError(`Not a signed consent policy: ${explainIssues(env.error.issues)}`);
  }
  const policy = parsePolicy(env.data.policy);
  const e = env.data;
  if (policyHash(policy) !== e.policyHash) {
    throw new ConsentPolicyError(
      "The policy does not match its hash: it was changed after signing",
    );
  }
  if (e.signer !== expectedSigner) {
    throw new ConsentPolicyError(`The policy is signed by ${e.signer}, not by this node`);
  }
  if (
    !verifySignature(
      e.signer,
      envelopeBytes(e.policyHash, e.signer, e.signedAtMs),
      hexToBytes(e.signature),
    )
  ) {
    throw new ConsentPolicyError("The policy signature is invalid");
  }
  return { ...e, policy };
}

/** What the default policy is sized from (the shell reads them from the OS). */
export interface HostFacts {
  /** Logical CPUs the process may use (os.availableParallelism()). */
  cores: number;
  /** Physical memory in bytes (os.totalmem()). */
  memoryBytes: number;
}

/**
 * Maximum concurrent requests of the default policy. Why 64: the default `aria serve` queue
 * holds 64 requests, so the default policy never refuses before the server would.
 */
export const DEFAULT_MAX_CONCURRENT = 64;

/**
 * The first-run policy: permissive but bounded by the machine — every model this node serves,
 * every task kind, at all hours, no quota, all cores, all memory, peers and pipeline stages on.
 *
 * @param host cores and memory of the machine.
 * @returns the policy.
 */
export function defaultPolicy(host: HostFacts): ConsentPolicy {
  return {
    version: 1,
    models: "*",
    taskKinds: [...TASK_KINDS],
    schedule: "always",
    maxThreads: Math.max(1, Math.floor(host.cores)),
    maxMemoryBytes: Math.max(1, Math.floor(host.memoryBytes)),
    maxConcurrent: DEFAULT_MAX_CONCURRENT,
    dailyTokenQuota: null,
    servePeers: true,
    pipelineStages: true,
  };
}
