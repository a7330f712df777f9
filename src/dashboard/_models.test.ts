/**
 * The models routes on a bare hono app, through `app.request()`, with the scripted PORT FAKE of
 * tests/helpers/dashboard-ports.ts.
 */
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { scriptedModels } from "../../tests/helpers/dashboard-ports.ts";
import { pages } from "./_http.ts";
import { mountModels } from "./_models.ts";
import type { ModelsView } from "./port.ts";

const HX = { "HX-Request": "true" };

function modelsApp(models: ModelsView | undefined): Hono {
  const app = new Hono();
  let n = 0;
  mountModels(app, models, () => `${++n}`, pages(false));
  return app;
}

function form(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

describe("models", () => {
  test("a pull shows its progress until 100%, then refreshes the installed list", async () => {
    const models = scriptedModels([
      { receivedBytes: 0, totalBytes: 400 },
      { receivedBytes: 100, totalBytes: 400 },
      { receivedBytes: 400, totalBytes: 400 },
    ]);
    const app = modelsApp(models);
    const started = await (await app.request("/models/pull", form({ name: "tiny" }, HX))).text();
    const id = /id="pull-([^"]+)"/.exec(started)?.[1];
    expect(id).toBeDefined();
    expect(started).toContain('data-state="running"');
    let row = "";
    let res: Response | undefined;
    for (let i = 0; i < 20 && !row.includes('data-state="done"'); i++) {
      await new Promise((r) => setTimeout(r, 0));
      res = await app.request(`/models/pulls/${id}`, { headers: HX });
      row = await res.text();
    }
    expect(row).toContain('data-state="done"');
    expect(row).toContain(">100%</span>");
    expect(res!.headers.get("hx-trigger")).toBe("models-changed");
    expect(await (await app.request("/models/installed", { headers: HX })).text()).toContain(
      "tiny",
    );
    expect(await (await app.request("/models")).text()).toContain(`id="pull-${id}"`);
  });

  test("a failed pull shows the reason; an empty name is refused; unknown pull ids are 404", async () => {
    const app = modelsApp(scriptedModels([], new Error("No model <x>.")));
    const started = await (await app.request("/models/pull", form({ name: "x" }, HX))).text();
    const id = /id="pull-([^"]+)"/.exec(started)![1];
    let row = "";
    for (let i = 0; i < 20 && !row.includes('data-state="failed"'); i++) {
      await new Promise((r) => setTimeout(r, 0));
      row = await (await app.request(`/models/pulls/${id}`, { headers: HX })).text();
    }
    expect(row).toContain("failed: No model &lt;x&gt;.");
    const empty = await app.request("/models/pull", form({ name: "  " }, HX));
    expect(empty.status).toBe(400);
    expect((await app.request("/models/pulls/999", { headers: HX })).status).toBe(404);
  });

  test("at most 20 pulls are remembered: the oldest finished ones are forgotten", async () => {
    const app = modelsApp(scriptedModels([]));
    for (let i = 0; i < 25; i++) {
      await app.request("/models/pull", form({ name: `m${i}` }, HX));
      await new Promise((r) => setTimeout(r, 0)); // let the (empty) pull finish
    }
    const page = await (await app.request("/models")).text();
    expect(page.match(/<li class="pull"/g)).toHaveLength(20);
    expect(page).not.toContain('id="pull-1"');
    expect(page).toContain('id="pull-25"');
  });

  test("delete removes the model; deleting a missing one shows why and keeps the list", async () => {
    const models = scriptedModels([]);
    const app = modelsApp(models);
    const missing = await (await app.request("/models/delete", form({ name: "nope" }, HX))).text();
    expect(missing).toContain("Not deleted: No installed model is named &quot;nope&quot;.");
    expect(missing).toContain("aria-nano");
    const gone = await (await app.request("/models/delete", form({ name: "aria-nano" }, HX)))
      .text();
    expect(gone).toContain("No models installed.");
    const noJs = await app.request("/models/delete", form({ name: "x" }));
    expect(noJs.status).toBe(303);
  });
});

describe("models without a model manager", () => {
  test("the page says so; the actions are 404", async () => {
    const app = modelsApp(undefined);
    expect(await (await app.request("/models")).text()).toContain(
      "The model manager is not available on this node.",
    );
    expect((await app.request("/models/pull", form({ name: "x" }, HX))).status).toBe(404);
    expect((await app.request("/models/delete", form({ name: "x" }, HX))).status).toBe(404);
    expect((await app.request("/models/installed", { headers: HX })).status).toBe(404);
  });
});

describe("cancel", () => {
  test("cancelling a running pull aborts the port's signal and marks it cancelled", async () => {
    let seen: AbortSignal | undefined;
    let release = () => {};
    const models: ModelsView = {
      installed: () => [],
      async *pull(_name, signal) {
        seen = signal;
        yield { receivedBytes: 1, totalBytes: 10 };
        await new Promise<void>((r) => (release = r));
        yield { receivedBytes: 10, totalBytes: 10 };
      },
      delete: () => {},
    };
    const app = modelsApp(models);
    const started = await (await app.request("/models/pull", form({ name: "big" }, HX))).text();
    expect(started).toContain('id="cancel-1"');
    await new Promise((r) => setTimeout(r, 0));
    const row = await (await app.request("/models/pulls/1/cancel", form({}, HX))).text();
    expect(seen?.aborted).toBe(true);
    expect(row).toContain('data-state="failed"');
    expect(row).toContain("failed: cancelled");
    expect(row).not.toContain("hx-trigger");
    release(); // the port ignored the signal and went on: the job stays cancelled
    await new Promise((r) => setTimeout(r, 0));
    const later = await (await app.request("/models/pulls/1", { headers: HX })).text();
    expect(later).toContain("failed: cancelled");
    expect((await app.request("/models/pulls/9/cancel", form({}, HX))).status).toBe(404);
  });
});
