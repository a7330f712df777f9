/**
 * @module llama.cpp as ARIA's outside oracle and speed bar, for tests and benchmarks.
 *
 * Runs `tests/oracle/llama-oracle.c` (built on first use by `scripts/build-oracle.ts`, linked
 * against node-llama-cpp's prebuilt CPU-only llama.cpp) as a child process per call. Every
 * call loads the model again: cheap for test models, about a second for a 2B file.
 *
 * Numerics of the oracle contexts: CPU backend only, flash attention off, KV cache F32 by
 * default for decoding (`kvType: "f16"` is llama.cpp's own default), one sequence, the whole
 * prompt in one batch. Greedy picks the lowest token id among equal maxima and never stops
 * at end-of-sequence tokens.
 */
import { buildLlamaOracle } from "../../scripts/build-oracle.ts";

/** KV cache element type of the llama.cpp context. */
export type LlamaKvType = "f16" | "f32";

/** Flash-attention setting; `"auto"` lets llama.cpp decide (it enables it on the CPU). */
export type LlamaFlashAttn = "on" | "off" | "auto";

/** Options of {@linkcode llamaTokenize}. */
export interface LlamaTokenizeOptions {
  /**
   * llama.cpp's `add_special`: adds BOS (and EOS) only where the vocabulary asks for it
   * (`tokenizer.ggml.add_bos_token`, default true for SPM vocabularies).
   */
  readonly addBos?: boolean;
  /** Parse special / control tokens written in the text (`<|eot_id|>`) as single tokens. */
  readonly parseSpecial?: boolean;
}

/** Options of the decoding calls ({@linkcode llamaGreedy}, {@linkcode llamaPromptLogits}). */
export interface LlamaDecodeOptions {
  /** CPU threads. */
  readonly threads?: number;
  /** Context length; 0 = max(512, what the call needs). llama.cpp rounds it up to 256. */
  readonly nCtx?: number;
  /** KV cache type. */
  readonly kvType?: LlamaKvType;
  /** Flash attention. */
  readonly flashAttn?: LlamaFlashAttn;
}

/** Options of {@linkcode llamaPromptLogits}. */
export interface LlamaPromptLogitsOptions extends LlamaDecodeOptions {
  /** Tokens per `llama_decode` call (every one of them returns logits). */
  readonly chunk?: number;
}

/** Options of {@linkcode llamaBench}. */
export interface LlamaBenchOptions {
  /** CPU threads for both prefill and decode. */
  readonly threads?: number;
  /** Prompt tokens processed in one batch (0 = skip the test). */
  readonly pp?: number;
  /** Tokens generated one at a time from an empty cache (0 = skip the test). */
  readonly tg?: number;
  /** Timed repetitions of each test, after one untimed warm-up. */
  readonly reps?: number;
  /** Random tokens in the cache before each timed run (llama-bench's -d; default 0). */
  readonly depth?: number;
  /** KV cache type. */
  readonly kvType?: LlamaKvType;
  /** Flash attention (llama-bench's default is `"auto"`). */
  readonly flashAttn?: LlamaFlashAttn;
}

/** Defaults of every oracle call. */
export const DEFAULT_LLAMA_ORACLE_OPTIONS = {
  addBos: true,
  parseSpecial: false,
  threads: Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)),
  nCtx: 0,
  decodeKvType: "f32",
  benchKvType: "f16",
  decodeFlashAttn: "off",
  benchFlashAttn: "auto",
  chunk: 64,
  pp: 128,
  tg: 64,
  reps: 5,
} as const;

/** Result of {@linkcode llamaGreedy}. */
export interface LlamaGreedyResult {
  /** The chosen token of every step. */
  tokens: number[];
  /** `logits[i]` (length n_vocab) is what `tokens[i]` was chosen from. */
  logits: Float32Array[];
}

