/**
 * @module The dashboard's same-origin token (CSRF, issue 19 hole 4): every state-changing request
 * (anything but GET/HEAD) must carry the node's token, as the `x-aria-csrf` header (htmx and
 * static/dashboard.js send it) or as the `_csrf` field of a form (plain forms without JavaScript).
 * A page on another site cannot read the token (same-origin policy; the API sends no CORS headers
 * by default), so it cannot forge such a request. The token reaches the pages in one place: this
 * middleware adds `<meta name="aria-csrf">` to every HTML response's head and a hidden `_csrf`
 * field to every POST form, so the views stay free of it. Private to src/dashboard/. Pure given
 * the hono context.
 */
import type { MiddlewareHandler } from "hono";
import { constantTimeEqual } from "../api/index.ts";

/** The header htmx and the dashboard script send the token in. */
export const CSRF_HEADER = "x-aria-csrf";
/** The form field plain forms send it in. */
export const CSRF_FIELD = "_csrf";

/**
 * Puts the token into a page: a meta tag after `<head>` and a hidden field in each POST form.
 *
 * @param page HTML rendered by the views (attribute values escaped, so `>` never occurs inside a
 *   tag and the patterns below see whole tags).
 * @param token the token (hex: nothing to escape).
 * @returns the page with the token.
 */
export function withToken(page: string, token: string): string {
  return page
    .replace(/<head>/i, `<head>\n<meta name="aria-csrf" content="${token}">`)
    .replace(
      /(<form\b[^>]*\bmethod="post"[^>]*>)/gi,
      `$1<input type="hidden" name="${CSRF_FIELD}" value="${token}">`,
    );
}

/**
 * The middleware: checks the token on state-changing requests and adds it to HTML responses.
 *
 * @param token the node's token (random per process, from the shell).
 * @returns the middleware.
 */
export function csrfGuard(token: string): MiddlewareHandler {
  const expected = new TextEncoder().encode(token);
  const ok = (v: string | undefined) =>
    v !== undefined && constantTimeEqual(new TextEncoder().encode(v), expected);
  return async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      let sent = c.req.header(CSRF_HEADER);
      if (sent === undefined && /form/i.test(c.req.header("content-type") ?? "")) {
        // parseBody caches the body: the route reads the same fields afterwards
        const body = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
        const v = body[CSRF_FIELD];
        sent = typeof v === "string" ? v : undefined;
      }
      // handled: refused with a reason before any route runs; nothing changed
      if (!ok(sent)) {
        return c.text("This request lacks the dashboard's token: reload the page and retry.", 403);
      }
    }
    await next();
    if (!(c.res.headers.get("content-type") ?? "").startsWith("text/html")) return;
    const res = c.res;
    c.res = undefined as unknown as Response; // hono: clear before replacing a finalized response
    c.res = new Response(withToken(await res.text(), token), res);
  };
}
