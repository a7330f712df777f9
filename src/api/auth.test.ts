import { describe, expect, test } from "bun:test";
import { constantTimeEqual } from "./auth.ts";

const b = (s: string) => new TextEncoder().encode(s);

describe("constantTimeEqual", () => {
  test("equal, different content, different lengths, empty", () => {
    expect(constantTimeEqual(b("secret"), b("secret"))).toBe(true);
    expect(constantTimeEqual(b("secreT"), b("secret"))).toBe(false);
    expect(constantTimeEqual(b("Secret"), b("secret"))).toBe(false);
    expect(constantTimeEqual(b("secre"), b("secret"))).toBe(false);
    expect(constantTimeEqual(b("secrets"), b("secret"))).toBe(false);
    expect(constantTimeEqual(b(""), b("secret"))).toBe(false);
    expect(constantTimeEqual(b(""), b(""))).toBe(true);
  });
  test("a prefix padded with zero bytes is not equal", () => {
    expect(constantTimeEqual(new Uint8Array([1, 0]), new Uint8Array([1]))).toBe(false);
    expect(constantTimeEqual(new Uint8Array([1]), new Uint8Array([1, 0]))).toBe(false);
  });
});
