/** `aria consent` end to end on a temporary data dir (runConsent, no subprocess except the editor). */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runConsent } from "../../src/cli/consent.ts";
import type { ConsentCommand } from "../../src/cli/consent-args.ts";
import { type PolicyChangedEvent, verifyPolicyChangedEvent } from "../../src/consent/index.ts";

let dir = "";
let lines: string[] = [];
let events: PolicyChangedEvent[] = [];

function io(editor = "true") {
  return {
    dataDir: join(dir, "unused"),
    editor,
    print: (l: string) => lines.push(l),
    nowMs: () => 1_700_000_000_000,
    onChange: (e: PolicyChangedEvent) => events.push(e),
  };
}

function run(cmd: Partial<ConsentCommand> & Pick<ConsentCommand, "action">, editor?: string) {
  return runConsent({ verb: "consent", dataDir: dir, ...cmd } as ConsentCommand, io(editor));
}

function stored() {
  return JSON.parse(readFileSync(join(dir, "consent.json"), "utf8"));
}

/** An "editor" that runs a sed script on the file (what a person would do by hand). */
function sedEditor(script: string): string {
  const path = join(dir, "editor.sh");
  writeFileSync(path, `#!/bin/sh\nsed -i '${script}' "$1"\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aria-consent-cli-"));
  lines = [];
  events = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("aria consent", () => {
  test("show on first use writes the default policy in --data-dir and records it", () => {
    expect(run({ action: "show", json: false })).toBe(0);
    expect(lines.join("\n")).toContain("window (UTC)     always");
    expect(events).toHaveLength(1);
    expect(events[0]!.oldHash).toBeNull();
    expect(stored().policyHash).toBe(events[0]!.newHash);
  });
  test("show --json prints the signed file", () => {
    run({ action: "show", json: true });
    expect(JSON.parse(lines.join("\n"))).toEqual(stored());
  });
  test("set changes one field, re-signs, and emits a verifiable change event", () => {
    run({ action: "set", key: "max-threads", value: "1" });
    expect(stored().policy.maxThreads).toBe(1);
    expect(events).toHaveLength(2);
    expect(events[1]!.oldHash).toBe(events[0]!.newHash);
    expect(events[1]!.newHash).toBe(stored().policyHash);
    expect(events.every(verifyPolicyChangedEvent)).toBe(true);
    run({ action: "set", key: "max-threads", value: "1" });
    expect(lines.at(-1)).toBe("Consent policy unchanged");
    expect(events).toHaveLength(2);
  });
  test("set with an invalid value is refused with the reason and keeps the old policy", () => {
    run({ action: "show", json: false });
    const before = readFileSync(join(dir, "consent.json"), "utf8");
    expect(() => run({ action: "set", key: "window", value: "08:00-08:00" }))
      .toThrow(/Empty window 08:00-08:00.*the policy is unchanged/);
    expect(readFileSync(join(dir, "consent.json"), "utf8")).toBe(before);
  });
  test("edit applies a valid edit", () => {
    run(
      { action: "edit" },
      sedEditor('s/"always"/[{"days":["sat"],"start":"22:00","end":"06:00"}]/'),
    );
    expect(stored().policy.schedule).toEqual([{ days: ["sat"], start: "22:00", end: "06:00" }]);
  });
  const badEdits: [string, string][] = [
    ['s/"maxThreads": [0-9]*/"maxThreads": 0/', "maxThreads"],
    ["s/{/[/", "not JSON"],
    ['s/"version": 1/"version": 1, "extra": 1/', "extra"],
  ];
  for (const [script, reason] of badEdits) {
    test(`edit refuses an invalid result (${reason}) and keeps the old policy`, () => {
      run({ action: "show", json: false });
      const before = readFileSync(join(dir, "consent.json"), "utf8");
      expect(() => run({ action: "edit" }, sedEditor(script))).toThrow(reason);
      expect(() => run({ action: "edit" }, sedEditor(script))).toThrow("unchanged");
      expect(readFileSync(join(dir, "consent.json"), "utf8")).toBe(before);
    });
  }
  test("edit with a failing editor changes nothing", () => {
    run({ action: "show", json: false });
    const before = readFileSync(join(dir, "consent.json"), "utf8");
    expect(() => run({ action: "edit" }, "false")).toThrow("exited with code 1");
    expect(readFileSync(join(dir, "consent.json"), "utf8")).toBe(before);
  });
});
