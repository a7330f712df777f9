import { describe, expect, test } from "bun:test";
import { parseConsent } from "./consent-args.ts";
import { parseCommand, USAGE, UsageError } from "./args.ts";

describe("parseConsent", () => {
  const ok: [string[], unknown][] = [
    [["show"], { verb: "consent", action: "show", json: false }],
    [["show", "--json"], { verb: "consent", action: "show", json: true }],
    [["set", "max-threads", "2"], {
      verb: "consent",
      action: "set",
      key: "max-threads",
      value: "2",
    }],
    [["set", "window", "mon-fri 22:00-06:00", "--data-dir", "/d"], {
      verb: "consent",
      dataDir: "/d",
      action: "set",
      key: "window",
      value: "mon-fri 22:00-06:00",
    }],
    [["edit"], { verb: "consent", action: "edit" }],
    [["--help"], { verb: "help", topic: "consent" }],
  ];
  for (const [argv, expected] of ok) {
    test(argv.join(" "), () => expect(parseConsent(argv)).toEqual(expected as never));
  }
  const bad: [string[], string][] = [
    [[], "Missing action"],
    [["drop"], 'Unknown action "drop"'],
    [["set", "quota"], "needs KEY VALUE"],
    [["set", "window", "mon", "22:00-06:00"], "quote values with spaces"],
    [["show", "extra"], 'Unexpected argument "extra"'],
    [["edit", "--json"], "--json goes with consent show"],
    [["show", "--colour"], "colour"],
  ];
  for (const [argv, reason] of bad) {
    test(`refused: ${argv.join(" ")}`, () => {
      expect(() => parseConsent(argv)).toThrow(reason);
      expect(() => parseCommand(["consent", ...argv])).toThrow(UsageError);
    });
  }
  test("aria help consent has a usage text", () => {
    expect(USAGE["consent"]).toContain("aria consent show");
    expect(USAGE["main"]).toContain("consent");
  });
});
