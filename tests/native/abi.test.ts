/**
 * @module Drift check between native/include/aria.h and src/engine/aria-symbols.ts: every
 * `ARIA_API` function of the header is in the symbol table with the same number of arguments,
 * and nothing else is; the ABI version constants agree.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ARIA_SYMBOLS, EXPECTED_ABI_VERSION } from "../../src/engine/aria-symbols.ts";

const header = readFileSync(
  join(import.meta.dir, "..", "..", "native", "include", "aria.h"),
  "utf8",
);

function headerFunctions(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const noComments = text.replace(/\/\*[\s\S]*?\*\//g, "");
  for (const m of noComments.matchAll(/ARIA_API\s+[^;(]*?\b(aria_\w+)\s*\(([^)]*)\)\s*;/g)) {
    const args = m[2]!.trim();
    out.set(m[1]!, args === "void" || args === "" ? 0 : args.split(",").length);
  }
  return out;
}

describe("aria.h ↔ aria-symbols.ts", () => {
  test("every ARIA_API function has a symbol with the same argument count", () => {
    const fromHeader = headerFunctions(header);
    const fromTs = new Map(
      Object.entries(ARIA_SYMBOLS).map(([name, def]) => [name, def.args.length]),
    );
    expect(fromHeader.size).toBeGreaterThan(20);
    expect<Record<string, number>>(Object.fromEntries(fromTs)).toEqual(
      Object.fromEntries(fromHeader),
    );
  });

  test("the ABI version constants agree", () => {
    const m = header.match(/#define ARIA_ABI_VERSION (\d+)/);
    expect(Number(m?.[1])).toBe(EXPECTED_ABI_VERSION);
  });
});
