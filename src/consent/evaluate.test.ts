import { describe, expect, test } from "bun:test";
import {
  type ConsentRequest,
  type ConsentUsage,
  engineThreads,
  evaluateConsent,
  insideWindow,
  modelMemoryDenial,
  policySummary,
  summaryRefusal,
  utcDay,
  weekdayOf,
} from "./evaluate.ts";
import { type ConsentPolicy, parsePolicy, policyHash } from "./policy.ts";

/** Every rule open: each test row closes one. */
const OPEN: ConsentPolicy = {
  version: 1,
  models: "*",
  taskKinds: ["chat", "completion", "pipeline-stage", "peer-request"],
  schedule: "always",
  maxThreads: 2,
  maxMemoryBytes: 1000,
  maxConcurrent: 2,
  dailyTokenQuota: null,
  servePeers: true,
  pipelineStages: true,
};

/** UTC time of a weekday in the week of Monday 2026-11-23. */
function at(day: "mon" | "tue" | "wed" | "sun", hh: number, mm: number, ss = 0): number {
  const d = { sun: 22, mon: 23, tue: 24, wed: 25 }[day];
  return Date.UTC(2026, 10, d, hh, mm, ss);
}

const CHAT: ConsentRequest = { model: "aria-nano", kind: "chat" };
const IDLE: ConsentUsage = { inFlight: 0, tokens: 0, day: utcDay(at("mon", 12, 0)) };
const NOON = at("mon", 12, 0);

type Row = [
  string,
  Partial<ConsentPolicy>,
  Partial<ConsentRequest>,
  Partial<ConsentUsage>,
  number,
  string | true,
];

// [name, policy changes, request changes, usage changes, now, expected: true | reason substring]
const MATRIX: Row[] = [
  ["everything open", {}, {}, {}, NOON, true],
  ["kind allowed", { taskKinds: ["chat"] }, {}, {}, NOON, true],
  [
    "kind denied",
    { taskKinds: ["chat"] },
    { kind: "completion" },
    {},
    NOON,
    'Task kind "completion"',
  ],
  ["peer allowed", {}, { kind: "peer-request", fromPeer: true }, {}, NOON, true],
  ["peer denied", { servePeers: false }, { fromPeer: true }, {}, NOON, "does not serve peers"],
  ["local ok without peers", { servePeers: false }, {}, {}, NOON, true],
  ["stage allowed", {}, { kind: "pipeline-stage" }, {}, NOON, true],
  [
    "stage denied",
    { pipelineStages: false },
    { kind: "pipeline-stage" },
    {},
    NOON,
    "pipeline stages",
  ],
  ["model listed", { models: ["aria-nano"] }, {}, {}, NOON, true],
  ["model not listed", { models: ["other"] }, {}, {}, NOON, 'Model "aria-nano" is not allowed'],
  ["memory within", {}, { memoryBytes: 1000 }, {}, NOON, true],
  ["memory above", {}, { memoryBytes: 1001 }, {}, NOON, "needs 1001 bytes"],
  ["quota left", { dailyTokenQuota: 10 }, {}, { tokens: 9 }, NOON, true],
  [
    "quota used up",
    { dailyTokenQuota: 10 },
    {},
    { tokens: 10 },
    NOON,
    "quota is used up (10 of 10",
  ],
  ["quota zero", { dailyTokenQuota: 0 }, {}, {}, NOON, "quota is used up (0 of 0"],
  [
    "yesterday's tokens do not count",
    { dailyTokenQuota: 10 },
    {},
    {
      tokens: 50,
      day: utcDay(NOON) - 1,
    },
    NOON,
    true,
  ],
  [
    "quota resets at 00:00:00 UTC",
    { dailyTokenQuota: 10 },
    {},
    {
      tokens: 50,
      day: utcDay(at("mon", 0, 0)) - 1,
    },
    at("mon", 0, 0),
    true,
  ],
  [
    "quota still used at 23:59:59",
    { dailyTokenQuota: 10 },
    {},
    {
      tokens: 50,
      day: utcDay(at("sun", 23, 59, 59)),
    },
    at("sun", 23, 59, 59),
    "quota is used up",
  ],
  ["below concurrency", {}, {}, { inFlight: 1 }, NOON, true],
  ["at concurrency: BUSY", {}, {}, { inFlight: 2 }, NOON, "busy: 2 of 2"],
  ["denial wins over BUSY", { models: ["x"] }, {}, { inFlight: 2 }, NOON, "is not allowed"],
];

const NIGHT = { schedule: [{ days: ["mon" as const], start: "22:00", end: "06:00" }] };
const DAY = {
  schedule: [{ days: ["mon" as const, "tue" as const], start: "09:00", end: "17:00" }],
};
const WHOLE = { schedule: [{ days: ["tue" as const], start: "00:00", end: "24:00" }] };
// Windows: edges are [start, end), a wrapping window belongs to the day it starts.
const SCHEDULE: Row[] = [
  ["day window start edge", DAY, {}, {}, at("mon", 9, 0), true],
  ["day window before start", DAY, {}, {}, at("mon", 8, 59, 59), "Outside the allowed hours"],
  ["day window last minute", DAY, {}, {}, at("tue", 16, 59, 59), true],
  ["day window end edge", DAY, {}, {}, at("tue", 17, 0), "Outside"],
  ["day window other weekday", DAY, {}, {}, at("wed", 12, 0), "Outside"],
  ["night window start", NIGHT, {}, {}, at("mon", 22, 0), true],
  ["night window just before start", NIGHT, {}, {}, at("mon", 21, 59), "Outside"],
  ["night window after midnight (next day)", NIGHT, {}, {}, at("tue", 3, 0), true],
  ["night window end edge", NIGHT, {}, {}, at("tue", 6, 0), "Outside"],
  ["night window: early Monday belongs to Sunday", NIGHT, {}, {}, at("mon", 3, 0), "Outside"],
  ["night window: Tuesday night not listed", NIGHT, {}, {}, at("tue", 23, 0), "Outside"],
  ["whole day 00:00-24:00 first ms", WHOLE, {}, {}, at("tue", 0, 0), true],
  ["whole day last ms", WHOLE, {}, {}, at("wed", 0, 0) - 1, true],
  ["whole day next day", WHOLE, {}, {}, at("wed", 0, 0), "Outside"],
];

