import { describe, expect, test } from "bun:test";
import { ConsentDeniedError } from "../shared/errors.ts";
import { type EnergyMeasurement, SOURCE_RAPL } from "./energy.ts";
import { PolicyGate } from "./gate.ts";
import { type RequestEnergy, withEnergy } from "./metered-gate.ts";
import { defaultPolicy, policyHash } from "./policy.ts";

describe("withEnergy", () => {
  test("one span per admitted request, reported once on release with its tokens", () => {
    const policy = { ...defaultPolicy({ cores: 1, memoryBytes: 1 }), models: ["m"] };
    const gate = new PolicyGate(policy, { nowMs: () => 0 });
    let started = 0;
    let mj = 0;
    const meter = {
      start() {
        started++;
        return {
          stop: (): EnergyMeasurement => ({
            source: SOURCE_RAPL,
            mj: ++mj,
            durationMs: 1,
            basis: "fake",
          }),
        };
      },
    };
    const seen: RequestEnergy[] = [];
    const metered = withEnergy(gate, meter, (u) => seen.push(u));
    expect(() => metered.admit({ model: "x", kind: "chat" })).toThrow(ConsentDeniedError);
    expect(started).toBe(0);
    const t = metered.admit({ model: "m", kind: "chat", requestId: "r1" });
    gate.setPolicy({ ...policy, maxThreads: 9 }); // a later change does not rewrite the record
    t.addTokens(3);
    t.addTokens(-1);
    expect(gate.usage().inFlight).toBe(1);
    t.release();
    t.release();
    expect(gate.usage()).toMatchObject({ inFlight: 0, tokens: 3 });
    expect(seen).toEqual([{
      request: { model: "m", kind: "chat", requestId: "r1" },
      policyHash: policyHash(policy),
      tokens: 3,
      energy: { source: SOURCE_RAPL, mj: 1, durationMs: 1, basis: "fake" },
    }]);
  });
});
