/**
 * @module Ledger throughput: (1) records appended per second to a sqlite ledger file, each one
 * built, hashed and ed25519-signed first (what `aria serve` does per answer), sealing a block
 * every 16 records, WAL with synchronous = FULL (an fsync per commit), temp dir on the local
 * disk; (2) ed25519 signing alone; (3) the time to verify a chain of `--records` records
 * (default 100000) in memory with `verifyChain` (every record hash, record signature, Merkle
 * root, block signature and link), and (4) the same chain read back from sqlite and verified
 * (`store.verify()`, what `aria ledger verify` does). The chain is built with a fixed identity
 * before timing; build time is not reported. One run each (the 100k verification is long);
 * `--reps` repeats the append measurement. Writes benchmarks/results/ledger.json. Appends sign
 * with the node identity's signer (noble, as `aria serve` does); the untimed chain build uses
 * the native signer, which produces identical signatures.
 *
 * Usage: bun benchmarks/ledger/ledger.bench.ts [--records 100000] [--appends 2000] [--reps 3]
 */
import { createPrivateKey, sign as nativeSign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { identityFromSecret } from "../../src/identity/index.ts";
import {
  type Block,
  GENESIS_BLOCK,
  type Hex32,
  openLedger,
  sealBlock,
  sha256Text,
  signRecord,
  verifyChain,
} from "../../src/ledger/index.ts";
import { buildRecord } from "../../src/ledger/provenance.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    records: { type: "string" },
    appends: { type: "string" },
    reps: { type: "string" },
  },
});
const N_RECORDS = Number(values.records ?? 100_000);
const N_APPENDS = Number(values.appends ?? 2000);
const REPS = Number(values.reps ?? 3);
const SEAL_EVERY = 16;

const SECRET = new Uint8Array(32).fill(7);
const identity = identityFromSecret(SECRET);
// Building the 100k chain (untimed) with noble's signing would take minutes; Ed25519 signatures
// are deterministic, so the native signer makes the very same bytes (checked below).
const privateKey = createPrivateKey({
  key: {
    kty: "OKP",
    crv: "Ed25519",
    d: Buffer.from(SECRET).toString("base64url"),
    x: Buffer.from(identity.publicKey).toString("base64url"),
  },
  format: "jwk",
});
const fastIdentity = {
  ...identity,
  sign: (m: Uint8Array) => new Uint8Array(nativeSign(null, m, privateKey)),
};
const probe = new TextEncoder().encode("probe");
if (Buffer.compare(identity.sign(probe), fastIdentity.sign(probe)) !== 0) {
  throw new Error("the native signer differs from noble's");
}
const clock = { nowMs: () => 1_700_000_000_000 };
const recordOptions = { identity, clock, modelSha256: sha256Text("model") as Hex32, nLayers: 30 };

function input(n: number) {
  return {
    request: {
      id: `chatcmpl-${n}`,
      model: "aria-nano",
      input: { kind: "text" as const, prompt: `prompt number ${n}` },
    },
    result: {
      usage: { promptTokens: 20, completionTokens: 64 },
      timings: { queueMs: 1, promptMs: 40, decodeMs: 900 },
    },
    output: `output number ${n}`,
  };
}

function secondsOf(fn: () => void): number {
  const t0 = Bun.nanoseconds();
  fn();
  return (Bun.nanoseconds() - t0) / 1e9;
}

function appendRate(dir: string, rep: number): number {
  using store = openLedger(join(dir, `append-${rep}.sqlite`), {
    identity,
    clock,
    sealEvery: SEAL_EVERY,
  });
  const s = secondsOf(() => {
    for (let i = 0; i < N_APPENDS; i++) {
      store.append(
        signRecord(buildRecord(input(rep * N_APPENDS + i), recordOptions), identity).signed,
      );
    }
  });
  return N_APPENDS / s;
}

function signRate(n: number): number {
  const records = Array.from({ length: n }, (_, i) => buildRecord(input(i), recordOptions));
  return n / secondsOf(() => records.forEach((r) => signRecord(r, identity)));
}

function buildChain(n: number): Block[] {
  const blocks: Block[] = [GENESIS_BLOCK];
  for (let i = 0; i < n; i += SEAL_EVERY) {
    const records = [];
    for (let j = i; j < Math.min(n, i + SEAL_EVERY); j++) {
      records.push(signRecord(buildRecord(input(j), recordOptions), identity).signed);
    }
    blocks.push(
      sealBlock(blocks[blocks.length - 1]!.header, records, { identity, timestampMs: 0 }),
    );
  }
  return blocks;
}

const dir = mkdtempSync(join(tmpdir(), "aria-ledger-bench-"));
try {
  const appendRuns = Array.from({ length: REPS }, (_, rep) => appendRate(dir, rep));
  const signs = signRate(2000);
  console.error(
    `appends/s ${appendRuns.map((r) => r.toFixed(0)).join(", ")}; signs/s ${signs.toFixed(0)}`,
  );
  console.error(`building a ${N_RECORDS}-record chain (untimed)…`);
  const chain = buildChain(N_RECORDS);
  let headHash = "";
  const verifyS = secondsOf(() => {
    const r = verifyChain(chain);
    if (!r.ok) throw new Error(`the benchmark chain does not verify: ${r.error.reason}`);
    headHash = r.value.headHash;
  });
  console.error(`verifyChain ${N_RECORDS} records: ${verifyS.toFixed(2)} s`);
  // Load the chain into sqlite through the export/import path (import verifies it once more;
  // untimed), then time what `aria ledger verify` does: read everything and verify.
  const lines = [
    JSON.stringify({ kind: "aria.ledger.export", version: 1, height: chain.length - 1, headHash }),
    ...chain.map((block) => JSON.stringify({ kind: "block", block })),
  ];
  using store = openLedger(join(dir, "chain.sqlite"), { clock: { nowMs: () => Date.now() } });
  store.importLines(lines);
  const storeVerifyS = secondsOf(() => {
    const r = store.verify();
    if (!r.ok || r.value.headHash !== headHash) throw new Error("the stored chain differs");
  });
  console.error(`store.verify ${N_RECORDS} records: ${storeVerifyS.toFixed(2)} s`);
  const sorted = [...appendRuns].sort((a, b) => a - b);
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"]).stdout.toString().trim();
  const result = {
    commit,
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadavg: loadavg(),
    seal_every: SEAL_EVERY,
    synchronous: "FULL",
    appends: N_APPENDS,
    reps: REPS,
    appends_per_s_runs: appendRuns.map((r) => Math.round(r)),
    appends_per_s_median: Math.round(sorted[Math.floor(REPS / 2)]!),
    signs_per_s: Math.round(signs),
    chain_records: N_RECORDS,
    chain_blocks: chain.length - 1,
    verify_chain_s: Number(verifyS.toFixed(3)),
    verify_chain_records_per_s: Math.round(N_RECORDS / verifyS),
    store_verify_s: Number(storeVerifyS.toFixed(3)),
  };
  const out = join(import.meta.dir, "..", "results", "ledger.json");
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
