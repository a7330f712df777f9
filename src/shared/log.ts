/**
 * @module The JSON log [S]: one JSON object per line on stderr, the only shape the server logs
 * in (`{ level, msg, ...fields }`). Pure code takes a `Log` parameter and never writes itself;
 * the shells pass `logJson`, tests pass an array's push.
 */

/** One log line's fields: `level` ("info" | "warn" | "error") and `msg` by convention. */
export type LogEntry = Record<string, unknown>;

/** Where a module writes its log lines. */
export type Log = (entry: LogEntry) => void;

/**
 * Writes one entry as a line of JSON on stderr.
 *
 * @param entry the fields; values JSON cannot encode are dropped by `JSON.stringify`.
 */
export function logJson(entry: LogEntry): void {
  console.error(JSON.stringify(entry));
}
