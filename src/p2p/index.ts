/**
 * @module The peer-to-peer network's public surface: protocol, node, transport, routing of whole
 * requests (docs/protocol.md). Pipeline parallelism is src/pipeline/.
 */
export {
  type Advert,
  type Envelope,
  ERROR_CODES,
  type ErrorCode,
  MAX_BINARY_FRAME_BYTES,
  MAX_FRAME_BYTES,
  PIPELINE_KIND_PREFIX,
  PROTOCOL_VERSION_STRING,
} from "./protocol.ts";
export {
  bunTransport,
  DEFAULT_BINARY_RATE,
  type ExtensionHandler,
  type NodeCrypto,
  P2PNode,
  PeerRequestError,
} from "./node.ts";
export { type Connection, MemoryNetwork, type Transport } from "./transport.ts";
export { PeerBackend } from "./router.ts";
export {
  advertFromBackend,
  meteredBackend,
  type PeerConsent,
  type PeerProvenance,
  serveFromBackend,
} from "./serve-peer.ts";
export { formatPeerTable, type PeerRow, peerTable } from "./peer-table.ts";
export { peersRoute } from "./peers-route.ts";
export { type PeerState } from "./peer-state.ts";
export { DEFAULT_PLAN } from "./plan.ts";
export {
  type AddressBook,
  parseAddressBook,
  restoredBootstrap,
  snapshotAddresses,
} from "./address-book.ts";
export {
  type AuditCounters,
  Auditor,
  type AuditStatsStore,
  FRAUD_PROOF_KIND,
  type FraudProofStore,
} from "./auditor.ts";
export {
  type CheckedProof,
  checkFraudProof,
  type ConvictedRecord,
  convictedRecords,
  type FraudProof,
  fraudProofSchema,
  verifyFraudProof,
} from "./fraud-proof.ts";
export { type AuditStats, DEFAULT_AUDIT_RATE } from "./audit-plan.ts";
export { cheatingBackend } from "./test-cheat.ts";
export { Overlay, type OverlayDeps, type Provided, type Route } from "./overlay.ts";
export { DEFAULT_RELAY_POLICY, type RelayPolicy } from "./relay/relay.ts";
export { modelNameKey } from "./dht/key.ts";
export { type LanDiscovery, startLanDiscovery } from "./lan-discovery.ts";
export {
  formatNetworkSummary,
  type NetworkSummary,
  networkSummary,
  type OverlayFigures,
} from "./network-view.ts";
