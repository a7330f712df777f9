import { describe, expect, test } from "bun:test";
import {
  type AnswerFacts,
  applyAuditOutcome,
  auditRate,
  auditStatsFromRow,
  auditTrust,
  decideAudit,
  DEFAULT_AUDIT_RATE,
  NO_AUDITS,
} from "./audit-plan.ts";

const seeded: AnswerFacts = { continued: false, replayable: true, haveModel: true };
const passed = (n: number) => ({ ...NO_AUDITS, answers: n, passed: n });

describe("auditRate", () => {
  test("a new identity's first answer is always audited, then the rate decays to the base", () => {
    expect(auditRate(NO_AUDITS, 0.05)).toBe(1);
    expect(auditRate(passed(1), 0.05)).toBeCloseTo(2 / 3);
    expect(auditRate(passed(2), 0.05)).toBe(0.5);
    expect(auditRate(passed(38), 0.05)).toBe(0.05);
    expect(auditRate(passed(1000), 0.05)).toBe(0.05);
    expect(auditRate(passed(1000), 0.2)).toBe(0.2);
  });
  test("non-increasing in passed audits", () => {
    let last = 2;
    for (let n = 0; n < 200; n++) {
      const r = auditRate(passed(n), DEFAULT_AUDIT_RATE);
      expect(r).toBeLessThanOrEqual(last);
      last = r;
    }
  });
  test("a bad base is clamped (negative, > 1, NaN)", () => {
    expect(auditRate(passed(1000), -1)).toBeCloseTo(2 / 1002);
    expect(auditRate(passed(1000), 7)).toBe(1);
    expect(auditRate(passed(1000), Number.NaN)).toBe(DEFAULT_AUDIT_RATE);
  });
  test("after a failed audit, everything is audited", () => {
    expect(auditRate({ ...passed(100), failed: 1 }, 0.05)).toBe(1);
  });
});

describe("decideAudit", () => {
  test("the draw decides against the rate", () => {
    expect(decideAudit(passed(1000), 0.05, seeded, 0.049)).toEqual({ audit: true, rate: 0.05 });
    expect(decideAudit(passed(1000), 0.05, seeded, 0.05)).toEqual({
      audit: false,
      rate: 0.05,
      reason: "not drawn",
    });
  });
  test("over many draws, the fraction audited is the rate", () => {
    let n = 0;
    for (let i = 0; i < 1000; i++) {
      if (decideAudit(passed(1000), 0.2, seeded, i / 1000).audit) n++;
    }
    expect(n).toBe(200);
  });
  const cases: [string, Partial<AnswerFacts>, string][] = [
    ["fail-over continuation", { continued: true }, "not auditable"],
    ["a version 1 record (no replay facts)", { replayable: false }, "not auditable"],
    ["no local copy of the model", { haveModel: false }, "no model"],
  ];
  for (const [name, facts, reason] of cases) {
    test(`${name}: not audited even at rate 1`, () => {
      const d = decideAudit(NO_AUDITS, 1, { ...seeded, ...facts }, 0);
      expect(d.audit).toBe(false);
      expect(d).toMatchObject({ reason });
    });
  }
});

describe("outcomes and trust", () => {
  test("applyAuditOutcome counts each event and leaves the input alone", () => {
    let s = NO_AUDITS;
    for (const o of ["answered", "answered", "passed", "skipped", "failed"] as const) {
      s = applyAuditOutcome(s, o);
    }
    expect(s).toEqual({ answers: 2, passed: 1, failed: 1, skipped: 1 });
    expect(NO_AUDITS).toEqual({ answers: 0, passed: 0, failed: 0, skipped: 0 });
  });
  test("trust grows with passed audits from 1/2 towards 1, and is 0 after a failure", () => {
    expect(auditTrust(undefined)).toBe(0.5);
    expect(auditTrust(NO_AUDITS)).toBe(0.5);
    expect(auditTrust(passed(2))).toBe(0.75);
    expect(auditTrust(passed(1000))).toBeGreaterThan(0.99);
    expect(auditTrust(passed(1000))).toBeLessThan(1);
    expect(auditTrust({ ...passed(10), failed: 1 })).toBe(0);
  });
});

describe("auditStatsFromRow", () => {
  const peer = "ab".repeat(32);
  const row = { peer, answers: 9, passed: 4, failed: 0, skipped: 2, updated_ms: 5 };
  test("a good row gives the peer and its four counts", () => {
    expect(auditStatsFromRow(row)).toEqual({
      peer,
      stats: { answers: 9, passed: 4, failed: 0, skipped: 2 },
    });
  });
  test("a damaged row is refused, never read as trust", () => {
    const bad: unknown[] = [
      null,
      "row",
      [],
      { ...row, peer: "AB".repeat(32) },
      { ...row, peer: "ab".repeat(31) },
      { ...row, peer: 7 },
      { ...row, answers: -1 },
      { ...row, passed: 1.5 },
      { ...row, failed: "0" },
      { ...row, skipped: Number.NaN },
      { ...row, answers: 2 ** 41, passed: 2 ** 41 },
      { ...row, passed: 10 }, // more audits passed than answers
      { peer, answers: 1, passed: 0, failed: 0 }, // a column missing
    ];
    for (const r of bad) expect(auditStatsFromRow(r)).toBeUndefined();
  });
  test("a restored peer keeps its warm-up: its rate is not a new identity's", () => {
    const restored = auditStatsFromRow({ ...row, answers: 40, passed: 38 })!.stats;
    expect(auditRate(restored, 0.05)).toBe(0.05);
    expect(auditRate(NO_AUDITS, 0.05)).toBe(1);
  });
});
