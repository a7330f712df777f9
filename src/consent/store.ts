/**
 * @module Shell: the node's consent policy file `<data dir>/consent.json` (a signed envelope,
 * policy.ts). First run writes the default policy sized from this machine. Every write goes to a
 * temporary file that is renamed into place, so a killed process leaves the old file or the new
 * one, never half of one. A file that is corrupt, changed by hand without re-signing, or signed
 * by another key is refused with what to do; it is never overwritten silently.
 *
 * Each change (the first policy included) returns a signed `PolicyChangedEvent` for the caller
 * to append to the ledger.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../shared/atomic-write.ts";
import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import type { NodeIdentity } from "../identity/identity.ts";
import { type PolicyChangedEvent, policyChangedEvent } from "./events.ts";
import {
  type ConsentPolicy,
  ConsentPolicyError,
  defaultPolicy,
  type HostFacts,
  parsePolicy,
  type SignedPolicy,
  signPolicy,
  verifySignedPolicy,
} from "./policy.ts";

/** The policy file's name inside the data dir. */
export const CONSENT_FILE = "consent.json";

/**
 * Path of the policy file.
 *
 * @param dataDir the data dir.
 * @returns `<dataDir>/consent.json`.
 */
export function consentPath(dataDir: string): string {
  return join(dataDir, CONSENT_FILE);
}

/** This machine's cores and memory, for the default policy. */
export function hostFacts(): HostFacts {
  return { cores: availableParallelism(), memoryBytes: totalmem() };
}

/** A policy as loaded or saved, and the change to record (null when nothing changed). */
export interface PolicyState {
  signed: SignedPolicy;
  changed: PolicyChangedEvent | null;
}

/**
 * Reads and verifies the policy file, without creating it.
 *
 * @param dataDir the data dir.
 * @param identity the node's identity (the file must be signed by it).
 * @returns the verified envelope, or undefined when there is no file.
 * @throws {ConsentPolicyError} for a corrupt or badly signed file, with what to do.
 */
export function readPolicy(dataDir: string, identity: NodeIdentity): SignedPolicy | undefined {
  const path = consentPath(dataDir);
  if (!existsSync(path)) return undefined;
  const fix = "restore it from a backup, or move it away to start again from the default " +
    `policy (then change it with "aria consent set")`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err: unknown) {
    // Converted: the node refuses to run on a policy it cannot read, and says what to do.
    throw new ConsentPolicyError(`Cannot read the consent policy ${path}: not JSON; ${fix}`, {
      cause: err,
    });
  }
  try {
    return verifySignedPolicy(json, identity.nodeId);
  } catch (err: unknown) {
    // Converted: the same refusal with the file's path and the way out.
    const why = err instanceof Error ? err.message : String(err);
    throw new ConsentPolicyError(`Refusing the consent policy ${path}: ${why}; ${fix}`, {
      cause: err,
    });
  }
}

function writeAtomic(dataDir: string, signed: SignedPolicy): void {
  mkdirSync(dataDir, { recursive: true });
  const path = consentPath(dataDir);
  writeFileAtomic(path, `${JSON.stringify(signed, null, 2)}\n`, { mode: 0o644 });
}

/**
 * The node's policy: the file if present (verified), else the default policy written now.
 *
 * @param dataDir the data dir.
 * @param identity the node's identity (signs and verifies).
 * @param nowMs the time (Unix ms) for a first-run signature and event.
 * @param host machine facts for the default (default: this machine's).
 * @returns the policy and, on first run, the "policy changed" event (old hash null).
 * @throws {ConsentPolicyError} for a corrupt or badly signed file.
 */
export function loadOrCreatePolicy(
  dataDir: string,
  identity: NodeIdentity,
  nowMs: number,
  host: HostFacts = hostFacts(),
): PolicyState {
  const existing = readPolicy(dataDir, identity);
  if (existing !== undefined) return { signed: existing, changed: null };
  const signed = signPolicy(defaultPolicy(host), identity, nowMs);
  writeAtomic(dataDir, signed);
  return { signed, changed: policyChangedEvent(identity, null, signed.policyHash, nowMs) };
}

/**
 * Validates, signs and writes a new policy. The old file must be valid (or absent): a broken
 * one is refused rather than replaced unseen.
 *
 * @param dataDir the data dir.
 * @param identity the node's identity.
 * @param policy the new policy (unknown: validated here).
 * @param nowMs the time (Unix ms).
 * @returns the new envelope and the change event; `changed` is null and nothing is written
 *   when the policy is the same as the stored one.
 * @throws {ConsentPolicyError} for an invalid new policy (the old one is kept) or a broken file.
 */
export function savePolicy(
  dataDir: string,
  identity: NodeIdentity,
  policy: unknown,
  nowMs: number,
): PolicyState {
  const valid: ConsentPolicy = parsePolicy(policy);
  const old = readPolicy(dataDir, identity);
  const signed = signPolicy(valid, identity, nowMs);
  if (old !== undefined && old.policyHash === signed.policyHash) {
    return { signed: old, changed: null };
  }
  writeAtomic(dataDir, signed);
  const event = policyChangedEvent(identity, old?.policyHash ?? null, signed.policyHash, nowMs);
  return { signed, changed: event };
}
