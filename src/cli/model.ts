/**
 * @module Shell of `aria model list | pull | rm | info | convert`: acts on the data dir's
 * `models/` folder through model/download.ts and model/convert-files.ts and prints the result.
 * Parsing is in model-args.ts; the registry in model/registry.ts.
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { hubSettings } from "../config/index.ts";
import {
  builtinModelBytes,
  convertCheckpoint,
  displaySize,
  findModel,
  formatBytes,
  installedFileName,
  installedPath,
  kvNumber,
  kvString,
  modelsDir,
  openGguf,
  type Progress,
  progressLine,
  pullModel,
  REGISTRY,
  resolveModelPath,
  typeName,
} from "../model/index.ts";
import { AriaError } from "../shared/errors.ts";
import type { ModelCommand } from "./model-args.ts";

/** Where the command writes: stdout lines, stderr text (progress), whether stderr is a TTY. */
export interface ModelIo {
  readonly out: (line: string) => void;
  readonly err: (text: string) => void;
  readonly tty: boolean;
  readonly dataDir: string;
}

/** A model command failed at run time (exit code 1). */
export class ModelError extends AriaError {
  /** @param message what failed and what to do. */
  constructor(message: string) {
    super("MODEL", message);
  }
}

/**
 * Runs one `aria model` command.
 *
 * @param cmd the parsed command.
 * @param io output and data dir.
 * @returns The exit code (0).
 * @throws {AriaError} On failure (main.ts prints it and exits with 1).
 */