/** Result of {@linkcode llamaBench}. Runs are in milliseconds; rates use the median run. */
export interface LlamaBenchResult {
  /** Prompt tokens per second (pp / median pp run). NaN when pp = 0. */
  ppTps: number;
  /** Generated tokens per second (tg / median tg run). NaN when tg = 0. */
  tgTps: number;
  /** Milliseconds of each timed prefill. */
  ppRuns: number[];
  /** Milliseconds of each timed generation of tg tokens. */
  tgRuns: number[];
  /** Peak resident memory of the llama.cpp process, in bytes. */
  peakRssBytes: number;
  /** Settings in effect, as reported by the driver. */
  threads: number;
  kvType: LlamaKvType;
  flashAttn: string;
  /** The libggml CPU variant that was loaded (e.g. `libggml-cpu-haswell.so`). */
  cpuBackend: string;
}

/** What the driver's `info` command reports about a model. */
export interface LlamaModelInfo {
  arch: string;
  name: string;
  desc: string;
  nVocab: number;
  vocabType: number;
  bos: number;
  eos: number;
  addBos: boolean;
  addEos: boolean;
  nCtxTrain: number;
  nEmbd: number;
  nLayer: number;
  nParams: number;
  sizeBytes: number;
  cpuBackend: string;
  systemInfo: string;
}

let cachedBinary: string | undefined;
let cachedFailure: Error | undefined;

/** Builds (if needed) and returns the path of the driver; throws when it cannot be built. */
export function llamaOraclePath(): string {
  if (cachedBinary !== undefined) return cachedBinary;
  if (cachedFailure !== undefined) throw cachedFailure;
  try {
    cachedBinary = buildLlamaOracle().binary;
    return cachedBinary;
  } catch (err) {
    cachedFailure = err instanceof Error ? err : new Error(String(err));
    throw cachedFailure;
  }
}

/** True when the driver is built or can be built here (node-llama-cpp, git and gcc present). */
export function hasLlamaOracle(): boolean {
  try {
    llamaOraclePath();
    return true;
  } catch {
    return false;
  }
}

/** Peak resident memory of the last oracle process, in bytes (0 when unknown). */
let lastMaxRss = 0;

