/**
 * @module The pipeline coordinator: generation over a route of stages, as a `GenerationEngine`
 * (src/generation/port.ts), so that the ordinary generation loop — sampling, stop strings, limits,
 * streaming text — drives a pipeline exactly as it drives one local context. Sampling stays on
 * the coordinator; stages only move tensors.
 *
 * Each evaluation (a prompt chunk of at most `chunkTokens`, or one generated token) goes through
 * the route stage by stage (the coordinator talks to every stage in turn, as Petals' client
 * does): tokens into the first stage, its hidden states into the next, …, the logits of the last
 * row out of the last stage. The transport is a `StageLink` per node (this file defines the
 * interface; `stage.ts` has the in-process one, the p2p node adds a WebSocket one).
 *
 * Fail-over: when a stage fails (its link rejects, it does not answer within `timeoutMs`, it
 * answers an error frame or a malformed reply), the coordinator excludes that node, plans a new
 * route from the current adverts (replicas take its place), replays the prompt and every token
 * evaluated so far through the new route from position 0 (stages that kept the session truncate
 * and recompute, new stages build their KV cache), then retries the evaluation that failed. The
 * generation loop sees one uninterrupted stream; the logits after a replay equal those of a run
 * without failure (same blocks, same order, same positions), so greedy output is identical.
 * A stage that answers SESSION_GAP (it lost the session, e.g. after a restart) is not excluded:
 * the coordinator only replays. After `maxFailovers` failures in one evaluation it gives up with
 * a `PipelineError`.
 *
 * Not pure (timers for time-outs, random session ids); everything else comes through the
 * `StageNetwork` port.
 */
import type { GenerationEngine } from "../generation/port.ts";
import { AriaError } from "../shared/errors.ts";
import { planRoute, type Route, type RouteStage, type StageAdvert } from "./pipeline-plan.ts";
import {
  decodeTensorFrame,
  encodeTensorFrame,
  type TensorFrame,
  type TensorFrameHeader,
} from "./tensor-frame.ts";

/**
 * A connection to one stage: the interface a transport implements. One call = one request frame
 * and its reply frame (tensor-frame.ts bytes, opaque to the transport). Calls may overlap on one
 * link only for different sessions; the transport correlates replies (e.g. by an envelope id).
 */
