/**
 * @module Shell: the native backend — libbitnet through the continuous-batching scheduler. Loads
 * the GGUF (engine, tokenizer, chat template) in the background: health is "loading" until then,
 * and requests that arrive meanwhile wait for it. One context with `parallel` sequences.
 */
import { statSync } from "node:fs";
import { basename } from "node:path";
import type {
  BackendStats,
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
  EmbeddingRequest,
  EmbeddingResult,
  ModelCard,
  ModelDetails,
  ModelText,
} from "../contract/index.ts";
import {
  type ModelInfo,
  type NativeContext,
  type NativeModel,
  numericsContract,
  openModel,
  type OutputHead,
} from "../engine/index.ts";
import {
  ContextOverflowError,
  createRng,
  createSequence,
  DEFAULT_SAMPLER_OPTIONS,
  poolEmbedding,
  SAMPLER_VERSION,
  truncateEmbedding,
} from "../generation/index.ts";
import { InvalidRequestError } from "../shared/errors.ts";
import { checkRequestLimits } from "../generation/index.ts";
import {
  constraintFor,
  triggeredConstraintFor,
  type VocabTrie,
  vocabTrieOf,
} from "../grammar/index.ts";
import { type EmbeddingSpec, embeddingSpecOf, openGguf } from "../model/index.ts";
import {
  chatModelInfoFromGguf,
  type ChatTemplateChoice,
  chooseChatTemplate,
  createTokenizer,
  encodeChat,
  type Tokenizer,
  vocabSourceFromGguf,
} from "../tokenizer/index.ts";
import { Scheduler } from "./scheduler.ts";

/** Options of {@link NativeBackend}. */
export interface NativeBackendOptions {
  modelPath: string;
  /** The output head: the file's ("float", the default), or requantized at load to int8 or int4. */
  outputHead?: OutputHead | undefined;
  /** Repack TQ1_0 weights to TQ2_0 at load (the faster kernels; nothing changes for other files). */
  repack?: boolean | undefined;
  /** I2_S code layout of the file (docs/models.md): x86 (default) or arm. */
  i2sLayout?: "x86" | "arm" | undefined;
  /** The id /v1/models reports (default: the file name without .gguf). */
  modelId?: string | undefined;
  /** More names the model answers to (`--alias`). */
  aliases?: readonly string[] | undefined;
  /** This node's id, reported in `servedBy`. */
  nodeId: string;
  /** Worker threads (default: all cores). */
  threads?: number | undefined;
  /** Positions per sequence (default: min(model's, 2048)). */
  ctx?: number | undefined;
  /** KV cache element type (default f32). */
  kvType?: "f32" | "f16" | undefined;
  /** Sequences decoded together (KV slots). */
  parallel: number;
  /** Most requests waiting for a slot. */
  queue: number;
}

interface Loaded {
  model: NativeModel;
  ctx: NativeContext;
  tokenizer: Tokenizer;
  template: ChatTemplateChoice;
  scheduler: Scheduler;
  /** `aria_numerics_contract()`, named in each answer's replay facts. */
  contract: number;
  /** Set for an embedding model (the file's `<arch>.pooling_type`). */
  embedding: EmbeddingSpec | undefined;
}

/**
 * The facts of the loaded file that Ollama's endpoints report.
 *
 * @param info the engine's model info.
 * @param tensors the file's tensor infos.
 * @param template the chat template in use.
 * @returns the details.
 */
export function modelDetails(
  info: ModelInfo,
  tensors: readonly { dims: readonly number[] }[],
  template: ChatTemplateChoice,
): ModelDetails {
  const byCount = Object.entries(info.matrixTypes).sort((a, b) => b[1] - a[1]);
  return {
    family: info.arch,
    parameterCount: tensors.reduce((n, t) => n + t.dims.reduce((a, d) => a * d, 1), 0),
    fileBytes: info.fileBytes,
    quantization: byCount[0]?.[0] ?? info.embdType,
    chatTemplate: { source: template.source, template: template.template },
  };
}

