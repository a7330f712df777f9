import { describe, expect, test } from "bun:test";
import { AriaError } from "./errors.ts";

describe("AriaError", () => {
  test("AriaError carries its code, message, cause and subclass name", () => {
    class ConfigError extends AriaError {}
    const cause = new Error("inner");
    const err = new ConfigError("CONFIG_INVALID", 'Cannot load config: port is "abc"', { cause });
    expect({
      name: err.name,
      code: err.code,
      message: err.message,
      cause: err.cause,
      isError: err instanceof Error,
    })
      .toEqual({
        name: "ConfigError",
        code: "CONFIG_INVALID",
        message: 'Cannot load config: port is "abc"',
        cause,
        isError: true,
      });
  });
});
