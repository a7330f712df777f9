import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../src/shared/atomic-write.ts";

const dir = mkdtempSync(join(tmpdir(), "aria-atomic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("writeFileAtomic()", () => {
  test("replaces an existing file with the whole new content and leaves no temporary file", () => {
    const path = join(dir, "a.json");
    writeFileSync(path, "old");
    writeFileAtomic(path, "new content\n");
    expect(readFileSync(path, "utf8")).toBe("new content\n");
    expect(readdirSync(dir).filter((n) => n.startsWith("a.json"))).toEqual(["a.json"]);
  });

  test("sets exactly the mode asked for with exactMode", () => {
    const path = join(dir, "key");
    writeFileAtomic(path, new Uint8Array([1, 2, 3]), { mode: 0o600, exactMode: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
  });

  test("throws when the directory is missing and leaves nothing behind", () => {
    const missing = join(dir, "no-such-dir", "b.txt");
    expect(() => writeFileAtomic(missing, "x")).toThrow();
    expect(readdirSync(dir).some((n) => n.includes("b.txt"))).toBe(false);
  });
});
