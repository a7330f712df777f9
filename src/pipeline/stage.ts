/**
 * @module Shell: a pipeline stage server. Holds a `NativeModel` loaded with a block range and one
 * evaluation context whose sequences are the sessions' KV caches (one sequence per session).
 * Answers tensor frames (tensor-frame.ts): tokens or hidden states in, hidden states (or the
 * logits of the batch's last row, when it ran the last block) out; close frames forget a session.
 *
 * Sessions: created by their first frame (at position 0), kept until an explicit close or until
 * they have been idle for `idleMs` — idle sessions are reclaimed when a new session needs their
 * slot (a slot's KV cache is allocated once with the context, so nothing else is held). A frame
 * that starts below the session's length replays: the sequence is truncated there first (the
 * coordinator's fail-over replays the prompt and the tokens so far). A frame that starts beyond
 * it (this stage restarted, or reclaimed the session) is refused with SESSION_GAP so that the
 * coordinator replays from position 0.
 *
 * `handle(bytes)` never throws (STYLE.md B7.4): every problem becomes an error frame with a code:
 * FRAME_INVALID, BAD_REQUEST, WRONG_LAYERS, SESSION_GAP, BUSY, CTX_FULL, ENGINE, CLOSED.
 * One FFI call per frame, bounded by `nBatch` rows.
 */
import {
  EngineError,
  type NativeContext,
  type NativeModel,
  openModel,
  type OutputHead,
} from "../engine/index.ts";
import { AriaError } from "../shared/errors.ts";
import type { StageLink } from "./pipeline.ts";
import {
  decodeTensorFrame,
  encodeTensorFrame,
  type TensorFrame,
  type TensorFrameHeader,
} from "./tensor-frame.ts";

/** A request a stage refuses; `code` goes into the error frame. */
export class StageError extends AriaError {
  /** @param code error frame code. @param message what failed and what to do. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** Options of {@link StageServer}. */
export interface StageServerOptions {
  /** Sessions served at once, one KV sequence each (default 4). */
  nSessions?: number;
  /** Positions per session (default: min(model's, 2048)). */
  nCtx?: number;
  /** Most rows per frame (default 256). */
  nBatch?: number;
  /** Worker threads (default: all cores). */
  nThreads?: number;
  /** Idle milliseconds after which a session's slot may be reclaimed (default 120 000). */
  idleMs?: number;
  /** Milliseconds from an arbitrary origin (default `performance.now`). */
  nowMs?: () => number;
  /** Size cap of frames in and out (default MAX_TENSOR_FRAME_BYTES). */
  maxFrameBytes?: number;
  /** The output head the model was loaded with (default "float"); advertised, see `outputHead`. */
  outputHead?: OutputHead;
}

/** Default idle time. Why two minutes: longer than any pause between tokens of a live request. */
export const DEFAULT_STAGE_IDLE_MS = 120_000;

interface Session {
  slot: number;
  lastUsedMs: number;
}

/** Serves blocks [layerBegin, layerEnd) of one model to pipeline coordinators. */
export class StageServer {
  readonly #model: NativeModel;
  readonly #ctx: NativeContext;
  readonly #sessions = new Map<string, Session>();
  readonly #freeSlots: number[];
  readonly #idleMs: number;
  readonly #nowMs: () => number;
  readonly #maxFrameBytes: number | undefined;
  /** The output head the model was loaded with (the last stage's logits come from it). */
  readonly outputHead: OutputHead;
  #closed = false;

  /**
   * Loads a stage.
   *
   * @param path the GGUF file.
   * @param options the block range (`layerBegin`, `layerEnd`; -1 = to the last), the sizes, and
   *   `outputHead` (the file's head, or a float head requantized at load to "int8" or "int4", as
   *   `aria serve --output-head`; default "float") and
   *   `repack` (TQ1_0 blocks repacked to TQ2_0 at load, as `aria serve` does unless --no-repack).
   * @returns the stage; `close()` it when done.
   * @throws {EngineError} when the file or the range cannot be loaded.
   */
  static async open(
    path: string,
    options: Readonly<
      StageServerOptions & {
        layerBegin: number;
        layerEnd: number;
        repack?: boolean;
      }
    >,
  ): Promise<StageServer> {
    const model = await openModel(path, {
      layerBegin: options.layerBegin,
      layerEnd: options.layerEnd,
      outputHead: options.outputHead ?? "float",
      repack: options.repack === true,
    });
    try {
      return new StageServer(model, options);
    } catch (err: unknown) {
      // terminated: the model is freed, the error goes on to the caller
      model.close();
      throw err;
    }
  }

  /** Set when the asked context was above the model's and was capped to it. */
  readonly contextCapped?: { asked: number; used: number };

