/**
 * @module Builds the single-file `aria` executables into `dist/`: for each target it can, it
 * compiles libbitnet (natively or with a cross compiler) and runs `bun build --compile` with that
 * target's library embedded.
 *
 *   linux-x64     `make -C native` (this machine must be linux-x64)
 *   linux-arm64   `make -C native CROSS=aarch64-linux-gnu-` (Debian: gcc-aarch64-linux-gnu)
 *   windows-x64   `make -C native CROSS=x86_64-w64-mingw32-` (Debian: mingw-w64), linked
 *                 statically so the DLL needs nothing beyond KERNEL32 and msvcrt
 *
 * A target whose compiler is missing or whose build fails is reported as skipped with the
 * reason. macOS binaries must be built on a Mac.
 *
 * The embedding: `src/engine/_embedded-lib.ts` imports `native/build/libbitnet.so`, the host
 * library. The checkout is never modified: for each target, `src/` is copied to a staging tree
 * under `.aria-tmp/` whose `_embedded-lib.ts` imports that target's library, and the staging
 * tree is what gets compiled.
 *
 * Usage: `bun scripts/build-binary.ts [--target linux-x64,linux-arm64,windows-x64]`
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { arch, platform } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const ROOT = resolve(import.meta.dir, "..");
const NATIVE = join(ROOT, "native");
const DIST = join(ROOT, "dist");
const STAGING = join(ROOT, ".aria-tmp", "build-binary");

/** One target: how to build its library and where the executable goes. */
interface Target {
  /** `<os>-<arch>`, as in Bun's `bun-<os>-<arch>` compile targets. */
  readonly name: string;
  /** The compiler prefix for `make CROSS=`, or "" for the host compiler. */
  readonly cross: string;
  /** File name of the library inside the executable. */
  readonly libName: string;
  /** Executable suffix. */
  readonly exeSuffix: string;
  /** Extra `make` variables. */
  readonly makeVars: readonly string[];
}

const TARGETS: readonly Target[] = [
  { name: "linux-x64", cross: "", libName: "libbitnet.so", exeSuffix: "", makeVars: [] },
  {
    name: "linux-arm64",
    cross: "aarch64-linux-gnu-",
    libName: "libbitnet.so",
    exeSuffix: "",
    makeVars: ["AR=aarch64-linux-gnu-ar"],
  },
  {
    name: "windows-x64",
    cross: "x86_64-w64-mingw32-",
    libName: "libbitnet.dll",
    exeSuffix: ".exe",
    // -static: winpthreads and libgcc go into the DLL, so it needs no libwinpthread-1.dll
    makeVars: ["AR=x86_64-w64-mingw32-ar", "LDFLAGS=-static"],
  },
];

/** What happened to one target. */
type Outcome =
  | { readonly target: string; readonly built: true; readonly path: string; readonly bytes: number }
  | { readonly target: string; readonly built: false; readonly reason: string };

function run(cmd: string[], cwd: string): { ok: boolean; output: string } {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, output: (r.stdout.toString() + r.stderr.toString()).trim() };
}

function lastLines(text: string, n = 6): string {
  return text.split("\n").slice(-n).join("\n");
}

/** Builds the target's libbitnet; returns its path or the reason it could not be built. */
function buildLibrary(t: Target): { lib: string } | { reason: string } {
  if (t.cross === "") {
    if (`${platform()}-${arch()}` !== t.name) {
      return { reason: `this machine is ${platform()}-${arch()}, not ${t.name}` };
    }
  } else if (!Bun.which(`${t.cross}gcc`)) {
    return { reason: `no cross compiler "${t.cross}gcc" on PATH` };
  }
  const buildDir = t.cross === "" ? "build" : `build/${t.cross.replace(/-$/, "")}`;
  const lib = join(NATIVE, buildDir, "libbitnet.so");
  // relink every time: a change of LDFLAGS alone would not make `make` relink
  if (t.cross !== "") rmSync(lib, { force: true });
  const vars = t.cross === "" ? [] : [`CROSS=${t.cross}`, ...t.makeVars];
  const r = run(["make", "-s", "-C", NATIVE, ...vars, `${buildDir}/libbitnet.so`], ROOT);
  if (!r.ok || !existsSync(lib)) {
    return { reason: `libbitnet failed to build:\n${lastLines(r.output)}` };
  }
  return { lib };
}

/** Copies `src/` to a staging tree that embeds `lib`, and compiles it for the target. */
function compile(t: Target, lib: string): { path: string } | { reason: string } {
  const stage = join(STAGING, t.name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, "native", "build"), { recursive: true });
  cpSync(join(ROOT, "src"), join(stage, "src"), { recursive: true });
  cpSync(join(ROOT, "static"), join(stage, "static"), { recursive: true }); // aria-nano and assets
  for (const f of ["package.json", "tsconfig.json"]) cpSync(join(ROOT, f), join(stage, f));
  symlinkSync(join(ROOT, "node_modules"), join(stage, "node_modules"), "dir");
  cpSync(lib, join(stage, "native", "build", t.libName));
  writeFileSync(
    join(stage, "src", "engine", "_embedded-lib.ts"),
    `// Generated by scripts/build-binary.ts for ${t.name}.\n` +
      `import libPath from "../../native/build/${t.libName}" with { type: "file" };\n\n` +
      `export default libPath;\n`,
  );
  mkdirSync(DIST, { recursive: true });
  const out = join(DIST, `aria-${t.name}${t.exeSuffix}`);
  rmSync(out, { force: true });
  const r = run(
    [
      process.execPath,
      "build",
      "--compile",
      `--target=bun-${t.name}`,
      join(stage, "src", "main.ts"),
      "--outfile",
      out,
    ],
    stage,
  );
  rmSync(stage, { recursive: true, force: true });
  if (!r.ok || !existsSync(out)) {
    return { reason: `bun build --compile failed:\n${lastLines(r.output)}` };
  }
  return { path: out };
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function main(): number {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { target: { type: "string" } },
  });
  const wanted = values.target?.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = wanted?.filter((w) => !TARGETS.some((t) => t.name === w)) ?? [];
  if (unknown.length > 0) {
    console.error(
      `Unknown target "${unknown.join('", "')}": expected ${TARGETS.map((t) => t.name).join(", ")}`,
    );
    return 2;
  }
  const outcomes: Outcome[] = [];
  for (const t of TARGETS) {
    if (wanted && !wanted.includes(t.name)) continue;
    const lib = buildLibrary(t);
    if ("reason" in lib) {
      outcomes.push({ target: t.name, built: false, reason: lib.reason });
      continue;
    }
    const exe = compile(t, lib.lib);
    if ("reason" in exe) {
      outcomes.push({ target: t.name, built: false, reason: exe.reason });
      continue;
    }
    outcomes.push({ target: t.name, built: true, path: exe.path, bytes: statSync(exe.path).size });
  }
  for (const o of outcomes) {
    if (o.built) {
      console.log(
        `built    ${o.target.padEnd(12)} ${o.path.slice(ROOT.length + 1)}  ${mib(o.bytes)}`,
      );
    } else {
      console.log(
        `skipped  ${o.target.padEnd(12)} ${o.reason.replaceAll("\n", "\n             ")}`,
      );
    }
  }
  if (!outcomes.some((o) => o.built)) {
    console.error("No binary was built.");
    return 1;
  }
  console.log(
    "macOS: build on a Mac with `make -C native` then `bun build --compile --target bun-darwin-arm64`.",
  );
  return 0;
}

process.exit(main());
