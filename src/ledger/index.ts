/** @module The provenance ledger: records, blocks, chain verification, receipts, the store. */
export {
  auditableTokens,
  type Block,
  type BlockHash,
  type BlockHeader,
  type EnergySource,
  hashHeader,
  hashRecord,
  hashTokenIds,
  type Hex32,
  type InferenceRecord,
  isHex32,
  isPolicyChange,
  LEDGER_VERSION,
  type LedgerRecord,
  type NodeUse,
  numberText,
  type PolicyChangeRecord,
  RECORD_V2,
  type RecordHash,
  recordTokens,
  type ReplayFacts,
  type ReplaySampling,
  sha256Text,
  type SignedHeader,
  type SignedLedgerRecord,
  type SignedRecord,
  ZERO_HASH,
} from "./entry.ts";
export {
  blockBodyFault,
  type ChainFault,
  GENESIS_BLOCK,
  GENESIS_HASH,
  GENESIS_HEADER,
  type HeaderFault,
  type Result,
  type VerifiedChain,
  verifyChain,
  verifyHeaders,
} from "./chain.ts";
export { type InclusionProof, inclusionProof, merkleRoot, verifyInclusion } from "./merkle.ts";
export { sealBlock, signRecord } from "./sign.ts";
export { buildReceipt, type ReceiptCheck, verifyReceipt } from "./receipt.ts";
export {
  blockSchema,
  headAttestationSchema,
  type LedgerMessage,
  ledgerMessageSchema,
  type Receipt,
  receiptSchema,
  signedHeaderSchema,
} from "./wire.ts";
export {
  DEFAULT_SEAL_EVERY,
  describeFault,
  integrityError,
  LEDGER_FILE,
  type LedgerStore,
  openLedger,
  type PeerChain,
  type StoredRecord,
} from "./store.ts";
export {
  ANNOUNCE_HEADERS,
  announceRange,
  type HeadersDecision,
  type PeerChainView,
  receiveHeaders,
  requestedRange,
} from "./sync.ts";
export {
  buildRecord,
  checkRelayedReceipt,
  createProvenanceRecorder,
  grammarHash,
  type InferenceInput,
  type LedgerWriter,
  logitBiasHash,
  promptHash,
  type PromptInput,
  type RelayExpectation,
  replayFacts,
  type ReplayInput,
  type ReplaySettings,
  type WorkFacts,
} from "./provenance.ts";
export {
  type ChainWeight,
  chainWeight,
  type DisprovedRecord,
  type WeightOptions,
} from "./weight.ts";
export {
  compareReplay,
  parseReplayRequest,
  planReplay,
  type ReplayOutcome,
  type ReplayPlan,
  type ReplayRequest,
  type ReplayRun,
} from "./replay.ts";
export {
  findRewrite,
  type HeadAttestation,
  signHeadAttestation,
  verifyHeadAttestation,
} from "./attest.ts";
