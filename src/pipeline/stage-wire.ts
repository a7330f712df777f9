/**
 * @module Pipeline stages over the peer network, the pure part: the binary message that carries a
 * tensor frame between a coordinator and a stage (a 12-byte envelope with a correlation id, then
 * the frame), the advert entry of a stage, and the conversion of peers' adverts into the
 * `StageAdvert`s route planning reads. Pure: no I/O, no clock; the shell is stage-p2p.ts.
 *
 * Layout of one binary WebSocket message (little-endian):
 *   offset size field
 *        0    4 magic   "ARSW" (0x57535241 read as u32)
 *        4    1 version STAGE_WIRE_VERSION (1)
 *        5    1 type    1 = request (coordinator → stage), 2 = reply (stage → coordinator)
 *        6    2 zero    reserved, must be 0
 *        8    4 id      correlation id chosen by the requester; the reply carries the same id.
 *                       Replies to different requests may arrive in any order.
 *       12    …         the tensor frame (tensor-frame.ts), at most MAX_STAGE_TENSOR_BYTES
 *
 * Binary messages are not signed one by one: the node accepts them only on a connection whose
 * peer finished the signed handshake (node.ts), so the sender is that authenticated peer. The
 * whole message is at most the node's binary frame cap (MAX_BINARY_FRAME_BYTES, 4 MiB).
 *
 * Version history:
 *   1  first version (protocol 1.1).
 */
import type { StageAdvert, StageNumerics } from "./pipeline-plan.ts";
import { type Advert, MAX_BINARY_FRAME_BYTES } from "../p2p/protocol.ts";

/** "ARSW" read as a little-endian u32. */
export const STAGE_WIRE_MAGIC = 0x57535241;
/** Version of the envelope. */
export const STAGE_WIRE_VERSION = 1;
/** Bytes before the tensor frame. */
export const STAGE_WIRE_HEADER_BYTES = 12;
/** Largest tensor frame a stage message carries: the node's binary cap minus the envelope. */
export const MAX_STAGE_TENSOR_BYTES = MAX_BINARY_FRAME_BYTES - STAGE_WIRE_HEADER_BYTES;
/** Speed assumed for a stage that has not measured itself yet (tokens/s). Why 1: planning needs
 * a positive figure; so low a figure puts unmeasured stages after measured ones, and among
 * themselves they are ordered by hops and node id only. */
export const UNMEASURED_TOKENS_PER_SECOND = 1;

const TYPE_CODE = { request: 1, reply: 2 } as const;
/** Whether a message asks or answers. */
export type StageMessageType = keyof typeof TYPE_CODE;

/** One decoded stage message. */
export interface StageMessage {
  type: StageMessageType;
  /** Correlation id, u32. */
  id: number;
  /** The tensor frame bytes (a view into the message). */
  frame: Uint8Array;
}

/**
 * Encodes a stage message.
 *
 * @param message type, id, frame.
 * @returns the bytes to send as one binary WebSocket message.
 * @throws {RangeError} when the id is not a u32 or the frame is over MAX_STAGE_TENSOR_BYTES.
 */
export function encodeStageMessage(message: Readonly<StageMessage>): Uint8Array {
  if (!Number.isInteger(message.id) || message.id < 0 || message.id > 0xffff_ffff) {
    throw new RangeError(`Cannot encode a stage message: id ${message.id} is not a u32`);
  }
  if (message.frame.length > MAX_STAGE_TENSOR_BYTES) {
    throw new RangeError(
      `Cannot encode a stage message: the frame of ${message.frame.length} bytes exceeds ${MAX_STAGE_TENSOR_BYTES}`,
    );
  }
  const out = new Uint8Array(STAGE_WIRE_HEADER_BYTES + message.frame.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, STAGE_WIRE_MAGIC, true);
  out[4] = STAGE_WIRE_VERSION;
  out[5] = TYPE_CODE[message.type];
  view.setUint32(8, message.id, true);
  out.set(message.frame, STAGE_WIRE_HEADER_BYTES);
  return out;
}

