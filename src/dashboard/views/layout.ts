/**
 * @module The page shell every dashboard page shares: doctype, viewport meta (phones), the
 * stylesheet and scripts from /static/, a skip link and the navigation (plain links: usable
 * with a keyboard and without JavaScript), plus small shared pieces (the "not available" notice,
 * number and time formats). Pure: renders strings through hono's `html`, which escapes every
 * interpolated string; nothing here calls `raw()`.
 */
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";

/** What a view returns: escaped HTML (possibly still resolving). */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The pages, in navigation order. */
export const PAGES = [
  { path: "/", name: "overview", label: "Overview" },
  { path: "/chat", name: "chat", label: "Chat" },
  { path: "/peers", name: "peers", label: "Peers" },
  { path: "/ledger", name: "ledger", label: "Ledger" },
  { path: "/energy", name: "energy", label: "Energy" },
  { path: "/consent", name: "consent", label: "Consent" },
  { path: "/models", name: "models", label: "Models" },
] as const;

/** A page's name. */
export type PageName = (typeof PAGES)[number]["name"];

// Why these htmx settings: the page's Content-Security-Policy forbids inline styles and eval, so
// htmx must not inject its indicator <style> nor evaluate hx-on / js: attributes (none are used).
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
});

/**
 * A whole page.
 *
 * @param active the current page (marked with aria-current).
 * @param title the page title (also the <h1>).
 * @param body the page content.
 * @param needsKey whether the node requires an API key for actions (shows a key field, kept in
 *   the tab's sessionStorage by static/dashboard.js and sent as a Bearer header).
 * @returns the document.
 */
export function layout(active: PageName, title: string, body: Html, needsKey = false): Html {
  const nav = PAGES.map((p) =>
    html`<li><a href="${p.path}"${
      p.name === active
        ? html`
          aria-current="page"
        `
        : ""
    }>${p.label}</a></li>`
  );
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="htmx-config" content="${HTMX_CONFIG}">
        <title>${title} · ARIA</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="/static/app.css">
        <script src="/static/htmx.min.js" defer></script>
        <script src="/static/dashboard.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header><span class="brand">ARIA</span><nav aria-label="Pages"><ul>${nav}</ul></nav>${needsKey
          ? keyForm()
          : ""}</header>
        <main id="main" tabindex="-1">
    <h1>${title}</h1>
    ${body}
        </main>
      </body>
    </html>
  `;
}

function keyForm(): Html {
  return html`
    <details class="key">
      <summary>API key</summary>
      <form id="key-form">
        <label for="api-key">API key (this node requires one for chat and changes)</label>
        <input id="api-key" name="apiKey" type="password" autocomplete="off">
        <button type="submit">Use key</button>
      </form>
    </details>
  `;
}

/**
 * The notice shown instead of a page whose port is absent (never fake data).
 *
 * @param feature what is missing, e.g. "The peer network".
 * @returns a paragraph.
 */
export function unavailable(feature: string): Html {
  return html`<p class="notice" role="status">${feature} is not available on this node.</p>`;
}

/**
 * A number for display, or an em dash for "not measured".
 *
 * @param n the number, or null.
 * @param digits fraction digits.
 * @returns the text.
 */
export function num(n: number | null, digits = 0): string {
  if (n === null || !Number.isFinite(n)) return "—";
  return n.toFixed(digits);
}

/**
 * A UTC time for display.
 *
 * @param ms Unix milliseconds.
 * @returns "YYYY-MM-DD HH:MM:SS UTC", or "—" for an invalid time.
 */
export function utc(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "—";
  return `${d.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A byte count for display (binary units).
 *
 * @param bytes the count.
 * @returns e.g. "3.4 MiB".
 */
export function bytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
