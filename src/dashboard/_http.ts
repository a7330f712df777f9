/**
 * @module What the dashboard's routes share: the security headers, the fragment-or-page choice
 * (`HX-Request`), sending a rendered view, reading a form field. Private to src/dashboard/.
 * Pure given the hono context.
 */
import type { Context } from "hono";
import { html } from "hono/html";
import { type Html, layout, type PageName } from "./views/layout.ts";

// Why this policy: every script and style is a same-origin file, so nothing inline is needed;
// a peer or user string that slipped past escaping still could not run.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * Whether htmx asked for a fragment (a history restore needs the whole page).
 *
 * @param c the hono context.
 * @returns true for a fragment.
 */
export function wantsFragment(c: Context): boolean {
  return c.req.header("hx-request") === "true" &&
    c.req.header("hx-history-restore-request") !== "true";
}

/**
 * Sends rendered HTML with the dashboard's headers (CSP, nosniff, no-store).
 *
 * @param c the hono context.
 * @param body the view.
 * @param status the status.
 * @returns the response.
 */
export async function send(
  c: Context,
  body: Html,
  status: 200 | 400 | 404 = 200,
): Promise<Response> {
  c.header("content-security-policy", CSP);
  c.header("x-content-type-options", "nosniff");
  c.header("cache-control", "no-store");
  return c.html(await body, status);
}

/**
 * Reads one text field of a form body.
 *
 * @param c the hono context.
 * @param name the field.
 * @returns its value; "" when absent or when the body is not a form (callers refuse "" or pass
 *   it to a port that answers with a reason).
 */
export async function formField(c: Context, name: string): Promise<string> {
  const body = await c.req.parseBody().catch(() => ({} as Record<string, unknown>));
  const v = body[name];
  return typeof v === "string" ? v : "";
}

/**
 * A thrown value as a message for the user.
 *
 * @param err what was thrown.
 * @returns its message.
 */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Renders pages with the node's settings (whether the API key field is shown). */
export interface Pages {
  /** A page: `live` (default: the whole body) for htmx, the whole document otherwise. */
  page(c: Context, name: PageName, title: string, full: Html, live?: Html): Promise<Response>;
  /** A form's result: the fragment for htmx; without JavaScript, inside a whole page. */
  result(c: Context, name: PageName, title: string, result: Html): Promise<Response>;
}

/**
 * The page renderers.
 *
 * @param needsKey whether pages show the API key field.
 * @returns the renderers.
 */
export function pages(needsKey: boolean): Pages {
  return {
    page: (c, name, title, full, live = full) =>
      send(c, wantsFragment(c) ? live : layout(name, title, full, needsKey)),
    result: (c, name, title, result) =>
      send(
        c,
        wantsFragment(c) ? result : layout(
          name,
          title,
          html`${result}<p><a href="/${name === "overview" ? "" : name}">Back</a></p>`,
          needsKey,
        ),
      ),
  };
}
