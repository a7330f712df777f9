/**
 * @module The consent step's shell half [S]: logs a policy change and re-reads the policy file
 * every few seconds, so `aria consent set` takes effect without a restart (except for threads).
 * Moved from src/cli/serve.ts unchanged.
 */
import { statSync } from "node:fs";
import {
  consentPath,
  type PolicyChangedEvent,
  type PolicyGate,
  readPolicy,
} from "../consent/index.ts";
import type { NodeIdentity } from "../identity/index.ts";
import type { Log } from "../shared/log.ts";

/** How often the policy file is checked for changes. Why 5 s: a changed policy applies within
 * seconds, and one stat per 5 s costs nothing. */
const POLICY_POLL_MS = 5000;

/**
 * Re-reads the policy file when it changes and swaps it into the gate. A file that became
 * invalid is logged and the policy in force is kept (handled here: serving never stops on it).
 *
 * @returns a function that stops watching.
 */
export function watchPolicy(
  dataDir: string,
  identity: NodeIdentity,
  gate: PolicyGate,
  log: Log,
  onChange: (policyHash: string) => void,
): () => void {
  const path = consentPath(dataDir);
  let seen = statSync(path).mtimeMs;
  const timer = setInterval(() => {
    try {
      // A removed file reads as mtime 0: logged once, and the policy in force stays.
      const mtime = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (mtime === seen) return;
      seen = mtime;
      const signed = readPolicy(dataDir, identity);
      if (signed === undefined) {
        log({ level: "error", msg: "consent policy file removed; the policy in force stays" });
        return;
      }
      gate.setPolicy(signed.policy);
      log({ level: "info", msg: "consent policy reloaded", policyHash: signed.policyHash });
      onChange(signed.policyHash);
    } catch (err: unknown) {
      // Terminated: logged once per change of the file; the policy in force stays until the
      // file is fixed.
      log({ level: "error", msg: "consent policy not reloaded", error: String(err) });
    }
  }, POLICY_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Logs a "policy changed" event (first run: the default policy was written). The ledger record
 * of the change is made by `recordPolicyInLedger` (src/node/policy-ledger.ts).
 */
export function logPolicyChange(event: PolicyChangedEvent, log: Log): void {
  log({ level: "info", msg: "consent policy changed", ...event });
}
