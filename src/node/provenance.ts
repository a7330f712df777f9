/**
 * @module Shell glue of `aria serve` for the provenance ledger: opens `<data dir>/ledger.sqlite`
 * and the node identity, hashes the GGUF file, reads its layer count, and builds the API's
 * `ProvenanceSink` (src/ledger/provenance.ts). Energy and consent come from an optional
 * `describeWork` function so the energy meter and the consent engine can be plugged in; without
 * it records say 0 mJ "estimated", never "measured". `answer-provenance.ts` puts the receipts
 * of work done by peers next to it.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { ProvenanceSink } from "../contract/index.ts";
import { loadOrCreateIdentity, type NodeIdentity } from "../identity/index.ts";
import {
  type Block,
  createProvenanceRecorder,
  type Hex32,
  type InferenceInput,
  LEDGER_FILE,
  type LedgerStore,
  openLedger,
  type WorkFacts,
} from "../ledger/index.ts";
import { kvNumber, kvString, openGguf } from "../model/index.ts";
import { AriaError } from "../shared/errors.ts";

/** The ledger side of a running server. */
export interface ServeProvenance {
  identity: NodeIdentity;
  store: LedgerStore;
  sink: ProvenanceSink;
  /** SHA-256 of the served GGUF (hex), hashed once here; the peer advert reuses it. */
  modelSha256: string;
  /** Seals what is pending and closes the file. */
  close(): void;
}

/**
 * SHA-256 of a file, read in 1 MiB chunks. Why not the mapped bytes: hashing a mapping faults
 * every page of the file into this process, and they stay resident (counted in its RSS, beside
 * the engine's own copies of the weights) until the mapping is collected.
 */
function sha256File(path: string): Hex32 {
  const hash = createHash("sha256");
  const chunk = new Uint8Array(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex") as Hex32;
}

/**
 * Opens the ledger for a server running a local GGUF model.
 *
 * @param dataDir the data directory.
 * @param modelPath the GGUF file the engine loads.
 * @param options the clock and, optionally, the energy/consent source.
 * @returns the identity, the store and the sink.
 * @throws {AriaError} LEDGER_OPEN / IDENTITY_INVALID when the files cannot be used;
 *   MODEL_LAYERS when the GGUF file does not state its layer count.
 */
export function openServeProvenance(
  dataDir: string,
  modelPath: string,
  options: Readonly<{
    clock: { nowMs(): number };
    /** The node's identity when the caller has it loaded (default: read from the data dir). */
    identity?: NodeIdentity;
    describeWork?: (input: InferenceInput) => WorkFacts;
    /** Stored with each sealed block, in its transaction (the energy attestation). */
    attestBlock?: (block: Block) => unknown;
  }>,
): ServeProvenance {
  const { file } = openGguf(modelPath);
  const arch = kvString(file, "general.architecture");
  const nLayers = arch === undefined ? undefined : kvNumber(file, `${arch}.block_count`);
  if (nLayers === undefined || !Number.isSafeInteger(nLayers) || nLayers < 1) {
    throw new AriaError(
      "MODEL_LAYERS",
      `Cannot record provenance: "${modelPath}" does not state its layer count (<arch>.block_count)`,
    );
  }
  // Why hash the file once at start: the record names the exact file that served.
  const modelSha256 = sha256File(modelPath);
  const identity = options.identity ?? loadOrCreateIdentity(dataDir);
  const store = openLedger(join(dataDir, LEDGER_FILE), {
    identity,
    clock: options.clock,
    ...(options.attestBlock ? { attestBlock: options.attestBlock } : {}),
  });
  const sink = createProvenanceRecorder({
    identity,
    writer: store,
    clock: options.clock,
    modelSha256,
    nLayers,
    ...(options.describeWork ? { describeWork: options.describeWork } : {}),
  });
  return {
    identity,
    store,
    sink,
    modelSha256,
    close() {
      store.seal();
      store.close();
    },
  };
}
