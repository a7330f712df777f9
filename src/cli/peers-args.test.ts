import { describe, expect, test } from "bun:test";
import { parseP2pCommand } from "./peers-args.ts";

const err = (m: string) => new RangeError(m);

describe("parseP2pCommand", () => {
  test("peers", () => {
    expect(parseP2pCommand("peers", [], err)).toEqual({
      verb: "peers",
      url: "http://127.0.0.1:3000",
      json: false,
    });
    expect(parseP2pCommand("peers", ["--url", "http://h:9/", "--json", "--api-key", "k"], err))
      .toEqual({ verb: "peers", url: "http://h:9", json: true, apiKey: "k" });
    expect(parseP2pCommand("peers", ["--help"], err)).toEqual({ verb: "help", topic: "peers" });
  });
  test("keys show", () => {
    expect(parseP2pCommand("keys", ["show", "--data-dir", "/d"], err)).toEqual({
      verb: "keys",
      action: "show",
      json: false,
      dataDir: "/d",
    });
  });
  const bad: [string, "peers" | "keys", string[]][] = [
    ["unknown option", "peers", ["--nope"]],
    ["bad url", "peers", ["--url", "ftp://x"]],
    ["stray argument", "peers", ["x"]],
    ["no action", "keys", []],
    ["unknown action", "keys", ["rotate"]],
  ];
  for (const [name, verb, args] of bad) {
    test(`refused: ${name}`, () => {
      expect(() => parseP2pCommand(verb, args, err)).toThrow(RangeError);
    });
  }
});
