/**
 * @module The consent step's shell half [S]: logs a policy change and re-reads the policy file
 * when it changes (a file-system watch, and a poll as a fallback), so `aria consent set` takes
 * effect without a restart (except for threads).
 */
import { existsSync, type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
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
 * Re-reads the policy file when it changes and swaps it into the gate, at once: a file-system
 * watch on the data dir wakes it on every write (an editor's rename included), and a poll every
 * POLICY_POLL_MS catches what a watch can miss (network file systems). It compares the policy's
 * hash, not the file's time, so every change that reaches the gate is handed to `onChange` when
 * it takes effect, in order (issue 19, hole 8). A file that became invalid is logged and the
 * policy in force is kept (handled here: serving never stops on it).
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
  let seen = readPolicy(dataDir, identity)?.policyHash;
  let failed = false;
  const reload = () => {
    try {
      if (!existsSync(path)) {
        if (!failed) {
          log({ level: "error", msg: "consent policy file removed; the policy in force stays" });
        }
        failed = true;
        return;
      }
      const signed = readPolicy(dataDir, identity);
      failed = false;
      if (signed === undefined || signed.policyHash === seen) return;
      seen = signed.policyHash;
      gate.setPolicy(signed.policy);
      log({ level: "info", msg: "consent policy reloaded", policyHash: signed.policyHash });
      onChange(signed.policyHash);
    } catch (err: unknown) {
      // Terminated: logged once per broken state; the policy in force stays until the file is
      // fixed (a half-written file is read again on the next event).
      if (!failed) log({ level: "error", msg: "consent policy not reloaded", error: String(err) });
      failed = true;
    }
  };
  const name = basename(path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), (_event, file) => {
      if (file === null || file === name) reload();
    });
  } catch {
    // handled here: no file-system watch (unsupported file system): the poll alone reloads
    watcher = undefined;
  }
  const timer = setInterval(reload, POLICY_POLL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    watcher?.close();
  };
}

/**
 * Logs a "policy changed" event (first run: the default policy was written). The ledger record
 * of the change is made by `recordPolicyInLedger` (src/node/policy-ledger.ts).
 */
export function logPolicyChange(event: PolicyChangedEvent, log: Log): void {
  log({ level: "info", msg: "consent policy changed", ...event });
}
