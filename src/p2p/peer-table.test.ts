import { describe, expect, test } from "bun:test";
import { applyPeerEvent, initialPeerState, type PeerEvent } from "./peer-state.ts";
import { formatPeerTable, peerTable } from "./peer-table.ts";

describe("peerTable", () => {
  const P = "p".repeat(64);
  const events: PeerEvent[] = [
    {
      type: "connected",
      id: P,
      url: "ws://p:1",
      dialedUrl: null,
      direction: "in",
      now: 100,
    } as const,
    {
      type: "advert",
      id: P,
      now: 100,
      advert: {
        models: [{
          id: "m<b>\u001b[2J",
          sha256: "",
          layers: [0, 3] as [number, number],
          nLayers: 8,
        }],
        slots: 2,
        freeSlots: 1,
        tokensPerSecond: 9,
        consent: {},
        listen: null,
      },
    } as const,
  ];
  const s = events.reduce(applyPeerEvent, initialPeerState("s".repeat(64), "ws://s:1"));

  test("rows", () => {
    const t = peerTable(s, 350);
    expect(t.peers[0]).toMatchObject({
      id: P,
      lastSeenMsAgo: 250,
      slots: 2,
      freeSlots: 1,
      models: [{ id: "m<b>\u001b[2J", sha256: "", layers: [0, 3] }],
    });
  });

  test("text output keeps peer strings as plain data (control characters replaced)", () => {
    const lines = formatPeerTable(peerTable(s, 350));
    expect(lines[2]).toContain("m<b>?[2J[0-3]");
    expect(lines.join("\n")).not.toContain("\u001b");
  });

  test("formatPeerTable shows audit reputation and convicted nodes (issue 20)", () => {
    const C = "c".repeat(64);
    const lines = formatPeerTable({
      ...peerTable(s, 350),
      reputation: {
        [P]: { answers: 7, passed: 3, failed: 0, skipped: 0, convicted: null },
        [C]: { answers: 2, passed: 0, failed: 1, skipped: 0, convicted: "f".repeat(64) },
      },
    });
    expect(lines[2]).toContain("audits 3/7 passed");
    expect(lines[3]).toBe(`${"c".repeat(16)}  CONVICTED by fraud proof ${"f".repeat(64)}`);
  });
});