describe("evaluateConsent: the consent matrix", () => {
  for (const [name, p, r, u, now, expected] of [...MATRIX, ...SCHEDULE]) {
    test(name, () => {
      const policy = parsePolicy({ ...OPEN, ...p });
      const d = evaluateConsent(policy, { ...CHAT, ...r }, { ...IDLE, ...u }, now);
      if (expected === true) expect(d).toEqual({ allow: true });
      else {
        expect(d.allow).toBe(false);
        if (d.allow) return;
        expect(d.reason).toContain(expected);
        expect(d.code).toBe(expected.startsWith("busy") ? "BUSY" : "CONSENT_DENIED");
      }
    });
  }
});

describe("resource limits", () => {
  test("engineThreads caps the request at maxThreads", () => {
    expect([engineThreads(OPEN, undefined), engineThreads(OPEN, 1), engineThreads(OPEN, 8)])
      .toEqual([2, 1, 2]);
  });
  test("modelMemoryDenial", () => {
    expect(modelMemoryDenial(OPEN, "m", 1000)).toBeUndefined();
    expect(modelMemoryDenial(OPEN, "m", 1001)).toContain("above the 1000 allowed");
  });
});

describe("calendar helpers", () => {
  test("weekdayOf matches Date.getUTCDay across 1969-2100", () => {
    for (const ms of [-86_400_001, 0, at("sun", 0, 0), at("wed", 23, 59), Date.UTC(2100, 1, 28)]) {
      expect(weekdayOf(utcDay(ms))).toBe(new Date(ms).getUTCDay());
    }
  });
  test("insideWindow with a window over several days", () => {
    const w = { days: ["sun" as const, "mon" as const], start: "23:00", end: "01:00" };
    expect(insideWindow(w, at("mon", 0, 30))).toBe(true); // Sunday's window
    expect(insideWindow(w, at("tue", 0, 30))).toBe(true); // Monday's window
    expect(insideWindow(w, at("wed", 0, 30))).toBe(false);
  });
});

describe("policySummary", () => {
  test("compact, sorted, named by the policy hash", () => {
    const p = parsePolicy({
      ...OPEN,
      models: ["b", "a", "b"],
      taskKinds: ["peer-request", "chat"],
      ...NIGHT,
    });
    expect(policySummary(p)).toEqual({
      hash: policyHash(p),
      models: ["a", "b"],
      kinds: ["chat", "peer-request"],
      servePeers: true,
      pipelineStages: true,
      maxConcurrent: 2,
      schedule: ["mon 22:00-06:00"],
      dailyTokenQuota: null,
    });
  });
});

describe("summaryRefusal", () => {
  const summary = (over: Partial<ConsentPolicy>) =>
    policySummary(parsePolicy({ ...OPEN, ...over })) as unknown as Record<string, unknown>;

  test("an open policy refuses nothing", () => {
    expect(summaryRefusal(summary({}), "m", at("mon", 12, 0))).toBeUndefined();
  });

  test("peers not served, kind not allowed, model not listed", () => {
    expect(summaryRefusal(summary({ servePeers: false }), "m", at("mon", 12, 0))).toBe(
      "the peer does not serve other nodes",
    );
    expect(summaryRefusal(summary({ taskKinds: ["chat"] }), "m", at("mon", 12, 0))).toBe(
      "the peer does not take peer requests",
    );
    expect(summaryRefusal(summary({ models: ["a"] }), "m", at("mon", 12, 0))).toBe(
      'the peer does not allow model "m"',
    );
    expect(summaryRefusal(summary({ models: ["a", "m"] }), "m", at("mon", 12, 0))).toBeUndefined();
  });

  test("schedule windows are read back from the summary, overnight wrap included", () => {
    const night = summary(NIGHT);
    expect(summaryRefusal(night, "m", at("mon", 23, 0))).toBeUndefined();
    expect(summaryRefusal(night, "m", at("tue", 5, 59))).toBeUndefined();
    expect(summaryRefusal(night, "m", at("tue", 6, 0))).toBe("the peer is outside its schedule");
    expect(summaryRefusal(night, "m", at("mon", 12, 0))).toBe("the peer is outside its schedule");
  });

  test("a missing or malformed summary refuses nothing: the peer's answer decides", () => {
    const t = at("mon", 12, 0);
    expect(summaryRefusal({}, "m", t)).toBeUndefined();
    expect(summaryRefusal({ schedule: ["someday 25:00-26:00"] }, "m", t)).toBeUndefined();
    expect(summaryRefusal({ schedule: ["xyz 01:00-02:00"] }, "m", t)).toBeUndefined();
    expect(summaryRefusal({ schedule: [42] }, "m", t)).toBeUndefined();
    expect(summaryRefusal({ models: "*", kinds: "all" }, "m", t)).toBeUndefined();
  });
});