  /**
   * @param model a model loaded with a block range; the stage owns it from now on.
   * @param options sizes, idle time, clock.
   * @throws {EngineError} when the context cannot be created.
   */
  constructor(model: NativeModel, options: Readonly<StageServerOptions> = {}) {
    const nSessions = options.nSessions ?? 4;
    this.#model = model;
    // handled here: a --ctx above the model's context is capped to it, as `aria serve` does
    // (issue 19, hole 10); the caller reports `contextCapped` as a warning
    const asked = options.nCtx ?? 2048;
    const nCtx = Math.min(asked, model.info.nCtxTrain);
    if (options.nCtx !== undefined && asked > nCtx) this.contextCapped = { asked, used: nCtx };
    this.#ctx = model.createContext({
      nCtx,
      nSeq: nSessions,
      nBatch: options.nBatch ?? 256,
      ...(options.nThreads !== undefined ? { nThreads: options.nThreads } : {}),
    });
    this.#freeSlots = Array.from({ length: nSessions }, (_, i) => nSessions - 1 - i);
    this.#idleMs = options.idleMs ?? DEFAULT_STAGE_IDLE_MS;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#maxFrameBytes = options.maxFrameBytes;
    this.outputHead = options.outputHead ?? "float";
  }

  /** The KV cache element type of the sessions. */
  get kvType(): "f32" | "f16" {
    return this.#ctx.options.kvType;
  }

  /** First block loaded. */
  get layerBegin(): number {
    return this.#model.info.layerBegin;
  }
  /** End of the blocks loaded. */
  get layerEnd(): number {
    return this.#model.info.layerEnd;
  }
  /** Blocks of the whole model. */
  get nLayer(): number {
    return this.#model.info.nLayer;
  }
  /** Sessions open now. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /**
   * Answers one request frame. Never throws: failures become error frames (module comment).
   *
   * @param request the frame bytes.
   * @returns the reply frame bytes.
   */
  handle(request: Uint8Array): Uint8Array {
    let frame: TensorFrame;
    try {
      frame = decodeTensorFrame(request, this.#frameOptions());
    } catch (err: unknown) {
      // converted: an undecodable frame gets an error reply without a usable session id
      const message = err instanceof Error ? err.message : String(err);
      return this.#errorReply(ZERO_HEADER, "FRAME_INVALID", message);
    }
    return this.handleFrame(frame);
  }

  /**
   * Answers one request frame already decoded (the p2p service decodes once to check the
   * session's owner and consent first). Never throws.
   *
   * @param frame the request.
   * @returns the reply frame bytes (an error frame when the request fails).
   */
  handleFrame(frame: TensorFrame): Uint8Array {
    try {
      return encodeTensorFrame(this.evalStage(frame), this.#frameOptions());
    } catch (err: unknown) {
      // converted: every failure becomes an error frame for the coordinator (STYLE.md B7.4)
      return this.#errorReply(frame, ...errorCodeOf(err));
    }
  }

  /**
   * Whether the stage holds a session now (it may have reclaimed an idle one).
   *
   * @param session the session id.
   * @returns true while its KV cache is kept.
   */
  hasSession(session: string): boolean {
    return this.#sessions.has(session);
  }

  /** Session slots (KV sequences) in all. */
  get slotCount(): number {
    return this.#sessions.size + this.#freeSlots.length;
  }

  /**
   * Evaluates one request (already decoded).
   *
   * @param frame tokens (first stage), hidden (any stage) or close.
   * @returns hidden states after the requested blocks, the logits of the last row when the
   *   request ran the last block, or a close frame.
   * @throws {StageError} for requests this stage cannot serve (module comment lists the codes).
   * @throws {EngineError} when the native evaluation fails.
   */
  evalStage(frame: TensorFrame): TensorFrame {
    if (this.#closed) throw new StageError("CLOSED", "Cannot evaluate: the stage is closed");
    const header = headerOf(frame);
    if (frame.kind === "close") {
      this.closeSession(frame.session);
      return { ...header, kind: "close" };
    }
    if (frame.kind !== "tokens" && frame.kind !== "hidden") {
      throw new StageError(
        "BAD_REQUEST",
        `Cannot evaluate a ${frame.kind} frame: send tokens or hidden`,
      );
    }
    this.#checkLayers(frame);
    const rows = frame.kind === "tokens" ? frame.tokens.length : frame.rows;
    const { nEmbd } = this.#model.info;
    if (frame.kind === "hidden" && frame.cols !== nEmbd) {
      throw new StageError(
        "BAD_REQUEST",
        `Cannot evaluate hidden states of width ${frame.cols}: this model has ${nEmbd}`,
      );
    }
    if (rows > this.#ctx.options.nBatch) {
      throw new StageError(
        "BAD_REQUEST",
        `Cannot evaluate ${rows} rows: at most ${this.#ctx.options.nBatch} per frame`,
      );
    }
    const slot = this.#slotFor(frame.session, frame.posStart, rows);
    let hidden: Float32Array;
    if (frame.kind === "tokens") {
      hidden = new Float32Array(rows * nEmbd);
      this.#ctx.embed(frame.tokens, hidden);
    } else hidden = frame.data;
    const pos = Array.from({ length: rows }, (_, i) => frame.posStart + i);
    this.#ctx.evalLayers(hidden, { begin: frame.layerBegin, end: frame.layerEnd }, {
      seq: slot,
      pos,
    });
    const done = { ...header, layerBegin: frame.layerEnd, layerEnd: frame.layerEnd };
    if (frame.layerEnd === this.nLayer) {
      const logits = this.#ctx.output(hidden.subarray((rows - 1) * nEmbd));
      return { ...done, kind: "logits", rows: 1, cols: logits.length, data: logits };
    }
    return { ...done, kind: "hidden", rows, cols: nEmbd, data: hidden };
  }

  /** Forgets a session and frees its slot (unknown ids are ignored). */
  closeSession(session: string): void {
    const s = this.#sessions.get(session);
    if (s === undefined) return;
    this.#sessions.delete(session);
    this.#ctx.truncate(s.slot, 0);
    this.#freeSlots.push(s.slot);
  }

  /**
   * Closes the sessions idle for longer than `idleMs`.
   *
   * @returns how many were closed.
   */
  sweep(): number {
    const now = this.#nowMs();
    let n = 0;
    for (const [id, s] of this.#sessions) {
      if (now - s.lastUsedMs > this.#idleMs) {
        this.closeSession(id);
        n++;
      }
    }
    return n;
  }

  /** Frees the context and the model. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sessions.clear();
    this.#ctx.close();
    this.#model.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #frameOptions(): { maxBytes?: number } {
    return this.#maxFrameBytes === undefined ? {} : { maxBytes: this.#maxFrameBytes };
  }

  #checkLayers(frame: TensorFrame & { kind: "tokens" | "hidden" }): void {
    const { layerBegin: b, layerEnd: e } = frame;
    if (b >= e || b < this.layerBegin || e > this.layerEnd) {
      throw new StageError(
        "WRONG_LAYERS",
        `Cannot run blocks [${b}, ${e}): this stage holds [${this.layerBegin}, ${this.layerEnd})`,
      );
    }
    if (frame.kind === "tokens" && b !== 0) {
      throw new StageError(
        "WRONG_LAYERS",
        `Cannot start at block ${b} from tokens: send hidden states`,
      );
    }
  }

  /** The session's slot, truncated to posStart (a replay), or a new slot at position 0. */
  #slotFor(session: string, posStart: number, rows: number): number {
    const nCtx = this.#ctx.options.nCtx;
    if (posStart + rows > nCtx) {
      throw new StageError(
        "CTX_FULL",
        `Cannot evaluate positions ${posStart}..${posStart + rows - 1}: the context holds ${nCtx}`,
      );
    }
    let s = this.#sessions.get(session);
    if (s === undefined) {
      if (posStart !== 0) {
        throw new StageError(
          "SESSION_GAP",
          `Cannot continue session ${session} at position ${posStart}: this stage does not hold it; replay from position 0`,
        );
      }
      s = { slot: this.#takeSlot(), lastUsedMs: 0 };
      this.#sessions.set(session, s);
    }
    const length = this.#ctx.seqLength(s.slot);
    if (posStart > length) {
      throw new StageError(
        "SESSION_GAP",
        `Cannot continue session ${session} at position ${posStart}: it holds ${length} positions; replay from position 0`,
      );
    }
    if (posStart < length) this.#ctx.truncate(s.slot, posStart);
    s.lastUsedMs = this.#nowMs();
    return s.slot;
  }

  #takeSlot(): number {
    if (this.#freeSlots.length === 0) this.sweep();
    const slot = this.#freeSlots.pop();
    if (slot === undefined) {
      throw new StageError(
        "BUSY",
        `Cannot open a session: all ${this.#sessions.size} slots are in use; try another stage`,
      );
    }
    return slot;
  }

  #errorReply(header: TensorFrameHeader, code: string, message: string): Uint8Array {
    return encodeTensorFrame({
      ...headerOf(header),
      kind: "error",
      code,
      message: message.slice(0, 1000),
    });
  }
}

