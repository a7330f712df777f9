import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { html } from "hono/html";
import { errorText, formField, pages, wantsFragment } from "./_http.ts";

function probe(): Hono {
  const app = new Hono();
  const p = pages(false);
  app.get("/frag", (c) => c.text(String(wantsFragment(c))));
  app.get("/page", (c) => p.page(c, "peers", "Peers", html`<p>full</p>`, html`<p>live</p>`));
  app.post("/result", (c) => p.result(c, "consent", "Consent", html`<p>saved</p>`));
  app.post("/field", async (c) => c.text(`[${await formField(c, "name")}]`));
  return app;
}

describe("_http", () => {
  test("a fragment only for HX-Request: true and not for a history restore", async () => {
    const app = probe();
    const ask = async (headers: Record<string, string>) =>
      await (await app.request("/frag", { headers })).text();
    expect(await ask({})).toBe("false");
    expect(await ask({ "HX-Request": "true" })).toBe("true");
    expect(await ask({ "HX-Request": "true", "HX-History-Restore-Request": "true" })).toBe("false");
  });

  test("page: the live part for htmx, the document otherwise; both with the CSP", async () => {
    const app = probe();
    const full = await app.request("/page");
    expect(await full.text()).toContain("<p>full</p>");
    expect(full.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(full.headers.get("cache-control")).toBe("no-store");
    const live = await app.request("/page", { headers: { "HX-Request": "true" } });
    expect(await live.text()).toBe("<p>live</p>");
  });

  test("result: bare for htmx, inside a page with a way back otherwise", async () => {
    const app = probe();
    const bare = await app.request("/result", {
      method: "POST",
      headers: { "HX-Request": "true" },
    });
    expect(await bare.text()).toBe("<p>saved</p>");
    const page = await (await app.request("/result", { method: "POST" })).text();
    expect(page).toContain("<p>saved</p>");
    expect(page).toContain('<a href="/consent">Back</a>');
  });

  test("formField: the value, or empty for a missing field or a body that is not a form", async () => {
    const app = probe();
    const post = (body: string, type: string) =>
      app.request("/field", { method: "POST", headers: { "content-type": type }, body });
    expect(await (await post("name=a%20b", "application/x-www-form-urlencoded")).text()).toBe(
      "[a b]",
    );
    expect(await (await post("other=1", "application/x-www-form-urlencoded")).text()).toBe("[]");
    expect(await (await post("{}", "application/json")).text()).toBe("[]");
    expect(errorText(new Error("boom"))).toBe("boom");
    expect(errorText("plain")).toBe("plain");
  });
});
