import { describe, expect, test } from "bun:test";
import { withToken } from "./_csrf.ts";

describe("withToken", () => {
  test("every POST form gets the hidden field; GET forms and other markup do not", () => {
    const page = withToken(
      '<html><head></head><form method="get"></form><form class="x" action="/a" method="post">' +
        '<button>Go</button></form><form hx-post="/b" action="/b"\n method="post"></form></html>',
      "ab12",
    );
    expect(page.match(/name="_csrf" value="ab12"/g)?.length).toBe(2);
    expect(page).toContain('<form method="get"></form>');
    expect(page).toContain('<meta name="aria-csrf" content="ab12">');
  });
});
