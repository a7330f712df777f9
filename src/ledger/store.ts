/**
 * @module Shell: the ledger on disk, the only user of bun:sqlite (STYLE.md B2). One sqlite file
 * in WAL mode with STRICT tables and numbered migrations. Appending a record, and sealing the
 * pending records into a block, each happen in one transaction, so a killed process leaves
 * either the whole change or none of it. Records and headers are stored as their exact JSON
 * (lossless); every hash is recomputed on verification, the stored hash columns are indexes
 * only. Chain rules live in chain.ts; this file never decides what is valid.
 *
 * Tables: migrations(version, applied_ms); blocks(height, hash, header_json) for heights >= 1
 * (genesis is the constant GENESIS_BLOCK, never stored); records(seq, hash, signed_json,
 * block_height, leaf_index, kind) where block_height is NULL while the record is pending and
 * kind is "inference" or "policy-change" (an index for finding the last policy change; the
 * JSON is authoritative). Migration 2 also adds block_attestations (a signed JSON per block,
 * e.g. the energy attestation), peer_headers / peer_chains (each peer's verified header chain
 * and whether it was rejected) and head_attestations (countersignatures of chain heads).
 * Migration 3 adds peer_audits (each peer's audit counts: the auditor's reputation, issue 20).
 *
 * Two processes may hold the file open (a server and `aria consent set`): every write is one
 * BEGIN IMMEDIATE transaction that reads what it depends on (head, pending records, last policy
 * change) inside the transaction, so sqlite's write lock serialises them; busy_timeout makes
 * the second writer wait instead of failing.
 */
import { Database } from "bun:sqlite";
import { AriaError } from "../shared/errors.ts";
import type { NodeIdentity } from "../identity/index.ts";
import {
  type ChainFault,
  GENESIS_BLOCK,
  pendingPolicyFault,
  type Result,
  verifyChain,
} from "./chain.ts";
import type { VerifiedChain } from "./chain.ts";
import {
  type Block,
  type BlockHeader,
  hashHeader,
  hashRecord,
  type Hex32,
  isPolicyChange,
  type LedgerRecord,
  POLICY_CHANGE_KIND,
  type PolicyChangeRecord,
  RECORD_V2,
  type RecordHash,
  recordProblem,
  type SignedHeader,
  type SignedLedgerRecord,
  ZERO_HASH,
} from "./entry.ts";
import { sealBlock, signRecord } from "./sign.ts";
import { headAttestationSchema, signedHeaderSchema, signedLedgerRecordSchema } from "./wire.ts";
import type { HeadAttestation } from "./attest.ts";
import {
  checkRecord,
  integrityError,
  invalidRecord,
  parseExport,
  parseSigned,
  pendingProblem,
  type StoredRecord,
} from "./store-format.ts";
import { migrate } from "./store-schema.ts";

export { describeFault, integrityError, type StoredRecord } from "./store-format.ts";

/** The ledger file's name inside the data dir. */
export const LEDGER_FILE = "ledger.sqlite";

/** Options of {@link LedgerStore.open}. */
export interface LedgerStoreOptions {
  /** The node that signs the blocks this store seals (absent: read, verify, import only). */
  identity?: NodeIdentity;
  /** Clock for block timestamps. */
  clock: { nowMs(): number };
  /** Seal automatically when this many records are pending (default 16). */
  sealEvery?: number;
  /**
   * Called inside the transaction that seals a block; what it returns (a signed JSON value,
   * e.g. the block's energy attestation) is stored with the block in the same transaction.
   */
  attestBlock?: (block: Block) => unknown;
}

/** Why 16: a block per 16 inferences keeps proofs short and per-block signing cheap. */
export const DEFAULT_SEAL_EVERY = 16;