export interface StageLink {
  /** The node this link reaches. */
  readonly nodeId: string;
  /**
   * Sends a request frame and resolves with the reply frame.
   *
   * @param frame the request (tokens, hidden or close frame).
   * @param signal aborted when the coordinator gives up (time-out); the link should stop waiting
   *   and reject. (The coordinator stops waiting on its own even if the link does not.)
   * @returns the reply bytes (an error frame is a reply, not a rejection).
   * @throws when the stage cannot be reached or the connection drops: any rejection counts as a
   *   failure of that stage.
   */
  request(frame: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
}

/** What the coordinator needs from the peer network. */
export interface StageNetwork {
  /** The current adverts of stages for a model file (from discovery). */
  adverts(modelHash: string): readonly StageAdvert[] | Promise<readonly StageAdvert[]>;
  /**
   * A link to a node (dialling it if needed).
   *
   * @throws when the node cannot be reached (counts as a failure of that stage).
   */
  link(nodeId: string): StageLink | Promise<StageLink>;
}

/** What happened, for logs and tests. */
export type PipelineEvent =
  | { kind: "route"; route: Route }
  | { kind: "failover"; nodeId: string; code: string; message: string; replayTokens: number };

/** Options of {@link createPipelineEngine}. */
export interface PipelineOptions {
  /** SHA-256 (hex) of the model file. */
  modelHash: string;
  /** Blocks of the model. */
  nLayer: number;
  /** Positions of the session (prompt and generated tokens together). */
  nCtx: number;
  /** Session id, 32 hex digits (default: random). */
  session?: string;
  /** Milliseconds to wait for one stage's reply (default 30 000). */
  timeoutMs?: number;
  /** Most prompt tokens per frame (default 64; stages accept up to their nBatch). */
  chunkTokens?: number;
  /** Most failures handled within one evaluation (default 3). */
  maxFailovers?: number;
  /** Route hop limit (default: pipeline-plan's). */
  maxHops?: number;
  /** Receives route and fail-over events. */
  onEvent?: (event: PipelineEvent) => void;
}

/** A pipeline `GenerationEngine` with its route and session. */
export interface PipelineEngine extends GenerationEngine {
  /** The route in use (undefined before the first evaluation). */
  readonly route: Route | undefined;
  /** Nodes excluded after failures. */
  readonly excluded: ReadonlySet<string>;
  /** Fail-overs so far. */
  readonly failovers: number;
  /** Sends close frames to the stages of the route (best effort). */
  close(): Promise<void>;
}

/** Generation over a pipeline failed for good (no route, or too many failures). */
export class PipelineError extends AriaError {
  /** @param message what failed. @param options cause. */
  constructor(message: string, options?: ErrorOptions) {
    super("PIPELINE_FAILED", message, options);
  }
}

/** One stage did not do its part. */
class StageFailure extends Error {
  constructor(readonly nodeId: string, readonly code: string, message: string) {
    super(message);
  }
}

const DEFAULTS = { timeoutMs: 30_000, chunkTokens: 64, maxFailovers: 3 } as const;

function randomSession(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Creates a pipeline engine for one session.
 *
 * @param network adverts and links.
 * @param options the model, the session, limits.
 * @returns the engine; drive it with `generate()` and `close()` it after.
 * @example
 * ```ts
 * const engine = createPipelineEngine(network, { modelHash, nLayer: 30, nCtx: 2048 });
 * const gen = generate({ engine, tokenizer }, ids, { maxTokens: 64 });
 * ```
 */
export function createPipelineEngine(
  network: StageNetwork,
  options: Readonly<PipelineOptions>,
): PipelineEngine {
  return new Coordinator(network, options);
}

class Coordinator implements PipelineEngine {
  readonly #network: StageNetwork;
  readonly #o: Readonly<PipelineOptions & { [K in keyof typeof DEFAULTS]: number }>;
  readonly #session: string;
  readonly #history: number[] = [];
  readonly #exclude = new Set<string>();
  #route: Route | undefined;
  #sequence = 0;
  #failovers = 0;

  constructor(network: StageNetwork, options: Readonly<PipelineOptions>) {
    this.#network = network;
    this.#o = {
      ...options,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      chunkTokens: options.chunkTokens ?? DEFAULTS.chunkTokens,
      maxFailovers: options.maxFailovers ?? DEFAULTS.maxFailovers,
    };
    this.#session = options.session ?? randomSession();
    if (!/^[0-9a-f]{32}$/.test(this.#session)) {
      throw new RangeError(
        `Cannot create a pipeline: session "${this.#session}" is not 32 hex digits`,
      );
    }
    if (!(this.#o.chunkTokens >= 1)) {
      throw new RangeError("Cannot create a pipeline: chunkTokens < 1");
    }
  }

  get nCtx(): number {
    return this.#o.nCtx;
  }
  get route(): Route | undefined {
    return this.#route;
  }
  get excluded(): ReadonlySet<string> {
    return this.#exclude;
  }
  get failovers(): number {
    return this.#failovers;
  }

  async evalPrompt(tokens: readonly number[]): Promise<Float32Array> {
    this.#history.length = 0;
    const logits = await this.#evaluate(tokens, 0);
    this.#history.push(...tokens);
    return logits;
  }

  async evalToken(token: number): Promise<Float32Array> {
    const logits = await this.#evaluate([token], this.#history.length);
    this.#history.push(token);
    return logits;
  }

  async close(): Promise<void> {
    const route = this.#route;
    this.#route = undefined;
    if (route) await this.#closeOn(route.stages.map((s) => s.nodeId));
  }

  /** Evaluates tokens at pos, failing over as often as allowed (module comment). */
  async #evaluate(tokens: readonly number[], pos: number): Promise<Float32Array> {
    let replay = false;
    for (let failures = 0;; failures++) {
      try {
        const route = this.#route ?? await this.#plan();
        if (replay && pos > 0) await this.#forward(route, this.#history.slice(0, pos), 0);
        return await this.#forward(route, tokens, pos);
      } catch (err: unknown) {
        // converted: a stage failure becomes a fail-over; anything else goes to the caller
        if (!(err instanceof StageFailure)) throw err;
        if (failures >= this.#o.maxFailovers) {
          throw new PipelineError(
            `Cannot continue the pipeline after ${failures + 1} stage failures: ${err.message}`,
            { cause: err },
          );
        }
        this.#failOver(err, pos);
        replay = true;
      }
    }
  }

  #failOver(err: StageFailure, pos: number): void {
    this.#failovers++;
    const old = this.#route?.stages.map((s) => s.nodeId) ?? [];
    if (err.code !== "SESSION_GAP") this.#exclude.add(err.nodeId);
    this.#route = undefined;
    this.#o.onEvent?.({
      kind: "failover",
      nodeId: err.nodeId,
      code: err.code,
      message: err.message,
      replayTokens: pos,
    });
    // stages dropped from the route would hold the session until their idle time-out; not
    // awaited: a stage that timed out could take another timeoutMs to refuse the close
    void this.#closeOn(old.filter((id) => this.#exclude.has(id)));
  }

  async #plan(): Promise<Route> {
    const adverts = await this.#network.adverts(this.#o.modelHash);
    const plan = planRoute(adverts, {
      modelHash: this.#o.modelHash,
      nLayer: this.#o.nLayer,
      exclude: this.#exclude,
      ...(this.#o.maxHops !== undefined ? { maxHops: this.#o.maxHops } : {}),
    });
    if (!plan.ok) {
      const skipped = this.#exclude.size > 0
        ? ` (excluded after failures: ${[...this.#exclude].join(", ")})`
        : "";
      throw new PipelineError(`${plan.reason}${skipped}`);
    }
    this.#route = plan.route;
    this.#o.onEvent?.({ kind: "route", route: plan.route });
    return plan.route;
  }

  /** Runs tokens at pos through every stage, in chunks; returns the last chunk's logits. */
  async #forward(route: Route, tokens: readonly number[], pos: number): Promise<Float32Array> {
    let logits: Float32Array | undefined;
    for (let i = 0; i < tokens.length; i += this.#o.chunkTokens) {
      const chunk = Int32Array.from(tokens.slice(i, i + this.#o.chunkTokens));
      logits = await this.#forwardChunk(route, chunk, pos + i);
    }
    if (logits === undefined) throw new RangeError("Cannot evaluate an empty batch");
    return logits;
  }

  async #forwardChunk(route: Route, tokens: Int32Array, posStart: number): Promise<Float32Array> {
    let input: TensorFrame = {
      ...this.#header(posStart, route.stages[0]!),
      kind: "tokens",
      tokens,
    };
    for (const stage of route.stages) {
      const header = this.#header(posStart, stage);
      const request: TensorFrame = { ...input, ...header };
      const reply = await this.#call(stage, request);
      const last = stage.layerEnd === this.#o.nLayer;
      checkReply(stage, request, reply, tokens.length, last);
      if (last) return (reply as TensorFrame & { kind: "logits" }).data;
      input = reply;
    }
    throw new PipelineError("Cannot evaluate: the route does not reach the last block");
  }

  #header(posStart: number, stage: RouteStage): TensorFrameHeader {
    this.#sequence = (this.#sequence + 1) >>> 0;
    return {
      session: this.#session,
      sequence: this.#sequence,
      posStart,
      layerBegin: stage.layerBegin,
      layerEnd: stage.layerEnd,
    };
  }

  /** One request to one stage, with the time-out; every failure becomes a StageFailure. */
  async #call(stage: RouteStage, request: TensorFrame): Promise<TensorFrame> {
    const bytes = encodeTensorFrame(request);
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const message = `Stage ${stage.nodeId} did not answer within ${this.#o.timeoutMs} ms`;
        controller.abort(new Error(message));
        reject(new StageFailure(stage.nodeId, "TIMEOUT", message));
      }, this.#o.timeoutMs);
    });
    try {
      const link = await Promise.race([this.#network.link(stage.nodeId), timeout]);
      const replyBytes = await Promise.race([link.request(bytes, controller.signal), timeout]);
      return decodeTensorFrame(replyBytes);
    } catch (err: unknown) {
      // converted: unreachable, dropped, timed out or undecodable = this stage failed
      if (err instanceof StageFailure) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new StageFailure(
        stage.nodeId,
        "UNREACHABLE",
        `Stage ${stage.nodeId} failed: ${message}`,
      );
    } finally {
      clearTimeout(timer);
      // terminated: after a settled race the time-out promise must not reject unobserved
      timeout.catch(() => {});
    }
  }

  async #closeOn(nodeIds: readonly string[]): Promise<void> {
    await Promise.all(nodeIds.map(async (nodeId) => {
      const header = this.#header(0, { nodeId, layerBegin: 0, layerEnd: 0 });
      try {
        await this.#call({ nodeId, layerBegin: 0, layerEnd: 0 }, { ...header, kind: "close" });
      } catch {
        // terminated: closing is a courtesy; the stage reclaims the session after its idle time
      }
    }));
  }
}