function runOracle(args: readonly string[], stdin: Uint8Array | undefined): Uint8Array {
  const binary = llamaOraclePath();
  const proc = Bun.spawnSync([binary, ...args], {
    stdin: stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  lastMaxRss = proc.resourceUsage?.maxRSS ?? 0;
  if (proc.exitCode !== 0) {
    const stderr = proc.stderr.toString().trim().split("\n").slice(-12).join("\n");
    throw new Error(
      `Cannot run llama-oracle ${args[0]}: exited with ${
        proc.exitCode ?? proc.signalCode
      }: ${stderr}`,
    );
  }
  return new Uint8Array(proc.stdout.buffer, proc.stdout.byteOffset, proc.stdout.byteLength);
}

function assertPositiveInt(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function assertTokens(tokens: readonly number[], name: string): void {
  if (tokens.length === 0) throw new RangeError(`${name} must not be empty`);
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0) throw new RangeError(`${name} holds a bad token id: ${t}`);
  }
}

function decodeArgs(o: LlamaDecodeOptions, defaults: { kv: LlamaKvType; fa: LlamaFlashAttn }) {
  const threads = o.threads ?? DEFAULT_LLAMA_ORACLE_OPTIONS.threads;
  assertPositiveInt(threads, "threads");
  return [
    "--threads",
    String(threads),
    "--ctx",
    String(o.nCtx ?? DEFAULT_LLAMA_ORACLE_OPTIONS.nCtx),
    "--kv",
    o.kvType ?? defaults.kv,
    "--flash-attn",
    o.flashAttn ?? defaults.fa,
  ];
}

const DECODE_DEFAULTS = {
  kv: DEFAULT_LLAMA_ORACLE_OPTIONS.decodeKvType,
  fa: DEFAULT_LLAMA_ORACLE_OPTIONS.decodeFlashAttn,
} as const;

/** Splits the driver's padded JSON header line from the binary payload after it. */
function splitHeader(out: Uint8Array): { header: Record<string, unknown>; payload: Uint8Array } {
  const nl = out.indexOf(10);
  if (nl < 0) throw new Error("Cannot parse llama-oracle output: no header line");
  const header = JSON.parse(new TextDecoder().decode(out.subarray(0, nl))) as Record<
    string,
    unknown
  >;
  let payload = out.subarray(nl + 1);
  if (payload.byteOffset % 4 !== 0) payload = payload.slice();
  return { header, payload };
}

function floatsAt(payload: Uint8Array, byteOffset: number, n: number): Float32Array {
  return new Float32Array(payload.buffer, payload.byteOffset + byteOffset, n);
}

function tokenText(tokens: readonly number[]): Uint8Array {
  return new TextEncoder().encode(tokens.join(" "));
}

/** Information on a model as llama.cpp loads it (arch, vocabulary, sizes, CPU backend). */
export function llamaInfo(modelPath: string): LlamaModelInfo {
  const raw = JSON.parse(new TextDecoder().decode(runOracle(["info", modelPath], undefined)));
  return {
    arch: raw.arch,
    name: raw.name,
    desc: raw.desc,
    nVocab: raw.n_vocab,
    vocabType: raw.vocab_type,
    bos: raw.bos,
    eos: raw.eos,
    addBos: raw.add_bos,
    addEos: raw.add_eos,
    nCtxTrain: raw.n_ctx_train,
    nEmbd: raw.n_embd,
    nLayer: raw.n_layer,
    nParams: raw.n_params,
    sizeBytes: raw.size_bytes,
    cpuBackend: raw.cpu_backend,
    systemInfo: raw.system_info,
  };
}

/** Tokenizes several strings with one model load; see {@linkcode llamaTokenize}. */
export function llamaTokenizeMany(
  modelPath: string,
  texts: readonly string[],
  options: Readonly<LlamaTokenizeOptions> = {},
): number[][] {
  if (texts.length === 0) return [];
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const text of texts) {
    const bytes = enc.encode(text);
    parts.push(enc.encode(`${bytes.length}\n`), bytes);
  }
  const addBos = options.addBos ?? DEFAULT_LLAMA_ORACLE_OPTIONS.addBos;
  const parseSpecial = options.parseSpecial ?? DEFAULT_LLAMA_ORACLE_OPTIONS.parseSpecial;
  const out = runOracle(
    [
      "tokenize",
      modelPath,
      "--add-special",
      addBos ? "1" : "0",
      "--parse-special",
      parseSpecial ? "1" : "0",
    ],
    Buffer.concat(parts),
  );
  const lines = new TextDecoder().decode(out).split("\n").filter((l) => l.length > 0);
  if (lines.length !== texts.length) {
    throw new Error(
      `Cannot parse llama-oracle output: ${lines.length} lines for ${texts.length} texts`,
    );
  }
  return lines.map((l) => JSON.parse(l) as number[]);
}

/** Token ids llama.cpp gives `text` (`llama_tokenize`). */
export function llamaTokenize(
  modelPath: string,
  text: string,
  options: Readonly<LlamaTokenizeOptions> = {},
): number[] {
  const [ids] = llamaTokenizeMany(modelPath, [text], options);
  if (ids === undefined) throw new Error("Cannot parse llama-oracle output: no tokens line");
  return ids;
}

/**
 * Greedy decoding: the prompt in one batch, then one token per step. Returns the chosen
 * token and the full logits (n_vocab float32) of every step; EOS does not stop it.
 */