/** What the store knows about one peer's chain (see {@link LedgerStore.peerChains}). */
export interface PeerChain {
  peer: string;
  height: number;
  headHash: string;
  totalTokens: number;
  /** Why the peer's last offered headers or blocks were rejected; null when they verified. */
  rejectedReason: string | null;
  /** Highest height up to which the peer's blocks (records, Merkle roots) were fetched and
   * checked against the stored headers. */
  bodiesHeight: number;
  updatedMs: number;
}

/**
 * Opens (or creates) a ledger file and applies pending migrations.
 *
 * @param path the sqlite file (":memory:" for tests).
 * @param options identity, clock and sealing policy.
 * @returns the store; close it with `close()` or `using`.
 * @throws {AriaError} LEDGER_OPEN when the file is not a ledger or is newer than this code.
 * @throws {RangeError} when `sealEvery` is not a positive integer.
 */
export function openLedger(path: string, options: LedgerStoreOptions): LedgerStore {
  const sealEvery = options.sealEvery ?? DEFAULT_SEAL_EVERY;
  if (!Number.isSafeInteger(sealEvery) || sealEvery < 1) {
    throw new RangeError(`Cannot open the ledger: sealEvery is ${sealEvery}, expected >= 1`);
  }
  let db: Database | undefined;
  try {
    db = new Database(path, { create: true, strict: true });
    db.exec("PRAGMA journal_mode = WAL");
    // Why FULL: a receipt handed to a client must survive a power cut, not only a crash.
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("PRAGMA busy_timeout = 5000");
    migrate(db);
    return new LedgerStore(db, { ...options, sealEvery });
  } catch (err: unknown) {
    // converted: any sqlite failure at open names the file and what to do
    db?.close();
    if (err instanceof AriaError) throw err;
    throw new AriaError(
      "LEDGER_OPEN",
      `Cannot open the ledger "${path}": ${
        (err as Error).message
      }; move the file away or check its permissions`,
      { cause: err },
    );
  }
}

/** The ledger file. Made by {@link openLedger}. */
export class LedgerStore {
  readonly #db: Database;
  readonly #options: LedgerStoreOptions & { sealEvery: number };

  /**
   * Wraps an open, migrated database (use {@link openLedger}).
   *
   * @param db the database.
   * @param options identity, clock, sealing policy.
   */
  constructor(db: Database, options: LedgerStoreOptions & { sealEvery: number }) {
    this.#db = db;
    this.#options = options;
  }

  /** Closes the file. */
  close(): void {
    this.#db.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * The newest block's header (genesis when nothing is sealed).
   *
   * @returns the head header.
   */
  head(): BlockHeader {
    const row = this.#db.query<{ header_json: string }, []>(
      "SELECT header_json FROM blocks ORDER BY height DESC LIMIT 1",
    ).get();
    return row
      ? signedHeaderSchema.parse(JSON.parse(row.header_json)).header
      : GENESIS_BLOCK.header;
  }