/** Checks a stage's reply against its request; a bad reply is a failure of that stage. */
function checkReply(
  stage: RouteStage,
  request: TensorFrame,
  reply: TensorFrame,
  rows: number,
  last: boolean,
): void {
  const bad = (code: string, why: string): never => {
    throw new StageFailure(stage.nodeId, code, `Stage ${stage.nodeId} ${why}`);
  };
  if (reply.kind === "error") {
    bad(
      reply.code,
      `refused blocks [${stage.layerBegin}, ${stage.layerEnd}): ${reply.code} ${reply.message}`,
    );
  }
  if (reply.session !== request.session || reply.sequence !== request.sequence) {
    bad(
      "BAD_REPLY",
      `answered session ${reply.session} step ${reply.sequence}, expected ${request.session} step ${request.sequence}`,
    );
  }
  if (reply.layerBegin !== stage.layerEnd || reply.posStart !== request.posStart) {
    bad(
      "BAD_REPLY",
      `answered blocks up to ${reply.layerBegin} at position ${reply.posStart}, expected ${stage.layerEnd} at ${request.posStart}`,
    );
  }
  const want = last ? "logits" : "hidden";
  if (reply.kind !== want) bad("BAD_REPLY", `answered a ${reply.kind} frame, expected ${want}`);
  if (reply.kind === "hidden" && reply.rows !== rows) {
    bad("BAD_REPLY", `answered ${reply.rows} rows, expected ${rows}`);
  }
  if (reply.kind === "hidden" && request.kind === "hidden" && reply.cols !== request.cols) {
    bad("BAD_REPLY", `answered width ${reply.cols}, expected ${request.cols}`);
  }
}
