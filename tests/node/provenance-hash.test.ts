/**
 * @module `aria serve`'s provenance step names the served file by its SHA-256, read in chunks
 * (src/node/provenance.ts): the same digest as hashing the whole file at once.
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openServeProvenance } from "../../src/node/provenance.ts";
import { testModel } from "../helpers/models.ts";

describe("openServeProvenance", () => {
  test("modelSha256 is the SHA-256 of the whole file (larger than one 1 MiB read)", async () => {
    const path = await testModel({ preset: "tiny", arch: "bitnet", type: "tq2_0" });
    const bytes = readFileSync(path);
    expect(bytes.length).toBeGreaterThan(1 << 20);
    const dir = mkdtempSync(join(tmpdir(), "aria-prov-hash-"));
    try {
      const p = openServeProvenance(dir, path, { clock: { nowMs: () => 1_700_000_000_000 } });
      try {
        expect(p.modelSha256).toBe(createHash("sha256").update(bytes).digest("hex"));
      } finally {
        p.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
