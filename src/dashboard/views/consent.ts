/**
 * @module The consent page: the current policy (JSON) and a form to replace it. The update's
 * answer (saved, or the reason it was refused) is swapped into a status region; a refused
 * policy leaves the form as the user typed it, so nothing is lost. Pure.
 */
import { html } from "hono/html";
import type { UpdateResult } from "../port.ts";
import type { Html } from "./layout.ts";

/**
 * What an update gave.
 *
 * @param r the result.
 * @returns a status paragraph.
 */
export function consentResult(r: UpdateResult): Html {
  return r.ok
    ? html`<p class="ok" role="status">Policy saved.</p>`
    : html`<p class="bad" role="alert">Policy not saved: ${r.reason}</p>`;
}

/**
 * The consent content.
 *
 * @param policyJson the current policy.
 * @returns the page body.
 */
export function consentPage(policyJson: string): Html {
  return html`
    <h2>Current policy</h2>
    <pre id="policy-current" class="scroll">${policyJson}</pre>
    <h2>Edit</h2>
    <form class="stack" hx-post="/consent" hx-target="#consent-result" action="/consent" method="post">
      <label for="policy">Policy (JSON)</label>
      <textarea id="policy" name="policy" rows="12" required spellcheck="false">${policyJson}</textarea>
      <button type="submit">Save policy</button>
    </form>
    <div id="consent-result"></div>
  `;
}
