import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityPath, loadOrCreateIdentity } from "../../src/identity/index.ts";

describe("keystore", () => {
  test("first run makes a 0600 key; later runs load the same id", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "aria-id-")), "data");
    const a = loadOrCreateIdentity(dir);
    expect(statSync(identityPath(dir)).mode & 0o777).toBe(0o600);
    expect(readFileSync(identityPath(dir), "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
    expect(loadOrCreateIdentity(dir).nodeId).toBe(a.nodeId);
  });

  test("a corrupt or world-readable key file is refused with what to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "aria-id-"));
    writeFileSync(identityPath(dir), "not a key\n", { mode: 0o600 });
    expect(() => loadOrCreateIdentity(dir)).toThrow(/does not hold a 32-byte hex key/);
    writeFileSync(identityPath(dir), `${"ab".repeat(32)}\n`);
    chmodSync(identityPath(dir), 0o644);
    expect(() => loadOrCreateIdentity(dir)).toThrow(/chmod 600/);
  });
});
