/**
 * @module The dashboard's static files (static/htmx.min.js, app.css, dashboard.js) as an
 * `AssetSource`. They are imported `with { type: "file" }`, so `bun build --compile` embeds them
 * in the executable (the same pattern as src/model/builtin.ts) and `Bun.file` reads them from the
 * checkout or from the executable alike. Only these names are served: a request for anything
 * else (paths included) is "no such file". Shell: reads files.
 */
import htmxPath from "../../static/htmx.min.js" with { type: "file" };
import cssPath from "../../static/app.css" with { type: "file" };
import scriptPath from "../../static/dashboard.js" with { type: "file" };
import type { Asset, AssetSource } from "./routes.ts";

const FILES: Readonly<Record<string, { path: string; contentType: string }>> = {
  "htmx.min.js": { path: htmxPath, contentType: "text/javascript; charset=utf-8" },
  "app.css": { path: cssPath, contentType: "text/css; charset=utf-8" },
  "dashboard.js": { path: scriptPath, contentType: "text/javascript; charset=utf-8" },
};

/**
 * The embedded static files, read once and kept in memory (they total about 60 KiB).
 *
 * @returns the asset source.
 */
export function embeddedAssets(): AssetSource {
  const cache = new Map<string, Asset>();
  return {
    async get(name) {
      const hit = cache.get(name);
      if (hit) return hit;
      const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
      if (!file) return undefined;
      const asset = { body: await Bun.file(file.path).bytes(), contentType: file.contentType };
      cache.set(name, asset);
      return asset;
    },
  };
}