/** libbitnet with continuous batching. */
export class NativeBackend implements CompletionBackend {
  readonly kind = "native" as const;
  readonly #options: NativeBackendOptions;
  readonly #card: ModelCard;
  #loaded: Loaded | undefined;
  /** The vocabulary trie for grammars (built at load: ~1 s for 128k tokens, off the request path). */
  #trie: VocabTrie | undefined;
  /** Settles when loading ends (rejects if it failed). */
  readonly ready: Promise<void>;

  /**
   * Starts loading the model.
   *
   * @param options model, sizes, node id.
   */
  constructor(options: Readonly<NativeBackendOptions>) {
    this.#options = { ...options };
    this.#card = {
      id: options.modelId ?? basename(options.modelPath).replace(/\.gguf$/i, ""),
      created: Math.floor(statSync(options.modelPath).mtimeMs / 1000),
      ownedBy: "aria",
      contextLength: 0,
      ...(options.aliases?.length ? { aliases: [...options.aliases] } : {}),
    };
    this.ready = this.#load();
    // the rejection is reported through `ready` to whoever awaits it (serve.ts)
    // terminated here only to avoid an unhandled rejection: serve.ts awaits `ready` and reports it
    this.ready.catch(() => {});
  }

  async #load(): Promise<void> {
    const o = this.#options;
    const model = await openModel(o.modelPath, {
      outputHead: o.outputHead ?? "float",
      repack: o.repack === true,
      i2sLayout: o.i2sLayout ?? "x86",
    });
    const { file, bytes } = openGguf(o.modelPath);
    // a pooling type the API cannot answer (none, rank) fails the load with the reason
    const embedding = embeddingSpecOf(file, bytes);
    const tokenizer = createTokenizer(vocabSourceFromGguf(file));
    const template = chooseChatTemplate(chatModelInfoFromGguf(file));
    const nCtx = Math.min(o.ctx ?? 2048, model.info.nCtxTrain);
    const sizes = { nCtx, nSeq: o.parallel, nBatch: 256, kvType: o.kvType ?? "f32" };
    const ctx = model.createContext(o.threads ? { ...sizes, nThreads: o.threads } : sizes);
    const nLayer = model.info.nLayer;
    const staged = {
      nEmbd: model.info.nEmbd,
      nLayer,
      embed: (tokens: ArrayLike<number>, hidden: Float32Array) => ctx.embed(tokens, hidden),
      evalLayers: (
        hidden: Float32Array,
        range: Readonly<{ begin: number; end: number }>,
        options: Readonly<{ seq: ArrayLike<number> }>,
      ) => ctx.evalLayers(hidden, range, options),
      output: (hidden: Float32Array) => ctx.output(hidden),
    };
    const scheduler = new Scheduler(ctx, { maxQueue: o.queue, staged });
    this.#card.contextLength = nCtx;
    this.#card.weightTypes = model.info.matrixTypes;
    this.#card.details = modelDetails(model.info, file.tensors, template);
    this.#trie = vocabTrieOf(tokenizer);
    if (embedding) {
      // no public source says these models were trained for Matryoshka truncation
      this.#card.embedding = {
        dimensions: model.info.nEmbd,
        pooling: embedding.pooling,
        truncatable: false,
      };
    }
    const contract = await numericsContract();
    this.#loaded = { model, ctx, tokenizer, template, scheduler, contract, embedding };
  }

  listModels(): readonly ModelCard[] {
    return [this.#card];
  }

  tokenBytes(model: string, token: number): Uint8Array {
    // called per logprob token: straight to the tokenizer, no ModelText built for each call
    const loaded = this.#loaded;
    if (loaded === undefined || model !== this.#card.id) return new Uint8Array();
    return loaded.tokenizer.tokenPieceBytes(token);
  }

  text(model: string): ModelText | undefined {
    const loaded = this.#loaded;
    if (loaded === undefined || model !== this.#card.id) return undefined;
    const { tokenizer, template } = loaded;
    return {
      vocabSize: tokenizer.nVocab,
      encode: (text, o) =>
        tokenizer.encode(text, {
          addBos: o.addSpecial,
          addEos: o.addSpecial ? undefined : false,
          parseSpecial: o.parseSpecial,
        }),
      decode: (ids) => tokenizer.decode(ids, { renderSpecial: true }),
      piece: (id) => tokenizer.tokenPieceBytes(id),
      applyTemplate: (messages, tools) =>
        encodeChat(tokenizer, messages, { template, tools }).prompt,
    };
  }

  health(): "ready" | "loading" {
    return this.#loaded ? "ready" : "loading";
  }

  stats(): BackendStats {
    return this.#loaded?.scheduler.stats() ??
      { queueDepth: 0, activeSequences: 0, slots: this.#options.parallel };
  }

  async *complete(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    await this.ready;
    const { tokenizer, template, scheduler, ctx, model, contract, embedding } = this.#loaded!;
    // handled: an embedding model has no trained output head (its converter drops lm_head); what
    // the tied embeddings would generate is meaningless, so completions are refused, as
    // llama-server started with --embeddings does
    if (embedding !== undefined) {
      throw new InvalidRequestError(
        "model",
        `Model "${request.model}" is an embedding model: use POST /v1/embeddings or /api/embed`,
      );
    }
    // handled here, before the shared batch: ids outside the vocabulary (a peer's continueFrom)
    // or sampling values the sampler rejects fail this request alone (InvalidRequestError)
    const sampling = checkRequestLimits(request, {
      nVocab: Math.min(model.info.nVocab, tokenizer.nVocab),
    });
    const ids = [
      ...(request.input.kind === "chat"
        ? encodeChat(tokenizer, request.input.messages, { template, tools: request.input.tools })
          .ids
        : tokenizer.encode(request.input.prompt, { addBos: true })),
      // fail-over (src/p2p/router.ts): continue after the tokens another node already generated
      ...(request.continueFrom ?? []),
    ];
    const nCtx = ctx.options.nCtx;
    // handled: max_tokens that cannot fit after the prompt is this request's 400 (OpenAI's rule);
    // a prompt that does not fit at all is refused by createSequence below
    if (
      request.maxTokens !== undefined && ids.length < nCtx && ids.length + request.maxTokens > nCtx
    ) {
      throw new ContextOverflowError(ids.length, nCtx, request.maxTokens);
    }
    // a grammar: compiled per request (a GrammarError is this request's 400, nobody else's)
    let constraint;
    if (request.grammar !== undefined) {
      this.#trie ??= vocabTrieOf(tokenizer);
      constraint = request.grammarTrigger === undefined
        ? constraintFor(request.grammar, this.#trie, request.continueFrom)
        : triggeredConstraintFor(
          request.grammar,
          this.#trie,
          request.grammarTrigger,
          request.continueFrom,
        );
    }
    // the seed actually used (also when the client gave none): the record names it (only the low
    // 32 bits reach the rng)
    const seed = (request.seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    const stepper = createSequence(tokenizer, ids, nCtx, {
      ...(constraint ? { constraint } : {}),
      maxTokens: Math.min(request.maxTokens ?? nCtx, Math.max(0, nCtx - ids.length)),
      sampling,
      rng: createRng(seed),
      stop: request.stop,
      ...(request.logprobs !== undefined ? { logprobs: request.logprobs } : {}),
    });
    const gen = scheduler.submit(request.id, ids, stepper, signal);
    let step = await gen.next();
    let first = true;
    for (; !step.done; step = await gen.next()) {
      const c = step.value;
      const chunk: CompletionChunk = c.logprobs
        ? { text: c.text, tokens: [c.token], logprobs: [c.logprobs] }
        : { text: c.text, tokens: [c.token] };
      if (first) chunk.servedBy = [this.#options.nodeId];
      first = false;
      yield chunk;
    }
    const end = step.value;
    return {
      tail: end.tail,
      finishReason: end.finishReason,
      stopReason: end.stopReason,
      usage: { ...end.usage, cachedTokens: end.cachedTokens },
      timings: end.timings,
      servedBy: [this.#options.nodeId],
      replay: {
        contract,
        sampler: SAMPLER_VERSION,
        head: this.#options.outputHead ?? "float",
        kvType: this.#options.kvType ?? "f32",
        sampling: { ...DEFAULT_SAMPLER_OPTIONS, ...sampling },
        ...(request.grammar !== undefined ? { grammar: request.grammar } : {}),
        seed,
        promptIds: ids,
        continued: request.continueFrom?.length ?? 0,
        // the list usage.completionTokens counts (the record requires the two to agree)
        outputIds: end.tokens,
      },
    };
  }

  async embed(request: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResult> {
    await this.ready;
    const { tokenizer, scheduler, ctx, model, embedding } = this.#loaded!;
    // handled here (the API checks the card first; a peer's request arrives without it): each
    // case is this request's 400, nobody else's
    if (embedding === undefined) {
      throw new InvalidRequestError("model", `Model "${request.model}" is not an embedding model`);
    }
    const nEmbd = model.info.nEmbd;
    if (request.dimensions !== undefined && request.dimensions !== nEmbd) {
      throw new InvalidRequestError(
        "dimensions",
        `Model "${request.model}" does not support dimensions: its vectors have ${nEmbd} values`,
      );
    }
    const nVocab = Math.min(model.info.nVocab, tokenizer.nVocab);
    const nCtx = ctx.options.nCtx;
    const prompts = request.inputs.map((input, i) => {
      let ids: number[];
      if (typeof input === "string") {
        // llama.cpp's embedding tokenization: add_special (BOS / EOS as the vocabulary says: the
        // BitNet embedding files add EOS, the token last pooling reads) and parse_special
        ids = tokenizer.encode(input, { parseSpecial: true });
      } else {
        ids = [...input];
        const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= nVocab);
        if (bad !== undefined) {
          throw new InvalidRequestError(
            "input",
            `Invalid token id ${bad} in input ${i}: the vocabulary has ${nVocab}`,
          );
        }
      }
      if (ids.length === 0) throw new InvalidRequestError("input", `Input ${i} has no tokens`);
      if (ids.length > nCtx) {
        if (request.truncate !== true) {
          throw new ContextOverflowError(ids.length, nCtx, undefined, `embed input ${i}`);
        }
        ids = ids.slice(0, nCtx);
      }
      return ids;
    });
    // the inputs go through the shared scheduler, at most one per slot at a time (a long list
    // neither fills the queue nor takes every slot from other work); the first failure stops
    // the rest
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const vectors: Float32Array[] = new Array(prompts.length);
    let queueMs = 0;
    let promptMs = 0;
    let next = 0;
    const worker = async () => {
      while (next < prompts.length) {
        const i = next++;
        const { hidden, timings } = await scheduler.embed(
          `${request.id}-${i}`,
          prompts[i]!,
          stop.signal,
        );
        const v = poolEmbedding(hidden, embedding);
        vectors[i] = request.dimensions === undefined
          ? v
          : truncateEmbedding(v, request.dimensions);
        queueMs = Math.max(queueMs, timings.queueMs);
        promptMs = Math.max(promptMs, timings.promptMs);
      }
    };
    try {
      const workers = Array.from({ length: Math.min(ctx.options.nSeq, prompts.length) }, worker);
      await Promise.all(workers.map((w) =>
        w.catch((err: unknown) => {
          stop.abort(err);
          throw err;
        })
      ));
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    return {
      vectors,
      usage: { promptTokens: prompts.reduce((n, p) => n + p.length, 0) },
      timings: { queueMs, promptMs, decodeMs: 0 },
      servedBy: [this.#options.nodeId],
    };
  }

  async close(): Promise<void> {
    // terminated: a model that failed to load has nothing to close
    await this.ready.catch(() => {});
    const loaded = this.#loaded;
    if (!loaded) return;
    await loaded.scheduler.close();
    loaded.ctx.close();
    loaded.model.close();
    this.#loaded = undefined;
  }
}
