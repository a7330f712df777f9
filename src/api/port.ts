/**
 * @module The contract between the HTTP API (src/api/) and whatever serves completions — the
 * native engine with continuous batching, an external OpenAI-compatible upstream, or the
 * simulation backend used by protocol tests. Types only; pure. The API validates and converts
 * the OpenAI wire shapes (snake_case, in schemas.ts) to these camelCase requests, and turns the
 * chunks back into wire shapes; a backend never sees HTTP.
 */
import type { FinishReason, StopReason } from "../generation/stop.ts";
import type { TokenLogprobs } from "../generation/sampler.ts";
import type { SamplerOptions } from "../generation/sampler-ref.ts";

/** Which kind of backend answers: reported in responses (`system_fingerprint`) and /health. */
export type BackendKind = "native" | "external" | "simulation" | "pipeline";

/** One chat message after validation (content parts already joined into one string). */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
}

/** What to complete: a chat (rendered with the model's chat template) or a raw prompt. */
export type CompletionInput =
  | { kind: "chat"; messages: readonly ChatMessage[] }
  | { kind: "text"; prompt: string };

/** A validated completion request. */
export interface CompletionRequest {
  /** Request id (chatcmpl-… / cmpl-…), also used in logs. */
  id: string;
  /** Model name as the client asked (already checked against listModels()). */
  model: string;
  input: CompletionInput;
  /** Most tokens to generate; undefined = until the context is full. */
  maxTokens?: number;
  sampling: SamplerOptions;
  /** Sampling seed; undefined = a random one chosen by the backend. */
  seed?: number;
  stop: readonly string[];
  /** Top alternatives per token (0..20); undefined = no logprobs. */
  logprobs?: number;
  /** The OpenAI `user` field, for logs and consent later. */
  user?: string;
}

/** One piece of a completion as it is produced. */
export interface CompletionChunk {
  /** Text released by this step (may be empty). */
  text: string;
  /** Token ids of this step (empty for backends that cannot tell, e.g. external). */
  tokens: number[];
  logprobs?: TokenLogprobs[];
  /** On the first chunk: which nodes are serving it (streams send it as a header up front). */
  servedBy?: readonly string[];
}

/** The end of a completion. */
export interface CompletionResult {
  /** Text released after the last chunk (the chunks' text plus this = the whole text). */
  tail: string;
  finishReason: FinishReason;
  stopReason: StopReason;
  usage: { promptTokens: number; completionTokens: number };
  timings: { queueMs: number; promptMs: number; decodeMs: number };
  /** Which nodes served it (this node's id for local work; peers later). */
  servedBy: readonly string[];
}

/** A model a backend serves. */
export interface ModelCard {
  id: string;
  /** Unix seconds (file mtime for local models). */
  created: number;
  ownedBy: string;
  contextLength: number;
}

/** Live numbers for /metrics and the dashboard. */
export interface BackendStats {
  queueDepth: number;
  activeSequences: number;
  slots: number;
  /** Prompt tokens served from a slot's KV cache instead of evaluated again (prefix reuse). */
  reusedTokens?: number;
}

/**
 * Something that completes prompts. `complete` returns an async generator: iterate it for the
 * chunks; its return value is the result. Aborting `signal` (client gone) must stop the work and
 * free the slot at once; the generator then throws the signal's reason.
 *
 * Errors it may throw (the API maps them, STYLE.md B7.3): `ContextOverflowError` (prompt longer
 * than the context), `CapacityError` (queue full), `ChatTemplateError`, `EngineError`.
 */
export interface CompletionBackend {
  readonly kind: BackendKind;
  listModels(): readonly ModelCard[];
  /** "loading" until the model is ready to serve. */
  health(): "ready" | "loading";
  stats(): BackendStats;
  /**
   * The bytes of one token's text in `model`'s vocabulary (may be a partial UTF-8 sequence), for
   * the `token` / `bytes` fields of logprobs. Optional (added by the API work): without it the
   * API reports logprob tokens as `""`.
   */
  tokenBytes?(model: string, token: number): Uint8Array;
  complete(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void>;
  /** Stops accepting, cancels or finishes in-flight work, frees everything. */
  close(): Promise<void>;
}

/** A request the consent gate decides (the API sends only its own two kinds). */
export interface ConsentCheck {
  model: string;
  kind: "chat" | "completion";
  /** The completion's id (chatcmpl-… / cmpl-…), so that energy and ledger records can name it. */
  requestId: string;
}

/** An admitted request's handle (see ConsentGate). */
export interface ConsentTicket {
  /** Counts tokens used by the request against the daily quota. */
  addTokens(n: number): void;
  /** Frees the request's concurrency slot; idempotent. */
  release(): void;
}

/**
 * The node owner's consent, checked before any inference runs (src/consent/gate.ts implements
 * it). `admit` throws `ConsentDeniedError` (HTTP 403 CONSENT_DENIED) or `ConsentBusyError`
 * (HTTP 503 BUSY); otherwise the API counts tokens on the ticket and releases it when the
 * completion ends, fails or the client goes away.
 */
export interface ConsentGate {
  admit(request: ConsentCheck): ConsentTicket;
}

/** A completed inference, as the API hands it to the provenance ledger. */
export interface ProvenanceInput {
  request: CompletionRequest;
  result: CompletionResult;
  /** The whole output text (chunks and tail), exactly as sent to the client. */
  output: string;
}

/** What the API attaches to a response: the record hash (header) and the receipt (JSON). */
export interface ProvenanceReceipt {
  recordHash: string;
  /** The receipt as JSON (src/ledger/wire.ts `receiptSchema`); the API does not look inside. */
  receipt: unknown;
}

/**
 * Records every completed inference and returns its receipt. Optional dependency of
 * `createApp`: without it responses carry no provenance. It runs after the last token and
 * before the response ends; if it throws, a whole response becomes a 500 and a stream ends with
 * an error event (an answer that should be recorded and is not is reported, never hidden).
 */
export interface ProvenanceSink {
  record(input: ProvenanceInput): ProvenanceReceipt;
}
