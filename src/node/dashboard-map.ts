/**
 * @module The pure half of the dashboard's adapters (the shell half is dashboard-ports.ts):
 * maps what the real modules hold — the p2p peer table, ledger blocks and records, receipts,
 * the consent policy text, the installed model files — to the dashboard's port rows
 * (src/dashboard/port.ts). Pure: it reads no database, file or clock; every input is passed in.
 * Private to src/cli/.
 */
import type {
  BlockRow,
  EnergyPoint,
  InstalledModel,
  KnownModel,
  PeerRow,
  RecordRow,
  VerifyResult,
} from "../dashboard/port.ts";
import type { ConsentPolicy } from "../consent/policy.ts";
import { parsePolicy } from "../consent/policy.ts";
import {
  type Block,
  hashHeader,
  hashRecord,
  type InferenceRecord,
  isPolicyChange,
  type LedgerRecord,
  type SignedLedgerRecord,
  ZERO_HASH,
} from "../ledger/entry.ts";
import { verifyReceipt } from "../ledger/receipt.ts";
import type { peerTable } from "../p2p/peer-table.ts";
import { displaySize, installedFileName, type RegistryEntry } from "../model/registry.ts";

/**
 * The peer table as the peers page shows it. A peer is alive while it was heard from within
 * `silenceMs` (the planner's own silence limit, after which it drops the peer).
 *
 * @param table from p2p `peerTable(state, now)`.
 * @param silenceMs the silence limit (p2p `DEFAULT_PLAN.silenceMs`).
 * @param audits this node's audit stats of a peer (issue 20), if it keeps them.
 * @returns one row per connected peer, in the table's order.
 */
export function peerRows(
  table: ReturnType<typeof peerTable>,
  silenceMs: number,
  audits?: (peer: string) => { answers: number; passed: number; failed: number },
): PeerRow[] {
  return table.peers.map((p) => ({
    id: p.id,
    // an inbound peer that advertised no listening address has none to show
    address: p.url ?? "(inbound, no address)",
    latencyMs: p.rttMs,
    models: p.models.map((m) => m.id),
    // adverts give [first, last] inclusive; the dashboard's ranges are [start, end)
    layers: p.models.flatMap((m) =>
      m.layers === null ? [] : [{ model: m.id, start: m.layers[0], end: m.layers[1] + 1 }]
    ),
    alive: p.lastSeenMsAgo < silenceMs,
    ...(audits ? { audits: pickAudits(audits(p.id)) } : {}),
  }));
}

function pickAudits(a: { answers: number; passed: number; failed: number }) {
  return { answers: a.answers, passed: a.passed, failed: a.failed };
}

/**
 * Blocks, newest first.
 *
 * @param blocks in height order (as the store returns them).
 * @param limit how many to keep.
 * @returns the rows.
 */
export function blockRows(blocks: readonly Block[], limit: number): BlockRow[] {
  // why the guard: slice(-0) would keep everything
  if (limit <= 0) return [];
  return blocks.slice(-limit).reverse().map((b) => ({
    height: b.header.height,
    hash: hashHeader(b.header),
    prevHash: b.header.prevHash,
    timeMs: b.header.timestampMs,
    records: b.header.recordCount,
  }));
}

/** A record and where it is: the height of its block, or null while pending. */
export interface PlacedRecord {
  signed: SignedLedgerRecord;
  height: number | null;
}

/**
 * Every record of `blocks` then `pending`, oldest first, with the height that holds it.
 *
 * @param blocks in height order.
 * @param pending the unsealed records, oldest first.
 * @returns the records.
 */
export function placeRecords(
  blocks: readonly Block[],
  pending: readonly SignedLedgerRecord[],
): PlacedRecord[] {
  return [
    ...blocks.flatMap((b) => b.records.map((signed) => ({ signed, height: b.header.height }))),
    ...pending.map((signed) => ({ signed, height: null })),
  ];
}

/** The first 12 hex digits of a hash, as the pages show hashes in running text. */
function shortHash(h: string): string {
  return h.slice(0, 12);
}

/**
 * One line about a record: model, tokens, energy and its source, where it is, the request.
 *
 * @param p the record and its place.
 * @returns the line.
 */
export function recordSummary(p: PlacedRecord): string {
  const r = p.signed.record;
  const place = p.height === null ? "pending" : `block ${p.height}`;
  // a consent policy change carries no model, tokens or energy: it names the policies
  if (isPolicyChange(r)) {
    const from = r.oldHash === ZERO_HASH ? "none recorded" : shortHash(r.oldHash);
    return `consent policy changed: ${from} → ${shortHash(r.newHash)}, ${place}`;
  }
  return `${r.modelId}: ${r.promptTokens} prompt + ${r.completionTokens} generated tokens, ` +
    `${r.energyMj} mJ ${r.energySource}, ${place}, request ${r.requestId}`;
}

/**
 * Records, newest first.
 *
 * @param records oldest first (from {@link placeRecords}).
 * @param limit how many to keep.
 * @returns the rows.
 */
export function recordRows(records: readonly PlacedRecord[], limit: number): RecordRow[] {
  if (limit <= 0) return []; // slice(-0) would keep everything
  return records.slice(-limit).reverse().map((p) => ({
    hash: hashRecord(p.signed.record),
    kind: isPolicyChange(p.signed.record) ? "policy change" : "inference",
    timeMs: p.signed.record.timestampMs,
    summary: recordSummary(p),
  }));
}

/**
 * Checks a receipt pasted as JSON text with the ledger's offline verifier.
 *
 * @param text what the user pasted.
 * @returns what it proves, or why it is not valid (never throws).
 */
