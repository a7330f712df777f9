import { describe, expect, test } from "bun:test";
import { ConfigError, configFromEnv, resolveConfig } from "./schema.ts";

describe("resolveConfig", () => {
  test("defaults", () => {
    expect(resolveConfig([], "/d")).toEqual({
      port: 3000,
      host: "127.0.0.1",
      parallel: 4,
      queue: 64,
      backend: "native",
      dataDir: "/d",
      outputHead: "int8",
      kvType: "f32",
      i2sLayout: "x86",
      repack: true,
      kernels: "auto",
      auditRate: 0.05,
    });
  });

  test("i2sLayout accepts x86 and arm (ARIA_I2S_LAYOUT) and refuses anything else", () => {
    expect(resolveConfig([configFromEnv({ ARIA_I2S_LAYOUT: "arm" })], "/d").i2sLayout).toBe("arm");
    expect(() => resolveConfig([{ i2sLayout: "mips" }], "/d")).toThrow(ConfigError);
  });
  test("flags > env > file > defaults", () => {
    const c = resolveConfig(
      [{ port: "1" }, configFromEnv({ ARIA_PORT: "2", ARIA_PARALLEL: "3", X: "y" }), {
        port: 4,
        parallel: 5,
        queue: 6,
      }],
      "/d",
    );
    expect([c.port, c.parallel, c.queue]).toEqual([1, 3, 6]);
  });
  test("ARIA_OUTPUT_HEAD picks the head; anything but float / int8 / int4 is refused", () => {
    expect(resolveConfig([configFromEnv({ ARIA_OUTPUT_HEAD: "float" })], "/d").outputHead).toBe(
      "float",
    );
    expect(resolveConfig([configFromEnv({ ARIA_OUTPUT_HEAD: "int4" })], "/d").outputHead).toBe(
      "int4",
    );
    expect(resolveConfig([{ outputHead: "int4" }, { outputHead: "float" }], "/d").outputHead)
      .toBe("int4");
    expect(() => resolveConfig([{ outputHead: "int2" }], "/d")).toThrow(ConfigError);
    expect(() => resolveConfig([configFromEnv({ ARIA_OUTPUT_HEAD: "q4" })], "/d")).toThrow(
      /Invalid configuration "outputHead": .*"float"\|"int8"\|"int4"/,
    );
  });
  test("ARIA_KV_TYPE / --kv-type pick the KV cache type; anything but f32 / f16 is refused", () => {
    expect(resolveConfig([configFromEnv({ ARIA_KV_TYPE: "f16" })], "/d").kvType).toBe("f16");
    expect(resolveConfig([{ kvType: "f32" }, configFromEnv({ ARIA_KV_TYPE: "f16" })], "/d").kvType)
      .toBe("f32");
    expect(() => resolveConfig([{ kvType: "q8_0" }], "/d")).toThrow(ConfigError);
  });
  test("repack is on by default; --no-repack, ARIA_REPACK or config.json turn it off", () => {
    expect(resolveConfig([{ repack: "false" }, configFromEnv({ ARIA_REPACK: "1" })], "/d").repack)
      .toBe(false);
    expect(resolveConfig([configFromEnv({ ARIA_REPACK: "0" })], "/d").repack).toBe(false);
    expect(resolveConfig([configFromEnv({ ARIA_REPACK: "true" })], "/d").repack).toBe(true);
    expect(resolveConfig([{}, {}, { repack: false }], "/d").repack).toBe(false);
    expect(() => resolveConfig([configFromEnv({ ARIA_REPACK: "no" })], "/d")).toThrow(ConfigError);
  });
  test("errors name the field", () => {
    expect(() => resolveConfig([{ port: "x" }], "/d")).toThrow(ConfigError);
    expect(() => resolveConfig([{ nope: 1 }], "/d")).toThrow(/Invalid configuration/);
    expect(() => resolveConfig([{ backend: "external" }], "/d")).toThrow(/--upstream/);
    expect(() => resolveConfig([{ peers: "http://x:1" }], "/d")).toThrow(/ws:\/\//);
    expect(() => resolveConfig([{ p2pCert: "c.pem" }], "/d")).toThrow(/--p2p-key/);
  });
  test("peer settings", () => {
    const c = resolveConfig([configFromEnv({ ARIA_PEERS: "ws://a:1, wss://b:2" })], "/d");
    expect(c.peers).toBe("ws://a:1, wss://b:2");
    expect(c.p2pPort).toBeUndefined();
  });
});

describe("energy settings", () => {
  test("tdpWatts from ARIA_TDP_WATTS; a baseline needs its source", () => {
    const env = configFromEnv({ ARIA_TDP_WATTS: "65" });
    expect(resolveConfig([env], "/d").tdpWatts).toBe(65);
    expect(() => resolveConfig([{ tdpWatts: "0" }], "/d")).toThrow(ConfigError);
    const baseline = { name: "b", ujPerToken: 5, source: "s" };
    expect(resolveConfig([{ energyBaseline: baseline }], "/d").energyBaseline).toEqual(baseline);
    expect(() => resolveConfig([{ energyBaseline: { name: "b", ujPerToken: 5 } }], "/d"))
      .toThrow('"energyBaseline.source"');
  });
});
