/**
 * @module The ledger file's schema [S]: the numbered migrations and `migrate`, which applies the
 * pending ones, each in its own transaction. Moved from store.ts unchanged; see store.ts for the
 * tables.
 */
import type { Database } from "bun:sqlite";
import { AriaError } from "../shared/errors.ts";

/** Schema migrations, applied in order; never edit a shipped one, add the next. */
const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE blocks (
        height INTEGER PRIMARY KEY CHECK (height >= 1),
        hash TEXT NOT NULL UNIQUE,
        header_json TEXT NOT NULL
      ) STRICT;
      CREATE TABLE records (
        seq INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        signed_json TEXT NOT NULL,
        block_height INTEGER REFERENCES blocks(height),
        leaf_index INTEGER,
        CHECK ((block_height IS NULL) = (leaf_index IS NULL))
      ) STRICT;
      CREATE INDEX records_by_block ON records(block_height, leaf_index);
    `,
  },
  {
    version: 2,
    sql: `
      ALTER TABLE records ADD COLUMN kind TEXT NOT NULL DEFAULT 'inference';
      CREATE INDEX records_by_kind ON records(kind, seq);
      CREATE TABLE block_attestations (
        height INTEGER PRIMARY KEY REFERENCES blocks(height),
        json TEXT NOT NULL
      ) STRICT;
      CREATE TABLE peer_headers (
        peer TEXT NOT NULL,
        height INTEGER NOT NULL CHECK (height >= 1),
        hash TEXT NOT NULL,
        header_json TEXT NOT NULL,
        PRIMARY KEY (peer, height)
      ) STRICT;
      CREATE TABLE peer_chains (
        peer TEXT PRIMARY KEY,
        height INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        total_tokens INTEGER NOT NULL,
        rejected_reason TEXT,
        bodies_height INTEGER NOT NULL DEFAULT 0,
        updated_ms INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE head_attestations (
        producer TEXT NOT NULL,
        height INTEGER NOT NULL,
        witness TEXT NOT NULL,
        head_hash TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (producer, height, witness)
      ) STRICT;
    `,
  },
  {
    // issue 20, reputation: each peer's audit counts as this node's auditor kept them (one row
    // per peer, replaced on each change), read again at start so a restart keeps them
    version: 3,
    sql: `
      CREATE TABLE peer_audits (
        peer TEXT PRIMARY KEY,
        answers INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX peer_audits_by_time ON peer_audits(updated_ms);
    `,
  },
];

export function migrate(db: Database): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL) STRICT",
  );
  const row = db.query<{ v: number | null }, []>("SELECT max(version) AS v FROM migrations").get();
  const current = row?.v ?? 0;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  if (current > latest) {
    throw new AriaError(
      "LEDGER_OPEN",
      `Cannot open the ledger: its schema version ${current} is newer than this ARIA (${latest}); upgrade ARIA`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      // The migration time is metadata only (never hashed), so the wall clock is fine here.
      db.query("INSERT INTO migrations (version, applied_ms) VALUES (?, ?)").run(
        m.version,
        Date.now(),
      );
    }).immediate();
  }
}