export function checkReceiptText(text: string): VerifyResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // handled: not JSON is a reason shown to the user, like any other bad receipt
    return { ok: false, reason: "the text is not JSON: paste the whole receipt object" };
  }
  const r = verifyReceipt(json);
  if (!r.ok) return { ok: false, reason: r.error };
  const v = r.value;
  const where = v.block === undefined
    ? "Not yet in a block (pending)."
    : `In block ${v.block.height} (${v.block.hash}), produced by ${v.block.producer}.`;
  return { ok: true, detail: `Record ${v.recordHash} signed by ${v.signer}. ${where}` };
}

/**
 * The energy series from ledger records, oldest first. tokens/s = generated tokens per decode
 * second; mJ/token = the record's energy over all the tokens it processed (prompt + generated,
 * since the energy covers both). A record with 0 mJ carries no energy figure (serve writes 0
 * "estimated" when no meter is available), so its mJ/token is null rather than a false zero.
 *
 * @param records ledger records, in any order.
 * @returns the points.
 */
export function energyPoints(records: readonly LedgerRecord[]): EnergyPoint[] {
  // only inference records carry work and energy; policy changes are left out
  const work = records.filter((r): r is InferenceRecord => !isPolicyChange(r));
  return work.sort((a, b) => a.timestampMs - b.timestampMs).map((r) => {
    const tokens = r.promptTokens + r.completionTokens;
    return {
      timeMs: r.timestampMs,
      tokensPerSecond: r.timings.decodeMs > 0
        ? (r.completionTokens * 1000) / r.timings.decodeMs
        : null,
      mjPerToken: r.energyMj > 0 && tokens > 0 ? r.energyMj / tokens : null,
      source: r.energySource,
    };
  });
}

/**
 * Reads a policy typed into the consent page.
 *
 * @param text the JSON text.
 * @returns the validated policy, or the reason it is refused (never throws).
 */
export function policyFromText(
  text: string,
): { ok: true; policy: ConsentPolicy } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err: unknown) {
    // handled: the reason is shown and the policy in force stays
    return { ok: false, reason: `The policy is not JSON (${(err as Error).message})` };
  }
  try {
    return { ok: true, policy: parsePolicy(json) };
  } catch (err: unknown) {
    // handled: parsePolicy names the first bad field
    return { ok: false, reason: (err as Error).message };
  }
}

/** A `.gguf` file in the data dir's models/ folder. */
export interface ModelFile {
  name: string;
  sizeBytes: number;
}

/**
 * The installed list: the built-in model, registry models whose file is present, then other
 * `.gguf` files in models/ (named by their file name).
 *
 * @param registry the known models.
 * @param files the `.gguf` files in models/.
 * @param builtinBytes the size of the built-in model.
 * @returns the rows.
 */
export function installedModels(
  registry: readonly RegistryEntry[],
  files: readonly ModelFile[],
  builtinBytes: number,
): InstalledModel[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const out: InstalledModel[] = [];
  for (const e of registry) {
    if (e.builtin === true) {
      out.push({ name: e.name, sizeBytes: builtinBytes, source: "built into ARIA" });
      continue;
    }
    const f = byName.get(installedFileName(e));
    if (f === undefined) continue;
    byName.delete(f.name);
    out.push({ name: e.name, sizeBytes: f.sizeBytes, source: e.repo ?? "registry" });
  }
  for (const f of byName.values()) {
    out.push({ name: f.name, sizeBytes: f.sizeBytes, source: "file in models/" });
  }
  return out;
}

/**
 * The registry as the models page lists it, with each model's status on this node.
 *
 * @param registry the known models.
 * @param files the `.gguf` files in models/.
 * @returns the rows, in registry order.
 */
export function knownModels(
  registry: readonly RegistryEntry[],
  files: readonly ModelFile[],
): KnownModel[] {
  const present = new Set(files.map((f) => f.name));
  return registry.map((e) => ({
    name: e.name,
    size: displaySize(e),
    description: e.description,
    status: e.builtin === true
      ? "built-in"
      : present.has(installedFileName(e))
      ? "installed"
      : e.sha256 === undefined
      ? "cannot be verified (no known SHA-256): aria model pull --no-verify"
      : "available",
  }));
}

/**
 * Which file a delete removes, or why it is refused: the built-in model, the model being served,
 * and names that are neither installed registry models nor `.gguf` files in models/.
 *
 * @param name the name the user gave (registry name, alias, or file name).
 * @param registry the known models.
 * @param files the `.gguf` files in models/.
 * @param servedFile the file name (in models/) of the model this node serves, if it is one.
 * @returns the file name to remove, or the reason.
 */
export function deletePlan(
  name: string,
  registry: readonly RegistryEntry[],
  files: readonly ModelFile[],
  servedFile: string | null,
): { ok: true; file: string; label: string } | { ok: false; reason: string } {
  const key = name.trim().toLowerCase();
  const entry = registry.find((e) =>
    e.name.toLowerCase() === key || e.aliases.some((a) => a.toLowerCase() === key)
  );
  if (entry?.builtin === true) {
    return { ok: false, reason: `${entry.name} is built into ARIA and cannot be deleted.` };
  }
  const file = entry !== undefined
    ? installedFileName(entry)
    : files.find((f) => f.name.toLowerCase() === key)?.name;
  const label = entry?.name ?? name.trim();
  if (file === undefined || !files.some((f) => f.name === file)) {
    return { ok: false, reason: `${label} is not installed on this node.` };
  }
  if (file === servedFile) {
    return {
      ok: false,
      reason: `${label} is the model this node is serving: stop aria serve (or serve another ` +
        "model) before deleting it.",
    };
  }
  return { ok: true, file, label };
}
