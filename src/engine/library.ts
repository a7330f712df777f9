/**
 * @module Locates and opens libbitnet, and checks its ABI version. The only place that decides
 * where the shared library comes from: an explicit path, the checkout's `native/build/`, or the
 * copy embedded in a `bun build --compile` executable (`_embedded-lib.ts`).
 */
import { dlopen, suffix } from "bun:ffi";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ARIA_SYMBOLS, EXPECTED_ABI_VERSION } from "./aria-symbols.ts";
import { EngineError } from "./status.ts";

/** The opened library: its symbols. */
export type AriaLibrary = ReturnType<typeof dlopen<typeof ARIA_SYMBOLS>>["symbols"];

let opened: { path: string; lib: AriaLibrary } | undefined;

/** Path of the library built in this checkout (native/build/libbitnet.<so|dylib|dll>). */
export function checkoutLibraryPath(): string {
  return fileURLToPath(new URL(`../../native/build/libbitnet.${suffix}`, import.meta.url));
}

async function embeddedLibraryPath(): Promise<string | undefined> {
  try {
    const mod = await import("./_embedded-lib.ts");
    return mod.default;
  } catch (err: unknown) {
    // terminated: no embedded copy in this build; the caller reports the paths it tried
    void err;
    return undefined;
  }
}

/**
 * Opens libbitnet once per process (later calls return the same library).
 *
 * @param explicitPath a library file to use instead of the default lookup.
 * @returns the library's symbols.
 * @throws {EngineError} when no library is found or its ABI version differs.
 */
export async function openLibrary(explicitPath?: string): Promise<AriaLibrary> {
  if (opened) return opened.lib;
  const candidates = explicitPath ? [explicitPath] : [checkoutLibraryPath()];
  let path = candidates.find((p) => existsSync(p));
  if (!path && !explicitPath) path = await embeddedLibraryPath();
  if (!path) {
    throw new EngineError(
      0,
      `Cannot find libbitnet: looked for "${
        candidates.join('", "')
      }"; build it with "make -C native"`,
      { code: "ENGINE_LIBRARY_MISSING" },
    );
  }
  const lib = dlopen(path, ARIA_SYMBOLS).symbols;
  const abi = lib.aria_abi_version();
  if (abi !== EXPECTED_ABI_VERSION) {
    throw new EngineError(
      0,
      `Cannot use libbitnet at "${path}": ABI version ${abi}, expected ${EXPECTED_ABI_VERSION}`,
      { code: "ENGINE_ABI_MISMATCH" },
    );
  }
  opened = { path, lib };
  return lib;
}

/** Path of the opened library, if any. */
export function openedLibraryPath(): string | undefined {
  return opened?.path;
}
