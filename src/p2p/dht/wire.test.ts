import { describe, expect, test } from "bun:test";
import { K_MAX, parseDhtMessage } from "./wire.ts";

const c = (i: number) => ({ id: i.toString(16).padStart(64, "0"), url: `ws://h:${i}` });

describe("dht wire bodies", () => {
  test("valid bodies parse", () => {
    expect(parseDhtMessage("dht.find_node", { target: "ab".repeat(32) }).ok).toBe(true);
    expect(parseDhtMessage("dht.nodes", { closer: [c(1), c(2)] }).ok).toBe(true);
    expect(parseDhtMessage("dht.stored", { ok: false, reason: "full" }).ok).toBe(true);
  });

  test("bad bodies are refused with the field named", () => {
    const tooMany = parseDhtMessage("dht.nodes", {
      closer: Array.from({ length: K_MAX + 1 }, (_, i) => c(i)),
    });
    expect(tooMany).toEqual({ ok: false, error: expect.stringContaining("closer") });
    expect(parseDhtMessage("dht.nodes", { closer: [{ id: c(1).id, url: null }] }).ok).toBe(false);
    expect(parseDhtMessage("dht.find_node", { target: "AB".repeat(32) }).ok).toBe(false);
    expect(parseDhtMessage("dht.find_node", null).ok).toBe(false);
    expect(parseDhtMessage("dht.__proto__", {})).toEqual({
      ok: false,
      error: 'Unknown dht kind "dht.__proto__"',
    });
  });
});
