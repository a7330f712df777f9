/**
 * @module Loads the node's ed25519 key from `<data dir>/identity.key`, or makes one on first
 * run. The file holds the 32-byte secret key as 64 hex characters and a newline, mode 0600.
 * A new key is written to a temporary file and renamed into place, so a killed process never
 * leaves a half-written key behind.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { writeFileAtomic } from "../shared/atomic-write.ts";
import { join } from "node:path";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { AriaError } from "../shared/errors.ts";
import { identityFromSecret, newSecretKey, type NodeIdentity } from "./identity.ts";

/** The key file's name inside the data dir. */
export const IDENTITY_FILE = "identity.key";

/** Path of the key file for a data dir. */
export function identityPath(dataDir: string): string {
  return join(dataDir, IDENTITY_FILE);
}

/**
 * Returns the node's identity, creating the key file if it does not exist.
 *
 * @throws AriaError("IDENTITY_INVALID") if the file exists but does not hold a key, or is
 *   readable by others (the node refuses to use a key that may have leaked).
 */
export function loadOrCreateIdentity(dataDir: string): NodeIdentity {
  const path = identityPath(dataDir);
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true });
    const secret = newSecretKey();
    writeFileAtomic(path, `${bytesToHex(secret)}\n`, { mode: 0o600, exactMode: true });
    return identityFromSecret(secret);
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0 && process.platform !== "win32") {
    throw new AriaError(
      "IDENTITY_INVALID",
      `The key file ${path} is readable by other users (mode ${
        mode.toString(8)
      }); run: chmod 600 ${path}`,
    );
  }
  const text = readFileSync(path, "utf8").trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new AriaError(
      "IDENTITY_INVALID",
      `The key file ${path} does not hold a 32-byte hex key; move it away to make a new identity`,
    );
  }
  return identityFromSecret(hexToBytes(text.toLowerCase()));
}
