/**
 * @module The simulation backend: deterministic canned text for protocol tests only, never chosen
 * automatically. Every response is labelled: the model id is "simulation" and the text starts with
 * "[simulation]". Pure apart from nothing: no engine, no I/O.
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
import { UnsupportedParameterError } from "../shared/errors.ts";

/** Canned, labelled completions. */
export class SimulationBackend implements CompletionBackend {
  readonly kind = "simulation" as const;
  readonly #nodeId: string;
  #active = 0;

  /** @param nodeId reported in `servedBy`. */
  constructor(nodeId: string) {
    this.#nodeId = nodeId;
  }

  listModels(): readonly ModelCard[] {
    return [{ id: "simulation", created: 0, ownedBy: "aria-simulation", contextLength: 2048 }];
  }

  health(): "ready" {
    return "ready";
  }

  stats(): BackendStats {
    return { queueDepth: 0, activeSequences: this.#active, slots: 1 };
  }

  async *complete(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    if (usesTools(request.input)) {
      // handled here: tools would be dropped on the way, so refuse rather than ignore (400)
      throw new UnsupportedParameterError(
        "tools",
        'Unsupported parameter "tools": the simulation backend does not take tools',
      );
    }
    if (request.grammar !== undefined) {
      // handled here: the output could not be held to it, so refuse rather than ignore (400)
      throw new UnsupportedParameterError(
        "response_format",
        'Unsupported parameter "response_format" / "grammar": the simulation backend cannot enforce a grammar',
      );
    }
    const source = request.input.kind === "chat"
      ? request.input.messages.at(-1)?.content ?? ""
      : request.input.prompt;
    const words = ["[simulation]", ...`echo: ${source}`.split(/\s+/).filter(Boolean)];
    const max = request.maxTokens ?? words.length;
    const n = Math.min(max, words.length);
    this.#active++;
    try {
      for (let i = 0; i < n; i++) {
        signal.throwIfAborted();
        await Promise.resolve();
        yield i === 0
          ? { text: words[i]!, tokens: [], servedBy: [this.#nodeId] }
          : { text: ` ${words[i]}`, tokens: [] };
      }
    } finally {
      this.#active--;
    }
    return {
      tail: "",
      finishReason: n < words.length ? "length" : "stop",
      stopReason: n < words.length ? "max_tokens" : "eog",
      usage: { promptTokens: source.split(/\s+/).filter(Boolean).length, completionTokens: n },
      timings: { queueMs: 0, promptMs: 0, decodeMs: 0 },
      servedBy: [this.#nodeId],
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
