/**
 * @module The Windows executable, checked statically: Bun's Windows runtime cannot start under
 * wine here, so this builds `dist/aria-windows-x64.exe` the way `npm run build` does
 * (scripts/build-binary.ts: libbitnet with mingw-w64, static, embedded by `bun build --compile
 * --target=bun-windows-x64`) and reads the PE import tables of the executable and of the embedded
 * libbitnet DLL (tests/helpers/pe-imports.ts): every DLL they name, loaded at start or on first
 * use, must be one that Windows 10 ships, so the binary runs on a bare Windows 10 with nothing
 * installed (no Visual C++ runtime, no libwinpthread-1.dll, no libgcc_s). The PE reader is itself
 * checked against mingw's objdump. Skipped, with a message, where mingw-w64 is missing. Bun fetches
 * its Windows runtime once from the npm registry (package @oven/bun-windows-x64) into
 * ~/.bun/install/cache; without it the build fails and so does this test.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { peImports } from "../helpers/pe-imports.ts";

const ROOT = join(import.meta.dir, "..", "..");
const CROSS = "x86_64-w64-mingw32-";
const EXE = join(ROOT, "dist", "aria-windows-x64.exe");
/** The DLL build-binary.ts embeds (mingw's output keeps the Makefile's .so name). */
const DLL = join(ROOT, "native", "build", "x86_64-w64-mingw32", "libbitnet.so");
const AMD64 = 0x8664;

const HAVE_MINGW = Bun.which(`${CROSS}gcc`) !== null;
if (!HAVE_MINGW) {
  console.warn(
    `Skipping the Windows binary checks: ${CROSS}gcc not found (apt-get install mingw-w64)`,
  );
}

/**
 * DLLs in a Windows 10 installation's System32 (any edition, since 1507), lower case: the ones a
 * program may import without shipping them. Not here on purpose: vcruntime140.dll and msvcp140.dll
 * (the Visual C++ redistributable), libwinpthread-1.dll, libgcc_s_seh-1.dll (mingw's runtime).
 */
const WINDOWS_10_DLLS = new Set([
  "advapi32.dll",
  "bcrypt.dll",
  "bcryptprimitives.dll",
  "comctl32.dll",
  "crypt32.dll",
  "dbghelp.dll",
  "dnsapi.dll",
  "gdi32.dll",
  "iphlpapi.dll",
  "kernel32.dll",
  "kernelbase.dll",
  "msvcrt.dll",
  "ncrypt.dll",
  "netapi32.dll",
  "ntdll.dll",
  "ole32.dll",
  "oleaut32.dll",
  "powrprof.dll",
  "psapi.dll",
  "rpcrt4.dll",
  "secur32.dll",
  "shell32.dll",
  "shlwapi.dll",
  "ucrtbase.dll",
  "user32.dll",
  "userenv.dll",
  "version.dll",
  "winmm.dll",
  "ws2_32.dll",
  "wsock32.dll",
]);

/**
 * Whether Windows 10 resolves the DLL: a System32 DLL above, or an API set (api-ms-win-core-*,
 * api-ms-win-crt-* for the Universal CRT, both part of Windows 10), which the loader maps.
 */
function windows10Ships(dll: string): boolean {
  const name = dll.toLowerCase();
  return WINDOWS_10_DLLS.has(name) ||
    /^api-ms-win-(core|crt)-[a-z0-9-]+-l\d-\d-\d\.dll$/.test(name);
}

function read(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

describe.skipIf(!HAVE_MINGW)("the Windows executable (static checks)", () => {
  beforeAll(() => {
    const r = Bun.spawnSync(
      [process.execPath, "scripts/build-binary.ts", "--target", "windows-x64"],
      { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
    );
    const out = r.stdout.toString() + r.stderr.toString();
    if (r.exitCode !== 0 || !existsSync(EXE)) console.error(out);
    expect(out).toContain("built    windows-x64");
    expect(r.exitCode).toBe(0);
  }, 240_000);

  test("the PE reader names the same imported DLLs as mingw's objdump", () => {
    const objdump = Bun.which(`${CROSS}objdump`);
    if (objdump === null) throw new Error(`${CROSS}objdump is missing though ${CROSS}gcc is there`);
    for (const file of [EXE, DLL]) {
      const r = Bun.spawnSync([objdump, "-p", file], { stdout: "pipe", stderr: "pipe" });
      expect(r.exitCode).toBe(0);
      const named = [...r.stdout.toString().matchAll(/^\tDLL Name: (\S+)$/gm)].map((m) => m[1]);
      expect(named.length).toBeGreaterThan(0);
      expect(peImports(read(file)).imports).toEqual(named as string[]);
    }
  });

  test("aria-windows-x64.exe imports only DLLs that Windows 10 ships", () => {
    const pe = peImports(read(EXE));
    expect(pe.machine).toBe(AMD64);
    expect(pe.imports.map((d) => d.toLowerCase())).toContain("kernel32.dll");
    const all = [...pe.imports, ...pe.delayImports];
    expect(all.filter((d) => !windows10Ships(d))).toEqual([]);
  });

  test("the embedded libbitnet DLL imports only KERNEL32 and msvcrt (winpthreads linked in)", () => {
    const dll = read(DLL);
    const pe = peImports(dll);
    expect(pe.machine).toBe(AMD64);
    expect(pe.imports.map((d) => d.toLowerCase()).sort()).toEqual(["kernel32.dll", "msvcrt.dll"]);
    expect(pe.delayImports).toEqual([]);
    // the DLL checked is the one inside the executable: its bytes appear there whole
    expect(Buffer.from(read(EXE)).indexOf(Buffer.from(dll))).toBeGreaterThan(0);
  });

  test("the PE reader refuses a truncated or foreign file with a RangeError", () => {
    const exe = read(DLL);
    expect(() => peImports(exe.subarray(0, 100))).toThrow(RangeError);
    expect(() => peImports(exe.subarray(0, 40))).toThrow("the DOS header");
    const notPe = exe.slice(0, 4096);
    notPe[0] = 0x7f; // an ELF-like first byte
    expect(() => peImports(notPe)).toThrow('no "MZ" DOS signature');
    const badOffset = exe.slice(0, 4096);
    new DataView(badOffset.buffer).setUint32(0x3c, 0xfffffff0, true);
    expect(() => peImports(badOffset)).toThrow("the PE header");
  });
});
