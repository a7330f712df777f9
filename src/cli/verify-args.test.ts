import { describe, expect, test } from "bun:test";
import { parseVerifyCommand } from "./verify-args.ts";
import { parseCommand } from "./args.ts";

describe("parseVerifyCommand()", () => {
  test("parseVerifyCommand() reads the receipt, the prompt and the options", () => {
    expect(parseVerifyCommand(["--receipt", "r.json", "--prompt", "p.json"])).toEqual({
      verb: "verify",
      receipt: "r.json",
      prompt: "p.json",
      json: false,
    });
    expect(
      parseCommand([
        "verify",
        "--receipt",
        "r",
        "--prompt",
        "p",
        "--model",
        "m.gguf",
        "--kernels",
        "ref",
        "-t",
        "2",
        "--json",
      ]),
    ).toEqual({
      verb: "verify",
      receipt: "r",
      prompt: "p",
      model: "m.gguf",
      kernels: "ref",
      threads: 2,
      json: true,
    });
    expect(parseVerifyCommand(["-h"])).toEqual({ verb: "help", topic: "verify" });
  });
  test("parseVerifyCommand() refuses a missing file, a bad --threads and strays", () => {
    expect(() => parseVerifyCommand(["--prompt", "p"])).toThrow(/Missing --receipt/);
    expect(() => parseVerifyCommand(["--receipt", "r"])).toThrow(/Missing --prompt/);
    expect(() => parseVerifyCommand(["--receipt", "r", "--prompt", "p", "-t", "0"]))
      .toThrow(/Invalid --threads/);
    expect(() => parseVerifyCommand(["--receipt", "r", "--prompt", "p", "extra"])).toThrow();
    expect(() => parseVerifyCommand(["--bogus"])).toThrow();
  });
});
