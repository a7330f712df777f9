/**
 * @module The layer pipeline's public surface (docs/pipeline.md): tensor frames, route planning,
 * stage servers, the coordinator and its transport interface, the stage's HTTP handler and its
 * messages on the peer network (StageWire). It uses the peer network (src/p2p/) as a transport;
 * the peer network knows nothing of it.
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
  routeNumerics,
  type RoutePlan,
  type RouteStage,
  type StageAdvert,
  type StageNumerics,
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
export { type LayerRange, parseLayerRange } from "./layer-range.ts";
