/**
 * @module The models page: the installed models (each with a Delete button), a form to pull a
 * model by name, and one progress row per pull. A running pull's row asks the server for itself
 * again every 500 ms (htmx polling); a finished or failed row stops polling. Pure.
 */
import { html } from "hono/html";
import type { InstalledModel, KnownModel } from "../port.ts";
import { bytes, type Html } from "./layout.ts";

/** A pull as the dashboard tracks it. */
export interface PullJob {
  id: string;
  name: string;
  receivedBytes: number;
  totalBytes: number | null;
  state: "running" | "done" | "failed";
  /** Why it failed (shown to the user). */
  error?: string;
}

/**
 * Whole percent done, clamped to 0..100; null while the size is unknown.
 *
 * @param received bytes so far.
 * @param total the size, if known.
 * @returns the percentage.
 */
export function percent(received: number, total: number | null): number | null {
  if (total === null || !(total > 0)) return null;
  return Math.max(0, Math.min(100, Math.floor((received * 100) / total)));
}

/**
 * One pull's progress row.
 *
 * @param job the pull.
 * @returns an <li>; it polls itself while the pull runs.
 */
export function pullRow(job: PullJob): Html {
  const pct = job.state === "done" ? 100 : percent(job.receivedBytes, job.totalBytes);
  const size = job.totalBytes === null
    ? bytes(job.receivedBytes)
    : `${bytes(job.receivedBytes)} of ${bytes(job.totalBytes)}`;
  const label = `Pull of ${job.name}`;
  const bar = pct === null
    ? html`<progress aria-label="${label}"></progress>`
    : html`<progress aria-label="${label}" max="100" value="${pct}"></progress>`;
  const text = job.state === "failed"
    ? html`<span class="bad" role="alert">failed: ${job.error ?? "unknown error"}</span>`
    : html`<span data-field="pull-percent">${
      pct === null ? "…" : `${pct}%`
    }</span> <span>${size}</span>${
      job.state === "done"
        ? html`
          <span class="ok">installed</span>
        `
        : ""
    }`;
  const poll = job.state === "running"
    ? html`
      hx-get="/models/pulls/${encodeURIComponent(
        job.id,
      )}" hx-trigger="every 500ms" hx-swap="outerHTML"
    `
    : "";
  // The button keeps its id across the row's swaps, so htmx gives its focus back after each poll.
  const cancelUrl = `/models/pulls/${encodeURIComponent(job.id)}/cancel`;
  const cancel = job.state === "running"
    ? html`
      <form hx-post="${cancelUrl}" hx-target="#pull-${job
        .id}" hx-swap="outerHTML" action="${cancelUrl}"
        method="post"><button id="cancel-${job
          .id}" type="submit" aria-label="Cancel the pull of ${job.name}">Cancel</button></form>
    `
    : "";
  return html`
    <li class="pull" id="pull-${job.id}" data-state="${job.state}"
      ${poll}><span class="mono">${job.name}</span> ${bar} ${text}${cancel}</li>
  `;
}

/**
 * The installed list (refreshed after a pull or delete finishes).
 *
 * @param models the installed models.
 * @returns the fragment.
 */
export function installedList(models: readonly InstalledModel[]): Html {
  if (models.length === 0) return html`<p>No models installed.</p>`;
  const rows = models.map((m) =>
    html`
      <tr>
        <td class="mono">${m.name}</td>
        <td>${bytes(m.sizeBytes)}</td>
        <td>${m.source ?? ""}</td>
        <td>
          <form hx-post="/models/delete" hx-target="#installed" action="/models/delete"
            method="post"><input type="hidden" name="name" value="${m
              .name}"><button type="submit" aria-label="Delete ${m.name}">Delete</button></form>
        </td>
      </tr>
    `
  );
  return html`
    <div class="scroll">
      <table>
        <caption>${models.length} installed model(s)</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Size</th>
            <th scope="col">Source</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
  `;
}

/**
 * The known models (the registry): a table, and the names as suggestions for the pull field.
 *
 * @param known the models.
 * @returns the fragment ("" when there are none).
 */
export function knownList(known: readonly KnownModel[]): Html | "" {
  if (known.length === 0) return "";
  const rows = known.map((m) =>
    html`
      <tr>
        <td class="mono">${m.name}</td>
        <td>${m.size}</td>
        <td data-field="known-status">${m.status}</td>
        <td>${m.description}</td>
      </tr>
    `
  );
  const options = known.map((m) => html`<option value="${m.name}"></option>`);
  return html`
    <div class="scroll">
      <table>
        <caption>${known.length} known model(s)</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Size</th>
            <th scope="col">Status</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
    <datalist id="known-models">${options}</datalist>
  `;
}

/**
 * The models content.
 *
 * @param models the installed models.
 * @param jobs recent pulls, oldest first.
 * @param known the models the node knows of (the pull field suggests their names).
 * @returns the page body.
 */
export function modelsPage(
  models: readonly InstalledModel[],
  jobs: readonly PullJob[],
  known: readonly KnownModel[] = [],
): Html {
  return html`
    <section aria-labelledby="installed-h">
      <h2 id="installed-h">Installed</h2>
      <div id="installed" hx-get="/models/installed"
        hx-trigger="models-changed from:body">${installedList(models)}</div>
    </section>
    <section aria-labelledby="pull-h">
      <h2 id="pull-h">Pull a model</h2>
      <form class="stack" hx-post="/models/pull" hx-target="#pulls" hx-swap="beforeend"
        action="/models/pull" method="post">
        <label for="pull-name">Model name</label>
        <input id="pull-name" name="name" required autocomplete="off" ${known.length > 0
          ? html`
            list="known-models"
          `
          : ""}>
        <button type="submit">Pull</button>
      </form>
      <ul id="pulls" class="pulls" aria-live="polite">${jobs.map(pullRow)}</ul>
    </section>
    ${known.length > 0
      ? html`<section aria-labelledby="known-h">
      <h2 id="known-h">Known models</h2>
      ${knownList(known)}
    </section>`
      : ""}
  `;
}
