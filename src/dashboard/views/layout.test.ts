import { describe, expect, test } from "bun:test";
import { html } from "hono/html";
import { bytes, layout, num, unavailable, utc } from "./layout.ts";

/** The markup without the indentation deno fmt gives html templates. */
const flat = (s: string) =>
  s.replace(/\s*\n\s*/g, " ").replace(/> </g, "><").replace(/ >/g, ">").trim();

describe("layout", () => {
  test("a page has the viewport meta, vendored assets, skip link and marks the current page", async () => {
    const out = flat(String(await layout("peers", "Peers <x>", html`<p>body</p>`)));
    expect(out).toStartWith("<!doctype html>");
    expect(out).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(out).toContain('<script src="/static/htmx.min.js" defer></script>');
    expect(out).toContain('<link rel="stylesheet" href="/static/app.css">');
    expect(out).toContain('<a class="skip" href="#main">');
    expect(out).toContain('<a href="/peers" aria-current="page">Peers</a>');
    expect(out).toContain('<a href="/chat">Chat</a>');
    expect(out).toContain("<h1>Peers &lt;x&gt;</h1>");
    expect(out).toContain("<p>body</p>");
    expect(out).not.toContain('id="key-form"');
  });

  test("the API key field appears only when the node needs one", async () => {
    expect(String(await layout("chat", "Chat", html``, true))).toContain('id="key-form"');
  });

  test("unavailable notice and formats", async () => {
    expect(String(await unavailable("The <ledger>"))).toBe(
      '<p class="notice" role="status">The &lt;ledger&gt; is not available on this node.</p>',
    );
    expect(num(null)).toBe("—");
    expect(num(NaN)).toBe("—");
    expect(num(12.345, 1)).toBe("12.3");
    expect(utc(0)).toBe("1970-01-01 00:00:00 UTC");
    expect(utc(NaN)).toBe("—");
    expect(bytes(512)).toBe("512 B");
    expect(bytes(3 * 1024 * 1024 + 512 * 1024)).toBe("3.5 MiB");
  });
});
