import { describe, expect, test } from "bun:test";
import { ConfigError, configFromEnv, resolveConfig } from "../config/schema.ts";
import { parseCommand } from "../cli/args.ts";
import { parseLayerRange } from "./layer-range.ts";

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

describe("aria serve --pipeline", () => {
  test("parseCommand() passes --pipeline through as a serve flag", () => {
    expect(parseCommand(["serve", "--pipeline", "--peers", "ws://127.0.0.1:9"])).toEqual({
      verb: "serve",
      flags: { pipeline: "true", peers: "ws://127.0.0.1:9" },
    });
    expect(parseCommand(["serve"])).toEqual({ verb: "serve", flags: {} });
  });

  test("resolveConfig() reads ARIA_PIPELINE and refuses --pipeline without peers or with --layers", () => {
    const peers = { peers: "ws://127.0.0.1:9" };
    const fromEnv = resolveConfig([peers, configFromEnv({ ARIA_PIPELINE: "1" })], "/tmp/aria");
    expect(fromEnv.pipeline).toBe(true);
    expect(resolveConfig([{ ...peers, pipeline: "false" }], "/tmp/aria").pipeline).toBe(false);
    expect(() => resolveConfig([{ pipeline: "true" }], "/tmp/aria")).toThrow(
      "Missing --peers: --pipeline finds its stages on the peer network",
    );
    expect(() => resolveConfig([{ ...peers, pipeline: "true", layers: "0-3" }], "/tmp/aria"))
      .toThrow("Cannot use --pipeline with --layers");
    expect(() => resolveConfig([{ ...peers, pipeline: "yes" }], "/tmp/aria")).toThrow(
      'Invalid configuration "pipeline"',
    );
  });
});
