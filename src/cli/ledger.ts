/**
 * @module `aria ledger …`: the shell over src/ledger for the command line — opens
 * `<data dir>/ledger.sqlite` (never creating it, except for `import`), verifies, shows,
 * exports, imports, prints and checks receipts. Exit codes: 0 ok, 1 the ledger or receipt does
 * not verify or a file cannot be used.
 */
import { systemClock } from "../shared/clock.ts";
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../shared/atomic-write.ts";
import { join } from "node:path";
import { defaultDataDir } from "../config/index.ts";
import {
  type Block,
  buildReceipt,
  chainWeight,
  describeFault,
  findRewrite,
  hashHeader,
  isPolicyChange,
  LEDGER_FILE,
  type LedgerStore,
  openLedger,
  verifyReceipt,
} from "../ledger/index.ts";
import { AriaError } from "../shared/errors.ts";
import { describeAttestation } from "../consent/index.ts";
import { checkBlockAttestation, fraudProofStore } from "../node/index.ts";
import {
  type CheckedProof,
  checkFraudProof,
  type ConvictedRecord,
  convictedRecords,
} from "../p2p/index.ts";
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
  return openLedger(path, { clock: systemClock });
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

/**
 * What lies beside the chain: each stored energy attestation must match its block, and the
 * chain must agree with every head a peer countersigned for its producers (a rewrite or a
 * truncation of history is named).
 */
function sideChecks(store: LedgerStore, blocks: readonly Block[]) {
  let energyAttested = 0;
  for (const b of blocks.slice(1)) {
    const stored = store.blockAttestation(b.header.height);
    if (stored === undefined) continue;
    const c = checkBlockAttestation(b, stored);
    if (!c.ok) return { fault: `block ${b.header.height}: energy attestation: ${c.reason}` };
    energyAttested++;
  }
  const headers = blocks.map((b) => b.header);
  let witnessed = 0;
  for (const producer of new Set(headers.slice(1).map((h) => h.producer))) {
    const attestations = store.headAttestations(producer);
    const rewrite = findRewrite(headers, attestations);
    if (rewrite !== undefined) return { fault: `history rewritten: ${rewrite.reason}` };
    witnessed += attestations.length;
  }
  return { energyAttested, witnessed };
}

/**
 * The fraud proofs to check the chain against: the data dir's (accepted by the node after a
 * re-run) and each --fraud-proof FILE. Each is checked again here (signatures, the accused's
 * receipt, the binding to the request); one that fails is refused with its reason (exit 1).
 */
function fraudProofs(cmd: LedgerCommand & { action: "verify" }): CheckedProof[] {
  const stored = fraudProofStore(cmd.dataDir ?? defaultDataDir()).list();
  const given = (cmd.fraudProofs ?? []).map((file) => ({ file, json: readJsonFile(file) }));
  const out: CheckedProof[] = [];
  for (const { file, json } of [...stored.map((json) => ({ file: "", json })), ...given]) {
    const c = checkFraudProof(json);
    // handled here: a bad proof file is named; the data dir's are checked when written
    if (!c.ok) throw new AriaError("FILE", `Cannot use fraud proof "${file}": ${c.error}`);
    out.push(c.value);
  }
  return out;
}

/** The verdict lines about fraud: records of this chain named in proofs, convicted peers. */
function fraudReport(store: LedgerStore, blocks: readonly Block[], proofs: CheckedProof[]) {
  const records: ConvictedRecord[] = convictedRecords(blocks, proofs);
  const accused = new Set(proofs.map((p) => p.accused));
  const peers = store.peerChains().filter((c) => accused.has(c.peer)).map((c) => ({
    peer: c.peer,
    proofId: proofs.find((p) => p.accused === c.peer)!.id,
  }));
  return { records, peers };
}

