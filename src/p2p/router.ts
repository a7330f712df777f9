/**
 * @module The peer router: a CompletionBackend (src/contract/completion.ts) in front of this node's own
 * backend. A request for a model this node lacks, or while it is saturated, goes to the best peer
 * that advertises the model (score.ts); its tokens stream back through the local API. Fail-over
 * for whole requests: if the serving peer disconnects, times out or refuses mid-generation, the
 * request moves to the next peer with the model, which continues after the tokens received so
 * far (`continueFrom`), so with greedy sampling the client sees one uninterrupted, identical
 * stream. Requests from peers never come here (serve-peer.ts serves them locally), so no loops.
 *
 * Trust (issue 19, hole 3): an advert is a claim. The speed a peer advertises counts only up to
 * what this node measured on its answers (score.ts trustedSpeed). For a model this node has
 * itself (same SHA-256), a peer gets traffic only after a model challenge: a short greedy prompt
 * whose tokens must equal this node's own (greedy tokens of a short prompt agree across kernel
 * tables; the logits themselves are compared once they are bit-identical everywhere). An answer
 * whose receipt does not check out (`checkReceipt`) is not passed on as a success: the request
 * fails (503) and the peer, like one that fails the challenge, is dropped and banned.
 */
import type {
  BackendStats,
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  EmbeddingRequest,
  EmbeddingResult,
  ModelCard,
  ModelText,
} from "../contract/index.ts";
import { usesTools } from "../contract/index.ts";
import { CapacityError, InvalidRequestError } from "../shared/errors.ts";
import type { Body, Envelope } from "./protocol.ts";
import { type P2PNode, PeerRequestError } from "./node.ts";
import { providersOf } from "./peer-state.ts";
import {
  explorable,
  explore,
  type Measured,
  type PeerMetrics,
  rankPeers,
  trustedSpeed,
} from "./score.ts";
import { requestToWire } from "./serve-peer.ts";
import type { Auditor } from "./auditor.ts";
import type { Receipt } from "../ledger/index.ts";

/** Options of {@link PeerBackend}. */
export interface PeerBackendOptions {
  local: CompletionBackend;
  node: P2PNode;
  /** Longest wait for the next reply of a peer before failing over (ms). Why 30 s: the first
   * reply comes after the whole prompt is evaluated, which takes seconds on a slow CPU. */
  replyTimeoutMs?: number;
  /** Most peers tried for one request. */
  maxAttempts?: number;
  /**
   * Why a peer's advertised consent summary refuses a request for `model` now, if it does (the
   * consent module plugs in here, src/consent/evaluate.ts `summaryRefusal`). Such peers are not
   * tried: they would answer CONSENT_DENIED. Default: every peer is tried.
   */
  refuses?: (consent: Readonly<Record<string, unknown>>, model: string) => string | undefined;
  /**
   * Checks the receipt of a peer's answer; returns why it is refused (the answer then fails and
   * the peer is dropped), or undefined. Unset: answers pass unchecked (protocol tests).
   */
  checkReceipt?: (check: {
    peer: string;
    request: CompletionRequest;
    receipt: unknown;
    /** The text this peer produced, when it produced the whole answer (no fail-over). */
    output?: string;
  }) => string | undefined;
  /**
   * The SHA-256 of a model the local backend serves (undefined: unknown or not served here).
   * Set: peers that advertise that model must advertise the same hash and pass the model
   * challenge before they get traffic. Unset: no challenge (protocol tests).
   */
  localSha256?: (model: string) => string | undefined;
  /**
   * Audits peers' answers (issue 20): every answer a peer produced whole, with a checked receipt,
   * goes to it; convicted peers get no traffic, and audit trust weighs in the score. Unset: no
   * audits (protocol tests).
   */
  auditor?: Auditor;
  /**
   * Providers this node is not connected to, found on the overlay (src/p2p/overlay.ts), tried
   * after every connected one: `find` looks them up by model name, `open` asks one directly or
   * through the relay its record names. Unset: connected peers only.
   */
  overlay?: {
    /** Model names providers on the overlay serve (listed by /v1/models, accepted in `model`). */
    models(): readonly string[];
    find(model: string): Promise<readonly OverlayRoute[]>;
    open(route: OverlayRoute, body: Body<"complete.request">): PeerStream;
  };
  /** Uniform draws in [0, 1) for exploration (score.ts `explore`). Default: Math.random. */
  draw?: () => number;
}

