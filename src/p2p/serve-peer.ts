/**
 * @module Serving a peer's `complete.request` from this node's own backend: converts the wire
 * body to a `CompletionRequest`, streams `complete.chunk`s back and ends with `complete.end` or an
 * `error` (NO_MODEL, BUSY, CONSENT_DENIED, INVALID_REQUEST, CONTEXT_LENGTH, INTERNAL). A peer's request is only ever served
 * locally, never forwarded again, so requests cannot loop. Pure given the backend (types only).
 */
import type {
  CompletionBackend,
  CompletionRequest,
  CompletionResult,
  ConsentTicket,
} from "../contract/index.ts";
import { metered, withComplete } from "../contract/index.ts";
import type { Advert, CompleteRequestBody, CoreKind, Envelope, ErrorCode } from "./protocol.ts";

/**
 * Consent check for a peer's request (the consent module plugs in here). An admission's ticket
 * holds a place among the node's concurrent requests until the generation ends, and its tokens
 * count against the daily quota. A refusal says why, and whether it is the policy
 * (CONSENT_DENIED) or the node being at capacity (BUSY).
 */
export type PeerConsent = (
  peer: string,
  body: CompleteRequestBody,
  requestId: string,
) =>
  | { allow: true; ticket?: ConsentTicket }
  | { allow: false; reason: string; code?: "CONSENT_DENIED" | "BUSY" };

/**
 * Records a served peer request in this node's ledger and returns the receipt (the JSON that
 * goes into `complete.end`); it may throw, and then the end goes without a receipt.
 */
export type PeerProvenance = (
  request: CompletionRequest,
  result: CompletionResult,
  output: string,
) => unknown;

/**
 * The CompletionRequest a wire body stands for.
 *
 * @param id request id to use locally.
 * @param body the validated body.
 * @returns the request.
 */
export function requestFromWire(id: string, body: CompleteRequestBody): CompletionRequest {
  const { logitBias, ...sampling } = body.sampling;
  const req: CompletionRequest = {
    id,
    model: body.model,
    input: body.input,
    sampling: logitBias ? { ...sampling, logitBias: new Map(logitBias) } : sampling,
    stop: body.stop,
  } as CompletionRequest;
  if (body.maxTokens !== undefined) req.maxTokens = body.maxTokens;
  if (body.seed !== undefined) req.seed = body.seed;
  if (body.continueFrom !== undefined && body.continueFrom.length > 0) {
    req.continueFrom = body.continueFrom;
  }
  if (body.grammar !== undefined) req.grammar = body.grammar;
  if (body.grammar !== undefined && body.grammarTrigger !== undefined) {
    req.grammarTrigger = body.grammarTrigger;
  }
  return req;
}

/**
 * The wire body of a CompletionRequest.
 *
 * @param req the request.
 * @param continueFrom tokens already generated (fail-over), if any.
 * @returns the body.
 */
export function requestToWire(
  req: CompletionRequest,
  continueFrom: readonly number[],
): CompleteRequestBody {
  const { logitBias, ...sampling } = req.sampling;
  const body: CompleteRequestBody = {
    model: req.model,
    input: req.input.kind === "chat"
      ? {
        kind: "chat",
        messages: req.input.messages.map((m) => ({
          role: m.role,
          content: m.content,
          ...(m.toolCalls !== undefined && m.toolCalls.length > 0
            ? { toolCalls: m.toolCalls.map((c) => ({ ...c })) }
            : {}),
          ...(m.toolCallId !== undefined ? { toolCallId: m.toolCallId } : {}),
        })),
        ...(req.input.tools !== undefined && req.input.tools.length > 0
          ? { tools: req.input.tools.map((t) => ({ ...t })) }
          : {}),
      }
      : { kind: "text", prompt: req.input.prompt },
    sampling: logitBias ? { ...sampling, logitBias: [...logitBias] } : sampling,
    stop: [...req.stop],
  };
  if (req.maxTokens !== undefined) {
    body.maxTokens = Math.max(0, req.maxTokens - continueFrom.length);
  }
  if (req.seed !== undefined) body.seed = req.seed;
  if (continueFrom.length > 0) body.continueFrom = [...continueFrom];
  if (req.grammar !== undefined) body.grammar = req.grammar;
  if (req.grammar !== undefined && req.grammarTrigger !== undefined) {
    body.grammarTrigger = req.grammarTrigger;
  }
  return body;
}