function verify(cmd: LedgerCommand & { action: "verify" }, io: LedgerIo): number {
  using store = openExisting(cmd);
  const r = store.verify();
  // read only once verified: a malformed row is named by verify, not thrown by this read
  const pending = r.ok ? store.pending().length : 0;
  const side = r.ok ? sideChecks(store, r.value.blocks) : undefined;
  if (!r.ok || (side && "fault" in side)) {
    const fault = r.ok ? undefined : r.error;
    const text = fault ? describeFault(fault) : (side as { fault: string }).fault;
    io.out(
      cmd.json
        ? JSON.stringify({ ok: false, fault: fault ?? { reason: text } })
        : `Ledger BAD: ${text}`,
    );
    return 1;
  }
  const { height, headHash, recordCount, totalTokens } = r.value;
  const { energyAttested, witnessed } = side as { energyAttested: number; witnessed: number };
  const fraud = fraudReport(store, r.value.blocks, fraudProofs(cmd));
  // Proof of Useful Work with teeth (docs/ledger.md §3.2): only auditable tokens weigh, and a
  // record named in a valid fraud proof weighs nothing (§11)
  const disproved = new Set(fraud.records.map((x) => x.recordHash));
  const { weight, auditableRecords, unauditableRecords } = chainWeight(r.value.blocks, {
    disproved: (hash) => disproved.has(hash),
  });
  for (const p of cmd.json ? [] : fraud.peers) {
    io.out(
      `Peer chain ${p.peer} does not count: fraud proof ${p.proofId} convicts its producer`,
    );
  }
  if (fraud.records.length > 0) {
    const first = fraud.records[0]!;
    io.out(
      cmd.json
        ? JSON.stringify({
          ok: false,
          fault: { reason: "records named in fraud proofs" },
          fraud: fraud.records,
          convictedPeers: fraud.peers,
          weight,
        })
        : `Ledger BAD: ${fraud.records.length} record(s) named in valid fraud proofs; the first, ${first.recordHash} in block ${first.height}, by fraud proof ${first.proofId} (its signer ${first.accused} signed output its model does not produce); weight without them: ${weight} tokens`,
    );
    return 1;
  }
  const summary = {
    ok: true,
    height,
    headHash,
    records: recordCount,
    totalTokens,
    weight,
    auditableRecords,
    unauditableRecords,
    pending,
    energyAttested,
    headAttestations: witnessed,
    convictedPeers: fraud.peers,
  };
  io.out(
    cmd.json
      ? JSON.stringify(summary)
      : `Ledger ok: height ${height}, ${recordCount} sealed records (${totalTokens} tokens), ${pending} pending, head ${headHash}; ${energyAttested} energy attestations and ${witnessed} peer countersignatures agree\n` +
        `Weight: ${weight} tokens open to audit (${auditableRecords} records of version 2; ${unauditableRecords} version 1 records weigh nothing)`,
  );
  return 0;
}

/** The energy column of a block: its checked attestation in short, or why not. */
function energyOf(store: LedgerStore, block: Block) {
  const stored = store.blockAttestation(block.header.height);
  if (stored === undefined) return { text: "none", json: null };
  const c = checkBlockAttestation(block, stored);
  if (!c.ok) return { text: `BAD (${c.reason})`, json: { ok: false, reason: c.reason } };
  const a = c.value.attestation;
  const per = a.ujPerToken === null ? "n/a" : `${(a.ujPerToken / 1000).toFixed(3)} mJ/tok`;
  return {
    text: `${a.energyMj} mJ, ${per}`,
    json: { ok: true, ...c.value, text: describeAttestation(a) },
  };
}

