/**
 * @module The built-in default model, aria-nano (docs/aria-nano.md): `static/models/
 * aria-nano.gguf`, embedded in the `bun build --compile` executable. The engine reads models
 * with the C library's own file I/O, which cannot see the executable's embedded files, so in a
 * compiled binary the model is copied once to `<data dir>/models/aria-nano.<sha256 prefix>.gguf`
 * (written to a temporary name, then renamed: an interrupted copy leaves nothing half-written).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { writeFileAtomic } from "../shared/atomic-write.ts";
import { join } from "node:path";
import nanoPath from "../../static/models/aria-nano.gguf" with { type: "file" };
import { BUILTIN_MODEL_NAME } from "./registry.ts";
import { AriaError } from "../shared/errors.ts";
import { findModel, installedFileName } from "./registry.ts";

export { BUILTIN_MODEL_NAME };

/**
 * Size of the built-in model's GGUF.
 *
 * @returns Bytes.
 */
export function builtinModelBytes(): number {
  return Bun.file(nanoPath).size;
}

/** Whether a path is inside a compiled executable's embedded file system. */
export function isEmbeddedPath(path: string): boolean {
  return path.startsWith("/$bunfs/") || path.includes("~BUN");
}

/**
 * A path the engine can open for `--model`: undefined or "aria-nano" = the built-in model; a
 * name or alias of src/model/registry.ts that is not an existing file = the model installed by
 * `aria model pull` in `<data dir>/models/`; anything else = a file path.
 *
 * @param model the --model value, if any.
 * @param dataDir the data directory, where a compiled binary puts its copy of the model (or a
 *   function giving it, called only when it is needed: the CLI loads the config module only then).
 * @returns A path on the real file system.
 * @throws {AriaError} MODEL_NOT_INSTALLED for a known model that has not been pulled.
 */
export async function resolveModelPath(
  model: string | undefined,
  dataDir: string | (() => Promise<string>),
): Promise<string> {
  const dir = async (): Promise<string> => typeof dataDir === "string" ? dataDir : await dataDir();
  const entry = model === undefined ? undefined : findModel(model);
  if (model !== undefined && entry !== undefined && !entry.builtin && !existsSync(model)) {
    const path = join(await dir(), "models", installedFileName(entry));
    if (existsSync(path)) return path;
    throw new AriaError(
      "MODEL_NOT_INSTALLED",
      `Model ${entry.name} is not installed: run aria model pull ${entry.name}`,
    );
  }
  if (model !== undefined && model !== BUILTIN_MODEL_NAME && !entry?.builtin) return model;
  if (!isEmbeddedPath(nanoPath)) return nanoPath;
  const bytes = new Uint8Array(await Bun.file(nanoPath).arrayBuffer());
  const digest = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const models = join(await dir(), "models");
  const dest = join(models, `${BUILTIN_MODEL_NAME}.${digest}.gguf`);
  if (existsSync(dest) && statSync(dest).size === bytes.length) return dest;
  mkdirSync(models, { recursive: true });
  writeFileAtomic(dest, bytes);
  return dest;
}
