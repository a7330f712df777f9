/**
 * @module The ledger step of a serving node [S]: the provenance ledger (native backend: every
 * answer gets a signed record and a receipt) and the ledger that records consent policy changes
 * whatever the backend (the same store when the provenance ledger is open). Both are put on the
 * node's disposal stack. Moved from src/cli/serve.ts.
 */
import { join } from "node:path";
import type { ServeConfig } from "../config/index.ts";
import type { NodeIdentity } from "../identity/index.ts";
import {
  type InferenceInput,
  LEDGER_FILE,
  type LedgerStore,
  openLedger,
  type WorkFacts,
} from "../ledger/index.ts";
import type { Clock } from "../shared/clock.ts";
import { blockAttester } from "./block-energy.ts";
import { openServeProvenance, type ServeProvenance } from "./provenance.ts";

/** The node's open ledgers. */
export interface NodeLedgers {
  /** The provenance ledger; undefined when the backend's work is not this node's (external,
   * simulation). */
  provenance: ServeProvenance | undefined;
  /** Where policy changes are recorded: the provenance ledger's store, or its own. */
  policy: LedgerStore;
}

/**
 * Opens the ledgers and puts their closing on `stack` (closing the provenance ledger seals
 * pending records into a last block).
 *
 * @param ledgerModelPath the served model file (undefined: no provenance ledger).
 * @throws the open error (bad ledger file, model that cannot be read); what was opened is on
 *   the stack already.
 */
export function openLedgers(
  config: ServeConfig,
  ledgerModelPath: string | undefined,
  deps: Readonly<{
    identity: NodeIdentity;
    clock: Clock;
    describeWork: (input: InferenceInput) => WorkFacts;
  }>,
  stack: AsyncDisposableStack,
): NodeLedgers {
  const { identity, clock } = deps;
  const provenance = ledgerModelPath === undefined ? undefined : openServeProvenance(
    config.dataDir,
    ledgerModelPath,
    {
      clock,
      identity,
      describeWork: deps.describeWork,
      // Proof of Sobriety: each sealed block carries its signed energy attestation
      attestBlock: blockAttester(identity, config.energyBaseline),
    },
  );
  if (provenance) {
    stack.defer(() => provenance.close());
    return { provenance, policy: provenance.store };
  }
  // Policy changes go into the ledger whatever the backend: consent is about the node, not its
  // engine.
  const policy = openLedger(join(config.dataDir, LEDGER_FILE), { identity, clock });
  stack.defer(() => policy.close());
  return { provenance, policy };
}
