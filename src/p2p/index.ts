/** @module The peer-to-peer network: what other folders use (cli/serve.ts, the pipeline). */
export {
  type Advert,
  type Envelope,
  ERROR_CODES,
  type ErrorCode,
  MAX_FRAME_BYTES,
  PIPELINE_KIND_PREFIX,
  PROTOCOL_VERSION_STRING,
} from "./protocol.ts";
export {
  bunTransport,
  type ExtensionHandler,
  type NodeCrypto,
  P2PNode,
  PeerRequestError,
} from "./node.ts";
export { type Connection, MemoryNetwork, type Transport } from "./transport.ts";
export { PeerBackend } from "./router.ts";
export { advertFromBackend, meteredBackend, serveFromBackend } from "./serve-peer.ts";
export { formatPeerTable, type PeerRow, peerTable } from "./peer-table.ts";
export { peersRoute } from "./peers-route.ts";