  /**
   * Appends a signed record in one transaction; seals the pending records into a block in the
   * same transaction when there are `sealEvery` of them.
   *
   * A policy change never seals a block by itself (no useful work); the next inference does.
   *
   * @param signed a record with a valid signature.
   * @returns the record hash and the block if this append sealed one.
   * @throws {AriaError} LEDGER_INVALID_RECORD for a malformed, unsigned or duplicate record
   *   (nothing is written).
   */
  append(signed: SignedLedgerRecord): { hash: RecordHash; block?: Block } {
    const hash = checkRecord(signed);
    return this.#db.transaction(() => {
      this.#insertRecord(hash, signed);
      const work = !isPolicyChange(signed.record);
      const full = work && this.#pendingCount() >= this.#options.sealEvery;
      const block = full ? this.#seal() : undefined;
      return block ? { hash, block } : { hash };
    }).immediate();
  }

  #insertRecord(hash: RecordHash, signed: SignedLedgerRecord): void {
    const dup = this.#db.query("SELECT 1 FROM records WHERE hash = ?").get(hash);
    if (dup) throw invalidRecord(`record ${hash} is already in the ledger`);
    const kind = isPolicyChange(signed.record) ? POLICY_CHANGE_KIND : "inference";
    this.#db.query("INSERT INTO records (hash, signed_json, kind) VALUES (?, ?, ?)")
      .run(hash, JSON.stringify(signed), kind);
  }

  /**
   * The policy hash of the newest policy change in this ledger (sealed or pending).
   *
   * @returns the hash, or undefined when none was recorded.
   */
  lastPolicyHash(): Hex32 | undefined {
    const row = this.#db.query<{ signed_json: string }, [string]>(
      "SELECT signed_json FROM records WHERE kind = ? ORDER BY seq DESC LIMIT 1",
    ).get(POLICY_CHANGE_KIND);
    if (!row) return undefined;
    const record = parseSigned(row.signed_json).record;
    return isPolicyChange(record) ? record.newHash : undefined;
  }

  /**
   * The record hash of the newest policy change, if any (the record that says which policy is in
   * force, whichever process wrote it).
   *
   * @returns its hash, or undefined when the ledger records no policy.
   */
  lastPolicyRecordHash(): string | undefined {
    return this.#db.query<{ hash: string }, [string]>(
      "SELECT hash FROM records WHERE kind = ? ORDER BY seq DESC LIMIT 1",
    ).get(POLICY_CHANGE_KIND)?.hash;
  }

  /**
   * Records that the node's consent policy is now `newHash`, signed by the store's identity,
   * unless the newest policy change in the ledger already says so (another process — a server's
   * file watcher, \`aria consent set\` — may have recorded the same change first). The check and
   * the insert are one IMMEDIATE transaction, so two writers cannot both record it, and the
   * record's oldHash is the previous recorded change's newHash: changes form an unbroken list.
   *
   * @param newHash the policy hash now in force (64 hex).
   * @param timestampMs when it took effect.
   * @returns the new record and its hash, or undefined when it was already recorded.
   * @throws {AriaError} LEDGER_READ_ONLY without an identity; LEDGER_INVALID_RECORD for a
   *   malformed hash or time (nothing is written).
   */
  recordPolicyChange(
    newHash: string,
    timestampMs: number,
  ): { hash: RecordHash; record: PolicyChangeRecord } | undefined {
    const identity = this.#options.identity;
    if (identity === undefined) {
      throw new AriaError(
        "LEDGER_READ_ONLY",
        "Cannot record a policy change: the ledger was opened without a node identity",
      );
    }
    return this.#db.transaction(() => {
      const last = this.lastPolicyHash();
      if (last === newHash) return undefined;
      const record: PolicyChangeRecord = {
        kind: POLICY_CHANGE_KIND,
        version: 1,
        oldHash: last ?? ZERO_HASH,
        newHash: newHash as Hex32,
        timestampMs,
        signer: identity.nodeId as string as Hex32,
      };
      const problem = recordProblem(record);
      if (problem !== undefined) throw invalidRecord(problem);
      const { signed, hash } = signRecord(record, identity);
      this.#insertRecord(hash, signed);
      return { hash, record };
    }).immediate();
  }

  /**
   * Seals every pending record into a block now.
   *
   * @returns the new block, or undefined when nothing is pending (no empty blocks).
   */
  seal(): Block | undefined {
    return this.#db.transaction(() => this.#seal()).immediate();
  }

  #pendingCount(): number {
    return this.#db.query<{ n: number }, []>(
      "SELECT count(*) AS n FROM records WHERE block_height IS NULL",
    ).get()!.n;
  }

  #seal(): Block | undefined {
    const pending = this.pending();
    // Proof of Useful Work: policy changes alone make no block; they wait for an inference.
    if (!pending.some((p) => !isPolicyChange(p.signed.record))) return undefined;
    const identity = this.#options.identity;
    if (identity === undefined) {
      throw new AriaError(
        "LEDGER_READ_ONLY",
        "Cannot seal a block: the ledger was opened without a node identity",
      );
    }
    // handled here: a pending record this node did not sign (written to the file by someone
    // else) is never sealed into this node's signed block; it stays pending and `verify` names it
    const own = pending.filter((p) =>
      (p.signed.record.signer as string) === (identity.nodeId as string)
    );
    if (!own.some((p) => !isPolicyChange(p.signed.record))) return undefined;
    const block = sealBlock(this.head(), own.map((p) => p.signed), {
      identity,
      timestampMs: Math.round(this.#options.clock.nowMs()),
    });
    this.#insertBlock(block, own.map((p) => p.hash));
    const attestation = this.#options.attestBlock?.(block);
    if (attestation !== undefined) this.#putAttestation(block.header.height, attestation);
    return block;
  }

  #insertBlock(block: Block, hashes: readonly string[]): void {
    const { header, signature } = block;
    this.#db.query("INSERT INTO blocks (height, hash, header_json) VALUES (?, ?, ?)")
      .run(header.height, hashHeader(header), JSON.stringify({ header, signature }));
    const update = this.#db.query(
      "UPDATE records SET block_height = ?, leaf_index = ? WHERE hash = ?",
    );
    hashes.forEach((h, i) => update.run(header.height, i, h));
  }

  #putAttestation(height: number, value: unknown): void {
    this.#db.query("INSERT OR REPLACE INTO block_attestations (height, json) VALUES (?, ?)")
      .run(height, JSON.stringify(value));
  }

  /**
   * The attestation stored with a block when it was sealed (see `attestBlock`), as stored.
   * Untrusted until the caller verifies it (its signature and that it matches the block).
   *
   * @param height the block height.
   * @returns the parsed JSON, or undefined when the block has none.
   */
  blockAttestation(height: number): unknown {
    const row = this.#db.query<{ json: string }, [number]>(
      "SELECT json FROM block_attestations WHERE height = ?",
    ).get(height);
    return row ? JSON.parse(row.json) : undefined;
  }

  /**
   * The pending (unsealed) records, oldest first.
   *
   * @returns them with their hashes.
   */
  pending(): StoredRecord[] {
    // Read in seq order: sealing keeps append order, so policy changes stay in sequence.
    return this.#db.query<{ hash: string; signed_json: string }, []>(
      "SELECT hash, signed_json FROM records WHERE block_height IS NULL ORDER BY seq",
    ).all().map((r: { hash: string; signed_json: string }) => ({
      hash: r.hash as RecordHash,
      signed: parseSigned(r.signed_json),
    }));
  }

  /**
   * Blocks with their records, genesis included at height 0.
   *
   * @param options `fromHeight` (default 0) and `limit` (default all).
   * @returns the blocks in height order.
   */
  blocks(options: Readonly<{ fromHeight?: number; limit?: number }> = {}): Block[] {
    const from = options.fromHeight ?? 0;
    const limit = options.limit ?? -1;
    const out: Block[] = from === 0 ? [GENESIS_BLOCK] : [];
    const rows = this.#db.query<{ height: number; header_json: string }, [number, number]>(
      "SELECT height, header_json FROM blocks WHERE height >= ? ORDER BY height LIMIT ?",
    ).all(Math.max(from, 1), from === 0 && limit > 0 ? limit - 1 : limit);
    if (rows.length === 0) return out;
    const byHeight = new Map<number, SignedLedgerRecord[]>();
    const recs = this.#db.query<{ block_height: number; signed_json: string }, [number, number]>(
      `SELECT block_height, signed_json FROM records
       WHERE block_height BETWEEN ? AND ? ORDER BY block_height, leaf_index`,
    ).all(rows[0]!.height, rows[rows.length - 1]!.height);
    for (const r of recs) {
      const list = byHeight.get(r.block_height) ?? [];
      list.push(parseSigned(r.signed_json));
      byHeight.set(r.block_height, list);
    }
    for (const row of rows) {
      const { header, signature } = signedHeaderSchema.parse(JSON.parse(row.header_json));
      out.push({ header, signature, records: byHeight.get(row.height) ?? [] });
    }
    return out;
  }

  /**
   * One peer's stored (verified) header at a height.
   *
   * @param peer the peer's node id.
   * @param height the height (>= 1; genesis is never stored).
   * @returns the signed header, or undefined.
   */
  peerHeader(peer: string, height: number): SignedHeader | undefined {
    const row = this.#db.query<{ header_json: string }, [string, number]>(
      "SELECT header_json FROM peer_headers WHERE peer = ? AND height = ?",
    ).get(peer, height);
    return row ? signedHeaderSchema.parse(JSON.parse(row.header_json)) : undefined;
  }

  /**
   * One peer's stored (verified) headers, oldest first.
   *
   * @param peer the peer's node id.
   * @returns the headers from height 1.
   */
  peerHeaders(peer: string): SignedHeader[] {
    return this.#db.query<{ header_json: string }, [string]>(
      "SELECT header_json FROM peer_headers WHERE peer = ? ORDER BY height",
    ).all(peer).map((r) => signedHeaderSchema.parse(JSON.parse(r.header_json)));
  }

  /**
   * Stores headers of a peer that the caller verified (chain.ts `verifyHeaders` from a stored
   * anchor) and marks the peer's chain as accepted, in one transaction.
   *
   * @param peer the peer's node id.
   * @param headers the new headers, oldest first (heights above what is stored).
   * @param head the peer's new head: height, hash, total tokens; `updatedMs` the time.
   */
  savePeerHeaders(
    peer: string,
    headers: readonly SignedHeader[],
    head: Readonly<{ height: number; headHash: string; totalTokens: number; updatedMs: number }>,
  ): void {
    this.#db.transaction(() => {
      const insert = this.#db.query(
        "INSERT OR REPLACE INTO peer_headers (peer, height, hash, header_json) VALUES (?, ?, ?, ?)",
      );
      for (const h of headers) {
        if (h.header.height < 1) continue; // genesis is the constant, never stored
        // only the signed header: a caller may pass whole blocks
        const json = JSON.stringify({ header: h.header, signature: h.signature });
        insert.run(peer, h.header.height, hashHeader(h.header), json);
      }
      this.#db.query(
        `INSERT INTO peer_chains (peer, height, head_hash, total_tokens, rejected_reason, updated_ms)
         VALUES (?, ?, ?, ?, NULL, ?)
         ON CONFLICT (peer) DO UPDATE SET height = excluded.height, head_hash = excluded.head_hash,
           total_tokens = excluded.total_tokens, rejected_reason = NULL,
           updated_ms = excluded.updated_ms`,
      ).run(peer, head.height, head.headHash, head.totalTokens, head.updatedMs);
    }).immediate();
  }

  /**
   * Marks a peer's chain as rejected (its last offered headers did not verify or rewrote what
   * it showed before). The headers verified earlier are kept as evidence.
   *
   * @param peer the peer's node id.
   * @param reason why, for logs and `aria ledger show --peers`.
   * @param updatedMs the time.
   */
  rejectPeer(peer: string, reason: string, updatedMs: number): void {
    this.#db.query(
      `INSERT INTO peer_chains (peer, height, head_hash, total_tokens, rejected_reason, updated_ms)
       VALUES (?, 0, ?, 0, ?, ?)
       ON CONFLICT (peer) DO UPDATE SET rejected_reason = excluded.rejected_reason,
         updated_ms = excluded.updated_ms`,
    ).run(peer, hashHeader(GENESIS_BLOCK.header), reason.slice(0, 500), updatedMs);
  }

  /**
   * Records that a peer's blocks up to `height` were fetched and checked against its stored
   * headers (never lowers it).
   *
   * @param peer the peer's node id.
   * @param height the highest checked height.
   */
  setPeerBodiesHeight(peer: string, height: number): void {
    this.#db.query(
      "UPDATE peer_chains SET bodies_height = max(bodies_height, ?) WHERE peer = ?",
    ).run(height, peer);
  }

  /**
   * Every peer chain this node has heard of.
   *
   * @returns them, by peer id.
   */
  peerChains(): PeerChain[] {
    return this.#db.query<{
      peer: string;
      height: number;
      head_hash: string;
      total_tokens: number;
      rejected_reason: string | null;
      bodies_height: number;
      updated_ms: number;
    }, []>("SELECT * FROM peer_chains ORDER BY peer").all().map((r) => ({
      peer: r.peer,
      height: r.height,
      headHash: r.head_hash,
      totalTokens: r.total_tokens,
      rejectedReason: r.rejected_reason,
      bodiesHeight: r.bodies_height,
      updatedMs: r.updated_ms,
    }));
  }

  /**
   * Saves one peer's audit counts (issue 20 reputation; src/p2p/auditor.ts keeps them), replacing
   * what was stored for that peer.
   *
   * @param peer the peer's node id.
   * @param counts its answers, passed, failed and skipped audits (non-negative integers).
   * @param updatedMs the time.
   */
  putPeerAudits(
    peer: string,
    counts: Readonly<{ answers: number; passed: number; failed: number; skipped: number }>,
    updatedMs: number,
  ): void {
    this.#db.query(
      `INSERT OR REPLACE INTO peer_audits (peer, answers, passed, failed, skipped, updated_ms)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(peer, counts.answers, counts.passed, counts.failed, counts.skipped, updatedMs);
  }

  /**
   * The stored audit counts, most recently changed first, after deleting all but the newest
   * `keep` rows (the table stays bounded however many identities a node meets). The rows are as
   * stored: the caller checks them (src/p2p/audit-plan.ts `auditStatsFromRow`).
   *
   * @param keep how many rows to keep and return.
   * @returns the rows, columns by name.
   */
  peerAudits(keep: number): Record<string, unknown>[] {
    this.#db.query(
      `DELETE FROM peer_audits WHERE peer NOT IN
         (SELECT peer FROM peer_audits ORDER BY updated_ms DESC, peer LIMIT ?)`,
    ).run(keep);
    return this.#db.query<Record<string, unknown>, [number]>(
      "SELECT * FROM peer_audits ORDER BY updated_ms DESC, peer LIMIT ?",
    ).all(keep);
  }

  /**
   * Stores a head attestation (a witness countersigned a producer's head). The caller has
   * verified it (attest.ts `verifyHeadAttestation`); a repeat for the same producer, height and
   * witness replaces the older one.
   *
   * @param a the attestation.
   */
  putHeadAttestation(a: HeadAttestation): void {
    this.#db.query(
      `INSERT OR REPLACE INTO head_attestations (producer, height, witness, head_hash, json)
       VALUES (?, ?, ?, ?, ?)`,
    ).run(a.producer, a.height, a.witness, a.headHash, JSON.stringify(a));
  }

  /**
   * Stored head attestations about one producer's chain (untrusted: verify before use).
   *
   * @param producer the producer's node id.
   * @returns them, by height.
   */
  headAttestations(producer: string): HeadAttestation[] {
    return this.#db.query<{ json: string }, [string]>(
      "SELECT json FROM head_attestations WHERE producer = ? ORDER BY height, witness",
    ).all(producer).flatMap((r) => {
      const parsed = headAttestationSchema.safeParse(JSON.parse(r.json));
      return parsed.success ? [parsed.data as HeadAttestation] : []; // handled: bad row skipped
    });
  }

  /**
   * Looks a record up by its hash.
   *
   * @param hash the record hash.
   * @returns the record and its block once sealed, or undefined.
   */
  findRecord(hash: string): StoredRecord | undefined {
    const row = this.#db.query<
      { signed_json: string; block_height: number | null },
      [string]
    >("SELECT signed_json, block_height FROM records WHERE hash = ?").get(hash);
    if (!row) return undefined;
    const signed = parseSigned(row.signed_json);
    if (row.block_height === null) return { hash: hash as RecordHash, signed };
    const block = this.blocks({ fromHeight: row.block_height, limit: 1 })[0]!;
    return { hash: hash as RecordHash, signed, block };
  }

  /**
   * Verifies everything on disk: the chain (chain.ts) and each pending record.
   *
   * @returns the verified chain, or the first fault (pending records are reported at
   *   height = head + 1 with their index).
   */
  verify(): Result<VerifiedChain, ChainFault> {
    // rows that cannot even be read (malformed JSON, a record in a block that does not exist)
    // are named first, instead of failing the reads below with a stack trace (issue 19, hole 6)
    const unreadable = this.#rowFault();
    if (unreadable !== undefined) return { ok: false, error: unreadable };
    const result = verifyChain(this.blocks());
    if (!result.ok) return result;
    const height = result.value.height + 1;
    const pending = this.pending();
    // whose ledger this is: the producer of its blocks, else the identity it was opened with,
    // else the signer of its first record (the first-start policy record is the node's own)
    const owner = result.value.blocks.findLast((b) => b.header.height > 0)?.header.producer ??
      (this.#options.identity?.nodeId as string | undefined) ?? pending[0]?.signed.record.signer;
    for (const [i, p] of pending.entries()) {
      const problem = pendingProblem(p) ??
        (p.signed.record.signer !== owner
          ? `record ${p.hash} is signed by ${p.signed.record.signer}, not by this ledger's node ${owner}`
          : undefined);
      if (problem !== undefined) {
        return { ok: false, error: { height, recordIndex: i, reason: `pending: ${problem}` } };
      }
    }
    const sequence = pendingPolicyFault(result.value.blocks, pending.map((p) => p.signed.record));
    if (sequence !== undefined) {
      const { index: recordIndex, reason } = sequence;
      return { ok: false, error: { height, recordIndex, reason: `pending: ${reason}` } };
    }
    return result;
  }

  /** The first stored row that cannot be read or points nowhere, named (see `verify`). */
  #rowFault(): ChainFault | undefined {
    const blockRows = this.#db.query<{ height: number; header_json: string }, []>(
      "SELECT height, header_json FROM blocks ORDER BY height",
    ).all();
    const heights = new Set<number>();
    for (const row of blockRows) {
      heights.add(row.height);
      const ok = safeJson(row.header_json, (v) => signedHeaderSchema.safeParse(v).success);
      if (!ok) {
        return {
          height: row.height,
          reason: `the stored header of block ${row.height} is malformed`,
        };
      }
    }
    const recordRows = this.#db.query<
      { seq: number; hash: string; signed_json: string; block_height: number | null },
      []
    >("SELECT seq, hash, signed_json, block_height FROM records ORDER BY seq").all();
    const head = blockRows.at(-1)?.height ?? 0;
    for (const row of recordRows) {
      const at = row.block_height ?? head + 1;
      if (!safeJson(row.signed_json, (v) => signedLedgerRecordSchema.safeParse(v).success)) {
        return {
          height: at,
          reason: `record ${row.hash} (row ${row.seq}): its stored JSON is malformed`,
        };
      }
      if (row.block_height !== null && !heights.has(row.block_height)) {
        return {
          height: row.block_height,
          reason:
            `record ${row.hash} (row ${row.seq}) points to block ${row.block_height}, which does not exist`,
        };
      }
    }
    return undefined;
  }

  /**
   * The export lines (JSON lines): a head line, one line per block from genesis, one line per
   * block attestation (the energy attestations, so an export is lossless), one line per
   * pending record.
   *
   * @returns the lines, without newlines.
   * @throws {AriaError} LEDGER_INTEGRITY when the ledger does not verify (a broken ledger is
   *   not exported as if it were sound).
   */
  exportLines(): string[] {
    const result = this.verify();
    if (!result.ok) throw integrityError(result.error);
    const { height, headHash, blocks } = result.value;
    const pending = this.pending();
    // Version 2 only when the file needs it, so a version 1 ledger still exports as before.
    const v2 = blocks.some((b) => b.header.version !== 1) ||
      pending.some((p) => isPolicyChange(p.signed.record));
    // Version 3 when it holds a version 2 inference record (docs/ledger.md §2.4), so an older
    // reader refuses the file by its head line rather than on some record
    const isV2Record = (r: LedgerRecord) => !isPolicyChange(r) && r.version === RECORD_V2;
    const v3 = blocks.some((b) => b.records.some((r) => isV2Record(r.record))) ||
      pending.some((p) => isV2Record(p.signed.record));
    const version = v3 ? 3 : v2 ? 2 : 1;
    return [
      JSON.stringify({ kind: "aria.ledger.export", version, height, headHash }),
      ...blocks.map((block) => JSON.stringify({ kind: "block", block })),
      ...blocks.flatMap((b) => {
        const attestation = this.blockAttestation(b.header.height);
        return attestation === undefined
          ? []
          : [JSON.stringify({ kind: "attestation", height: b.header.height, attestation })];
      }),
      ...pending.map((p) => JSON.stringify({ kind: "pending", record: p.signed })),
    ];
  }

  /**
   * Imports export lines into an EMPTY ledger, in one transaction: everything is parsed and
   * verified first (chain, head line, pending records), and nothing is written on any fault.
   *
   * @param lines the lines of an export file (blank lines ignored).
   * @returns the imported head height and hash.
   * @throws {AriaError} LEDGER_IMPORT for a non-empty ledger or a malformed or invalid file.
   */
  importLines(lines: readonly string[]): { height: number; headHash: string } {
    const parsed = parseExport(lines);
    if (this.blocks({ limit: 2 }).length > 1 || this.pending().length > 0) {
      throw new AriaError("LEDGER_IMPORT", "Cannot import into a ledger that is not empty");
    }
    const result = verifyChain(parsed.blocks);
    if (!result.ok) throw integrityError(result.error, "LEDGER_IMPORT");
    if (
      result.value.headHash !== parsed.head.headHash || result.value.height !== parsed.head.height
    ) {
      throw new AriaError(
        "LEDGER_IMPORT",
        `Cannot import: the file announces head ${parsed.head.headHash} at height ${parsed.head.height}, its blocks end at ${result.value.headHash} (height ${result.value.height})`,
      );
    }
    for (const [i, p] of parsed.pending.entries()) {
      const problem = pendingProblem({ hash: hashRecord(p.record), signed: p });
      if (problem !== undefined) {
        throw new AriaError("LEDGER_IMPORT", `Cannot import pending record ${i}: ${problem}`);
      }
    }
    this.#db.transaction(() => {
      for (const block of parsed.blocks.slice(1)) {
        const hashes = block.records.map((r) => hashRecord(r.record));
        block.records.forEach((r, i) => this.#insertRecord(hashes[i]!, r));
        this.#insertBlock(block, hashes);
      }
      for (const p of parsed.pending) this.#insertRecord(hashRecord(p.record), p);
      for (const a of parsed.attestations) this.#putAttestation(a.height, a.attestation);
    }).immediate();
    return { height: result.value.height, headHash: result.value.headHash };
  }
}

/** Handled here: JSON that does not parse, or fails `valid`, is false (the caller names the row). */
function safeJson(text: string, valid: (v: unknown) => boolean): boolean {
  try {
    return valid(JSON.parse(text));
  } catch {
    return false;
  }
}