function showPeers(store: LedgerStore, cmd: LedgerCommand, io: LedgerIo): void {
  const peers = store.peerChains();
  if (cmd.json) return io.out(JSON.stringify({ peers }));
  io.out(`Peers    ${peers.length} peer chains known`);
  if (peers.length > 0) io.out("peer      height  blocks  tokens   head              status");
  for (const p of peers) {
    io.out(
      `${p.peer.slice(0, 8)}  ${String(p.height).padEnd(7)} ${String(p.bodiesHeight).padEnd(7)} ${
        String(p.totalTokens).padEnd(8)
      } ${p.headHash.slice(0, 16)}  ${
        p.rejectedReason === null ? "verified" : `REJECTED: ${p.rejectedReason}`
      }`,
    );
  }
}

function show(cmd: LedgerCommand & { action: "show" }, io: LedgerIo): number {
  using store = openExisting(cmd);
  if (cmd.peers) {
    showPeers(store, cmd, io);
    return 0;
  }
  const head = store.head();
  const r = store.verify();
  const fromHeight = Math.max(1, head.height - cmd.blocks + 1);
  const blocks = cmd.blocks === 0 ? [] : store.blocks({ fromHeight }).reverse();
  const rows = blocks.map((block) => ({
    height: block.header.height,
    hash: hashHeader(block.header),
    timestampMs: block.header.timestampMs,
    producer: block.header.producer,
    recordCount: block.header.recordCount,
    policyChanges: block.records.filter((r) => isPolicyChange(r.record)).length,
    totalTokens: block.header.totalTokens,
    energy: energyOf(store, block),
  }));
  const pendingRecords = store.pending();
  const pending = pendingRecords.length;
  const pendingPolicy = pendingRecords.filter((p) => isPolicyChange(p.signed.record)).length;
  const policyHash = store.lastPolicyHash() ?? null;
  const verified = r.ok ? "yes" : `NO (${describeFault(r.error)})`;
  if (cmd.json) {
    io.out(JSON.stringify({
      path: ledgerPath(cmd),
      height: head.height,
      headHash: hashHeader(head),
      pending,
      pendingPolicyChanges: pendingPolicy,
      policyHash,
      verified: r.ok,
      ...(r.ok ? {} : { fault: r.error }),
      blocks: rows.map((b) => ({ ...b, energy: b.energy.json })),
    }));
    return 0;
  }
  io.out(`Ledger   ${ledgerPath(cmd)}`);
  io.out(`Head     height ${head.height}, ${hashHeader(head)}`);
  io.out(`Pending  ${pending} records not yet sealed (${pendingPolicy} policy changes)`);
  io.out(`Policy   ${policyHash ?? "no consent policy change recorded"}`);
  io.out(`Verified ${verified}`);
  if (rows.length > 0) {
    io.out("height  time (UTC)                records  tokens  producer  hash              energy");
  }
  for (const b of rows) {
    const records = b.policyChanges > 0
      ? `${b.recordCount}(${b.policyChanges}p)`
      : String(b.recordCount);
    io.out(
      `${String(b.height).padEnd(7)} ${new Date(b.timestampMs).toISOString().padEnd(25)} ${
        records.padEnd(8)
      } ${String(b.totalTokens).padEnd(7)} ${b.producer.slice(0, 8)}  ${
        b.hash.slice(0, 16)
      }  ${b.energy.text}`,
    );
  }
  return 0;
}

function exportTo(cmd: LedgerCommand & { action: "export" }, io: LedgerIo): number {
  using store = openExisting(cmd);
  const lines = store.exportLines();
  // Written to a temporary name then renamed: an interrupted export leaves no partial file.
  writeFileAtomic(cmd.file, lines.join("\n") + "\n");
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
  using store = openLedger(ledgerPath(cmd), { clock: systemClock });
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
  const { record, signature } = found.signed;
  // handled here: receipts prove answers; a policy change is shown by aria ledger show
  if (isPolicyChange(record)) {
    throw new AriaError(
      "LEDGER_NOT_FOUND",
      `Record ${cmd.recordHash} is a consent policy change, not an inference: it has no receipt`,
    );
  }
  io.out(JSON.stringify(buildReceipt({ record, signature }, found.block)));
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
