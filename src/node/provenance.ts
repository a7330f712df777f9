/**
 * @module Shell glue of `aria serve` for the provenance ledger: opens `<data dir>/ledger.sqlite`
 * and the node identity, hashes the GGUF file, reads its layer count, and builds the API's
 * `ProvenanceSink` (src/ledger/provenance.ts). Energy and consent come from an optional
 * `describeWork` function so the energy meter and the consent engine can be plugged in; without
 * it records say 0 mJ "estimated", never "measured". `answer-provenance.ts` puts the receipts
 * of work done by peers next to it.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { ProvenanceSink } from "../contract/index.ts";
import { loadOrCreateIdentity, type NodeIdentity } from "../identity/index.ts";
import {
  type Block,
  type Hex32,
  LEDGER_FILE,
  type LedgerStore,
  openLedger,
} from "../ledger/index.ts";
import {
  createProvenanceRecorder,
  type InferenceInput,
  type WorkFacts,
} from "../ledger/provenance.ts";
import { kvNumber, kvString } from "../model/gguf-reader.ts";
import { openGguf } from "../model/open.ts";
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
  const { bytes, file } = openGguf(modelPath);
  const arch = kvString(file, "general.architecture");
  const nLayers = arch === undefined ? undefined : kvNumber(file, `${arch}.block_count`);
  if (nLayers === undefined || !Number.isSafeInteger(nLayers) || nLayers < 1) {
    throw new AriaError(
      "MODEL_LAYERS",
      `Cannot record provenance: "${modelPath}" does not state its layer count (<arch>.block_count)`,
    );
  }
  // Why hash the mapped bytes once at start: the record names the exact file that served.
  const modelSha256 = createHash("sha256").update(bytes).digest("hex") as Hex32;
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
