/**
 * @module The peer router: a CompletionBackend (src/contract/completion.ts) in front of this node's own
 * backend. A request for a model this node lacks, or while it is saturated, goes to the best peer
 * that advertises the model (score.ts); its tokens stream back through the local API. Fail-over
 * for whole requests: if the serving peer disconnects, times out or refuses mid-generation, the
 * request moves to the next peer with the model, which continues after the tokens received so
 * far (`continueFrom`), so with greedy sampling the client sees one uninterrupted, identical
 * stream. Requests from peers never come here (serve-peer.ts serves them locally), so no loops.
 */
import type {
  BackendStats,
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  ModelCard,
} from "../contract/index.ts";
import { CapacityError } from "../shared/errors.ts";
import type { Body, Envelope } from "./protocol.ts";
import { type P2PNode, PeerRequestError } from "./node.ts";
import { providersOf } from "./peer-state.ts";
import { rankPeers } from "./score.ts";
import { requestToWire } from "./serve-peer.ts";

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
}

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
  readonly tokenBytes?: (model: string, token: number) => Uint8Array;

  /** @param options local backend, node, limits. */
  constructor(options: PeerBackendOptions) {
    this.#local = options.local;
    this.#node = options.node;
    this.kind = options.local.kind;
    this.#timeout = options.replyTimeoutMs ?? 30_000;
    this.#attempts = options.maxAttempts ?? 4;
    this.#refuses = options.refuses;
    const tb = options.local.tokenBytes?.bind(options.local);
    if (tb) this.tokenBytes = tb;
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
    return [...local, ...remote];
  }

  health(): "ready" | "loading" {
    return this.#local.health();
  }

  stats(): BackendStats {
    return this.#local.stats();
  }

  /**
   * Peers serving `model` whole whose advertised consent does not refuse it, best first; with
   * `grammar`, only peers that advertise enforcing one (an older node would drop the field).
   */
  candidates(model: string, exclude: ReadonlySet<string> = new Set(), grammar = false): string[] {
    const peers = providersOf(this.#node.state, model).filter((p) =>
      !exclude.has(p.id) && (!grammar || p.advert!.features?.includes("grammar") === true) &&
      p.advert!.models.some((m) => m.id === model && m.layers === null) &&
      this.#refuses?.(p.advert!.consent, model) === undefined
    );
    return rankPeers(peers.map((p) => ({
      id: p.id,
      metrics: {
        rttMs: p.rttMs,
        slots: p.advert!.slots,
        freeSlots: p.advert!.freeSlots,
        inflight: p.inflight,
        tokensPerSecond: p.advert!.tokensPerSecond,
        ok: p.ok,
        failed: p.failed,
      },
    })));
  }

  complete(request: CompletionRequest, signal: AbortSignal): Gen {
    const localHas = this.#local.listModels().some((m) => m.id === request.model);
    if (localHas && !saturated(this.#local.stats())) return this.#local.complete(request, signal);
    const peers = this.candidates(request.model, new Set(), request.grammar !== undefined);
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
    for (let attempt = 0; attempt < this.#attempts; attempt++) {
      signal.throwIfAborted();
      const peer = this.candidates(request.model, tried, request.grammar !== undefined)[0];
      if (peer === undefined) break;
      tried.add(peer);
      const outcome = yield* this.#attempt(peer, request, generated, servedBy, signal);
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
  ): AsyncGenerator<
    CompletionChunk,
    { result?: Body<"complete.end">; error?: unknown; resumedFrom: number },
    void
  > {
    const resumedFrom = generated.length;
    let stream: ReturnType<P2PNode["open"]>;
    try {
      stream = this.#node.open(peer, "complete.request", requestToWire(request, generated));
    } catch (error: unknown) {
      return { error, resumedFrom }; // handled here: the peer left before we could ask
    }
    this.#node.recordInflight(peer, 1);
    const onAbort = () => stream.close();
    signal.addEventListener("abort", onAbort, { once: true });
    let first = true;
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
          yield chunk;
        } else if (env.kind === "complete.end") {
          if (first) servedBy.push(peer);
          this.#node.recordOutcome(peer, true);
          return { result: env.body, resumedFrom };
        } else if (env.kind === "error") {
          const { code, message } = env.body;
          // a refusal (busy, no model, no consent) says nothing about the peer's reliability
          if (code !== "BUSY" && code !== "NO_MODEL" && code !== "CONSENT_DENIED") {
            this.#node.recordOutcome(peer, false);
          }
          return { error: new PeerRequestError(code, message), resumedFrom };
        }
      }
    } catch (error: unknown) {
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

  close(): Promise<void> {
    return this.#local.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
