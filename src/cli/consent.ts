/**
 * @module Shell: `aria consent show|set|edit`. Loads the node identity and its signed policy
 * from the data dir (first use writes the default policy), applies a change, signs and writes it
 * (consent/store.ts), and hands each "policy changed" event to `onChange` (the ledger, when the
 * caller wires one). An invalid change is refused with the reason and the old policy stays.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  applySetting,
  ConsentPolicyError,
  formatPolicy,
  loadOrCreatePolicy,
  type PolicyChangedEvent,
  savePolicy,
} from "../consent/index.ts";
import { loadOrCreateIdentity } from "../identity/index.ts";
import type { ConsentCommand } from "./consent-args.ts";

/** What `runConsent` needs from its caller. */
export interface ConsentIo {
  /** The data dir when the command names none. */
  dataDir: string;
  /** The editor command for `edit` ($VISUAL / $EDITOR, from config/load.ts). */
  editor: string;
  print(line: string): void;
  nowMs(): number;
  /** Receives every "policy changed" event (the first policy included); default: dropped. */
  onChange?: (event: PolicyChangedEvent) => void;
}

function runEditor(editor: string, path: string): void {
  // Through sh so that EDITOR may carry arguments ("code -w"); the path is passed as $1, never
  // pasted into the command text.
  const r = Bun.spawnSync(["sh", "-c", `${editor} "$1"`, "sh", path], {
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  });
  if (r.exitCode !== 0) {
    throw new ConsentPolicyError(
      `The editor "${editor}" exited with code ${r.exitCode}; the policy is unchanged`,
    );
  }
}

function editPolicy(current: unknown, editor: string): unknown {
  const dir = mkdtempSync(join(tmpdir(), "aria-consent-"));
  const path = join(dir, "consent-policy.json");
  try {
    writeFileSync(path, `${JSON.stringify(current, null, 2)}\n`, { mode: 0o600 });
    runEditor(editor, path);
    const text = readFileSync(path, "utf8");
    try {
      return JSON.parse(text);
    } catch (err: unknown) {
      // Converted: the edit is refused with the parser's reason; the stored policy is untouched.
      const why = err instanceof Error ? err.message : String(err);
      throw new ConsentPolicyError(
        `The edited policy is not JSON (${why}); the policy is unchanged`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `aria consent …`.
 *
 * @param cmd the parsed command.
 * @param io data dir, editor, output, clock and the change sink.
 * @returns the exit code (0).
 * @throws {ConsentPolicyError} for an invalid change (nothing written) or a broken policy file.
 */
export function runConsent(cmd: ConsentCommand, io: ConsentIo): number {
  const dataDir = cmd.dataDir ?? io.dataDir;
  const identity = loadOrCreateIdentity(dataDir);
  const loaded = loadOrCreatePolicy(dataDir, identity, io.nowMs());
  if (loaded.changed) io.onChange?.(loaded.changed);
  const current = loaded.signed;
  if (cmd.action === "show") {
    io.print(cmd.json ? JSON.stringify(current, null, 2) : formatPolicy(current));
    return 0;
  }
  let saved;
  try {
    const next = cmd.action === "set"
      ? applySetting(current.policy, cmd.key, cmd.value)
      : editPolicy(current.policy, io.editor);
    saved = savePolicy(dataDir, identity, next, io.nowMs());
  } catch (err: unknown) {
    // Converted: the refusal says the stored policy is still the one in force.
    if (!(err instanceof ConsentPolicyError) || err.message.endsWith("unchanged")) throw err;
    throw new ConsentPolicyError(`${err.message}; the policy is unchanged`, { cause: err });
  }
  if (saved.changed === null) {
    io.print("Consent policy unchanged");
    return 0;
  }
  io.onChange?.(saved.changed);
  io.print(formatPolicy(saved.signed));
  io.print(`Consent policy changed: ${current.policyHash} -> ${saved.signed.policyHash}`);
  return 0;
}
