/**
 * @module A deterministic CompletionBackend for the API tests: it "generates" a scripted list of
 * pieces (token i+1 = pieces[i]), releases all but the last piece as chunks and the last one as
 * the result's `tail` (as a stop-string hold-back would), honours maxTokens (finish "length"),
 * stop strings (finish "stop"), logprobs and the abort signal, and can be told to throw before
 * the first chunk or after N chunks, to run forever (for disconnect tests), or to be loading.
 */
import type {
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  ModelCard,
} from "../../src/contract/index.ts";

/** Settings of the fake. */
export interface FakeBackendOptions {
  pieces?: string[];
  models?: ModelCard[];
  health?: "ready" | "loading";
  /** Thrown by the first `next()`. */
  throwBefore?: unknown;
  /** Thrown after this many chunks (with `throwError`). */
  throwAfter?: number;
  throwError?: unknown;
  /** Never finish: yield "x" until aborted. */
  forever?: boolean;
  promptTokens?: number;
}

/** The default model. */
export const FAKE_MODEL: ModelCard = {
  id: "fake-model",
  created: 1_700_000_000,
  ownedBy: "aria",
  contextLength: 4096,
};

const encoder = new TextEncoder();

/** The fake, with what it saw. */
export class FakeBackend implements CompletionBackend {
  readonly kind = "simulation" as const;
  readonly requests: CompletionRequest[] = [];
  readonly signals: AbortSignal[] = [];
  /** Set when a generator stopped because its signal aborted. */
  abortedRuns = 0;
  /** Generators that have ended (finished, thrown or returned early). */
  finishedRuns = 0;
  readonly pieces: string[];

  constructor(readonly options: FakeBackendOptions = {}) {
    this.pieces = options.pieces ?? ["Hello", ",", " wor", "ld", "!", " é", "🙂"];
  }

  listModels(): readonly ModelCard[] {
    return this.options.models ?? [FAKE_MODEL];
  }

  health(): "ready" | "loading" {
    return this.options.health ?? "ready";
  }

  stats() {
    return { queueDepth: 2, activeSequences: 1, slots: 4 };
  }

  tokenBytes(_model: string, token: number): Uint8Array {
    return encoder.encode(this.pieces[token - 1] ?? `<${token}>`);
  }

  complete(request: CompletionRequest, signal: AbortSignal) {
    this.requests.push(request);
    this.signals.push(signal);
    return this.#tracked(request, signal);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #chunk(request: CompletionRequest, token: number, text: string): CompletionChunk {
    const c: CompletionChunk = { text, tokens: [token] };
    if (token === 1) c.servedBy = ["node-a"]; // the first chunk names the serving nodes
    if (request.logprobs !== undefined) {
      const top = Array.from({ length: request.logprobs }, (_, i) => ({
        token: i + 1,
        logprob: -(i + 1) / 4,
      }));
      c.logprobs = [{ token, logprob: -token / 8, topLogprobs: top }];
    }
    return c;
  }

  async *#tracked(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    try {
      return yield* this.#run(request, signal);
    } finally {
      this.finishedRuns++;
    }
  }

  async *#run(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    const o = this.options;
    const check = async () => {
      await new Promise((r) => setTimeout(r, 0));
      if (signal.aborted) {
        this.abortedRuns++;
        throw signal.reason;
      }
    };
    await check();
    if (o.throwBefore !== undefined) throw o.throwBefore;
    let n = 0;
    if (o.forever) {
      for (;;) {
        await check();
        yield { text: "x", tokens: [1] };
      }
    }
    const max = request.maxTokens ?? Infinity;
    const end = (tail: string, finish: "stop" | "length", count: number): CompletionResult => ({
      tail,
      finishReason: finish,
      stopReason: finish === "length" ? "max_tokens" : "eog",
      usage: { promptTokens: o.promptTokens ?? 5, completionTokens: count },
      timings: { queueMs: 1, promptMs: 2, decodeMs: 500 },
      servedBy: ["node-a"],
    });
    let text = "";
    const count = Math.min(max, this.pieces.length);
    for (let i = 0; i < count; i++) {
      await check();
      if (o.throwAfter === n) throw o.throwError;
      const piece = this.pieces[i]!;
      const stopAt = request.stop.map((s) => (text + piece).indexOf(s)).filter((k) => k >= 0);
      if (stopAt.length > 0) {
        return end((text + piece).slice(text.length, Math.min(...stopAt)), "stop", i + 1);
      }
      if (i === count - 1) return end(piece, count < this.pieces.length ? "length" : "stop", i + 1);
      text += piece;
      n++;
      yield this.#chunk(request, i + 1, piece);
    }
    return end("", count < this.pieces.length ? "length" : "stop", count);
  }
}
