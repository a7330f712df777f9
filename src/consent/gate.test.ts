import { describe, expect, test } from "bun:test";
import { ConsentBusyError, ConsentDeniedError } from "../shared/errors.ts";
import { PolicyGate } from "./gate.ts";
import type { ConsentPolicy } from "./policy.ts";

const POLICY: ConsentPolicy = {
  version: 1,
  models: ["m"],
  taskKinds: ["chat"],
  schedule: "always",
  maxThreads: 1,
  maxMemoryBytes: 1,
  maxConcurrent: 2,
  dailyTokenQuota: 10,
  servePeers: false,
  pipelineStages: false,
};

const DAY = 86_400_000;

function clockAt(ms: number) {
  const clock = { ms, nowMs: () => clock.ms };
  return clock;
}

describe("PolicyGate", () => {
  test("counts in-flight requests and releases once", () => {
    const gate = new PolicyGate(POLICY, clockAt(10 * DAY));
    const a = gate.admit({ model: "m", kind: "chat" });
    const b = gate.admit({ model: "m", kind: "chat" });
    expect(gate.usage().inFlight).toBe(2);
    expect(() => gate.admit({ model: "m", kind: "chat" })).toThrow(ConsentBusyError);
    a.release();
    a.release(); // idempotent: does not free b's slot
    expect(gate.usage().inFlight).toBe(1);
    gate.admit({ model: "m", kind: "chat" });
    expect(() => gate.admit({ model: "m", kind: "chat" })).toThrow(ConsentBusyError);
    b.release();
    expect(gate.usage().inFlight).toBe(1);
  });
  test("refusals throw ConsentDeniedError with the reason and take no slot", () => {
    const gate = new PolicyGate(POLICY, clockAt(0));
    expect(() => gate.admit({ model: "x", kind: "chat" })).toThrow(ConsentDeniedError);
    expect(() => gate.admit({ model: "x", kind: "chat" })).toThrow('Model "x" is not allowed');
    expect(gate.usage().inFlight).toBe(0);
  });
  test("the quota fills up, then resets at UTC midnight", () => {
    const clock = clockAt(10 * DAY + 1000);
    const gate = new PolicyGate(POLICY, clock);
    const t = gate.admit({ model: "m", kind: "chat" });
    t.addTokens(7);
    t.addTokens(3);
    t.addTokens(-5); // ignored: a bad count never lowers the total
    t.addTokens(1.5);
    t.release();
    expect(gate.usage().tokens).toBe(10);
    expect(() => gate.admit({ model: "m", kind: "chat" })).toThrow("quota is used up (10 of 10");
    clock.ms = 11 * DAY - 1;
    expect(() => gate.admit({ model: "m", kind: "chat" })).toThrow(ConsentDeniedError);
    clock.ms = 11 * DAY;
    expect(gate.usage()).toEqual({ inFlight: 0, tokens: 0, day: 11 });
    gate.admit({ model: "m", kind: "chat" }).release();
  });
  test("tokens of a request spanning midnight count on the day they are used", () => {
    const clock = clockAt(11 * DAY - 1);
    const gate = new PolicyGate(POLICY, clock);
    const t = gate.admit({ model: "m", kind: "chat" });
    t.addTokens(4);
    clock.ms = 11 * DAY + 1;
    t.addTokens(2);
    expect(gate.usage()).toEqual({ inFlight: 1, tokens: 2, day: 11 });
  });
  test("setPolicy takes effect for the next request", () => {
    const gate = new PolicyGate(POLICY, clockAt(0));
    gate.setPolicy({ ...POLICY, models: "*" });
    expect(gate.policy.models).toBe("*");
    gate.admit({ model: "x", kind: "chat" });
  });
});