const ZERO_HEADER: TensorFrameHeader = {
  session: "0".repeat(32),
  sequence: 0,
  posStart: 0,
  layerBegin: 0,
  layerEnd: 0,
};

function headerOf(h: TensorFrameHeader): TensorFrameHeader {
  return {
    session: h.session,
    sequence: h.sequence,
    posStart: h.posStart,
    layerBegin: h.layerBegin,
    layerEnd: h.layerEnd,
  };
}

function errorCodeOf(err: unknown): [string, string] {
  if (err instanceof StageError) return [err.code, err.message];
  if (err instanceof EngineError) {
    return [err.code === "ENGINE_CTX_FULL" ? "CTX_FULL" : "ENGINE", err.message];
  }
  return ["ENGINE", err instanceof Error ? err.message : String(err)];
}

/**
 * A `StageLink` to a stage in this process (tests, benchmarks, and a node that serves a stage of
 * its own route). Each call takes one turn of the event loop, as a real transport would.
 *
 * @param nodeId the id the route knows the stage by.
 * @param stage the stage.
 * @returns the link.
 */
export function createInProcessLink(nodeId: string, stage: StageServer): StageLink {
  return {
    nodeId,
    async request(frame: Uint8Array): Promise<Uint8Array> {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return stage.handle(frame);
    },
  };
}