/** A provider found on the overlay. */
export interface OverlayRoute {
  target: string;
  url: string | null;
  relay: string | null;
  layers: [number, number] | null;
}

/** A request's reply stream, as P2PNode.open returns it. */
export type PeerStream = {
  id: string;
  replies: AsyncGenerator<Envelope, void, void>;
  close(): void;
};

/** The model challenge: a short greedy completion whose tokens a peer must reproduce. */
export const CHALLENGE_PROMPT = "The three primary colours are";
/** Tokens generated by the challenge. Why 8: enough to tell another model apart, cheap to run. */
export const CHALLENGE_TOKENS = 8;
/** Wait before challenging a peer again after an inconclusive try (busy, timeout). */
const CHALLENGE_RETRY_MS = 10_000;

/** A request's refusal that must not fail over (the peer that answered was caught lying). */
export class UnverifiedAnswerError extends CapacityError {}

/** True when the local backend has no free slot. */
export function saturated(stats: BackendStats): boolean {
  return stats.queueDepth > 0 || (stats.slots > 0 && stats.activeSequences >= stats.slots);
}

type Gen = AsyncGenerator<CompletionChunk, CompletionResult, void>;

/** Routes completions to the local backend or to peers. */
export class PeerBackend implements CompletionBackend {
  readonly kind: CompletionBackend["kind"];
  readonly #local: CompletionBackend;
  readonly #node: P2PNode;
  readonly #timeout: number;
  readonly #attempts: number;
  readonly #refuses: PeerBackendOptions["refuses"];
  readonly #checkReceipt: PeerBackendOptions["checkReceipt"];
  readonly #localSha256: PeerBackendOptions["localSha256"];
  readonly #auditor: Auditor | undefined;
  readonly #overlay: PeerBackendOptions["overlay"];
  /** Measured decode speed of each peer (tokens/s, moving average over its answers). */
  readonly #speed = new Map<string, number>();
  /** How many of each peer's answers were measured, and when the last was (performance.now). */
  readonly #measured = new Map<string, Measured>();
  /** Routed requests in a row that did not explore (score.ts `explore`). */
  #sinceExplored = 0;
  readonly #draw: () => number;
  /** Routed requests whose first choice was an explored peer (the peers route shows it). */
  explored = 0;
  /** Model challenges by "peer model": passed, running, or retry after a time (ms). */
  readonly #challenges = new Map<string, "ok" | "running" | number>();
  /** This node's own answer to the challenge, by model. */
  readonly #expected = new Map<string, Promise<number[]>>();
  readonly tokenBytes?: (model: string, token: number) => Uint8Array;
  /** The local backend's tokenizer and template (llama-server's /tokenize …); none for peers'. */
  readonly text?: (model: string) => ModelText | undefined;
  /** The local backend's embeddings; not routed to peers (the peer protocol carries completions). */
  readonly embed?: (request: EmbeddingRequest, signal: AbortSignal) => Promise<EmbeddingResult>;

  /** @param options local backend, node, limits. */
  constructor(options: PeerBackendOptions) {
    this.#local = options.local;
    this.#node = options.node;
    this.kind = options.local.kind;
    this.#timeout = options.replyTimeoutMs ?? 30_000;
    this.#attempts = options.maxAttempts ?? 4;
    this.#refuses = options.refuses;
    this.#checkReceipt = options.checkReceipt;
    this.#localSha256 = options.localSha256;
    this.#auditor = options.auditor;
    this.#overlay = options.overlay;
    this.#draw = options.draw ?? Math.random;
    const tb = options.local.tokenBytes?.bind(options.local);
    if (tb) this.tokenBytes = tb;
    const text = options.local.text?.bind(options.local);
    if (text) this.text = text;
    const embed = options.local.embed?.bind(options.local);
    if (embed) this.embed = embed;
  }

