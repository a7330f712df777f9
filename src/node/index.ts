/**
 * @module The node folder's public surface: `startNode(config)`, the one place a node is
 * assembled (src/node/start.ts), and the two adapters the CLI's other verbs share with it (a
 * consent change recorded in the ledger; a block's energy attestation checked).
 */
export { type RunningNode, startNode, type StartOptions } from "./start.ts";
export { recordConsentChange } from "./policy-ledger.ts";
export { type AttestationCheck, checkBlockAttestation } from "./block-energy.ts";
export { FRAUD_PROOF_DIR, fraudProofStore } from "./fraud-proofs.ts";