export async function runModel(cmd: ModelCommand, io: ModelIo): Promise<number> {
  switch (cmd.action) {
    case "list":
      listModels(io, cmd.json);
      return 0;
    case "pull":
      await pull(cmd.name, cmd.noVerify, io);
      return 0;
    case "rm":
      removeModel(cmd.name, io);
      return 0;
    case "info":
      await info(cmd.target, cmd.json, io);
      return 0;
    case "convert": {
      const started = performance.now();
      const r = convertCheckpoint(cmd.src, cmd.out, cmd.type);
      io.out(
        `${r.out}: ${r.tensors} tensors, ${r.layers} layers, ${cmd.type.toUpperCase()}, ` +
          `${formatBytes(r.bytes)} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      if (r.fallbacks.length > 0) {
        io.out(
          "Stored in a fallback type (ternary values kept exactly; ARIA quantizes their input to " +
            "one int8 row per token, docs/engine.md):",
        );
        for (const line of r.fallbacks) io.out(`  ${line}`);
        if (r.hint !== undefined) io.out(`  ${r.hint}`);
      }
      return 0;
    }
  }
}

function listModels(io: ModelIo, json: boolean): void {
  const dir = modelsDir(io.dataDir);
  const rows = REGISTRY.map((e) => {
    const path = installedPath(e, io.dataDir);
    const installed = e.builtin === true || existsSync(path);
    return {
      name: e.name,
      aliases: e.aliases,
      status: e.builtin ? "built-in" : installed ? "installed" : "available",
      size: e.builtin
        ? formatBytes(builtinModelBytes())
        : installed
        ? formatBytes(statSync(path).size)
        : displaySize(e),
      arch: e.arch,
      type: e.ternaryType,
      license: e.license,
      verified: e.builtin === true || e.sha256 !== undefined,
      ...(e.repo === undefined ? {} : { repo: e.repo }),
      ...(installed && !e.builtin ? { path } : {}),
    };
  });
  const known = new Set(REGISTRY.map(installedFileName));
  const others = existsSync(dir)
    ? readdirSync(dir).filter((f) =>
      f.endsWith(".gguf") && !known.has(f) && !/^aria-nano\.[0-9a-f]+\.gguf$/.test(f)
    )
    : [];
  if (json) {
    io.out(JSON.stringify({ models: rows, other_files: others.map((f) => join(dir, f)) }));
    return;
  }
  io.out(
    `${"NAME".padEnd(22)}${"STATUS".padEnd(11)}${"SIZE".padEnd(10)}${"TYPE".padEnd(20)}` +
      "LICENSE / ALIASES",
  );
  for (const r of rows) {
    const type = `${r.arch} ${r.type}`;
    const flag = r.verified ? "" : " (unverified: no SHA-256 known)";
    io.out(
      `${r.name.padEnd(22)}${r.status.padEnd(11)}${r.size.padEnd(10)}${type.padEnd(20)}` +
        `${r.license}; ${r.aliases.join(", ")}${flag}`,
    );
  }
  for (const f of others) io.out(`${f.padEnd(22)}${"file".padEnd(11)}  (in ${dir})`);
}

/**
 * The progress display of a pull: on a terminal one line redrawn with "\r" at most 10 times a
 * second; otherwise (a log, a pipe) one plain line per 10% of the file.
 *
 * @param io where to write and whether it is a terminal.
 * @param now the clock in milliseconds (injected for tests).
 * @returns The progress callback.
 */
export function progressPrinter(
  io: Pick<ModelIo, "err" | "tty">,
  now: () => number = () => performance.now(),
): (p: Progress) => void {
  const started = now();
  let lastDraw = -Infinity;
  let lastTenth = -1;
  return (p) => {
    const t = now();
    const speed = p.received / Math.max((t - started) / 1000, 1e-3);
    const finished = p.total !== undefined && p.done >= p.total;
    if (io.tty) {
      // redraw at most 10 times a second, and always the final state
      if (t - lastDraw < 100 && !finished) return;
      lastDraw = t;
      io.err(`\r${progressLine(p.done, p.total, speed)}${finished ? "\n" : ""}`);
      return;
    }
    // not a terminal: one plain line per 10% (or per 100 MB when the size is unknown)
    const tenth = p.total ? Math.floor((p.done / p.total) * 10) : Math.floor(p.done / 1e8);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    io.err(`${progressLine(p.done, p.total, speed, 20)}\n`);
  };
}

function entryOrThrow(name: string) {
  const e = findModel(name);
  if (e === undefined) {
    throw new ModelError(`Unknown model "${name}": aria model list shows the known names`);
  }
  return e;
}

async function pull(name: string, noVerify: boolean, io: ModelIo): Promise<void> {
  const e = entryOrThrow(name);
  if (e.sha256 === undefined && !noVerify && !e.builtin) {
    throw new ModelError(
      `Cannot verify ${e.name}: ARIA does not know the SHA-256 of ${e.repo}/${e.file}; pass ` +
        "--no-verify to download it without a hash check",
    );
  }
  if (e.sha256 === undefined && noVerify) {
    io.err(`warning: ${e.name} has no known SHA-256; it is installed without verification\n`);
  }
  io.err(`pulling ${e.name} from ${e.repo ?? "(built-in)"} (${displaySize(e)})\n`);
  const r = await pullModel(e, {
    dataDir: io.dataDir,
    hub: hubSettings(),
    noVerify,
    onProgress: progressPrinter(io),
  });
  if (r.alreadyInstalled) {
    io.out(`${e.name} is already installed: ${r.path}`);
    return;
  }
  const resumed = r.resumedFrom > 0 ? ` (resumed at ${formatBytes(r.resumedFrom)})` : "";
  const check = noVerify || e.sha256 === undefined ? "not verified" : `sha256 ${r.sha256} ok`;
  io.out(`installed ${e.name}: ${r.path}, ${formatBytes(r.bytes)}${resumed}, ${check}`);
}

function removeModel(name: string, io: ModelIo): void {
  const e = entryOrThrow(name);
  if (e.builtin) {
    throw new ModelError(`${e.name} is built into ARIA and cannot be removed`);
  }
  const path = installedPath(e, io.dataDir);
  const part = join(modelsDir(io.dataDir), ".partial", `${installedFileName(e)}.part`);
  const had = existsSync(path);
  const hadPart = existsSync(part);
  if (!had && !hadPart) {
    throw new ModelError(`${e.name} is not installed (nothing at ${path})`);
  }
  rmSync(path, { force: true });
  rmSync(part, { force: true });
  io.out(
    `removed ${e.name}${had ? `: ${path}` : ""}${hadPart ? " (and its partial download)" : ""}`,
  );
}

async function pathOf(target: string, dataDir: string): Promise<string> {
  if (existsSync(target) && statSync(target).isFile()) return target;
  const e = findModel(target);
  if (e === undefined) {
    throw new ModelError(`No file or known model named "${target}" (aria model list)`);
  }
  if (e.builtin) return await resolveModelPath(e.name, dataDir);
  const path = installedPath(e, dataDir);
  if (!existsSync(path)) {
    throw new ModelError(`${e.name} is not installed: run aria model pull ${e.name}`);
  }
  return path;
}

async function info(target: string, json: boolean, io: ModelIo): Promise<void> {
  const path = await pathOf(target, io.dataDir);
  const { file } = openGguf(path);
  const arch = kvString(file, "general.architecture") ?? "unknown";
  const key = (k: string) => kvNumber(file, `${arch}.${k}`);
  const types = new Map<string, { count: number; bytes: number }>();
  let params = 0;
  for (const t of file.tensors) {
    const name = typeName(t.type);
    const slot = types.get(name) ?? { count: 0, bytes: 0 };
    slot.count++;
    slot.bytes += t.byteSize;
    types.set(name, slot);
    params += t.dims.reduce((p, d) => p * d, 1);
  }
  const facts = {
    path,
    bytes: statSync(path).size,
    architecture: arch,
    name: kvString(file, "general.name") ?? null,
    gguf_version: file.version,
    parameters: params,
    embedding_length: key("embedding_length") ?? null,
    block_count: key("block_count") ?? null,
    feed_forward_length: key("feed_forward_length") ?? null,
    head_count: key("attention.head_count") ?? null,
    head_count_kv: key("attention.head_count_kv") ?? key("attention.head_count") ?? null,
    context_length: key("context_length") ?? null,
    vocab_size: key("vocab_size") ?? null,
    tokenizer: kvString(file, "tokenizer.ggml.model") ?? null,
    tensors: file.tensors.length,
    tensor_types: Object.fromEntries(types),
  };
  if (json) {
    io.out(JSON.stringify(facts));
    return;
  }
  io.out(`${facts.path}  (${formatBytes(facts.bytes)}, GGUF v${facts.gguf_version})`);
  io.out(`  architecture   ${arch}${facts.name ? ` (${facts.name})` : ""}`);
  io.out(`  parameters     ${(params / 1e6).toFixed(1)} M`);
  io.out(
    `  dims           embd ${facts.embedding_length}, layers ${facts.block_count}, ffn ` +
      `${facts.feed_forward_length}, heads ${facts.head_count}/${facts.head_count_kv} (q/kv)`,
  );
  io.out(`  context        ${facts.context_length}`);
  io.out(`  vocabulary     ${facts.vocab_size ?? "?"} (${facts.tokenizer ?? "no tokenizer"})`);
  io.out(`  tensors        ${facts.tensors}`);
  for (const [t, s] of types) {
    io.out(`    ${t.padEnd(8)} ${String(s.count).padStart(4)} tensors  ${formatBytes(s.bytes)}`);
  }
}
