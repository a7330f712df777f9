import { describe, expect, test } from "bun:test";
import { hostAllowed, LOOPBACK_NAMES, parseHost } from "./host.ts";

const names = new Set([...LOOPBACK_NAMES, "node.lan", "gateway.example:8443"]);

describe("hostAllowed", () => {
  test("loopback and configured names pass, at any port unless one is given", () => {
    for (
      const h of ["localhost:3000", "127.0.0.1", "[::1]:80", "NODE.lan:1", "gateway.example:8443"]
    ) {
      expect(hostAllowed(h, names)).toBe(true);
    }
  });
  test("a rebinding name, a wrong port, garbage and a missing Host are refused", () => {
    for (
      const h of [
        "evil.example:3000",
        "gateway.example:9999",
        "127.0.0.1.evil",
        "a b",
        "",
        undefined,
      ]
    ) {
      expect(hostAllowed(h, names)).toBe(false);
    }
  });
  test("parseHost splits IPv6 and ports", () => {
    expect(parseHost("[::1]:3000")).toEqual({ name: "[::1]", port: "3000" });
    expect(parseHost("x:y")).toBeNull();
  });
});
