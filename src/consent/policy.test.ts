import { describe, expect, test } from "bun:test";
import { identityFromSecret } from "../identity/identity.ts";
import {
  canonicalPolicy,
  type ConsentPolicy,
  ConsentPolicyError,
  parseHhmm,
  parsePolicy,
  policyHash,
  signPolicy,
  verifySignedPolicy,
} from "./policy.ts";

const POLICY: ConsentPolicy = {
  version: 1,
  models: ["aria-nano", "bitnet-2b"],
  taskKinds: ["chat", "completion"],
  schedule: [{ days: ["fri", "mon"], start: "22:00", end: "06:00" }],
  maxThreads: 4,
  maxMemoryBytes: 8 * 2 ** 30,
  maxConcurrent: 4,
  dailyTokenQuota: 100_000,
  servePeers: false,
  pipelineStages: false,
};

const ME = identityFromSecret(new Uint8Array(32).fill(7));
const OTHER = identityFromSecret(new Uint8Array(32).fill(9));

describe("parsePolicy refuses invalid policies with a reason", () => {
  const bad: [string, Record<string, unknown>, string][] = [
    [
      "empty window",
      { schedule: [{ days: ["mon"], start: "10:00", end: "10:00" }] },
      "Empty window 10:00-10:00",
    ],
    ["bad time", { schedule: [{ days: ["mon"], start: "25:00", end: "10:00" }] }, '"HH:MM"'],
    [
      "start 24:00",
      { schedule: [{ days: ["mon"], start: "24:00", end: "10:00" }] },
      "cannot start at 24:00",
    ],
    [
      "no weekday",
      { schedule: [{ days: [], start: "01:00", end: "02:00" }] },
      "at least one weekday",
    ],
    ["empty schedule", { schedule: [] }, '"always" or add a window'],
    [
      "unknown weekday",
      { schedule: [{ days: ["mo"], start: "01:00", end: "02:00" }] },
      "schedule.0.days.0",
    ],
    ["no models", { models: [] }, "at least one model"],
    ["no kinds", { taskKinds: [] }, "at least one task kind"],
    ["unknown kind", { taskKinds: ["mining"] }, "taskKinds.0"],
    ["zero threads", { maxThreads: 0 }, "maxThreads"],
    ["float memory", { maxMemoryBytes: 1.5 }, "maxMemoryBytes"],
    ["negative quota", { dailyTokenQuota: -1 }, "dailyTokenQuota"],
    ["unknown key", { color: "red" }, "color"],
    ["wrong version", { version: 2 }, "version"],
  ];
  for (const [name, change, reason] of bad) {
    test(name, () => {
      expect(() => parsePolicy({ ...POLICY, ...change })).toThrow(ConsentPolicyError);
      expect(() => parsePolicy({ ...POLICY, ...change })).toThrow(reason);
    });
  }
  test("a valid policy passes unchanged", () => {
    expect(parsePolicy(POLICY)).toEqual(POLICY);
  });
  test("parseHhmm", () => {
    expect([parseHhmm("00:00"), parseHhmm("23:59"), parseHhmm("24:00"), parseHhmm("7:00")])
      .toEqual([0, 1439, 1440, undefined]);
  });
});

describe("canonical encoding and hash", () => {
  test("fixed order, integers only", () => {
    expect(canonicalPolicy(POLICY)).toEqual([
      1,
      0,
      ["aria-nano", "bitnet-2b"],
      ["chat", "completion"],
      0,
      [[0b0100010, 1320, 360]],
      4,
      8589934592,
      4,
      1,
      100000,
      0,
      0,
    ]);
  });
  test("order of lists does not change the hash; every field does", () => {
    const h = policyHash(POLICY);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    const reordered = {
      ...POLICY,
      models: ["bitnet-2b", "aria-nano"],
      taskKinds: ["completion", "chat"] as ConsentPolicy["taskKinds"],
      schedule: [{ days: ["mon", "fri"] as ("mon" | "fri")[], start: "22:00", end: "06:00" }],
    };
    expect(policyHash(reordered)).toBe(h);
    const changes: Partial<ConsentPolicy>[] = [
      { models: "*" },
      { taskKinds: ["chat"] },
      { schedule: "always" },
      { maxThreads: 5 },
      { maxMemoryBytes: 1 },
      { maxConcurrent: 5 },
      { dailyTokenQuota: null },
      { dailyTokenQuota: 0 },
      { servePeers: true },
      { pipelineStages: true },
      { schedule: [{ days: ["mon"], start: "22:00", end: "06:01" }] },
    ];
    const hashes = changes.map((c) => policyHash({ ...POLICY, ...c }));
    expect(new Set([h, ...hashes]).size).toBe(changes.length + 1);
  });
});

describe("signed envelope", () => {
  test("sign then verify round-trips through JSON", () => {
    const env = signPolicy(POLICY, ME, 1_700_000_000_000);
    const back = verifySignedPolicy(JSON.parse(JSON.stringify(env)), ME.nodeId);
    expect(back.policy).toEqual(POLICY);
    expect(back.policyHash).toBe(policyHash(POLICY));
  });
  test("a changed policy field is refused", () => {
    const env = JSON.parse(JSON.stringify(signPolicy(POLICY, ME, 1)));
    env.policy.maxThreads = 64;
    expect(() => verifySignedPolicy(env, ME.nodeId)).toThrow("does not match its hash");
  });
  test("a policy and hash both replaced are refused by the signature", () => {
    const env = JSON.parse(JSON.stringify(signPolicy(POLICY, ME, 1)));
    env.policy.maxThreads = 64;
    env.policyHash = policyHash(env.policy);
    expect(() => verifySignedPolicy(env, ME.nodeId)).toThrow("signature is invalid");
  });
  test("a changed timestamp is refused", () => {
    const env = JSON.parse(JSON.stringify(signPolicy(POLICY, ME, 1)));
    env.signedAtMs = 2;
    expect(() => verifySignedPolicy(env, ME.nodeId)).toThrow("signature is invalid");
  });
  test("signed by another node is refused", () => {
    const env = signPolicy(POLICY, OTHER, 1);
    expect(() => verifySignedPolicy(env, ME.nodeId)).toThrow("not by this node");
  });
  test("not an envelope", () => {
    expect(() => verifySignedPolicy(POLICY, ME.nodeId)).toThrow("Not a signed consent policy");
    expect(() => verifySignedPolicy(null, ME.nodeId)).toThrow(ConsentPolicyError);
  });
});
