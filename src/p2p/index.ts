/**
 * @module The peer-to-peer network's public surface: protocol, node, transport, routing of whole
 * requests (docs/protocol.md), and pipeline parallelism — tensor frames, route planning, stage
 * servers, the coordinator and its transport interface (docs/pipeline.md).
 */
export {
  crc32,
  decodeTensorFrame,
  encodeTensorFrame,
  MAX_TENSOR_FRAME_BYTES,
  TENSOR_FRAME_KIND,
  type TensorFrame,
  TensorFrameError,
  type TensorFrameHeader,
  type TensorFrameKind,
} from "./tensor-frame.ts";
export {
  DEFAULT_MAX_HOPS,
  type IgnoredAdvert,
  isCompleteRoute,
  planRoute,
  type PlanRouteOptions,
  type Route,
  type RoutePlan,
  type RouteStage,
  type StageAdvert,
} from "./pipeline-plan.ts";
export {
  createInProcessLink,
  DEFAULT_STAGE_IDLE_MS,
  StageError,
  StageServer,
  type StageServerOptions,
} from "./stage.ts";
export {
  createPipelineEngine,
  type PipelineEngine,
  PipelineError,
  type PipelineEvent,
  type PipelineOptions,
  type StageLink,
  type StageNetwork,
} from "./pipeline.ts";
export {
  createHttpStageLink,
  createStageHandler,
  STAGE_PATH,
  type StageInfo,
} from "./stage-http.ts";
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
export {
  decodeStageMessage,
  encodeStageMessage,
  MAX_STAGE_TENSOR_BYTES,
  stageAdvertModel,
  stageAdvertsFromPeers,
  type StageOffer,
} from "./stage-wire.ts";
export {
  type StageAdmit,
  type StageTicket,
  StageWire,
  type StageWireOptions,
} from "./stage-p2p.ts";
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
