import { describe, expect, test } from "bun:test";
import { installedList, knownList, modelsPage, percent, type PullJob, pullRow } from "./models.ts";

const job = (over: Partial<PullJob>): PullJob => ({
  id: "7",
  name: "aria-nano",
  receivedBytes: 512,
  totalBytes: 2048,
  state: "running",
  ...over,
});

describe("models view", () => {
  test("percent: floor, clamped, null while the size is unknown", () => {
    expect(percent(512, 2048)).toBe(25);
    expect(percent(2047, 2048)).toBe(99);
    expect(percent(5000, 2048)).toBe(100);
    expect(percent(10, null)).toBeNull();
    expect(percent(10, 0)).toBeNull();
  });

  test("a running pull polls itself; a finished one stops and says installed", async () => {
    const running = String(await pullRow(job({})));
    expect(running).toContain('hx-get="/models/pulls/7" hx-trigger="every 500ms"');
    expect(running).toContain('max="100" value="25"');
    expect(running).toContain(">25%</span> <span>512 B of 2.0 KiB</span>");
    const done = String(await pullRow(job({ state: "done", receivedBytes: 2048 })));
    expect(done).not.toContain("hx-trigger");
    expect(done).toContain(">100%</span>");
    expect(done).toContain("installed");
  });

  test("unknown size: an indeterminate bar; failure: the reason, escaped", async () => {
    expect(String(await pullRow(job({ totalBytes: null })))).toContain(
      '<progress aria-label="Pull of aria-nano"></progress>',
    );
    const failed = String(
      await pullRow(job({ state: "failed", error: "<b>404</b>", name: "<script>" })),
    );
    expect(failed).toContain("failed: &lt;b&gt;404&lt;/b&gt;");
    expect(failed).not.toContain("<script>");
    expect(failed).not.toContain("hx-trigger");
  });

  test("installed list with labelled delete buttons, escaped names", async () => {
    const out = String(
      await installedList([{ name: "<script>m</script>", sizeBytes: 1024, source: "hf" }]),
    );
    expect(out).not.toContain("<script>");
    expect(out).toContain('value="&lt;script&gt;m&lt;/script&gt;"');
    expect(out).toContain('aria-label="Delete &lt;script&gt;m&lt;/script&gt;"');
    expect(out).toContain("<td>1.0 KiB</td>");
    expect(String(await installedList([]))).toContain("No models installed.");
  });

  test("page: pull form, the installed list refreshes on models-changed", async () => {
    const out = String(await modelsPage([], [job({})]));
    expect(out).toContain('hx-trigger="models-changed from:body"');
    expect(out).toContain('<label for="pull-name">Model name</label>');
    expect(out).toContain('id="pull-7"');
    expect(out).not.toContain("Known models"); // no registry given: no empty section
    expect(out).not.toContain("list=");
  });

  test("known models: a table and the names as suggestions for the pull field, escaped", async () => {
    const out = String(
      await modelsPage([], [], [
        { name: "big-1b", size: "1.19 GB", description: "a <b>model</b>", status: "available" },
        { name: "nano", size: "3.4 MB", description: "demo", status: "built-in" },
      ]),
    );
    expect(out).toMatch(/<input id="pull-name"[^>]*\slist="known-models"\s*>/);
    expect(out).toContain('<option value="big-1b"></option>');
    expect(out).toContain("2 known model(s)");
    expect(out).toContain('<td data-field="known-status">built-in</td>');
    expect(out).toContain("a &lt;b&gt;model&lt;/b&gt;");
    expect(String(await knownList([]))).toBe("");
  });
});
