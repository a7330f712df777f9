/**
 * @module Parsing of the peer-network verbs, kept apart from args.ts for easy merges:
 * `aria peers [--url URL] [--api-key KEY] [--json]` and `aria keys show [--data-dir DIR]`.
 * Pure: argv in, command out (node:util parseArgs).
 */
import { parseArgs } from "node:util";
import { AriaError } from "../shared/errors.ts";

/** `aria peers`: a running node's peer table, read from its API. */
export interface PeersCommand {
  verb: "peers";
  /** API base URL of the running node. */
  url: string;
  apiKey?: string;
  json: boolean;
}

/** `aria keys show`: this node's id and key file. */
export interface KeysCommand {
  verb: "keys";
  action: "show";
  /** Data directory (undefined = ARIA_HOME or ~/.aria). */
  dataDir?: string;
  json: boolean;
}

/** Help for one of these verbs. */
export interface P2pHelpCommand {
  verb: "help";
  topic: "peers" | "keys";
}

/** Usage texts of these verbs. */
export const P2P_USAGE: Record<string, string> = {
  peers: `Usage: aria peers [--url URL] [--api-key KEY] [--json]

Prints the peer table of a running node (aria serve --p2p-port/--peers), read from its API
(GET /v1/aria/peers).

Options:
  --url URL       the node's API (default http://127.0.0.1:3000)
  --api-key KEY   the node's --api-key, if it has one
  --json          print the JSON as the API returns it

Also available as: aria network peers

Examples:
  aria peers
  aria peers --url http://127.0.0.1:8080 --json`,
  keys: `Usage: aria keys show [--data-dir DIR] [--json]

Prints this node's id (its ed25519 public key) and the key file's path; makes the key on first
use (file mode 0600).

Options:
  --data-dir DIR  data directory (ARIA_HOME; default ~/.aria)
  --json          print {"nodeId", "keyFile"}

Example:
  aria keys show`,
};

function fail(message: string): never {
  throw new AriaError("USAGE", message);
}

/** Option values as node:util gives them (strings, booleans), by option name. */
type OptionValues = Record<string, string | boolean | undefined>;

function values(
  args: string[],
  options: Record<string, { type: "string" | "boolean" }>,
): { values: OptionValues; positionals: string[] } {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (err: unknown) {
    // converted: node:util's message names the bad option
    return fail(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Parses `peers` or `keys`.
 *
 * @param verb "peers" or "keys".
 * @param args the arguments after the verb.
 * @param makeError builds the caller's usage error (args.ts UsageError).
 * @returns the command.
 * @throws what `makeError` builds, for a bad option or action.
 */
export function parseP2pCommand(
  verb: "peers" | "keys",
  args: string[],
  makeError: (message: string) => Error,
): PeersCommand | KeysCommand | P2pHelpCommand {
  try {
    if (verb === "peers") {
      const { values: v, positionals } = values(args, {
        url: { type: "string" },
        "api-key": { type: "string" },
        json: { type: "boolean" },
      });
      if (v.help) return { verb: "help", topic: "peers" };
      if (positionals.length > 0) {
        fail(`Unexpected argument "${positionals[0]}": see aria help peers`);
      }
      const url = typeof v.url === "string" ? v.url : "http://127.0.0.1:3000";
      if (!/^https?:\/\/\S+$/.test(url)) fail(`Invalid --url "${url}": expected http://host:port`);
      const cmd: PeersCommand = {
        verb: "peers",
        url: url.replace(/\/+$/, ""),
        json: v.json === true,
      };
      if (typeof v["api-key"] === "string") cmd.apiKey = v["api-key"];
      return cmd;
    }
    const { values: v, positionals } = values(args, {
      "data-dir": { type: "string" },
      json: { type: "boolean" },
    });
    if (v.help) return { verb: "help", topic: "keys" };
    if (positionals[0] !== "show" || positionals.length !== 1) {
      fail(`Unknown keys action "${positionals.join(" ")}": expected "aria keys show"`);
    }
    const cmd: KeysCommand = { verb: "keys", action: "show", json: v.json === true };
    if (typeof v["data-dir"] === "string") cmd.dataDir = v["data-dir"];
    return cmd;
  } catch (err: unknown) {
    // converted: every parse error becomes the caller's usage error (exit code 2)
    throw err instanceof AriaError && err.code === "USAGE" ? makeError(err.message) : err;
  }
}
