/**
 * @module Shell: the external backend — forwards completions to an OpenAI-compatible server
 * (llama.cpp's, bitnet.cpp's, …) with fetch, always streaming, and maps its SSE chunks back into
 * `CompletionChunk`s. Models come from the upstream's /v1/models (health "loading" until read).
 */
import type {
  BackendStats,
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  ModelCard,
} from "../contract/index.ts";
import { usesTools } from "../contract/index.ts";
import { AriaError, UnsupportedParameterError } from "../shared/errors.ts";

/** Options of {@link ExternalBackend}. */
export interface ExternalBackendOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 (with or without /v1). */
  upstream: string;
  nodeId: string;
}

/** The upstream failed or answered something that is not OpenAI's shape. */
export class UpstreamError extends AriaError {
  /** @param message what failed. @param options cause. */
  constructor(message: string, options?: ErrorOptions) {
    super("UPSTREAM", message, options);
  }
}

type Json = Record<string, unknown>;

/** Forwards to an OpenAI-compatible server. */
export class ExternalBackend implements CompletionBackend {
  readonly kind = "external" as const;
  readonly #base: string;
  readonly #nodeId: string;
  #models: ModelCard[] | undefined;
  #active = 0;
  readonly #closing = new AbortController();
  /** Settles when the upstream's model list has been read. */
  readonly ready: Promise<void>;

  /** @param options upstream URL and node id. */
  constructor(options: Readonly<ExternalBackendOptions>) {
    this.#base = options.upstream.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.#nodeId = options.nodeId;
    this.ready = this.#load();
  }

  async #load(): Promise<void> {
    const res = await fetch(`${this.#base}/v1/models`);
    if (!res.ok) throw new UpstreamError(`Cannot list upstream models: HTTP ${res.status}`);
    const body = await res.json() as { data?: Json[] };
    this.#models = (body.data ?? []).map((m) => ({
      id: String(m["id"]),
      created: typeof m["created"] === "number" ? m["created"] : 0,
      ownedBy: typeof m["owned_by"] === "string" ? m["owned_by"] : "upstream",
      contextLength: 0,
    }));
  }

  listModels(): readonly ModelCard[] {
    return this.#models ?? [];
  }

  health(): "ready" | "loading" {
    return this.#models ? "ready" : "loading";
  }

  stats(): BackendStats {
    return { queueDepth: 0, activeSequences: this.#active, slots: 0 };
  }

  async *complete(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    if (usesTools(request.input)) {
      // handled here: tools would be dropped on the way, so refuse rather than ignore (400)
      throw new UnsupportedParameterError(
        "tools",
        'Unsupported parameter "tools": an external upstream does not take tools',
      );
    }
    if (request.grammar !== undefined) {
      // handled here: the output could not be held to it, so refuse rather than ignore (400)
      throw new UnsupportedParameterError(
        "response_format",
        'Unsupported parameter "response_format" / "grammar": an external upstream cannot enforce a grammar',
      );
    }
    const chat = request.input.kind === "chat";
    const body: Json = {
      model: request.model,
      stream: true,
      stream_options: { include_usage: true },
      ...(request.input.kind === "chat"
        ? { messages: request.input.messages }
        : { prompt: request.input.prompt }),
      ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      ...(request.sampling.temperature !== undefined
        ? { temperature: request.sampling.temperature }
        : {}),
      ...(request.sampling.topP !== undefined ? { top_p: request.sampling.topP } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(request.stop.length > 0 ? { stop: request.stop } : {}),
    };
    const t0 = performance.now();
    const res = await fetch(`${this.#base}/v1/${chat ? "chat/completions" : "completions"}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.any([signal, this.#closing.signal]),
    });
    if (!res.ok || !res.body) {
      throw new UpstreamError(`Cannot complete upstream: HTTP ${res.status}`);
    }
    this.#active++;
    let finish: "stop" | "length" = "stop";
    let usage = { promptTokens: 0, completionTokens: 0 };
    let pieces = 0;
    let tFirst = 0;
    try {
      for await (const data of sseData(res.body)) {
        if (data === "[DONE]") break;
        const chunk = JSON.parse(data) as Json;
        if (chunk["error"]) {
          throw new UpstreamError(`Cannot complete upstream: ${JSON.stringify(chunk["error"])}`);
        }
        const u = chunk["usage"] as Json | undefined | null;
        if (u) {
          usage = {
            promptTokens: Number(u["prompt_tokens"] ?? 0),
            completionTokens: Number(u["completion_tokens"] ?? 0),
          };
        }
        const choice = (chunk["choices"] as Json[] | undefined)?.[0];
        if (!choice) continue;
        const text = chat ? (choice["delta"] as Json | undefined)?.["content"] : choice["text"];
        if (typeof text === "string" && text.length > 0) {
          const first = tFirst === 0;
          if (first) tFirst = performance.now();
          pieces++;
          yield first ? { text, tokens: [], servedBy: [this.#nodeId] } : { text, tokens: [] };
        }
        if (choice["finish_reason"] === "length") finish = "length";
      }
    } finally {
      this.#active--;
    }
    if (usage.completionTokens === 0) usage.completionTokens = pieces;
    const t1 = performance.now();
    return {
      tail: "",
      finishReason: finish,
      stopReason: finish === "length" ? "max_tokens" : "eog",
      usage,
      timings: { queueMs: 0, promptMs: (tFirst || t1) - t0, decodeMs: t1 - (tFirst || t1) },
      servedBy: [this.#nodeId],
    };
  }

  close(): Promise<void> {
    this.#closing.abort(new UpstreamError("Cannot finish request: the server is shutting down"));
    return Promise.resolve();
  }
}

/** The `data:` payloads of an SSE body. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let i: number;
    while ((i = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const event = buffer.slice(0, i);
      buffer = buffer.slice(i).replace(/^\r?\n\r?\n/, "");
      const data = event.split(/\r?\n/).filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (data) yield data;
    }
  }
}
