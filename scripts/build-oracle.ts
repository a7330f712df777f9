/**
 * @module Builds `tests/oracle/llama-oracle.c`, ARIA's driver over the prebuilt llama.cpp
 * library of node-llama-cpp, into `node_modules/.cache/aria-oracle/llama-oracle-<key>`.
 *
 * Idempotent: the `llama.h` / ggml headers are taken once from the llama.cpp git bundle that
 * node-llama-cpp ships (`node_modules/.cache/aria-llama-headers/`), and the driver is compiled
 * again only when its source, the flags, the bundle or the libraries change. Nothing of
 * llama.cpp is compiled: only the small driver, linked against the prebuilt `libllama`
 * (rpath to its directory).
 *
 * Usage: `bun scripts/build-oracle.ts` prints the path of the driver.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the driver and its inputs live. */
export interface OracleBuild {
  /** Absolute path of the compiled driver. */
  readonly binary: string;
  /** Directory of the prebuilt `libllama` / `libggml*` libraries (also the backend directory). */
  readonly libDir: string;
  /** Directory holding `include/llama.h` and `ggml/include/*.h`. */
  readonly headersDir: string;
  /** Commit of the llama.cpp source bundle the headers come from. */
  readonly llamaCommit: string;
  /** True when this call compiled the driver, false when the cached build was reused. */
  readonly rebuilt: boolean;
}

/** Options of {@linkcode buildLlamaOracle}. */
export interface BuildOracleOptions {
  /** Repository root; defaults to the parent of `scripts/`. */
  readonly root?: string;
  /** C compiler; defaults to `$CC` or `gcc`. */
  readonly cc?: string;
}

const CFLAGS = ["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror"] as const;
const PREBUILT_SUBDIR = "node_modules/@node-llama-cpp/linux-x64/bins/linux-x64";
const BUNDLE_PATH = "node_modules/node-llama-cpp/llama/gitRelease.bundle";
const HEADERS_SUBDIR = "node_modules/.cache/aria-llama-headers";
const OUT_SUBDIR = "node_modules/.cache/aria-oracle";
const SOURCE_PATH = "tests/oracle/llama-oracle.c";

function run(cmd: readonly string[], cwd: string, what: string): string {
  let proc;
  try {
    proc = Bun.spawnSync([...cmd], { cwd, stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw new Error(`Cannot ${what}: "${cmd[0]}" could not be started`, { cause: err });
  }
  if (proc.exitCode !== 0) {
    const stderr = proc.stderr.toString().trim();
    throw new Error(`Cannot ${what}: "${cmd.join(" ")}" exited with ${proc.exitCode}: ${stderr}`);
  }
  return proc.stdout.toString();
}

function findLibrary(libDir: string, prefix: string): string {
  const names = readdirSync(libDir).filter((n) => n.startsWith(prefix) && n.endsWith(".so"));
  names.sort();
  const name = names[0];
  if (name === undefined) {
    throw new Error(`Cannot build the llama.cpp oracle: no "${prefix}*.so" in "${libDir}"`);
  }
  return name;
}

function bundleHead(bundle: string, root: string): string {
  const heads = run(["git", "bundle", "list-heads", bundle], root, "read the llama.cpp bundle");
  const commit = heads.trim().split(/\s+/)[0] ?? "";
  if (!/^[0-9a-f]{40}$/.test(commit)) {
    throw new Error(`Cannot read the llama.cpp bundle: unexpected heads "${heads.trim()}"`);
  }
  return commit;
}

function ensureHeaders(root: string, bundle: string, commit: string): string {
  const headersDir = join(root, HEADERS_SUBDIR);
  const stamp = join(headersDir, "COMMIT");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === commit) return headersDir;
  const tmp = `${headersDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "out"), { recursive: true });
  try {
    const git = join(tmp, "repo.git");
    run(["git", "init", "-q", "--bare", git], root, "extract the llama.cpp headers");
    run(
      ["git", "--git-dir", git, "fetch", "-q", bundle, commit],
      root,
      "extract the llama.cpp headers",
    );
    const tar = join(tmp, "headers.tar");
    run(
      [
        "git",
        "--git-dir",
        git,
        "archive",
        "--format=tar",
        "-o",
        tar,
        commit,
        "include",
        "ggml/include",
      ],
      root,
      "extract the llama.cpp headers",
    );
    run(["tar", "-xf", tar, "-C", join(tmp, "out")], root, "extract the llama.cpp headers");
    writeFileSync(join(tmp, "out", "COMMIT"), `${commit}\n`);
    rmSync(headersDir, { recursive: true, force: true });
    renameSync(join(tmp, "out"), headersDir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return headersDir;
}

/**
 * Extracts the headers if missing, compiles the driver if its inputs changed, and returns
 * where everything is. Throws when node-llama-cpp's prebuilt linux-x64 libraries, git or the
 * C compiler are missing.
 */
export function buildLlamaOracle(options: BuildOracleOptions = {}): OracleBuild {
  const root = resolve(options.root ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const cc = options.cc ?? process.env["CC"] ?? "gcc";
  const libDir = join(root, PREBUILT_SUBDIR);
  const bundle = join(root, BUNDLE_PATH);
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `Cannot build the llama.cpp oracle: only linux-x64 is supported, this is "${process.platform}-${process.arch}"`,
    );
  }
  if (!existsSync(libDir) || !existsSync(bundle)) {
    throw new Error(
      `Cannot build the llama.cpp oracle: node-llama-cpp is not installed (missing "${
        existsSync(libDir) ? bundle : libDir
      }"); run: NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install`,
    );
  }
  const libs = [
    findLibrary(libDir, "libllama.v"),
    findLibrary(libDir, "libggml.v"),
    "libggml-base.so",
  ];
  const commit = bundleHead(bundle, root);
  const headersDir = ensureHeaders(root, bundle, commit);

  const sourcePath = join(root, SOURCE_PATH);
  const source = readFileSync(sourcePath);
  const outDir = join(root, OUT_SUBDIR);
  const args = [
    ...CFLAGS,
    `-I${join(headersDir, "include")}`,
    `-I${join(headersDir, "ggml", "include")}`,
    sourcePath,
    `-L${libDir}`,
    ...libs.map((l) => `-l:${l}`),
    `-Wl,-rpath,${libDir}`,
  ];
  const hash = createHash("sha256");
  hash.update(source);
  hash.update(JSON.stringify([cc, args, commit]));
  for (const lib of libs) {
    const st = statSync(join(libDir, lib));
    hash.update(`${lib}:${st.size}:${st.mtimeMs}`);
  }
  const key = hash.digest("hex");
  // The binary's name carries its key: checkouts that share node_modules (git worktrees) and hold
  // different versions of the driver each get their own build instead of overwriting each other's.
  const binary = join(outDir, `llama-oracle-${key.slice(0, 12)}`);
  const keyFile = `${binary}.key`;
  const result = { binary, libDir, headersDir, llamaCommit: commit };
  if (existsSync(binary) && existsSync(keyFile) && readFileSync(keyFile, "utf8").trim() === key) {
    return { ...result, rebuilt: false };
  }
  mkdirSync(outDir, { recursive: true });
  const tmp = `${binary}.tmp-${process.pid}`;
  try {
    run([cc, ...args, "-o", tmp], root, `compile "${SOURCE_PATH}"`);
    renameSync(tmp, binary);
  } finally {
    rmSync(tmp, { force: true });
  }
  writeFileSync(keyFile, `${key}\n`);
  return { ...result, rebuilt: true };
}

if (import.meta.main) {
  try {
    const build = buildLlamaOracle();
    console.log(build.binary);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