/**
 * The receipt of a served request, or nothing when no ledger is wired or recording failed
 * (handled here: logged, and the answer still ends; the requester then has no receipt to pass on).
 */
function recordOrNothing(
  options: ServeOptions,
  request: CompletionRequest,
  result: CompletionResult,
  output: string,
): unknown {
  if (options.provenance === undefined) return undefined;
  try {
    return options.provenance(request, result, output);
  } catch (err: unknown) {
    options.log?.({
      level: "error",
      msg: "peer request not recorded",
      id: request.id,
      error: String(err),
    });
    return undefined;
  }
}

/**
 * The error reply for a failure: the requester's own fault (a parameter out of range, a prompt
 * longer than the context) comes back as INVALID_REQUEST / CONTEXT_LENGTH with the message (it
 * names the parameter, no internals); a full queue as BUSY; anything else as INTERNAL with a
 * fixed message (issue 19, hole 5).
 */
function replyOf(err: unknown): { code: ErrorCode; message: string } {
  const code = (err as { code?: unknown })?.code;
  if (code === "CAPACITY") return { code: "BUSY", message: "This node is busy: try another" };
  if (code === "CONTEXT_OVERFLOW" && err instanceof Error) {
    return { code: "CONTEXT_LENGTH", message: err.message.slice(0, 400) };
  }
  // a chat the template refuses (special-token text in tool definitions, a template's own
  // raise_exception over the messages) is the request's fault too
  const reason = (err as { reason?: unknown })?.reason;
  const badChat = code === "CHAT_TEMPLATE" && (reason === "content" || reason === "raise");
  if (
    (code === "INVALID_REQUEST" || code === "GRAMMAR_INVALID" || code === "SCHEMA_UNSUPPORTED" ||
      badChat) &&
    err instanceof Error
  ) {
    return { code: "INVALID_REQUEST", message: err.message.slice(0, 400) };
  }
  return { code: "INTERNAL", message: "Cannot complete on this node" };
}

/** Options of {@link serveFromBackend}. */
export interface ServeOptions {
  consent?: PeerConsent;
  /** This node's ledger: each finished peer request is recorded, its receipt sent back. */
  provenance?: PeerProvenance;
  /** Where a failed record is reported (the answer still ends, without a receipt). */
  log?: (entry: Record<string, unknown>) => void;
  /** With a clock, chunks are coalesced: one message per `flushMs` at most (the first at once). */
  clock?: { nowMs(): number };
  /** Why 25 ms: every message costs an ed25519 signature and verification (a few ms each in
   * JS), more than a token takes to decode; 25 ms keeps streaming smooth to the eye. */
  flushMs?: number;
}

/**
 * A request handler for P2PNode over a local backend.
 *
 * @param backend this node's own backend (never the router: no forwarding).
 * @param options consent check, chunk coalescing.
 * @returns the handler.
 */
