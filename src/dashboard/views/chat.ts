/**
 * @module The chat playground: a form (model, message, most tokens) whose submission
 * static/dashboard.js turns into a POST to /chat/stream, appending each token to the answer as
 * it arrives (as text: never parsed as HTML) and showing the provenance receipt when the
 * completion carries one. The answer may be asked as JSON: any object, or valid under a pasted
 * JSON Schema (a schema that cannot be used is reported in the status line). Without JavaScript the form has nowhere to stream to, so the page
 * says so. Pure.
 */
import { html } from "hono/html";
import type { Html } from "./layout.ts";

/** Most tokens the playground asks for by default. */
export const DEFAULT_CHAT_TOKENS = 64;

/**
 * The chat content.
 *
 * @param models the model ids the backend serves (the first is selected).
 * @param ready whether the backend is ready.
 * @returns the page body.
 */
export function chatPage(models: readonly string[], ready: boolean): Html {
  const options = models.map((m) => html`<option value="${m}">${m}</option>`);
  return html`
    ${ready ? "" : html`<p class="notice" role="status">The model is still loading.</p>`}
    <form id="chat-form" class="stack" data-chat-form>
      <label for="chat-model">Model</label>
      <select id="chat-model" name="model">${options}</select>
      <label for="chat-format">Answer as</label>
      <select id="chat-format" name="format">
        <option value="text">Text</option>
        <option value="json">JSON (any object)</option>
        <option value="schema">JSON matching the schema below</option>
      </select>
      <label for="chat-schema">JSON schema (for "JSON matching the schema below")</label>
      <textarea id="chat-schema" name="schema" rows="4" spellcheck="false"
        placeholder='{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}'></textarea>
      <label for="chat-message">Message</label>
      <textarea id="chat-message" name="message" rows="3" required></textarea>
      <label for="chat-max">Most tokens</label>
      <input id="chat-max" name="maxTokens" type="number" min="1" max="4096" value="${DEFAULT_CHAT_TOKENS}">
      <button type="submit">Send</button>
    </form>
    <noscript><p class="notice">The chat playground streams with JavaScript; use the API at /v1/chat/completions without it.</p></noscript>
    <section aria-labelledby="answer-h">
      <h2 id="answer-h">Answer</h2>
      <p id="chat-status" role="status" aria-live="polite"></p>
      <div id="chat-answer" class="answer" aria-live="polite"></div>
      <details id="chat-receipt-box" hidden>
        <summary>Provenance receipt</summary>
        <pre id="chat-receipt"></pre>
      </details>
    </section>
  `;
}
