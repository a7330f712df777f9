/**
 * @module `aria consent show|set|edit`: argv → `ConsentCommand`, and its usage text. Kept apart
 * from args.ts (which only dispatches here) so that verbs added in parallel merge cleanly. Pure.
 */
import { parseArgs } from "node:util";
import { AriaError } from "../shared/errors.ts";

/** `aria consent …`: show, change or edit the node's consent policy. */
export type ConsentCommand =
  & { verb: "consent"; dataDir?: string }
  & (
    | { action: "show"; json: boolean }
    | { action: "set"; key: string; value: string }
    | { action: "edit" }
  );

/** Usage of `aria consent`. */
export const CONSENT_USAGE =
  `Usage: aria consent show [--json] | set KEY VALUE | edit   [--data-dir DIR]

The consent policy says what this node's owner allows: which models and kinds of work, when
(UTC), how many threads, how much memory, how many requests at once, how many tokens per UTC day,
and whether peers and pipeline stages are served. It is signed by the node's key and stored in
<data dir>/consent.json; the API refuses requests outside it (403 CONSENT_DENIED) and answers
503 BUSY at the concurrency limit. Each change is recorded as a signed "policy changed" event.

Commands:
  show [--json]     print the policy, its hash and signer (--json: the signed file as JSON)
  set KEY VALUE     change one setting:
      models           "*" or a list: aria-nano,bitnet-2b
      kinds            list of chat, completion, pipeline-stage, peer-request, embed
      window           "always" or "[DAYS ]HH:MM-HH:MM[; …]" in UTC, e.g. 22:00-06:00 (every
                       night, wraps past midnight) or "mon-fri 09:00-17:00; sat 10:00-12:00"
      max-threads      integer >= 1
      max-memory       bytes, or 512M, 8G (binary units)
      max-concurrent   integer >= 1
      quota            tokens per UTC day (prompt + generated), or none
      serve-peers      yes | no
      pipeline-stages  yes | no
  edit              open the policy in $VISUAL / $EDITOR; an invalid result is refused with
                    the reason and the old policy is kept

Options:
  --data-dir DIR    data directory (default: ARIA_HOME, else ~/.aria)

Examples:
  aria consent set window 22:00-06:00
  aria consent set models aria-nano,foo
  aria consent show --json`;

function usage(message: string): AriaError {
  return new AriaError("USAGE", `${message}: see aria help consent`);
}

/**
 * Parses the arguments after `consent`.
 *
 * @param args e.g. `["set", "max-threads", "2", "--data-dir", "/tmp/x"]`.
 * @returns the command, or `{ verb: "help" }` for --help.
 * @throws {AriaError} code USAGE for a missing or unknown action or argument (args.ts maps it
 *   to a UsageError, exit code 2).
 */
export function parseConsent(
  args: readonly string[],
): ConsentCommand | { verb: "help"; topic: "consent" } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        json: { type: "boolean" },
        "data-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err: unknown) {
    // Converted: node:util's message names the bad option.
    throw usage(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return { verb: "help", topic: "consent" };
  const base = values["data-dir"] !== undefined
    ? { verb: "consent" as const, dataDir: values["data-dir"] }
    : { verb: "consent" as const };
  const [action, ...rest] = positionals;
  const json = values.json === true;
  if (json && action !== "show") throw usage("--json goes with consent show");
  switch (action) {
    case "show":
      if (rest.length > 0) throw usage(`Unexpected argument "${rest[0]}"`);
      return { ...base, action: "show", json };
    case "set": {
      const [key, value, extra] = rest;
      if (key === undefined || value === undefined) throw usage("consent set needs KEY VALUE");
      if (extra !== undefined) {
        throw usage(`Unexpected argument "${extra}" (quote values with spaces)`);
      }
      return { ...base, action: "set", key, value };
    }
    case "edit":
      if (rest.length > 0) throw usage(`Unexpected argument "${rest[0]}"`);
      return { ...base, action: "edit" };
    case undefined:
      throw usage("Missing action: show, set or edit");
    default:
      throw usage(`Unknown action "${action}"`);
  }
}