/**
 * Decodes a stage message (the envelope only: the frame is the stage's or coordinator's to
 * check).
 *
 * @param bytes one binary message as received.
 * @returns the message, or why it is not one (the caller ignores and counts it: no reply can be
 *   correlated without an id).
 */
export function decodeStageMessage(
  bytes: Uint8Array,
): { ok: true; value: StageMessage } | { ok: false; reason: string } {
  if (bytes.length < STAGE_WIRE_HEADER_BYTES) {
    return { ok: false, reason: `message of ${bytes.length} bytes is shorter than its header` };
  }
  if (bytes.length > MAX_BINARY_FRAME_BYTES) {
    return { ok: false, reason: `message of ${bytes.length} bytes exceeds the binary cap` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== STAGE_WIRE_MAGIC) return { ok: false, reason: "bad magic" };
  if (bytes[4] !== STAGE_WIRE_VERSION) {
    return { ok: false, reason: `unknown version ${bytes[4]}` };
  }
  const type = bytes[5] === 1 ? "request" : bytes[5] === 2 ? "reply" : undefined;
  if (type === undefined) return { ok: false, reason: `unknown type ${bytes[5]}` };
  if (view.getUint16(6, true) !== 0) return { ok: false, reason: "reserved bytes are not zero" };
  return {
    ok: true,
    value: { type, id: view.getUint32(8, true), frame: bytes.subarray(STAGE_WIRE_HEADER_BYTES) },
  };
}

/** What a stage node offers, for its advert. */
export interface StageOffer {
  modelId: string;
  /** SHA-256 (hex) of the model file; "" while it is being hashed. */
  sha256: string;
  nLayer: number;
  /** Blocks loaded, half-open [layerBegin, layerEnd). */
  layerBegin: number;
  layerEnd: number;
  /** How its blocks compute (contract, head, KV type); advertised for re-executable records. */
  numerics?: StageNumerics;
}

/**
 * The advert's model entry of a stage. Adverts name layers inclusively ([first, last],
 * docs/protocol.md); the pipeline's ranges are half-open.
 *
 * @param offer the stage's model and blocks.
 * @returns the entry.
 */
export function stageAdvertModel(offer: Readonly<StageOffer>): Advert["models"][number] {
  return {
    id: offer.modelId,
    sha256: offer.sha256,
    layers: [offer.layerBegin, offer.layerEnd - 1],
    nLayers: offer.nLayer,
    ...(offer.numerics ? { numerics: { ...offer.numerics } } : {}),
  };
}

/** A connected peer as the peer table holds it (the fields read here). */
export interface AdvertisingPeer {
  id: string;
  advert: Advert | null;
}

/**
 * The stages of a model file that connected peers advertise, for `planRoute`. Peers that are in
 * the table are connected and answered liveness (silent ones are dropped), so they are alive.
 * Load is the share of session slots in use; an unmeasured speed counts as
 * UNMEASURED_TOKENS_PER_SECOND. Whole-model entries (layers null) are not stages.
 *
 * @param peers the connected peers.
 * @param modelHash the model file's SHA-256.
 * @returns one advert per (peer, stage entry of that file).
 */
export function stageAdvertsFromPeers(
  peers: Iterable<AdvertisingPeer>,
  modelHash: string,
): StageAdvert[] {
  const out: StageAdvert[] = [];
  for (const p of peers) {
    const a = p.advert;
    if (a === null || modelHash === "") continue;
    const load = a.slots > 0 ? Math.min(1, Math.max(0, 1 - a.freeSlots / a.slots)) : 1;
    for (const m of a.models) {
      if (m.layers === null || m.sha256 !== modelHash) continue;
      out.push({
        nodeId: p.id,
        modelHash,
        nLayer: m.nLayers,
        layerBegin: m.layers[0],
        layerEnd: m.layers[1] + 1,
        load,
        tokensPerSecond: a.tokensPerSecond > 0 ? a.tokensPerSecond : UNMEASURED_TOKENS_PER_SECOND,
        alive: true,
        ...(m.numerics ? { numerics: { ...m.numerics } } : {}),
      });
    }
  }
  return out;
}
