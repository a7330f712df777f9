/**
 * @module `aria serve`, a thin shell: loads the configuration (src/config: flags > environment
 * > file > defaults), starts the node (src/node: identity, consent, ledger, backend, peers,
 * pipeline, HTTP, on one disposal stack), waits for SIGINT or SIGTERM, and stops it: stop
 * accepting, cancel in-flight generations, close the backend, seal the ledger, exit 0.
 */
import { loadServeConfig } from "../config/index.ts";
import { startNode, type StartOptions } from "../node/index.ts";
import type { ServeCommand } from "./args.ts";

/**
 * Runs the server until SIGINT or SIGTERM.
 *
 * @param cmd the flags.
 * @param print receives the status lines.
 * @param hooks optional energy/consent source for the ledger records.
 * @returns the exit code (0 after a signal).
 * @throws {ConfigError} for a bad configuration; the node's start errors (src/node/start.ts).
 */
export async function runServe(
  cmd: ServeCommand,
  print: (line: string) => void,
  hooks: Pick<StartOptions, "describeWork"> = {},
): Promise<number> {
  // Listening for the stop signals before anything starts or is printed: a supervisor that
  // sends SIGTERM as soon as it reads "listening" gets the orderly shutdown (ledger sealed,
  // exit 0), not the default action (killed, 143), which is what happened when they were
  // installed after the last line (tests/e2e/cli-examples.test.ts found it).
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  const config = loadServeConfig(cmd.flags);
  await using _node = await startNode(config, { print, ...hooks });
  await stopped;
  print("ARIA shutting down");
  return 0;
}
