import { describe, expect, test } from "bun:test";
import {
  displaySize,
  entryRevision,
  findModel,
  formatBytes,
  installedFileName,
  isPinned,
  REGISTRY,
} from "./registry.ts";

describe("registry", () => {
  test("names and aliases are unique (case-insensitive), so a lookup is never ambiguous", () => {
    const all = REGISTRY.flatMap((e) => [e.name, ...e.aliases]).map((n) => n.toLowerCase());
    expect(new Set(all).size).toBe(all.length);
  });

  test("aliases and case find the same entry; unknown names find none", () => {
    expect(findModel("aria-2b-1bit")?.name).toBe("bitnet-b1.58-2b-4t");
    expect(findModel("BitNet-B1.58-2B-4T")?.repo).toBe("microsoft/bitnet-b1.58-2B-4T-gguf");
    expect(findModel("falcon3-7b")?.file).toBe("ggml-model-i2_s.gguf");
    expect(findModel("nano")?.builtin).toBe(true);
    expect(findModel("gpt-5")).toBeUndefined();
  });

  test("every downloadable entry names repo and file; hashes are 64 hex digits; each says what was verified", () => {
    for (const e of REGISTRY.filter((x) => !x.builtin)) {
      expect(e.repo).toMatch(/^[\w.-]+\/[\w.-]+$/);
      // a revision, when given, is a commit: a branch name would not pin anything
      if (e.revision !== undefined) expect(isPinned(e)).toBe(true);
      expect(entryRevision(e)).toBe(e.revision ?? "main");
      expect(e.verified?.length).toBeGreaterThan(10);
      expect(e.file).toMatch(/\.gguf$/);
      if (e.sha256 !== undefined) expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    // models whose hash could not be found are marked unknown, not guessed
    expect(findModel("falcon3-10b")?.sha256).toBeUndefined();
    expect(findModel("falcon-e-1b")?.sha256).toBeUndefined();
    expect(findModel("falcon-e-3b")?.repo).toBe("tiiuae/Falcon-E-3B-Instruct-GGUF");
  });

  test("sizes: exact bytes when known, the hub's text otherwise", () => {
    expect(displaySize(findModel("aria-2b-1bit")!)).toBe("1.19 GB");
    expect(displaySize(findModel("falcon3-1b")!)).toBe("1.36 GB");
    expect(displaySize(findModel("falcon3-10b")!)).toBe("unknown");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(3_600_000)).toBe("3.60 MB");
    expect(formatBytes(123_456_789)).toBe("123 MB");
    expect(installedFileName(findModel("falcon3-3b")!)).toBe("falcon3-3b-1.58bit.gguf");
  });
});
