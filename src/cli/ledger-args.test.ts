import { describe, expect, test } from "bun:test";
import { parseLedgerCommand } from "./ledger-args.ts";
import { AriaError } from "../shared/errors.ts";

function usageError(args: string[]): AriaError {
  try {
    parseLedgerCommand(args);
  } catch (err: unknown) {
    return err as AriaError;
  }
  throw new Error("expected a usage error");
}

describe("parseLedgerCommand()", () => {
  test("parseLedgerCommand() parses each action with its options", () => {
    expect(parseLedgerCommand(["verify", "--data-dir", "/d", "--json"])).toEqual({
      verb: "ledger",
      action: "verify",
      dataDir: "/d",
      json: true,
    });
    expect(parseLedgerCommand(["show", "--blocks", "3"])).toEqual({
      verb: "ledger",
      action: "show",
      blocks: 3,
      json: false,
    });
    expect(parseLedgerCommand(["export", "out.jsonl"])).toEqual({
      verb: "ledger",
      action: "export",
      file: "out.jsonl",
      json: false,
    });
    expect(parseLedgerCommand(["receipt", "a".repeat(64)])).toMatchObject({
      action: "receipt",
      recordHash: "a".repeat(64),
    });
    expect(parseLedgerCommand([])).toEqual({ verb: "help", topic: "ledger" });
    expect(parseLedgerCommand(["verify", "-h"])).toEqual({ verb: "help", topic: "ledger" });
  });
  test("parseLedgerCommand() throws a USAGE error for bad input", () => {
    for (
      const args of [
        ["nope"],
        ["import"],
        ["verify", "extra"],
        ["show", "--blocks", "-1"],
        ["receipt", "XYZ"],
        ["verify", "--bogus"],
      ]
    ) {
      const err = usageError(args);
      expect(err).toBeInstanceOf(AriaError);
      expect(err.code).toBe("USAGE");
    }
  });
});

describe("parseLedgerCommand() --peers", () => {
  test("show --peers asks for the peers' chains; other actions refuse nothing new", () => {
    expect(parseLedgerCommand(["show", "--peers"])).toEqual({
      verb: "ledger",
      action: "show",
      blocks: 10,
      peers: true,
      json: false,
    });
  });
});
