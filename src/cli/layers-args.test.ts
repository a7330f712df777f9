import { describe, expect, test } from "bun:test";
import { ConfigError, configFromEnv, resolveConfig } from "../config/schema.ts";
import { parseCommand } from "./args.ts";
import { parseLayerRange } from "./layers-args.ts";

describe("parseLayerRange()", () => {
  test("parseLayerRange() reads half-open ranges and A-end", () => {
    expect(parseLayerRange("0-3")).toEqual({ begin: 0, end: 3 });
    expect(parseLayerRange(" 15-30 ")).toEqual({ begin: 15, end: 30 });
    expect(parseLayerRange("3-end")).toEqual({ begin: 3, end: -1 });
  });

  test("parseLayerRange() refuses malformed, empty and huge ranges with a ConfigError", () => {
    for (
      const bad of ["", "3", "3-", "-3", "a-b", "3-3", "4-2", "1.5-3", "0-99999", "0-3-6", "0:3"]
    ) {
      expect(() => parseLayerRange(bad)).toThrow(ConfigError);
    }
    expect(() => parseLayerRange("4-2")).toThrow("the range is empty");
    expect(() => parseLayerRange("0:3")).toThrow('expected "A-B"');
  });
});

describe("aria serve --layers", () => {
  test("parseCommand() passes --layers through as a serve flag", () => {
    expect(parseCommand(["serve", "--layers", "3-end"])).toEqual({
      verb: "serve",
      flags: { layers: "3-end" },
    });
  });

  test("resolveConfig() takes layers from ARIA_LAYERS and refuses a malformed value", () => {
    const fromEnv = resolveConfig([{}, configFromEnv({ ARIA_LAYERS: "0-3" })], "/tmp/aria");
    expect(fromEnv.layers).toBe("0-3");
    expect(() => resolveConfig([{ layers: "0:3" }], "/tmp/aria")).toThrow(
      'Invalid configuration "layers"',
    );
  });
});