export function serveFromBackend(backend: CompletionBackend, options: ServeOptions = {}) {
  const flushMs = options.flushMs ?? 25;
  return async (
    peer: string,
    env: Envelope & { kind: "complete.request" },
    reply: (msg: { kind: CoreKind; body: unknown }) => boolean,
    signal: AbortSignal,
  ): Promise<void> => {
    const fail = (code: ErrorCode, message: string) =>
      void reply({ kind: "error", body: { code, message } });
    const body = env.body;
    if (!backend.listModels().some((m) => m.id === body.model)) {
      return fail("NO_MODEL", `This node does not serve model "${body.model.slice(0, 100)}"`);
    }
    // handled here: an external upstream cannot take token ids, so it cannot continue a
    // generation; the requester moves on to another peer
    if (body.continueFrom !== undefined && backend.kind === "external") {
      return fail("NO_MODEL", "This node cannot continue a generation (external backend)");
    }
    const requestId = `peer-${env.id}`;
    const decision = options.consent?.(peer, body, requestId);
    if (decision && !decision.allow) {
      return fail(decision.code ?? "CONSENT_DENIED", decision.reason.slice(0, 400));
    }
    const ticket = decision?.ticket;
    let pending: { text: string; tokens: number[]; servedBy?: string[] } | null = null;
    let lastSent = -Infinity;
    let output = "";
    const flush = () => {
      const ok = pending === null || reply({ kind: "complete.chunk", body: pending });
      pending = null;
      lastSent = options.clock?.nowMs() ?? 0;
      return ok;
    };
    try {
      const request = requestFromWire(requestId, body);
      // the admission is held for the whole generation, its tokens counted, and released once
      // however it ends (api/metered.ts): before the record is made, so the energy measured for
      // the request is known to the ledger (as for the API)
      let started: ReturnType<CompletionBackend["complete"]>;
      try {
        started = backend.complete(request, signal);
      } catch (err: unknown) {
        ticket?.release(); // converted below; a backend that refuses at once frees the admission
        throw err;
      }
      const gen = ticket === undefined ? started : metered(started, ticket);
      let step = await gen.next();
      for (; !step.done; step = await gen.next()) {
        const c = step.value;
        pending ??= { text: "", tokens: [] };
        pending.text += c.text;
        pending.tokens.push(...c.tokens);
        output += c.text;
        if (c.servedBy) pending.servedBy = [...c.servedBy];
        const due = !options.clock || options.clock.nowMs() - lastSent >= flushMs;
        if (due && !flush()) return void gen.return(undefined as never);
      }
      const r = step.value;
      output += r.tail;
      const receipt = recordOrNothing(options, request, r, output);
      flush();
      reply({
        kind: "complete.end",
        body: {
          tail: r.tail,
          finishReason: r.finishReason,
          stopReason: r.stopReason,
          usage: r.usage,
          servedBy: [...r.servedBy],
          ...(receipt !== undefined ? { receipt } : {}),
        },
      });
    } catch (err: unknown) {
      // converted: a backend failure becomes an error reply; the requester fails over
      if (signal.aborted) return;
      flush(); // the tokens made so far, so the requester can continue after them
      const { code, message } = replyOf(err);
      if (code === "INTERNAL") {
        options.log?.({
          level: "error",
          msg: "peer request failed",
          id: requestId,
          error: String(err),
        });
      }
      fail(code, message);
    }
  };
}

/**
 * This node's advert from its backend: models (with file hashes when known), slots, speed.
 *
 * @param backend the local backend.
 * @param extra file hashes by model id, measured tokens/s, consent summary, listen URL.
 * @returns the advert (layers null: whole models; the pipeline adds layer ranges).
 */
export function advertFromBackend(
  backend: CompletionBackend,
  extra: {
    sha256?: ReadonlyMap<string, string>;
    tokensPerSecond?: number;
    consent?: Record<string, unknown>;
    listen?: string | null;
  } = {},
): Advert {
  const stats = backend.stats();
  const ready = backend.health() === "ready";
  return {
    models: ready
      ? backend.listModels().slice(0, 32).map((m) => ({
        id: m.id,
        sha256: extra.sha256?.get(m.id) ?? "",
        layers: null,
        nLayers: 0,
      }))
      : [],
    slots: stats.slots,
    freeSlots: Math.max(0, stats.slots - stats.activeSequences - stats.queueDepth),
    tokensPerSecond: Math.round((extra.tokensPerSecond ?? 0) * 10) / 10,
    consent: extra.consent ?? {},
    listen: extra.listen ?? null,
    // 1.4: these backends sample here, so they enforce a request's grammar; they also render
    // tools with their chat template (the "tools" feature, docs/protocol.md)
    ...(backend.kind === "native" || backend.kind === "pipeline"
      ? { features: ["grammar", "tools"] }
      : {}),
  };
}

/** Weight of the newest measurement in the moving average of tokens/s. */
const SPEED_EMA = 0.3;

/**
 * Wraps a backend to measure its decode speed (tokens/s over finished requests, moving average)
 * for the advert.
 *
 * @param backend the local backend.
 * @returns the wrapped backend and a reader of the current speed (0 until measured).
 */
export function meteredBackend(
  backend: CompletionBackend,
): { backend: CompletionBackend; tokensPerSecond(): number } {
  let speed = 0;
  async function* complete(request: CompletionRequest, signal: AbortSignal) {
    const result = yield* backend.complete(request, signal);
    const { completionTokens } = result.usage;
    if (completionTokens > 1 && result.timings.decodeMs > 0) {
      const s = (completionTokens * 1000) / result.timings.decodeMs;
      speed = speed === 0 ? s : speed + SPEED_EMA * (s - speed);
    }
    return result;
  }
  return { backend: withComplete(backend, complete), tokensPerSecond: () => speed };
}
