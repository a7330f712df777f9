/**
 * @module `aria consent set KEY VALUE` and `aria consent show`: one setting in words → a new
 * policy (validated by the schema), and a policy → readable lines. Pure.
 *
 * Keys and values:
 *   models           "*" or a comma list: aria-nano,bitnet-2b
 *   kinds            comma list of chat, completion, pipeline-stage, peer-request
 *   window           "always", or windows separated by ";", each "[DAYS ]HH:MM-HH:MM" where DAYS
 *                    is a comma list of names or ranges (mon-fri); no DAYS = every day
 *   max-threads      integer >= 1
 *   max-memory       bytes, or with a K/M/G/T suffix (binary: 1K = 1024)
 *   max-concurrent   integer >= 1
 *   quota            tokens per UTC day, or "none"
 *   serve-peers      yes | no
 *   pipeline-stages  yes | no
 *   relay-limits     "default", or RESERVATIONS,CIRCUITS,BYTES,SECONDS,BYTES_PER_SECOND (bytes
 *                    with K/M/G suffixes): what this node gives as a relay (aria serve --relay)
 */
import {
  type ConsentPolicy,
  ConsentPolicyError,
  parsePolicy,
  type SignedPolicy,
  type Weekday,
  WEEKDAYS,
} from "./policy.ts";

/** The keys `set` understands. */
export const SETTING_KEYS = [
  "models",
  "kinds",
  "window",
  "max-threads",
  "max-memory",
  "max-concurrent",
  "quota",
  "serve-peers",
  "pipeline-stages",
  "relay-limits",
] as const;

