/**
 * @module Shell glue: consent policy changes into the ledger (issue 8: "each change is recorded
 * in the ledger"). Used by `aria serve` (at start and by the policy file watcher) and by
 * `aria consent set|edit` (src/cli/main.ts), which may run while a server holds the same ledger:
 * the store records a change in one IMMEDIATE transaction and skips it when the newest recorded
 * change already names the same policy, so whichever process sees it first records it once.
 */
import { join } from "node:path";
import type { PolicyChangedEvent } from "../consent/index.ts";
import { loadOrCreateIdentity } from "../identity/index.ts";
import { LEDGER_FILE, type LedgerStore, openLedger } from "../ledger/index.ts";

/**
 * Records that `policyHash` is in force from `atMs`, logging the outcome. Never throws: a
 * ledger that cannot be written is logged and the policy change itself stands (handled here).
 *
 * @param store the open ledger (with the node identity).
 * @param policyHash the policy now in force.
 * @param atMs when it took effect.
 * @param log structured log lines.
 * @returns the record hash, or undefined when it was already recorded or could not be.
 */
export function recordPolicyInLedger(
  store: LedgerStore,
  policyHash: string,
  atMs: number,
  log: (entry: Record<string, unknown>) => void,
): string | undefined {
  try {
    const r = store.recordPolicyChange(policyHash, Math.max(0, Math.round(atMs)));
    if (r !== undefined) {
      log({
        level: "info",
        msg: "consent policy change recorded in the ledger",
        recordHash: r.hash,
        oldHash: r.record.oldHash,
        newHash: r.record.newHash,
      });
    }
    return r?.hash;
  } catch (err: unknown) {
    // terminated: the policy is in force either way; the log says the ledger missed it
    log({ level: "error", msg: "consent policy change not recorded", error: String(err) });
    return undefined;
  }
}

/**
 * `aria consent set|edit`: records a "policy changed" event in `<dataDir>/ledger.sqlite`
 * (created if missing), then closes it.
 *
 * @param dataDir the data directory of the node.
 * @param event the signed event from consent/store.ts.
 * @param log where the outcome goes.
 * @returns the record hash, or undefined (already recorded, or logged failure).
 */
export function recordConsentChange(
  dataDir: string,
  event: Pick<PolicyChangedEvent, "newHash" | "atMs">,
  log: (entry: Record<string, unknown>) => void,
): string | undefined {
  let store: LedgerStore;
  try {
    const identity = loadOrCreateIdentity(dataDir);
    store = openLedger(join(dataDir, LEDGER_FILE), {
      identity,
      clock: { nowMs: () => event.atMs },
    });
  } catch (err: unknown) {
    // terminated: the new policy is saved and in force; only its ledger record is missing
    log({ level: "error", msg: "consent policy change not recorded", error: String(err) });
    return undefined;
  }
  try {
    const hash = recordPolicyInLedger(store, event.newHash, event.atMs, log);
    // a running node's file watch may have recorded the same change a moment earlier (it sees
    // the file as soon as it is written): that record is the one this change has
    if (hash === undefined && store.lastPolicyHash() === event.newHash) {
      return store.lastPolicyRecordHash();
    }
    return hash;
  } finally {
    store.close();
  }
}
