import { describe, expect, test } from "bun:test";
import { type ConsentPolicy, defaultPolicy, policyHash, signPolicy } from "./policy.ts";
import { identityFromSecret } from "../identity/identity.ts";
import { applySetting, formatPolicy, parseBytes, parseSchedule } from "./settings.ts";

const BASE: ConsentPolicy = defaultPolicy({ cores: 4, memoryBytes: 2 ** 33 });

describe("applySetting", () => {
  const ok: [string, string, Partial<ConsentPolicy>][] = [
    ["models", "aria-nano, foo", { models: ["aria-nano", "foo"] }],
    ["models", "*", { models: "*" }],
    ["kinds", "chat,completion", { taskKinds: ["chat", "completion"] }],
    ["window", "always", { schedule: "always" }],
    ["window", "22:00-06:00", {
      schedule: [{
        days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
        start: "22:00",
        end: "06:00",
      }],
    }],
    ["window", "mon-fri 09:00-17:00; sat 10:00-12:00", {
      schedule: [
        { days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00" },
        { days: ["sat"], start: "10:00", end: "12:00" },
      ],
    }],
    ["window", "fri-mon 00:00-24:00", {
      schedule: [{ days: ["sun", "mon", "fri", "sat"], start: "00:00", end: "24:00" }],
    }],
    ["max-threads", "2", { maxThreads: 2 }],
    ["max-memory", "512M", { maxMemoryBytes: 512 * 2 ** 20 }],
    ["max-concurrent", "3", { maxConcurrent: 3 }],
    ["quota", "50000", { dailyTokenQuota: 50000 }],
    ["quota", "none", { dailyTokenQuota: null }],
    ["serve-peers", "no", { servePeers: false }],
    ["pipeline-stages", "yes", { pipelineStages: true }],
  ];
  for (const [key, value, change] of ok) {
    test(`${key} ${value}`, () => {
      expect(applySetting(BASE, key, value)).toEqual({ ...BASE, ...change });
    });
  }
  const bad: [string, string, string][] = [
    ["window", "10:00-10:00", "Empty window 10:00-10:00"],
    ["window", "", '"always" or add a window'],
    ["window", "noon", 'Invalid window "noon"'],
    ["window", "mo 01:00-02:00", "Unknown weekday"],
    ["window", "mon 1:00-02:00", '"HH:MM"'],
    ["max-threads", "0", "maxThreads"],
    ["max-threads", "2.5", "not a whole number"],
    ["max-memory", "lots", "use bytes or e.g. 8G"],
    ["quota", "-1", "not a whole number"],
    ["serve-peers", "maybe", "use yes or no"],
    ["kinds", "", "at least one task kind"],
    ["kinds", "mining", "taskKinds.0"],
    ["colour", "red", 'Unknown setting "colour"'],
  ];
  for (const [key, value, reason] of bad) {
    test(`refused: ${key} "${value}"`, () => {
      expect(() => applySetting(BASE, key, value)).toThrow(reason);
    });
  }
});

describe("parsers", () => {
  test("parseBytes", () => {
    expect([parseBytes("1024"), parseBytes("1K"), parseBytes("8G"), parseBytes("2GiB")])
      .toEqual([1024, 1024, 8 * 2 ** 30, 2 * 2 ** 30]);
  });
  test("parseSchedule keeps windows in order", () => {
    expect(parseSchedule("sat 01:00-02:00;mon 03:00-04:00")).toEqual([
      { days: ["sat"], start: "01:00", end: "02:00" },
      { days: ["mon"], start: "03:00", end: "04:00" },
    ]);
  });
});

describe("formatPolicy", () => {
  test("names every field, the hash and the signer", () => {
    const me = identityFromSecret(new Uint8Array(32).fill(5));
    const s = signPolicy(applySetting(BASE, "window", "mon 22:00-06:00"), me, 0);
    const text = formatPolicy(s);
    expect(text).toContain("window (UTC)     mon 22:00-06:00");
    expect(text).toContain("max-memory       8589934592 bytes (8.0 GiB)");
    expect(text).toContain(`hash             ${s.policyHash}`);
    expect(text).toContain(`signed by        ${me.nodeId} at 1970-01-01T00:00:00.000Z`);
    expect(text).toContain("relay-limits     default");
    expect(text.split("\n")).toHaveLength(12);
  });
});

describe("relay-limits", () => {
  test("five values set the relay's limits; default removes them and restores the hash", () => {
    const set = applySetting(BASE, "relay-limits", "8,2,64K,300,1M");
    expect(set.relay).toEqual({
      maxReservations: 8,
      maxCircuits: 2,
      maxCircuitBytes: 65536,
      maxCircuitSeconds: 300,
      maxBytesPerSecond: 1048576,
    });
    expect(policyHash(set)).not.toBe(policyHash(BASE));
    const back = applySetting(set, "relay-limits", "default");
    expect(back.relay).toBeUndefined();
    expect(policyHash(back)).toBe(policyHash(BASE));
  });

  test("anything but five whole values is refused with the expected form", () => {
    expect(() => applySetting(BASE, "relay-limits", "8,2,64K")).toThrow(/RESERVATIONS,CIRCUITS/);
    expect(() => applySetting(BASE, "relay-limits", "8,0,64K,300,1M")).toThrow();
    expect(() => applySetting(BASE, "relay-limits", "8,2,x,300,1M")).toThrow();
  });
});
