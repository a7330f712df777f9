import { describe, expect, test } from "bun:test";
import { MAX_RELAYED_FRAME_CHARS, parseRelayMessage } from "./wire.ts";

describe("reach and relay bodies", () => {
  test("valid bodies parse", () => {
    expect(parseRelayMessage("reach.check", { url: "ws://127.0.0.1:1", nonce: "0".repeat(32) }).ok)
      .toBe(true);
    expect(parseRelayMessage("relay.connect", { target: "ab".repeat(32), circuit: "c-1" }).ok).toBe(
      true,
    );
    expect(parseRelayMessage("relay.refused", { circuit: null, reason: "disabled" }).ok).toBe(true);
  });

  test("bad bodies are refused with the field named", () => {
    expect(parseRelayMessage("reach.check", { url: "http://x", nonce: "0".repeat(32) }))
      .toEqual({ ok: false, error: expect.stringContaining("url") });
    expect(
      parseRelayMessage("relay.data", {
        circuit: "c",
        frame: "x".repeat(MAX_RELAYED_FRAME_CHARS + 1),
      }).ok,
    )
      .toBe(false);
    expect(parseRelayMessage("relay.connect", { target: "ab", circuit: "c" }).ok).toBe(false);
    expect(parseRelayMessage("relay.data", { circuit: "bad circuit id", frame: "" }).ok).toBe(
      false,
    );
    expect(parseRelayMessage("relay.constructor", {}).ok).toBe(false);
  });
});