export function llamaGreedy(
  modelPath: string,
  promptTokens: readonly number[],
  nSteps: number,
  options: Readonly<LlamaDecodeOptions> = {},
): LlamaGreedyResult {
  assertTokens(promptTokens, "promptTokens");
  assertPositiveInt(nSteps, "nSteps");
  const out = runOracle(
    ["greedy", modelPath, "--steps", String(nSteps), ...decodeArgs(options, DECODE_DEFAULTS)],
    tokenText(promptTokens),
  );
  const { header, payload } = splitHeader(out);
  const nVocab = Number(header["n_vocab"]);
  const record = 4 + 4 * nVocab;
  if (payload.byteLength !== record * nSteps) {
    throw new Error(
      `Cannot parse llama-oracle output: ${payload.byteLength} payload bytes, expected ${
        record * nSteps
      }`,
    );
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const tokens: number[] = [];
  const logits: Float32Array[] = [];
  for (let i = 0; i < nSteps; i++) {
    tokens.push(view.getInt32(i * record, true));
    logits.push(floatsAt(payload, i * record + 4, nVocab));
  }
  return { tokens, logits };
}

/**
 * Logits after every position of `tokens` (row i = prediction for position i + 1), for
 * perplexity and teacher-forced comparisons.
 */
export function llamaPromptLogits(
  modelPath: string,
  tokens: readonly number[],
  options: Readonly<LlamaPromptLogitsOptions> = {},
): Float32Array[] {
  assertTokens(tokens, "tokens");
  const chunk = options.chunk ?? DEFAULT_LLAMA_ORACLE_OPTIONS.chunk;
  assertPositiveInt(chunk, "chunk");
  const out = runOracle(
    ["logits", modelPath, "--chunk", String(chunk), ...decodeArgs(options, DECODE_DEFAULTS)],
    tokenText(tokens),
  );
  const { header, payload } = splitHeader(out);
  const nVocab = Number(header["n_vocab"]);
  if (payload.byteLength !== 4 * nVocab * tokens.length) {
    throw new Error(
      `Cannot parse llama-oracle output: ${payload.byteLength} payload bytes, expected ${
        4 * nVocab * tokens.length
      }`,
    );
  }
  const rows: Float32Array[] = [];
  for (let i = 0; i < tokens.length; i++) rows.push(floatsAt(payload, 4 * nVocab * i, nVocab));
  return rows;
}

/**
 * llama.cpp's pooled embedding of one input (an embeddings context with the model's own
 * `<arch>.pooling_type`, the tokens in one batch): `llama_get_embeddings_seq`, not normalized.
 */
export function llamaEmbedding(
  modelPath: string,
  tokens: readonly number[],
  options: Readonly<{ threads?: number }> = {},
): { pooling: number; embedding: Float32Array } {
  assertTokens(tokens, "tokens");
  const threads = options.threads ?? DEFAULT_LLAMA_ORACLE_OPTIONS.threads;
  const out = runOracle(["embed", modelPath, "--threads", String(threads)], tokenText(tokens));
  const { header, payload } = splitHeader(out);
  const nEmbd = Number(header["n_embd"]);
  if (payload.byteLength !== 4 * nEmbd) {
    throw new Error(
      `Cannot parse llama-oracle output: ${payload.byteLength} bytes, expected ${4 * nEmbd}`,
    );
  }
  return { pooling: Number(header["pooling"]), embedding: floatsAt(payload, 0, nEmbd) };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * llama-bench-style speed: `pp` random tokens in one batch, and `tg` tokens decoded one at a
 * time from an empty cache, each repeated `reps` times after a warm-up. Tokenization and
 * sampling are not timed.
 */
export function llamaBench(
  modelPath: string,
  options: Readonly<LlamaBenchOptions> = {},
): LlamaBenchResult {
  const d = DEFAULT_LLAMA_ORACLE_OPTIONS;
  const threads = options.threads ?? d.threads;
  const pp = options.pp ?? d.pp;
  const tg = options.tg ?? d.tg;
  const reps = options.reps ?? d.reps;
  assertPositiveInt(threads, "threads");
  assertPositiveInt(reps, "reps");
  if (!Number.isInteger(pp) || !Number.isInteger(tg) || pp < 0 || tg < 0 || pp + tg === 0) {
    throw new RangeError(`pp and tg must be integers >= 0, not both 0, got ${pp} and ${tg}`);
  }
  const out = runOracle(
    [
      "bench",
      modelPath,
      "--threads",
      String(threads),
      "--pp",
      String(pp),
      "--tg",
      String(tg),
      "--reps",
      String(reps),
      "--depth",
      String(options.depth ?? 0),
      "--kv",
      options.kvType ?? d.benchKvType,
      "--flash-attn",
      options.flashAttn ?? d.benchFlashAttn,
    ],
    undefined,
  );
  const raw = JSON.parse(new TextDecoder().decode(out));
  const ppRuns = raw.pp_ms as number[];
  const tgRuns = raw.tg_ms as number[];
  return {
    ppTps: pp > 0 ? (pp * 1000) / median(ppRuns) : NaN,
    tgTps: tg > 0 ? (tg * 1000) / median(tgRuns) : NaN,
    ppRuns,
    tgRuns,
    peakRssBytes: lastMaxRss,
    threads: raw.threads,
    kvType: raw.kv,
    flashAttn: raw.flash_attn,
    cpuBackend: raw.cpu_backend,
  };
}

/** Options of {@linkcode llamaChatTemplate}. */
export interface LlamaChatTemplateOptions {
  /** End with the assistant's turn header (llama.cpp's `add_ass`); default true. */
  readonly addGenerationPrompt?: boolean;
  /**
   * A built-in template name ("llama3", "chatml", …) or a jinja text whose family llama.cpp
   * detects; default: the model's `tokenizer.chat_template`.
   */
  readonly template?: string;
}

/** A chat message as the oracle takes it. */
export interface LlamaChatMessage {
  readonly role: string;
  readonly content: string;
}

/**
 * Conversations rendered by llama.cpp's `llama_chat_apply_template` (one model load): its
 * hand-written versions of the templates it recognises (no jinja). It writes no BOS; the
 * tokenizer adds it.
 */
export function llamaChatTemplateMany(
  modelPath: string,
  conversations: readonly (readonly LlamaChatMessage[])[],
  options: Readonly<LlamaChatTemplateOptions> = {},
): string[] {
  if (conversations.length === 0) return [];
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const messages of conversations) {
    parts.push(enc.encode(`${messages.length}\n`));
    for (const m of messages) {
      const role = enc.encode(m.role);
      const content = enc.encode(m.content);
      parts.push(enc.encode(`${role.length} ${content.length}\n`), role, content);
    }
  }
  const args = [
    "chat",
    modelPath,
    "--add-generation-prompt",
    options.addGenerationPrompt === false ? "0" : "1",
  ];
  if (options.template !== undefined) args.push("--template", options.template);
  const out = runOracle(args, Buffer.concat(parts));
  const texts: string[] = [];
  const dec = new TextDecoder();
  let pos = 0;
  while (pos < out.length) {
    const nl = out.indexOf(10, pos);
    const n = Number(dec.decode(out.subarray(pos, nl)));
    if (nl < 0 || !Number.isInteger(n) || nl + 1 + n > out.length) {
      throw new Error("Cannot parse llama-oracle chat output: bad record header");
    }
    texts.push(dec.decode(out.subarray(nl + 1, nl + 1 + n)));
    pos = nl + 1 + n;
  }
  if (texts.length !== conversations.length) {
    throw new Error(
      `Cannot parse llama-oracle chat output: ${texts.length} texts for ${conversations.length} conversations`,
    );
  }
  return texts;
}

/** One conversation rendered by llama.cpp; see {@linkcode llamaChatTemplateMany}. */
export function llamaChatTemplate(
  modelPath: string,
  messages: readonly LlamaChatMessage[],
  options: Readonly<LlamaChatTemplateOptions> = {},
): string {
  const [text] = llamaChatTemplateMany(modelPath, [messages], options);
  if (text === undefined) throw new Error("Cannot parse llama-oracle chat output: no text");
  return text;
}
