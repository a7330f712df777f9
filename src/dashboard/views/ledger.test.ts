import { describe, expect, test } from "bun:test";
import { ledgerLive, ledgerPage, verifyResult } from "./ledger.ts";

/** The markup without the indentation deno fmt gives html templates. */
const flat = (s: string) =>
  s.replace(/\s*\n\s*/g, " ").replace(/> </g, "><").replace(/ >/g, ">").trim();

describe("ledger view", () => {
  test("blocks and records tables, escaped, with the verify form", async () => {
    const out = flat(String(
      await ledgerPage(
        [{ height: 3, hash: "h3", prevHash: "h2", timeMs: 0, records: 2 }],
        [{ hash: "r1", kind: "completion", timeMs: 1000, summary: "<b>aria-nano</b> 12 tokens" }],
      ),
    ));
    expect(out).toContain('<td>3</td><td class="mono">h3</td><td class="mono">h2</td>');
    expect(out).toContain("1970-01-01 00:00:01 UTC");
    expect(out).toContain("&lt;b&gt;aria-nano&lt;/b&gt; 12 tokens");
    expect(out).not.toContain("<b>");
    expect(out).toContain('hx-post="/ledger/verify" hx-target="#verify-result"');
    expect(out).toContain('<label for="receipt">');
    expect(out).toContain('hx-get="/ledger" hx-trigger="every 5s"');
  });

  test("empty ledger and verify results", async () => {
    const empty = String(await ledgerLive([], []));
    expect(empty).toContain("No blocks yet.");
    expect(empty).toContain("No records yet.");
    expect(String(await verifyResult({ ok: true, detail: "Block 3." }))).toContain(
      "Valid receipt. Block 3.",
    );
    expect(String(await verifyResult({ ok: false, reason: "bad <sig>" }))).toBe(
      '<p class="bad" role="alert">Not valid: bad &lt;sig&gt;</p>',
    );
  });

  test("peers' chains: verified, or rejected with the reason (escaped); absent when not kept", async () => {
    const chains = [
      {
        peer: "p1",
        height: 4,
        headHash: "hh",
        totalTokens: 99,
        rejectedReason: null,
        bodiesHeight: 4,
        updatedMs: 0,
      },
      {
        peer: "p2",
        height: 2,
        headHash: "h2",
        totalTokens: 5,
        rejectedReason: "block 3 <rewritten>",
        bodiesHeight: 0,
        updatedMs: 0,
      },
    ];
    const out = flat(String(await ledgerLive([], [], chains)));
    expect(out).toContain("<h2>Peers' chains</h2>");
    expect(out).toContain('<td class="mono">p1</td><td>4</td><td class="mono">hh</td><td>99</td>');
    expect(out).toContain('<span class="ok">verified</span>');
    expect(out).toContain('<span class="bad">rejected: block 3 &lt;rewritten&gt;</span>');
    expect(String(await ledgerLive([], [], []))).toContain("No peer has sent its chain yet.");
    expect(String(await ledgerLive([], []))).not.toContain("Peers' chains");
  });
});
