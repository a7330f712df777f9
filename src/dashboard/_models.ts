/**
 * @module The models page's routes: the installed list, delete, and pulls. A pull runs in the
 * background through the `ModelsView` port; its progress is kept in a bounded in-memory table
 * that the pull's row polls; a running pull can be cancelled (its port's signal is aborted).
 * Private to src/dashboard/. Pure given the port.
 */
import type { Hono } from "hono";
import { html } from "hono/html";
import { errorText, formField, type Pages, send, wantsFragment } from "./_http.ts";
import type { ModelsView, PullProgress } from "./port.ts";
import { type Html, unavailable } from "./views/layout.ts";
import { installedList, modelsPage, type PullJob, pullRow } from "./views/models.ts";

/** Pulls kept for display; the oldest finished ones are forgotten beyond this. */
export const MAX_PULL_JOBS = 20;

/**
 * Adds the models routes.
 *
 * @param app the dashboard app.
 * @param models the port, if this node has a model manager.
 * @param newId pull ids.
 * @param pages the page renderers.
 */
export function mountModels(
  app: Hono,
  models: ModelsView | undefined,
  newId: () => string,
  pages: Pages,
): void {
  const jobs = new Map<string, PullJob>();
  const aborts = new Map<string, AbortController>();
  const none = unavailable("The model manager");

  app.get("/models", async (c) => {
    if (!models) return pages.page(c, "models", "Models", none);
    const [installed, known] = await Promise.all([models.installed(), models.known?.() ?? []]);
    const body = modelsPage(installed, [...jobs.values()], known);
    return pages.page(c, "models", "Models", body);
  });
  app.get("/models/installed", async (c) => {
    if (!models) return send(c, none, 404);
    return send(c, installedList(await models.installed()));
  });
  app.post("/models/pull", async (c) => {
    if (!models) return send(c, none, 404);
    const name = (await formField(c, "name")).trim();
    // handled: an empty name is refused here; an unknown one fails in the port and shows its reason
    if (name === "") return send(c, html`<li role="alert">Give a model name to pull.</li>`, 400);
    const job: PullJob = {
      id: newId(),
      name,
      receivedBytes: 0,
      totalBytes: null,
      state: "running",
    };
    const abort = new AbortController();
    jobs.set(job.id, job);
    aborts.set(job.id, abort);
    forgetOldJobs(jobs);
    void runPull(job, models.pull(name, abort.signal), abort.signal)
      .finally(() => aborts.delete(job.id));
    return wantsFragment(c) ? send(c, pullRow(job)) : c.redirect("/models", 303);
  });
  app.get("/models/pulls/:id", (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) return send(c, html`<li role="alert">That pull is no longer tracked.</li>`, 404);
    if (job.state === "done") c.header("hx-trigger", "models-changed");
    return send(c, pullRow(job));
  });
  app.post("/models/pulls/:id/cancel", async (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) return send(c, html`<li role="alert">That pull is no longer tracked.</li>`, 404);
    // handled: cancelling a finished pull changes nothing; the row shows its final state
    aborts.get(job.id)?.abort(new Error("Cancelled."));
    if (job.state === "running") Object.assign(job, { state: "failed", error: "cancelled" });
    return wantsFragment(c) ? await send(c, pullRow(job)) : c.redirect("/models", 303);
  });
  app.post("/models/delete", async (c) => {
    if (!models) return send(c, none, 404);
    const name = await formField(c, "name");
    let problem: Html | "" = "";
    try {
      await models.delete(name);
    } catch (err: unknown) {
      // converted: the port's reason is shown above the (unchanged) list
      problem = html`<p class="bad" role="alert">Not deleted: ${errorText(err)}</p>`;
    }
    const list = html`${problem}${installedList(await models.installed())}`;
    return wantsFragment(c) ? send(c, list) : c.redirect("/models", 303);
  });
}

/** Follows a pull to its end; a failure is recorded on the job, never thrown. */
async function runPull(
  job: PullJob,
  progress: AsyncIterable<PullProgress>,
  signal: AbortSignal,
): Promise<void> {
  try {
    for await (const p of progress) {
      if (signal.aborted) return; // cancelled: the cancel route already marked the job
      job.receivedBytes = p.receivedBytes;
      job.totalBytes = p.totalBytes;
    }
    if (!signal.aborted) job.state = "done";
  } catch (err: unknown) {
    // converted: shown in the pull's row (a cancelled pull keeps "cancelled")
    if (signal.aborted) return;
    job.state = "failed";
    job.error = errorText(err);
  }
}

function forgetOldJobs(jobs: Map<string, PullJob>): void {
  for (const [id, job] of jobs) {
    if (jobs.size <= MAX_PULL_JOBS) return;
    if (job.state !== "running") jobs.delete(id);
  }
}