  listModels(): readonly ModelCard[] {
    const local = this.#local.listModels();
    const seen = new Set(local.map((m) => m.id));
    const remote: ModelCard[] = [];
    for (const p of this.#node.state.peers.values()) {
      for (const m of p.advert?.models ?? []) {
        if (seen.has(m.id) || m.layers !== null) continue; // layer ranges are the pipeline's business
        seen.add(m.id);
        remote.push({ id: m.id, created: 0, ownedBy: "peer", contextLength: 0 });
      }
    }
    for (const id of this.#overlay?.models() ?? []) {
      if (seen.has(id)) continue;
      seen.add(id);
      remote.push({ id, created: 0, ownedBy: "peer", contextLength: 0 });
    }
    return [...local, ...remote];
  }

  health(): "ready" | "loading" {
    return this.#local.health();
  }

  stats(): BackendStats {
    return this.#local.stats();
  }

  /**
   * Peers serving `model` whole whose advertised consent does not refuse it and, for a model this
   * node has, that advertise its hash and passed the model challenge (others are challenged in
   * the background), best first by a score that trusts only measured speed; with `grammar`, only
   * peers that advertise enforcing one (an older node would drop the field); with `tools`, only
   * peers that advertise rendering them (feature "tools").
   */
  candidates(
    model: string,
    exclude: ReadonlySet<string> = new Set(),
    grammar = false,
    tools = false,
  ): string[] {
    const sha = this.#localSha256?.(model);
    const peers = providersOf(this.#node.state, model).filter((p) => {
      if (exclude.has(p.id) || this.#node.isBanned(p.id)) return false;
      // a fraud proof names it, or it failed an audit here (kept across restarts: trust 0)
      if (this.#auditor !== undefined && this.#auditor.trust(p.id) === 0) return false;
      if (grammar && p.advert!.features?.includes("grammar") !== true) return false;
      if (tools && p.advert!.features?.includes("tools") !== true) return false;
      const m = p.advert!.models.find((x) => x.id === model && x.layers === null);
      if (!m || this.#refuses?.(p.advert!.consent, model) !== undefined) return false;
      if (sha === undefined) return true;
      if (m.sha256 !== sha) return false; // another file under this name
      return this.#challenged(p.id, model);
    });
    return rankPeers(peers.map((p) => ({ id: p.id, metrics: this.#metrics(p) })));
  }

  #metrics(p: ReturnType<typeof providersOf>[number]): PeerMetrics {
    return {
      rttMs: p.rttMs,
      slots: p.advert!.slots,
      freeSlots: p.advert!.freeSlots,
      inflight: p.inflight,
      tokensPerSecond: trustedSpeed(p.advert!.tokensPerSecond, this.#speed.get(p.id)),
      ok: p.ok,
      failed: p.failed,
      ...(this.#auditor ? { trust: this.#auditor.trust(p.id) } : {}),
    };
  }

  /**
   * The first peer to try for a routed request: the best candidate, or now and then one the score
   * cannot judge yet (score.ts `explore`: unmeasured or stale, with a free slot).
   */
  #firstChoice(ranked: readonly string[], model: string): string | undefined {
    if (ranked.length < 2) return ranked[0];
    const now = performance.now();
    const byId = new Map(providersOf(this.#node.state, model).map((p) => [p.id, p]));
    const e = explore(
      ranked,
      (id) => {
        const p = byId.get(id);
        return p !== undefined && explorable(this.#measured.get(id), this.#metrics(p), now);
      },
      this.#draw(),
      this.#sinceExplored,
    );
    this.#sinceExplored = e.sinceExplored;
    if (e.explored !== null) this.explored++;
    return e.order[0];
  }

  /** True once `peer` passed the challenge for `model`; starts one when due. */
  #challenged(peer: string, model: string): boolean {
    const key = `${peer} ${model}`;
    const state = this.#challenges.get(key);
    if (state === "ok") return true;
    if (state === "running" || (typeof state === "number" && performance.now() < state)) {
      return false;
    }
    this.#challenges.set(key, "running");
    void this.#challenge(peer, model, key);
    return false;
  }

  /** Runs the model challenge; a wrong answer bans the peer, an inconclusive one retries later. */
  async #challenge(peer: string, model: string, key: string): Promise<void> {
    const request: CompletionRequest = {
      id: `challenge-${peer.slice(0, 12)}`,
      model,
      input: { kind: "text", prompt: CHALLENGE_PROMPT },
      maxTokens: CHALLENGE_TOKENS,
      sampling: { temperature: 0 },
      seed: 0,
      stop: [],
    };
    try {
      const want = await this.#expectedTokens(model, request);
      const got = await this.#ask(peer, request);
      if (got.length === want.length && got.every((t, i) => t === want[i])) {
        this.#challenges.set(key, "ok");
        return;
      }
      this.#challenges.delete(key);
      this.#node.ban(peer, `failed the model challenge for "${model.slice(0, 64)}"`);
    } catch {
      // handled here: busy, gone or slow is no proof of a lie; try again later
      this.#challenges.set(key, performance.now() + CHALLENGE_RETRY_MS);
    }
  }

  /** This node's own greedy tokens for the challenge (computed once per model). */
  #expectedTokens(model: string, request: CompletionRequest): Promise<number[]> {
    let p = this.#expected.get(model);
    if (p === undefined) {
      p = (async () => {
        const gen = this.#local.complete(request, new AbortController().signal);
        const tokens: number[] = [];
        for (let s = await gen.next(); !s.done; s = await gen.next()) {
          tokens.push(...s.value.tokens);
        }
        return tokens;
      })();
      this.#expected.set(model, p);
      p.catch(() => this.#expected.delete(model)); // handled by the caller; computed again next time
    }
    return p;
  }

  /** A peer's tokens for a request (the challenge), or a throw when it does not finish. */
  async #ask(peer: string, request: CompletionRequest): Promise<number[]> {
    const stream = this.#node.open(peer, "complete.request", requestToWire(request, []));
    const tokens: number[] = [];
    try {
      for (;;) {
        const next = await withTimeout(stream.replies.next(), this.#timeout);
        if (next === "timeout" || next.done) throw new PeerRequestError("TIMEOUT", "No answer");
        const env: Envelope = next.value;
        if (env.kind === "complete.chunk") tokens.push(...env.body.tokens);
        else if (env.kind === "complete.end") return tokens;
        else if (env.kind === "error") throw new PeerRequestError(env.body.code, env.body.message);
      }
    } finally {
      stream.close();
    }
  }

  complete(request: CompletionRequest, signal: AbortSignal): Gen {
    const localHas = this.#local.listModels().some((m) => m.id === request.model);
    if (localHas && !saturated(this.#local.stats())) return this.#local.complete(request, signal);
    const peers = this.candidates(
      request.model,
      new Set(),
      request.grammar !== undefined,
      usesTools(request.input),
    );
    // a model this node has is not looked up on the overlay: its own backend is the fallback
    if (localHas && peers.length === 0) return this.#local.complete(request, signal);
    return this.#remote(request, signal, localHas);
  }

  async *#remote(request: CompletionRequest, signal: AbortSignal, localHas: boolean): Gen {
    const generated: number[] = [];
    const servedBy: string[] = [];
    const tried = new Set<string>();
    const t0 = performance.now();
    let promptTokens = 0;
    let lastError: unknown = null;
    let routes: readonly OverlayRoute[] | null = null;
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      signal.throwIfAborted();
      const ranked = this.candidates(
        request.model,
        tried,
        request.grammar !== undefined,
        usesTools(request.input),
      );
      // a fail-over takes the next best: exploring is for a request's first choice only
      let peer = attempt === 0 ? this.#firstChoice(ranked, request.model) : ranked[0];
      let route: OverlayRoute | undefined;
      if (
        peer === undefined && this.#overlay && !localHas && request.grammar === undefined &&
        !usesTools(request.input)
      ) {
        // no connected peer serves it: providers found on the overlay, reached directly or
        // through their relay (whole-model records only; layer ranges are the pipeline's; not for
        // grammar or tools requests: a record names no features)
        routes ??= await this.#overlay.find(request.model).catch(() => []);
        route = routes.find((r) =>
          r.layers === null && !tried.has(r.target) && !this.#node.isBanned(r.target)
        );
        peer = route?.target;
      }
      if (peer === undefined) break;
      tried.add(peer);
      const outcome = yield* this.#attempt(peer, request, generated, servedBy, signal, route);
      if (outcome.result) {
        const { receipt, ...end } = outcome.result;
        promptTokens = Math.max(0, end.usage.promptTokens - outcome.resumedFrom);
        const t1 = performance.now();
        return {
          ...end,
          usage: { promptTokens, completionTokens: generated.length },
          timings: { queueMs: 0, promptMs: 0, decodeMs: t1 - t0 },
          servedBy,
          // the peer's own ledger receipt, unchecked here: the provenance sink checks it
          ...(receipt !== undefined ? { relayed: { from: peer, receipt } } : {}),
        };
      }
      lastError = outcome.error;
    }
    if (localHas) {
      // every peer failed: finish here, continuing after what they produced
      const rest = { ...request, continueFrom: [...generated] };
      if (request.maxTokens !== undefined) {
        rest.maxTokens = Math.max(0, request.maxTokens - generated.length);
      }
      const gen = this.#local.complete(rest, signal);
      let step = await gen.next();
      for (; !step.done; step = await gen.next()) yield step.value;
      return { ...step.value, servedBy: [...servedBy, ...step.value.servedBy] };
    }
    throw new CapacityError(
      `Cannot complete with model "${request.model}": no peer that serves it answered (${
        lastError instanceof Error ? lastError.message : "none connected"
      })`,
    );
  }

  /** One peer's try. Yields its chunks; returns its end, or the error to fail over on. */
  async *#attempt(
    peer: string,
    request: CompletionRequest,
    generated: number[],
    servedBy: string[],
    signal: AbortSignal,
    route?: OverlayRoute,
  ): AsyncGenerator<
    CompletionChunk,
    { result?: Body<"complete.end">; error?: unknown; resumedFrom: number },
    void
  > {
    const resumedFrom = generated.length;
    let stream: PeerStream;
    try {
      const body = requestToWire(request, generated);
      stream = route && this.#overlay
        ? this.#overlay.open(route, body)
        : this.#node.open(peer, "complete.request", body);
    } catch (error: unknown) {
      return { error, resumedFrom }; // handled here: the peer left before we could ask
    }
    this.#node.recordInflight(peer, 1);
    const onAbort = () => stream.close();
    signal.addEventListener("abort", onAbort, { once: true });
    let first = true;
    let text = "";
    let tokens = 0;
    let tFirst = 0;
    try {
      for (;;) {
        const next = await withTimeout(stream.replies.next(), this.#timeout);
        signal.throwIfAborted();
        if (next === "timeout") {
          throw new PeerRequestError("TIMEOUT", `Peer ${peer.slice(0, 12)} stopped answering`);
        }
        if (next.done) throw new PeerRequestError("PEER_GONE", "Stream closed");
        const env: Envelope = next.value;
        if (env.kind === "complete.chunk") {
          if (first) servedBy.push(peer);
          const chunk: CompletionChunk = { text: env.body.text, tokens: env.body.tokens };
          if (first && servedBy.length === 1) chunk.servedBy = [peer];
          first = false;
          generated.push(...env.body.tokens);
          text += env.body.text;
          if (tokens === 0) tFirst = performance.now();
          tokens += env.body.tokens.length;
          yield chunk;
        } else if (env.kind === "complete.end") {
          if (first) servedBy.push(peer);
          this.#verify(
            peer,
            request,
            env.body.receipt,
            resumedFrom === 0 ? text + env.body.tail : undefined,
          );
          this.#measure(peer, tokens, performance.now() - tFirst);
          // checked above (a receipt for this request and output), and produced whole here
          if (resumedFrom === 0 && env.body.receipt !== undefined && this.#checkReceipt) {
            const output = text + env.body.tail;
            this.#auditor?.afterAnswer(peer, request, env.body.receipt as Receipt, output);
          }
          this.#node.recordOutcome(peer, true);
          return { result: env.body, resumedFrom };
        } else if (env.kind === "error") {
          const { code, message } = env.body;
          // handled here: the request itself is at fault (a parameter, a prompt longer than the
          // context); another peer would refuse it too, so the client gets a 400 now
          if (code === "INVALID_REQUEST") throw new InvalidRequestError("request", message);
          if (code === "CONTEXT_LENGTH") throw new InvalidRequestError("messages", message);
          // a refusal (busy, no model, no consent) says nothing about the peer's reliability
          if (code !== "BUSY" && code !== "NO_MODEL" && code !== "CONSENT_DENIED") {
            this.#node.recordOutcome(peer, false);
          }
          return { error: new PeerRequestError(code, message), resumedFrom };
        }
      }
    } catch (error: unknown) {
      // converted above: the client's 400, or a lying peer's answer (503, no fail-over: the
      // tokens it produced cannot be trusted to continue from)
      if (error instanceof InvalidRequestError || error instanceof UnverifiedAnswerError) {
        throw error;
      }
      if (signal.aborted) {
        this.#node.send(peer, { kind: "cancel", re: stream.id, body: {} });
        throw signal.reason;
      }
      // handled here: a dead or silent peer is marked unreliable and the request moves on
      this.#node.recordOutcome(peer, false);
      this.#node.send(peer, { kind: "cancel", re: stream.id, body: {} });
      return { error, resumedFrom };
    } finally {
      signal.removeEventListener("abort", onAbort);
      stream.close();
      this.#node.recordInflight(peer, -1);
    }
  }

  /**
   * Checks an answer's receipt (when a checker is set).
   *
   * @throws {UnverifiedAnswerError} when it does not check out; the peer is dropped and banned.
   */
  #verify(peer: string, request: CompletionRequest, receipt: unknown, output?: string): void {
    if (this.#checkReceipt === undefined) return;
    const why = this.#checkReceipt({
      peer,
      request,
      receipt,
      ...(output !== undefined ? { output } : {}),
    });
    if (why === undefined) return;
    this.#node.recordOutcome(peer, false);
    this.#node.ban(peer, `answer without a valid receipt: ${why}`);
    throw new UnverifiedAnswerError(
      `Cannot complete: peer ${
        peer.slice(0, 12)
      } answered without a valid receipt (${why}); it was dropped`,
    );
  }

  /** Folds a finished answer's decode speed into the peer's measurement. */
  #measure(peer: string, tokens: number, ms: number): void {
    if (tokens < 2 || !(ms > 0)) return;
    const s = ((tokens - 1) * 1000) / ms;
    const old = this.#speed.get(peer);
    // Why 0.3: the same moving-average weight as this node's own advert (serve-peer.ts)
    this.#speed.set(peer, old === undefined ? s : old + 0.3 * (s - old));
    if (this.#speed.size > 4096) this.#speed.delete(this.#speed.keys().next().value!);
    const m = this.#measured.get(peer);
    this.#measured.set(peer, { answers: (m?.answers ?? 0) + 1, atMs: performance.now() });
    if (this.#measured.size > 4096) this.#measured.delete(this.#measured.keys().next().value!);
  }

  close(): Promise<void> {
    return this.#local.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
