/**
 * @module A deterministic token-level CompletionBackend for routing and fail-over tests: the next
 * token is a fixed function of the whole context (prompt + `continueFrom` + tokens so far), as
 * with greedy decoding, so a run continued elsewhere after N tokens must give the same tokens.
 * `dieAfter(n, f)` calls f after the n-th chunk (e.g. to kill the node serving it).
 */
import type {
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  ModelCard,
} from "../../src/contract/index.ts";

/** Token-by-token deterministic backend. */
export class CountingBackend implements CompletionBackend {
  /** "external" makes it stand for a backend that takes text only (no token continuations). */
  kind: "simulation" | "external" = "simulation";
  readonly requests: CompletionRequest[] = [];
  #dieAfter: { n: number; f: () => void } | null = null;
  active = 0;

  constructor(readonly models: string[], readonly name: string, readonly slots = 2) {}

  dieAfter(n: number, f: () => void): void {
    this.#dieAfter = { n, f };
  }

  listModels(): readonly ModelCard[] {
    return this.models.map((id) => ({ id, created: 0, ownedBy: "test", contextLength: 512 }));
  }

  health(): "ready" {
    return "ready";
  }

  stats() {
    return { queueDepth: 0, activeSequences: this.active, slots: this.slots };
  }

  async *complete(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    this.requests.push(request);
    const prompt = request.input.kind === "text"
      ? request.input.prompt
      : request.input.messages.map((m) => m.content).join("\n");
    const ctx = [...[...prompt].map((c) => c.charCodeAt(0) % 50), ...(request.continueFrom ?? [])];
    const max = request.maxTokens ?? 12;
    this.active++;
    try {
      for (let i = 0; i < max; i++) {
        await new Promise((r) => setTimeout(r, 1));
        signal.throwIfAborted();
        const token = ((ctx.at(-1) ?? 0) * 7 + ctx.length) % 97 + 1;
        ctx.push(token);
        const chunk: CompletionChunk = { text: `t${token} `, tokens: [token] };
        if (i === 0) chunk.servedBy = [this.name];
        yield chunk;
        if (this.#dieAfter && i + 1 === this.#dieAfter.n) {
          const f = this.#dieAfter.f;
          this.#dieAfter = null;
          f();
          await new Promise(() => {}); // a dead node never answers again
        }
      }
    } finally {
      this.active--;
    }
    return {
      tail: "",
      finishReason: "length",
      stopReason: "max_tokens",
      usage: { promptTokens: ctx.length - max, completionTokens: max },
      timings: { queueMs: 0, promptMs: 0, decodeMs: 0 },
      servedBy: [this.name],
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
