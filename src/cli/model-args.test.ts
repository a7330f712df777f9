import { describe, expect, test } from "bun:test";
import { parseModelCommand } from "./model-args.ts";
import { expandAlias, parseCommand, USAGE } from "./args.ts";

describe("parseModelCommand", () => {
  test("each action with its arguments and options", () => {
    expect(parseModelCommand(["list", "--json"])).toEqual({
      verb: "model",
      action: "list",
      json: true,
    });
    expect(parseModelCommand(["pull", "aria-2b-1bit", "--no-verify"])).toEqual({
      verb: "model",
      action: "pull",
      name: "aria-2b-1bit",
      noVerify: true,
    });
    expect(parseModelCommand(["rm", "falcon3-1b"])).toEqual({
      verb: "model",
      action: "rm",
      name: "falcon3-1b",
    });
    expect(parseModelCommand(["info", "m.gguf"])).toMatchObject({ target: "m.gguf", json: false });
    expect(parseModelCommand(["convert", "dir", "o.gguf", "--type", "i2_s"])).toEqual({
      verb: "model",
      action: "convert",
      src: "dir",
      out: "o.gguf",
      type: "i2_s",
    });
    expect(parseModelCommand(["convert", "dir", "o.gguf"])).toMatchObject({ type: "tq2_0" });
  });

  test("help, and usage errors that say what is wrong", () => {
    expect(parseModelCommand([])).toBe("help");
    expect(parseModelCommand(["pull", "--help"])).toBe("help");
    expect(() => parseModelCommand(["pull"])).toThrow(/takes NAME; got 0/);
    expect(() => parseModelCommand(["convert", "dir"])).toThrow(/SRC_DIR OUT.gguf/);
    expect(() => parseModelCommand(["convert", "a", "b", "--type", "q4_0"])).toThrow(
      /Invalid --type "q4_0"/,
    );
    expect(() => parseModelCommand(["fetch", "x"])).toThrow(/Unknown command "aria model fetch"/);
    expect(() => parseModelCommand(["list", "--bogus"])).toThrow(/bogus/);
  });
});

describe("command line: aliases and help", () => {
  test("the earlier ARIA's names map to today's verbs", () => {
    expect(expandAlias(["node", "start", "--port", "1"])).toEqual(["serve", "--port", "1"]);
    expect(expandAlias(["api", "start"])).toEqual(["serve"]);
    expect(expandAlias(["infer", "--prompt", "x"])).toEqual(["run", "--prompt", "x"]);
    expect(expandAlias(["network", "peers"])).toEqual(["peers"]);
    expect(expandAlias(["node", "stop"])).toEqual(["node", "stop"]);
    expect(parseCommand(["node", "start", "--port", "8080"])).toEqual({
      verb: "serve",
      flags: { port: "8080" },
    });
    expect(parseCommand(["infer", "--prompt", "hi"])).toMatchObject({ verb: "run", prompt: "hi" });
  });

  test("every verb has help with an example; --help works for verbs parsed elsewhere", () => {
    const verbs = [
      "run",
      "serve",
      "bench",
      "perplexity",
      "tokenize",
      "model",
      "ledger",
      "peers",
      "consent",
      "keys",
      "version",
      "help",
    ];
    for (const v of verbs) {
      expect(USAGE[v]).toMatch(/^Usage: aria /);
      expect(USAGE[v]).toMatch(/Examples?:\n {2}aria /);
      expect(USAGE.main).toContain(`  ${v} `);
    }
    expect(USAGE.main).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 /);
    expect(parseCommand(["model", "pull", "--help"])).toEqual({ verb: "help", topic: "model" });
    expect(parseCommand(["ledger", "--help"])).toEqual({ verb: "help", topic: "ledger" });
    expect(parseCommand(["network", "peers", "-h"])).toEqual({ verb: "help", topic: "peers" });
  });
});
