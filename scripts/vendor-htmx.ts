/**
 * @module Copies htmx from the installed `htmx.org` npm package into `static/` (STYLE.md B1:
 * vendored, no CDN), with a one-line header naming the package version. The copy is committed;
 * run this again after changing the htmx.org version in package.json. The dashboard needs only
 * the core (live updates use `hx-trigger="every …"` polling; the chat streams with a small
 * fetch-based script), so no extension is copied.
 *
 * Usage: bun scripts/vendor-htmx.ts [--check]   (--check: exit 1 if static/ is out of date)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const PKG = join(ROOT, "node_modules", "htmx.org");
const OUT = join(ROOT, "static", "htmx.min.js");

const version = (JSON.parse(readFileSync(join(PKG, "package.json"), "utf8")) as { version: string })
  .version;
const source = readFileSync(join(PKG, "dist", "htmx.min.js"), "utf8");
const wanted = `/* htmx.org ${version} (0BSD), vendored by scripts/vendor-htmx.ts */\n${source}`;

if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(OUT, "utf8");
  } catch {
    // handled: a missing copy is reported as out of date below
  }
  if (current !== wanted) {
    console.error(`static/htmx.min.js is not htmx.org ${version}: run bun scripts/vendor-htmx.ts`);
    process.exit(1);
  }
  console.log(`static/htmx.min.js: htmx.org ${version}, up to date`);
} else {
  writeFileSync(OUT, wanted);
  console.log(`static/htmx.min.js: htmx.org ${version}, ${wanted.length} bytes`);
}
