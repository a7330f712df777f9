import { describe, expect, test } from "bun:test";
import type { PeerRow } from "../port.ts";
import { auditText, peerPosition, peersLive, peersPage, shortId, topologySvg } from "./peers.ts";

const EVIL = '<script>alert("x")</script>';

const peers: PeerRow[] = [
  {
    id: "a".repeat(64),
    address: "10.0.0.2:8765",
    latencyMs: 12.4,
    models: ["aria-nano"],
    layers: [{ model: "aria-nano", start: 0, end: 4 }],
    alive: true,
    audits: { answers: 20, passed: 4, failed: 0 },
  },
  {
    id: EVIL,
    address: `<img src=x onerror=alert(1)>`,
    latencyMs: null,
    models: [`<b>m</b>`],
    layers: [{ model: "<i>x</i>", start: 4, end: 8 }],
    alive: false,
  },
];

describe("peers view", () => {
  test("every peer string renders as text, in the table and in the SVG", async () => {
    const out = String(await peersPage("self<script>", peers));
    expect(out).not.toContain("<script>");
    expect(out).not.toContain("<img");
    expect(out).not.toContain("<b>");
    expect(out).not.toContain("<i>");
    expect(out).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(out).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(out).toContain("&lt;i&gt;x&lt;/i&gt; 4–7"); // layer range shown inclusive
  });

  test("table: latency, models, alive; polling attributes on the page", async () => {
    const out = String(await peersPage("me", peers));
    expect(out).toContain('hx-get="/peers" hx-trigger="every 3s"');
    expect(out).toContain("<td>12 ms</td>");
    expect(out).toContain("<td>—</td>");
    expect(out).toContain("<td>aria-nano 0–3</td>");
    expect(out).toContain("<caption>2 peer(s)</caption>");
    expect(out).toMatch(/<td>yes<\/td>[\s\S]*<td>no<\/td>/);
    // issue 20: the audit reputation; a node that keeps no audits shows a dash
    expect(out).toContain('<th scope="col">Audits</th>');
    expect(out).toContain("<td>4 of 20 answers re-executed and matched</td>");
    expect(auditText({ answers: 3, passed: 1, failed: 1 })).toContain("1 FAILED");
    expect(auditText(undefined)).toBe("—");
  });

  test("topology: one group per peer, dead peers marked, this node in the middle", async () => {
    const svg = String(await topologySvg("me", peers));
    expect(svg.match(/<g class="peer /g)?.length).toBe(2);
    expect(svg).toContain('<g class="peer alive">');
    expect(svg).toContain('<g class="peer dead">');
    expect(svg).toContain('<circle cx="160" cy="160" r="18"/>');
    expect(svg).toContain(">aaaaaaaa…aaa</text>");
    expect(svg).toContain("linked to 2 peer(s)");
  });

  test("no peers: says so", async () => {
    expect(String(await peersLive("me", []))).toContain("No peers connected yet.");
  });

  test("positions: first peer on top, then clockwise", () => {
    expect(peerPosition(0, 4)).toEqual({ x: 160, y: 50 });
    expect(peerPosition(1, 4)).toEqual({ x: 270, y: 160 });
    expect(peerPosition(2, 4)).toEqual({ x: 160, y: 270 });
    expect(shortId("short")).toBe("short");
  });
});

describe("network block", () => {
  test("shows how the node is reached, models with providers (escaped), slots and latency", async () => {
    const out = String(
      await peersPage("me", [], {
        reachability: "unreachable",
        relayedBy: "ab".repeat(32),
        nodesKnown: 7,
        reachablePeers: 2,
        dialOutOnlyPeers: 1,
        models: [{ id: "m<b>", providers: 3 }],
        freeSlots: 4,
        slots: 8,
        latencyMs: { median: 12, max: 40 },
      }),
    );
    expect(out).toContain(`relayed by ${shortId("ab".repeat(32))}`);
    expect(out).toContain("7 node(s)");
    expect(out).toContain("m&lt;b&gt;");
    expect(out).toContain("3 provider(s)");
    expect(out).toContain("Free slots\n        4/8");
    expect(out).toContain("median 12 ms, max 40 ms");
    // without the overlay, the page is as before
    expect(String(await peersPage("me", []))).not.toContain('data-field="network"');
  });
});
