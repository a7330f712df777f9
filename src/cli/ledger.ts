/**
 * @module `aria ledger …`: the shell over src/ledger for the command line — opens
 * `<data dir>/ledger.sqlite` (never creating it, except for `import`), verifies, shows,
 * exports, imports, prints and checks receipts. Exit codes: 0 ok, 1 the ledger or receipt does
 * not verify or a file cannot be used.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultDataDir } from "../config/load.ts";
import {
  buildReceipt,
  describeFault,
  hashHeader,
  LEDGER_FILE,
  type LedgerStore,
  openLedger,
  verifyReceipt,
} from "../ledger/index.ts";
import { AriaError } from "../shared/errors.ts";
import type { LedgerCommand } from "./ledger-args.ts";

/** Where output goes. */
export interface LedgerIo {
  out(line: string): void;
}

function ledgerPath(cmd: LedgerCommand): string {
  return join(cmd.dataDir ?? defaultDataDir(), LEDGER_FILE);
}

/** Handled here: a missing ledger is reported, not silently created by a read-only action. */
function openExisting(cmd: LedgerCommand): LedgerStore {
  const path = ledgerPath(cmd);
  if (!existsSync(path)) {
    throw new AriaError(
      "LEDGER_MISSING",
      `Cannot find a ledger at "${path}": aria serve makes one, or pass --data-dir`,
    );
  }
  return openLedger(path, {});
}

/** Handled here: an unreadable or non-JSON file is an error naming the file. */
function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err: unknown) {
    // converted: the OS error becomes a message naming the file
    throw new AriaError("FILE", `Cannot read "${file}": ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err: unknown) {
    // converted: the parse error names the file
    throw new AriaError("FILE", `Cannot parse "${file}": it is not JSON`, { cause: err });
  }
}

function verify(cmd: LedgerCommand, io: LedgerIo): number {
  using store = openExisting(cmd);
  const r = store.verify();
  const pending = store.pending().length;
  if (!r.ok) {
    io.out(
      cmd.json
        ? JSON.stringify({ ok: false, fault: r.error })
        : `Ledger BAD: ${describeFault(r.error)}`,
    );
    return 1;
  }
  const { height, headHash, recordCount, totalTokens } = r.value;
  const summary = { ok: true, height, headHash, records: recordCount, totalTokens, pending };
  io.out(
    cmd.json
      ? JSON.stringify(summary)
      : `Ledger ok: height ${height}, ${recordCount} sealed records (${totalTokens} tokens), ${pending} pending, head ${headHash}`,
  );
  return 0;
}

function show(cmd: LedgerCommand & { action: "show" }, io: LedgerIo): number {
  using store = openExisting(cmd);
  const head = store.head();
  const r = store.verify();
  const fromHeight = Math.max(1, head.height - cmd.blocks + 1);
  const blocks = cmd.blocks === 0 ? [] : store.blocks({ fromHeight }).reverse();
  const rows = blocks.map(({ header }) => ({
    height: header.height,
    hash: hashHeader(header),
    timestampMs: header.timestampMs,
    producer: header.producer,
    recordCount: header.recordCount,
    totalTokens: header.totalTokens,
  }));
  const pending = store.pending().length;
  const verified = r.ok ? "yes" : `NO (${describeFault(r.error)})`;
  if (cmd.json) {
    io.out(JSON.stringify({
      path: ledgerPath(cmd),
      height: head.height,
      headHash: hashHeader(head),
      pending,
      verified: r.ok,
      ...(r.ok ? {} : { fault: r.error }),
      blocks: rows,
    }));
    return 0;
  }
  io.out(`Ledger   ${ledgerPath(cmd)}`);
  io.out(`Head     height ${head.height}, ${hashHeader(head)}`);
  io.out(`Pending  ${pending} records not yet sealed`);
  io.out(`Verified ${verified}`);
  if (rows.length > 0) io.out("height  time (UTC)                records  tokens  producer  hash");
  for (const b of rows) {
    io.out(
      `${String(b.height).padEnd(7)} ${new Date(b.timestampMs).toISOString().padEnd(25)} ${
        String(b.recordCount).padEnd(8)
      } ${String(b.totalTokens).padEnd(7)} ${b.producer.slice(0, 8)}  ${b.hash.slice(0, 16)}`,
    );
  }
  return 0;
}

function exportTo(cmd: LedgerCommand & { action: "export" }, io: LedgerIo): number {
  using store = openExisting(cmd);
  const lines = store.exportLines();
  // Written to a temporary name then renamed: an interrupted export leaves no partial file.
  const tmp = `${cmd.file}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.join("\n") + "\n");
  renameSync(tmp, cmd.file);
  const head = JSON.parse(lines[0]!) as { height: number; headHash: string };
  io.out(`Exported height ${head.height}, head ${head.headHash}, to ${cmd.file}`);
  return 0;
}

function importFrom(cmd: LedgerCommand & { action: "import" }, io: LedgerIo): number {
  let text: string;
  try {
    text = readFileSync(cmd.file, "utf8");
  } catch (err: unknown) {
    // converted: the OS error becomes a message naming the file
    throw new AriaError("FILE", `Cannot read "${cmd.file}": ${(err as Error).message}`, {
      cause: err,
    });
  }
  using store = openLedger(ledgerPath(cmd), {});
  const r = store.importLines(text.split("\n"));
  io.out(`Imported height ${r.height}, head ${r.headHash}, into ${ledgerPath(cmd)}`);
  return 0;
}

function checkReceipt(cmd: LedgerCommand & { action: "verify-receipt" }, io: LedgerIo): number {
  const r = verifyReceipt(readJsonFile(cmd.file));
  if (cmd.json) {
    io.out(JSON.stringify(r.ok ? { ok: true, ...r.value } : { ok: false, reason: r.error }));
    return r.ok ? 0 : 1;
  }
  if (!r.ok) {
    io.out(`Receipt BAD: ${r.error}`);
    return 1;
  }
  const { recordHash, signer, block } = r.value;
  io.out(`Receipt ok: record ${recordHash} signed by node ${signer}`);
  io.out(
    block
      ? `Sealed in block ${block.height} (${block.hash}) signed by node ${block.producer}`
      : "Not sealed yet: no block proof in this receipt (aria ledger receipt HASH gives one later)",
  );
  return 0;
}

function printReceipt(cmd: LedgerCommand & { action: "receipt" }, io: LedgerIo): number {
  using store = openExisting(cmd);
  const found = store.findRecord(cmd.recordHash);
  if (found === undefined) {
    throw new AriaError("LEDGER_NOT_FOUND", `Cannot find record ${cmd.recordHash} in this ledger`);
  }
  io.out(JSON.stringify(buildReceipt(found.signed, found.block)));
  return 0;
}

/**
 * Runs `aria ledger <action>`.
 *
 * @param cmd the parsed command.
 * @param io where lines go.
 * @returns the exit code: 0 ok, 1 when the ledger or receipt does not verify.
 * @throws {AriaError} when a file cannot be used (main.ts prints it and exits 1).
 */
export function runLedger(cmd: LedgerCommand, io: LedgerIo): number {
  switch (cmd.action) {
    case "verify":
      return verify(cmd, io);
    case "show":
      return show(cmd, io);
    case "export":
      return exportTo(cmd, io);
    case "import":
      return importFrom(cmd, io);
    case "verify-receipt":
      return checkReceipt(cmd, io);
    case "receipt":
      return printReceipt(cmd, io);
  }
}
