import { describe, expect, test } from "bun:test";
import { consentPage, consentResult } from "./consent.ts";

describe("consent view", () => {
  test("shows the policy, escaped, and an edit form prefilled with it", async () => {
    const policy = '{\n  "note": "</textarea><script>x</script>"\n}';
    const out = String(await consentPage(policy));
    expect(out).not.toContain("<script>");
    expect(out).toContain("&lt;/textarea&gt;&lt;script&gt;x&lt;/script&gt;");
    expect(out).toContain('<label for="policy">Policy (JSON)</label>');
    expect(out).toContain('hx-post="/consent" hx-target="#consent-result"');
  });

  test("results", async () => {
    expect(String(await consentResult({ ok: true }))).toContain("Policy saved.");
    expect(String(await consentResult({ ok: false, reason: "field <x> missing" }))).toContain(
      "Policy not saved: field &lt;x&gt; missing",
    );
  });
});