function list(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function integer(key: string, value: string): number {
  // Handled here: "2.5", "", "1e3" and "-1" never become a number the schema then misreports.
  if (!/^[0-9]+$/.test(value)) {
    throw new ConsentPolicyError(`Invalid value for ${key}: "${value}" is not a whole number`);
  }
  return Number(value);
}

function yesNo(key: string, value: string): boolean {
  if (value === "yes" || value === "true") return true;
  if (value === "no" || value === "false") return false;
  throw new ConsentPolicyError(`Invalid value for ${key}: "${value}"; use yes or no`);
}

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * Bytes from "8589934592", "512M" or "8G" (binary units).
 *
 * @param value the text.
 * @returns bytes.
 * @throws {ConsentPolicyError} for anything else.
 */
export function parseBytes(value: string): number {
  const m = /^([0-9]+)([KMGT]?)i?B?$/i.exec(value.trim());
  if (!m) {
    throw new ConsentPolicyError(`Invalid value for max-memory: "${value}"; use bytes or e.g. 8G`);
  }
  return Number(m[1]) * (UNITS[m[2]!.toUpperCase()] ?? 1);
}

function parseDays(text: string): Weekday[] {
  const out = new Set<Weekday>();
  for (const part of list(text.toLowerCase())) {
    const [a, b] = part.split("-");
    const i = WEEKDAYS.indexOf(a as Weekday);
    const j = b === undefined ? i : WEEKDAYS.indexOf(b as Weekday);
    if (i < 0 || j < 0) {
      throw new ConsentPolicyError(
        `Unknown weekday in "${part}"; use sun, mon, tue, wed, thu, fri, sat`,
      );
    }
    // A range may wrap the week: fri-mon = fri, sat, sun, mon.
    for (let d = i;; d = (d + 1) % 7) {
      out.add(WEEKDAYS[d]!);
      if (d === j) break;
    }
  }
  return WEEKDAYS.filter((d) => out.has(d));
}

/**
 * A schedule from its text form ("always", "22:00-06:00", "mon-fri 09:00-17:00; sat 10:00-12:00").
 *
 * @param value the text.
 * @returns the schedule (not yet validated: times are checked by the schema).
 * @throws {ConsentPolicyError} for a malformed window.
 */
export function parseSchedule(value: string): ConsentPolicy["schedule"] {
  if (value.trim() === "always") return "always";
  return value.split(";").map((w) => w.trim()).filter((w) => w !== "").map((w) => {
    const m = /^(?:(\S+)\s+)?(\S+)-(\S+)$/.exec(w);
    if (!m) {
      throw new ConsentPolicyError(`Invalid window "${w}"; use e.g. "mon-fri 22:00-06:00"`);
    }
    const days = m[1] === undefined ? [...WEEKDAYS] : parseDays(m[1]);
    return { days, start: m[2]!, end: m[3]! };
  });
}

function changeOf(key: string, value: string): Partial<Record<keyof ConsentPolicy, unknown>> {
  switch (key) {
    case "models":
      return { models: value.trim() === "*" ? "*" : list(value) };
    case "kinds":
      return { taskKinds: list(value) };
    case "window":
      return { schedule: parseSchedule(value) };
    case "max-threads":
      return { maxThreads: integer(key, value) };
    case "max-memory":
      return { maxMemoryBytes: parseBytes(value) };
    case "max-concurrent":
      return { maxConcurrent: integer(key, value) };
    case "quota":
      return { dailyTokenQuota: value === "none" ? null : integer(key, value) };
    case "serve-peers":
      return { servePeers: yesNo(key, value) };
    case "pipeline-stages":
      return { pipelineStages: yesNo(key, value) };
    case "relay-limits": {
      if (value.trim() === "default") return { relay: undefined };
      const parts = list(value);
      // handled here: anything but five values is refused with the expected form
      if (parts.length !== 5) {
        throw new ConsentPolicyError(
          `Invalid value for relay-limits: "${value}"; use "default" or RESERVATIONS,CIRCUITS,BYTES,SECONDS,BYTES_PER_SECOND, e.g. 16,4,64M,600,1M`,
        );
      }
      const [r, c, b, t, bps] = parts as [string, string, string, string, string];
      return {
        relay: {
          maxReservations: integer(key, r),
          maxCircuits: integer(key, c),
          maxCircuitBytes: parseBytes(b),
          maxCircuitSeconds: integer(key, t),
          maxBytesPerSecond: parseBytes(bps),
        },
      };
    }
    default:
      throw new ConsentPolicyError(
        `Unknown setting "${key}"; use one of: ${SETTING_KEYS.join(", ")}`,
      );
  }
}

/**
 * Applies one setting.
 *
 * @param policy the current policy.
 * @param key a SETTING_KEYS entry.
 * @param value its text.
 * @returns the new, validated policy.
 * @throws {ConsentPolicyError} for an unknown key or a value the policy refuses (with the reason).
 * @example
 * ```ts
 * applySetting(policy, "window", "22:00-06:00").schedule; // every day, overnight
 * ```
 */
export function applySetting(policy: ConsentPolicy, key: string, value: string): ConsentPolicy {
  const next: Record<string, unknown> = { ...policy, ...changeOf(key, value) };
  if (next["relay"] === undefined) delete next["relay"]; // "default": the field goes away
  return parsePolicy(next);
}

/**
 * The human-readable form of a signed policy (`aria consent show`).
 *
 * @param s the envelope.
 * @returns lines without a trailing newline.
 */
export function formatPolicy(s: SignedPolicy): string {
  const p = s.policy;
  const schedule = p.schedule === "always"
    ? "always"
    : p.schedule.map((w) => `${w.days.join(",")} ${w.start}-${w.end}`).join("; ");
  return [
    `models           ${
      p.models === "*" ? "* (every model this node serves)" : p.models.join(",")
    }`,
    `kinds            ${p.taskKinds.join(",")}`,
    `window (UTC)     ${schedule}`,
    `max-threads      ${p.maxThreads}`,
    `max-memory       ${p.maxMemoryBytes} bytes (${(p.maxMemoryBytes / 2 ** 30).toFixed(1)} GiB)`,
    `max-concurrent   ${p.maxConcurrent}`,
    `quota            ${
      p.dailyTokenQuota === null ? "none" : `${p.dailyTokenQuota} tokens per UTC day`
    }`,
    `serve-peers      ${p.servePeers ? "yes" : "no"}`,
    `pipeline-stages  ${p.pipelineStages ? "yes" : "no"}`,
    `relay-limits     ${
      p.relay === undefined
        ? "default"
        : `${p.relay.maxReservations} nodes, ${p.relay.maxCircuits} circuits each, ${p.relay.maxCircuitBytes} bytes and ${p.relay.maxCircuitSeconds} s per circuit, ${p.relay.maxBytesPerSecond} bytes/s`
    }`,
    `hash             ${s.policyHash}`,
    `signed by        ${s.signer} at ${new Date(s.signedAtMs).toISOString()}`,
  ].join("\n");
}
