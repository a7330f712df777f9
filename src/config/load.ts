/**
 * @module Shell: loads the configuration of `aria serve` — flags > ARIA_* environment >
 * `config.json` in the data dir (`--data-dir`, ARIA_HOME, default ~/.aria) > defaults. The only
 * reader of `process.env` (STYLE.md B2).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import {
  ConfigError,
  configFromEnv,
  type ConfigSource,
  resolveConfig,
  type ServeConfig,
} from "./schema.ts";

/**
 * The data directory when no flag names one: ARIA_HOME, else ~/.aria.
 *
 * @returns The path.
 */
export function defaultDataDir(): string {
  return process.env["ARIA_HOME"] || join(homedir(), ".aria");
}

/**
 * The user's editor for `aria consent edit`: $VISUAL, else $EDITOR, else vi (the POSIX default).
 *
 * @returns a shell command word list, e.g. "code -w" or "vi".
 */
export function editorCommand(): string {
  return process.env["VISUAL"] || process.env["EDITOR"] || "vi";
}

/**
 * Loads the configuration.
 *
 * @param flags settings given on the command line (undefined = not given).
 * @returns the configuration.
 * @throws {ConfigError} for a bad value or an unreadable config.json.
 */
export function loadServeConfig(flags: ConfigSource): ServeConfig {
  const env = process.env;
  const dataDir = typeof flags["dataDir"] === "string" ? flags["dataDir"] : defaultDataDir();
  const path = join(dataDir, "config.json");
  let file: ConfigSource = {};
  if (existsSync(path)) {
    try {
      file = JSON.parse(readFileSync(path, "utf8")) as ConfigSource;
    } catch (err: unknown) {
      // converted: the parse error becomes a ConfigError naming the file
      throw new ConfigError(`Cannot read "${path}": ${(err as Error).message}`, { cause: err });
    }
  }
  const { dataDir: _, ...rest } = flags;
  return resolveConfig([rest, configFromEnv(env), file], dataDir);
}

/**
 * Where `aria model pull` downloads from: HF_ENDPOINT (default https://huggingface.co) and the
 * optional HF_TOKEN (sent as a bearer token to the hub only, for gated models).
 *
 * @returns The endpoint and token.
 */
export function hubSettings(): { endpoint: string; token?: string } {
  const endpoint = process.env["HF_ENDPOINT"] || "https://huggingface.co";
  const token = process.env["HF_TOKEN"];
  return token ? { endpoint, token } : { endpoint };
}
