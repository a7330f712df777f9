/** The policy file: first run, round trip, change events, refusals of corrupt or re-signed files. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityFromSecret } from "../../src/identity/identity.ts";
import { verifyPolicyChangedEvent } from "../../src/consent/events.ts";
import { ConsentPolicyError, policyHash, signPolicy } from "../../src/consent/policy.ts";
import {
  consentPath,
  loadOrCreatePolicy,
  readPolicy,
  savePolicy,
} from "../../src/consent/store.ts";

const ME = identityFromSecret(new Uint8Array(32).fill(1));
const OTHER = identityFromSecret(new Uint8Array(32).fill(2));
const HOST = { cores: 6, memoryBytes: 16 * 2 ** 30 };
let dir = "";

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aria-consent-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("consent store", () => {
  test("first run writes the default policy and a first change event", () => {
    const { signed, changed } = loadOrCreatePolicy(dir, ME, 1000, HOST);
    expect(signed.policy).toMatchObject({ models: "*", schedule: "always", maxThreads: 6 });
    expect(signed.policy.maxMemoryBytes).toBe(HOST.memoryBytes);
    expect(changed).toMatchObject({ oldHash: null, newHash: signed.policyHash, atMs: 1000 });
    expect(verifyPolicyChangedEvent(changed!)).toBe(true);
    expect(readdirSync(dir)).toEqual(["consent.json"]); // no temp file left behind
    const again = loadOrCreatePolicy(dir, ME, 2000, HOST);
    expect(again).toEqual({ signed, changed: null });
  });

  test("save: a change is written, signed and reported with old and new hashes", () => {
    const first = loadOrCreatePolicy(dir, ME, 1000, HOST).signed;
    const next = { ...first.policy, maxThreads: 2 };
    const { signed, changed } = savePolicy(dir, ME, next, 2000);
    expect(readPolicy(dir, ME)).toEqual(signed);
    expect(changed).toMatchObject({ oldHash: first.policyHash, newHash: policyHash(next) });
    expect(savePolicy(dir, ME, next, 3000).changed).toBeNull(); // same policy: no event
  });

  test("save: an invalid policy is refused and the old one kept", () => {
    loadOrCreatePolicy(dir, ME, 1000, HOST);
    const before = readFileSync(consentPath(dir), "utf8");
    const bad = {
      ...readPolicy(dir, ME)!.policy,
      schedule: [{ days: ["mon"], start: "01:00", end: "01:00" }],
    };
    expect(() => savePolicy(dir, ME, bad, 2000)).toThrow("Empty window");
    expect(readFileSync(consentPath(dir), "utf8")).toBe(before);
  });

  const broken: [string, (text: string) => string, string][] = [
    ["not JSON", (t) => t.slice(0, 20), "not JSON"],
    [
      "edited by hand",
      (t) => t.replace('"maxThreads": 6', '"maxThreads": 7'),
      "does not match its hash",
    ],
    [
      "re-signed by another key",
      () =>
        JSON.stringify(
          signPolicy(JSON.parse(readFileSync(consentPath(dir), "utf8")).policy, OTHER, 1),
        ),
      "not by this node",
    ],
  ];
  for (const [name, damage, reason] of broken) {
    test(`a file ${name} is refused with what to do, and never overwritten`, () => {
      loadOrCreatePolicy(dir, ME, 1000, HOST);
      writeFileSync(consentPath(dir), damage(readFileSync(consentPath(dir), "utf8")));
      const damaged = readFileSync(consentPath(dir), "utf8");
      expect(() => loadOrCreatePolicy(dir, ME, 2000, HOST)).toThrow(ConsentPolicyError);
      expect(() => loadOrCreatePolicy(dir, ME, 2000, HOST)).toThrow(reason);
      expect(() => loadOrCreatePolicy(dir, ME, 2000, HOST)).toThrow("move it away");
      const p = {
        version: 1,
        models: "*",
        taskKinds: ["chat"],
        schedule: "always",
        maxThreads: 1,
        maxMemoryBytes: 1,
        maxConcurrent: 1,
        dailyTokenQuota: null,
        servePeers: false,
        pipelineStages: false,
      };
      expect(() => savePolicy(dir, ME, p, 3000)).toThrow(reason);
      expect(readFileSync(consentPath(dir), "utf8")).toBe(damaged);
    });
  }
});
