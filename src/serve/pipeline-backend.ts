/**
 * @module Shell: the pipeline backend — the OpenAI API served by a coordinator whose model runs
 * on pipeline stages (src/pipeline/pipeline.ts). The coordinator reads only the GGUF header (tokenizer,
 * chat template, block count); every block runs on the stages the route picks. One pipeline
 * session per request, driven by the ordinary generation loop; fail-over is invisible here.
 * Requests beyond `parallel` get a CapacityError (503): the stages' session slots are the real
 * limit and they answer BUSY rather than queue. So does a request when the adverts make no route
 * (no stages yet, or a block no stage covers).
 */
import {
  checkRequestLimits,
  DEFAULT_SAMPLER_OPTIONS,
  SAMPLER_VERSION,
} from "../generation/index.ts";
import { basename } from "node:path";
import type {
  BackendStats,
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  ModelCard,
} from "../contract/index.ts";
import { createRng, generate } from "../generation/index.ts";
import { GgufFormatError, kvNumber, kvString, openGguf } from "../model/index.ts";
import {
  createPipelineEngine,
  type PipelineOptions,
  planRoute,
  routeNumerics,
  type StageNetwork,
} from "../pipeline/index.ts";
import { CapacityError } from "../shared/errors.ts";
import {
  constraintFor,
  triggeredConstraintFor,
  type VocabTrie,
  vocabTrieOf,
} from "../grammar/index.ts";
import {
  chatModelInfoFromGguf,
  type ChatTemplateChoice,
  chooseChatTemplate,
  createTokenizer,
  encodeChat,
  type Tokenizer,
  vocabSourceFromGguf,
} from "../tokenizer/index.ts";

/** Options of {@link PipelineBackend}. */
export interface PipelineBackendOptions {
  /** The GGUF file (only its header is read here: tokenizer, template, block count). */
  modelPath: string;
  /** SHA-256 (hex) of that file: stages must advertise the same. */
  modelHash: string;
  /** The id /v1/models reports (default: the file name without .gguf). */
  modelId?: string | undefined;
  /** This node's id (the coordinator), first in `servedBy`. */
  nodeId: string;
  /** Adverts and links of the stages. */
  network: StageNetwork;
  /** Positions per session (default: min(model's, 2048)). */
  ctx?: number | undefined;
  /** Requests served at once. */
  parallel: number;
  /** Coordinator settings (time-out, chunk size, fail-overs, hop limit, route and fail-over
   * events for the log). */
  pipeline?: Readonly<
    Pick<PipelineOptions, "timeoutMs" | "chunkTokens" | "maxFailovers" | "maxHops" | "onEvent">
  >;
}

/** Completions over a pipeline of stages. */
export class PipelineBackend implements CompletionBackend {
  readonly kind = "pipeline" as const;
  readonly #o: Readonly<PipelineBackendOptions>;
  readonly #card: ModelCard;
  readonly #tokenizer: Tokenizer;
  /** The vocabulary trie, built at the first request with a grammar. */
  #trie: VocabTrie | undefined;
  readonly #template: ChatTemplateChoice;
  readonly #nLayer: number;
  readonly #nCtx: number;
  #active = 0;
  #closed = false;

