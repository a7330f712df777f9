import { describe, expect, test } from "bun:test";
import { encodeFrame, parseFrame, PROTOCOL_VERSION_STRING } from "../protocol.ts";
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

  test("protocol 2.1 passes overlay kinds through parseFrame with their body unchecked", () => {
    expect(PROTOCOL_VERSION_STRING).toBe("2.3");
    const sender = { from: "ab".repeat(32), ts: 1, nonce: "0".repeat(32), sign: null };
    for (const kind of ["dht.find_node", "reach.check", "relay.data"] as const) {
      const f = parseFrame(
        encodeFrame({ kind, id: "x", to: "cd".repeat(32), body: { any: 1 } }, sender),
      );
      expect(f.ok && f.value.envelope.kind).toBe(kind);
    }
    const other = parseFrame(
      encodeFrame({ kind: "dhtx.y" as "dht.y", id: "x", to: "", body: {} }, sender),
    );
    expect(!other.ok && other.error.code).toBe("UNKNOWN_TYPE");
  });
});