  /**
   * Reads the GGUF header.
   *
   * @param options model, network, sizes.
   * @throws {GgufFormatError} when the file is not a GGUF with a block count.
   */
  constructor(options: Readonly<PipelineBackendOptions>) {
    this.#o = options;
    const { file } = openGguf(options.modelPath);
    const arch = kvString(file, "general.architecture") ?? "";
    const nLayer = kvNumber(file, `${arch}.block_count`);
    if (nLayer === undefined) {
      throw new GgufFormatError(`Cannot serve a pipeline: "${arch}.block_count" is missing`, 0);
    }
    const nCtxTrain = kvNumber(file, `${arch}.context_length`) ?? 2048;
    this.#nLayer = nLayer;
    this.#nCtx = Math.min(options.ctx ?? 2048, nCtxTrain);
    this.#tokenizer = createTokenizer(vocabSourceFromGguf(file));
    this.#template = chooseChatTemplate(chatModelInfoFromGguf(file));
    this.#card = {
      id: options.modelId ?? basename(options.modelPath).replace(/\.gguf$/i, ""),
      created: 0,
      ownedBy: "aria",
      contextLength: this.#nCtx,
    };
  }

  listModels(): readonly ModelCard[] {
    return [this.#card];
  }

  health(): "ready" {
    return "ready";
  }

  stats(): BackendStats {
    return { queueDepth: 0, activeSequences: this.#active, slots: this.#o.parallel };
  }

  async *complete(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    if (this.#closed || this.#active >= this.#o.parallel) {
      throw new CapacityError(
        `Cannot start a pipeline request: ${this.#active} of ${this.#o.parallel} are running`,
      );
    }
    // handled here: no stages advertised (yet), or none covering every block, is a 503 with the
    // reason rather than an internal error from the first evaluation
    const plan = planRoute(await this.#o.network.adverts(this.#o.modelHash), {
      modelHash: this.#o.modelHash,
      nLayer: this.#nLayer,
      ...(this.#o.pipeline?.maxHops !== undefined ? { maxHops: this.#o.pipeline.maxHops } : {}),
    });
    if (!plan.ok) {
      throw new CapacityError(`Cannot serve "${this.#card.id}" through a pipeline: ${plan.reason}`);
    }
    // handled here: out-of-range sampling values, and a peer's continueFrom ids outside the
    // vocabulary, fail this request alone, with a 400
    const sampling = checkRequestLimits(request, { nVocab: this.#tokenizer.nVocab });
    const ids = [
      ...(request.input.kind === "chat"
        ? encodeChat(this.#tokenizer, request.input.messages, {
          template: this.#template,
          tools: request.input.tools,
        }).ids
        : this.#tokenizer.encode(request.input.prompt, { addBos: true })),
      // fail-over (src/p2p/router.ts): continue after the tokens another node already generated,
      // as the native backend does
      ...(request.continueFrom ?? []),
    ];
    // a grammar: compiled per request (a GrammarError is this request's 400), advanced over the
    // continued tokens
    let constraint;
    if (request.grammar !== undefined) {
      this.#trie ??= vocabTrieOf(this.#tokenizer);
      constraint = request.grammarTrigger === undefined
        ? constraintFor(request.grammar, this.#trie, request.continueFrom)
        : triggeredConstraintFor(
          request.grammar,
          this.#trie,
          request.grammarTrigger,
          request.continueFrom,
        );
    }
    const engine = createPipelineEngine(this.#o.network, {
      ...this.#o.pipeline,
      modelHash: this.#o.modelHash,
      nLayer: this.#nLayer,
      nCtx: this.#nCtx,
    });
    // the seed actually used (also when the client gave none): the record names it (only the low
    // 32 bits reach the rng), as on a single node
    const seed = (request.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    this.#active++;
    try {
      const gen = generate({ engine, tokenizer: this.#tokenizer }, ids, {
        maxTokens: Math.min(request.maxTokens ?? this.#nCtx, Math.max(0, this.#nCtx - ids.length)),
        sampling,
        rng: createRng(seed),
        stop: request.stop,
        clock: () => performance.now(),
        ...(constraint ? { constraint } : {}),
        ...(request.logprobs !== undefined ? { logprobs: request.logprobs } : {}),
      });
      let first = true;
      for (let step = await gen.next();; step = await gen.next()) {
        // the client left: stop before evaluating another token (the finally closes the session)
        signal.throwIfAborted();
        const servedBy = [this.#o.nodeId, ...(engine.route?.stages.map((s) => s.nodeId) ?? [])];
        if (step.done) {
          const end = step.value;
          // re-executable (record version 2) when the route's stages advertise numerics one
          // machine can reproduce (routeNumerics); else the record stays version 1
          const numerics = engine.route === undefined ? undefined : routeNumerics(
            engine.route.stages,
            await this.#o.network.adverts(this.#o.modelHash),
            this.#nLayer,
          );
          return {
            tail: end.tail,
            finishReason: end.finishReason,
            stopReason: end.stopReason,
            usage: end.usage,
            timings: { queueMs: 0, ...end.timings },
            servedBy,
            // for the ledger record: the route that finished evaluated every token (a fail-over
            // replays the whole history on the new route); the coordinator ran no block, and is
            // named with [nLayer, nLayer + 1): embedding, output head, sampling
            layers: [
              { nodeId: this.#o.nodeId, layerStart: this.#nLayer, layerEnd: this.#nLayer + 1 },
              ...(engine.route?.stages.map((st) => ({
                nodeId: st.nodeId,
                layerStart: st.layerBegin,
                layerEnd: st.layerEnd,
              })) ?? []),
            ],
            ...(numerics
              ? {
                replay: {
                  ...numerics,
                  sampler: SAMPLER_VERSION,
                  sampling: { ...DEFAULT_SAMPLER_OPTIONS, ...sampling },
                  ...(request.grammar !== undefined ? { grammar: request.grammar } : {}),
                  seed,
                  promptIds: ids,
                  continued: request.continueFrom?.length ?? 0,
                  outputIds: end.tokens,
                },
              }
              : {}),
          };
        }
        const c = step.value;
        const chunk: CompletionChunk = c.logprobs
          ? { text: c.text, tokens: [c.token], logprobs: [c.logprobs] }
          : { text: c.text, tokens: [c.token] };
        if (first) chunk.servedBy = servedBy;
        first = false;
        yield chunk;
      }
    } finally {
      this.#active--;
      await engine.close();
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
