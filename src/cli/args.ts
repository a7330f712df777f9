/**
 * @module Command-line parsing: argv → a typed `Command`, and the usage texts. Pure: no I/O
 * (the shell in main.ts prints and exits). Uses node:util's parseArgs.
 */
import { parseArgs } from "node:util";
import { AriaError } from "../shared/errors.ts";
import {
  BUILTIN_MODEL_NAME,
  DEFAULT_OUTPUT_HEAD,
  type KvType,
  type OutputHead,
} from "../config/schema.ts";
import type { ChatMessage } from "../tokenizer/chat-template.ts";
import { OUTPUT_HEADS } from "../engine/port.ts";
import { MODEL_USAGE, type ModelCommand, parseModelCommand } from "./model-args.ts";
import { CONSENT_USAGE, type ConsentCommand, parseConsent } from "./consent-args.ts";
import { LEDGER_USAGE, type LedgerCommand, parseLedgerCommand } from "./ledger-args.ts";
import { LAYERS_USAGE } from "../pipeline/layer-range.ts";
import { type KeysCommand, P2P_USAGE, parseP2pCommand, type PeersCommand } from "./peers-args.ts";

/** --model when none is given: the built-in model (src/model/builtin.ts resolves the name). */
export const DEFAULT_MODEL = BUILTIN_MODEL_NAME;

/** `aria run`: generate a continuation. */
export interface RunCommand {
  verb: "run";
  model: string;
  prompt?: string;
  promptTokens?: number[];
  /** A conversation (--chat, --system, --messages) rendered through the chat template. */
  messages?: ChatMessage[];
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  seed: number;
  /** Stop strings (generation ends before the first one that appears). */
  stop: string[];
  /** llama.cpp repetition penalty (1 = off) over the last `repeatLastN` tokens. */
  repeatPenalty: number;
  repeatLastN: number;
  /** OpenAI frequency and presence penalties (0 = off). */
  frequencyPenalty: number;
  presencePenalty: number;
  /** Token id -> bias added to its logit. */
  logitBias: Map<number, number>;
  /** Per-token logprobs with this many alternatives in --json (unset = none). */
  logprobs?: number;
  threads?: number;
  ctx?: number;
  json: boolean;
  kernels?: string;
  /** The output head at run time (--output-head): as in the file, or requantized (int8, int4). */
  outputHead: OutputHead;
  /** Repack TQ1_0 weights to TQ2_0 at load (default; --no-repack keeps them as they are). */
  repack: boolean;
}

/** `aria bench`: prefill and decode speed. */
export interface BenchCommand {
  verb: "bench";
  model: string;
  threads?: number;
  pp: number;
  tg: number;
  /** Sequences decoded together in the tg test. */
  seqs: number;
  /** Tokens already in the KV cache before each pp / tg test (llama-bench's -d). */
  depth: number;
  /** KV cache element type. */
  kvType: KvType;
  reps: number;
  json: boolean;
  kernels?: string;
  /** The output head at run time (--output-head): as in the file, or requantized (int8, int4). */
  outputHead: OutputHead;
  /** Repack TQ1_0 weights to TQ2_0 at load (default; --no-repack keeps them as they are). */
  repack: boolean;
}

/** `aria perplexity`: perplexity of a model on a text file (llama-perplexity style). */
export interface PerplexityCommand {
  verb: "perplexity";
  model: string;
  file: string;
  ctx?: number;
  /** Score only the first N chunks. */
  chunks?: number;
  threads?: number;
  json: boolean;
  kernels?: string;
  /** The output head at run time (--output-head): as in the file, or requantized (int8, int4). */
  outputHead: OutputHead;
  /** Repack TQ1_0 weights to TQ2_0 at load (default; --no-repack keeps them as they are). */
  repack: boolean;
}

/** `aria tokenize`: token ids of a text or a conversation. */
export interface TokenizeCommand {
  verb: "tokenize";
  model: string;
  text?: string;
  /** A conversation (--chat, --system, --messages) rendered through the chat template. */
  messages?: ChatMessage[];
  /** Add BOS (--no-bos turns it off). */
  bos: boolean;
  /** Parse special-token text such as "<|eot_id|>" (--special). */
  special: boolean;
  json: boolean;
}

/** `aria serve`: the OpenAI-compatible API. Flags given on the command line only (undefined =
 * not given): src/config merges them with ARIA_* variables, config.json and defaults. */
export interface ServeCommand {
  verb: "serve";
  flags: {
    model?: string;
    port?: string;
    host?: string;
    p2pPort?: string;
    peers?: string;
    p2pCert?: string;
    p2pKey?: string;
    threads?: string;
    ctx?: string;
    parallel?: string;
    queue?: string;
    apiKey?: string;
    backend?: string;
    upstream?: string;
    dataDir?: string;
    outputHead?: string;
    /** "false" when --no-repack is given. */
    repack?: string;
    kvType?: string;
    tdpWatts?: string;
    /** Pipeline stage: blocks "A-B" (src/pipeline/layer-range.ts). */
    layers?: string;
    /** Pipeline coordinator: "true" when --pipeline is given (src/pipeline/layer-range.ts). */
    pipeline?: string;
  };
}

/** `aria help [verb]` or `--help`. */
export interface HelpCommand {
  verb: "help";
  topic?: string;
}

/** `aria version`. */
export interface VersionCommand {
  verb: "version";
}

/** Every command the CLI understands. */
export type Command =
  | RunCommand
  | BenchCommand
  | PerplexityCommand
  | TokenizeCommand
  | ServeCommand
  | PeersCommand
  | KeysCommand
  | HelpCommand
  | VersionCommand
  | ModelCommand
  | ConsentCommand
  | LedgerCommand;

/** A mistake in the command line: the message says what and how to fix it. */
export class UsageError extends AriaError {
  /** @param message what is wrong. */
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** Usage text per verb. */
export const USAGE: Record<string, string> = {
  main: `aria — BitNet b1.58 ternary models on ordinary CPUs

Usage: aria <command> [options]        aria <command> --help for a command's options

Commands:
  run         generate text from a prompt (also: aria infer)
  serve       serve the OpenAI-compatible API (also: aria node start, aria api start)
  bench       measure prefill and decode speed (llama-bench style)
  perplexity  perplexity of a model on a text file (llama-perplexity style)
  tokenize    print the token ids of a text or a chat (llama-tokenize style)
  model       list, pull, remove, inspect and convert models (aria model --help)
  ledger      show, verify, export and import the provenance ledger
  peers       list the peers this node knows (also: aria network peers)
  consent     show or change the node owner's consent policy
  keys        show this node's identity (aria keys show)
  version     print the version
  help        show help for a command (aria help model)
  ledger    verify, show, export or import the provenance ledger; check receipts
  version   print the version
  help      show help for a command (aria help run)

Examples:
  aria run --prompt "The capital of France is"           (built-in aria-nano model)
  aria model pull aria-2b-1bit
  aria run --model aria-2b-1bit --chat --prompt "Why is the sky blue?"
  aria serve --model aria-2b-1bit --port 8080
  aria bench --model model.gguf --threads 2 --json
  aria tokenize --text "Hello world"

Exit codes:
  0  success
  1  the command failed (bad model file, download or hash failure, engine error)
  2  usage error (unknown command or option, missing or invalid value)
  130  interrupted (Ctrl-C); an interrupted aria model pull resumes when run again

Data dir: ARIA_HOME (default ~/.aria) holds models/, config.json and the node key.`,
  run:
    `Usage: aria run [--model PATH] (--prompt TEXT | --prompt-tokens IDS | --messages JSON) [options]

Generates a continuation of the prompt and prints it as it is produced.

Options:
  --model PATH|NAME     GGUF model file (bitnet, bitnet-b1.58, llama; TQ1_0, TQ2_0, I2_S), or
                        aria-nano, the built-in demo model (the default)
  --prompt TEXT         prompt text (tokenized with the model's own vocabulary)
  --prompt-tokens IDS   prompt as comma-separated token ids instead of text
  --chat                the prompt is a user message, rendered through the model's chat template
  --system TEXT         system message (implies --chat)
  --messages JSON       conversation as a JSON array of {"role", "content"} (implies --chat;
                        --prompt, if given, is appended as the last user message)
  --max-tokens N        most tokens to generate (default 128)
  --temperature T       0 = greedy (default 0.8)
  --top-k K             default 40 (0 = off)
  --top-p P             default 0.95 (1 = off)
  --min-p P             default 0.05 (0 = off)
  --seed S              sampling seed (default 0); same seed, same output
  --stop STR            stop before this text (repeatable); the stop text is not printed
  --repeat-penalty F    divide positive / multiply negative logits of recent tokens (default 1 = off)
  --repeat-last-n N     tokens the repeat penalty looks back over (default 64; 0 = off, -1 = all)
  --frequency-penalty F subtract F x (times generated so far), -2..2 (default 0)
  --presence-penalty F  subtract F if generated before, -2..2 (default 0)
  --logit-bias ID=BIAS  add BIAS (-100..100) to token ID's logit (repeatable; -100 bans it)
  --logprobs N          with --json: each token's logprob and its N (0..20) likeliest alternatives
                        (write negative values as --repeat-last-n=-1, --presence-penalty=-0.5)
  --threads N           worker threads (default: all cores)
  --ctx N               context size (default: min(model's, 2048))
  --kernels K           auto | ref | avx2 | avx512 (default auto)
  --output-head H       float | int8 | int4: keep an F16/F32/BF16 output head, or requantize it
                        at load to int8 (half its bytes per token) or int4 (a quarter, less
                        exact); default ${DEFAULT_OUTPUT_HEAD}
  --no-repack           keep TQ1_0 weights as they are (default: repacked to TQ2_0 at load, for
                        the faster TQ2_0 kernels; 22% more weight memory)
  --json                print one JSON object: text, tokens, prompt_tokens, finish_reason,
                        stop_reason, prefill_ms, decode_ms, …

Example:
  aria run --model model.gguf --prompt "Once upon a time" --max-tokens 64 --temperature 0`,
  bench: `Usage: aria bench [--model PATH] [options]

Measures prefill (pp) and decode (tg) tokens/s like llama-bench: random prompt tokens, end of
sequence ignored, a cold cache for each repetition, the median of the repetitions reported.

Options:
  --model PATH     GGUF model file (default: aria-nano, the built-in model)
  --threads N      worker threads (default: all cores)
  --pp N           prompt tokens for the prefill test (default 128; 0 = skip)
  --tg N           tokens for the decode test (default 64; 0 = skip)
  --seqs N         decode N sequences together, one token each per step (default 1); tg_tps is
                   then their aggregate tokens/s
  --depth N        tokens already in the cache before each test (default 0), to measure speed at
                   a given context length
  --kv-type T      f32 | f16: KV cache element type (default f32; f16 halves its memory)
  --reps N         repetitions (default 5)
  --kernels K      auto | ref | avx2 | avx512 (default auto)
  --output-head H  float | int8 | int4: keep a float output head, or requantize it at load to
                   int8 or int4 (smaller, less exact); default ${DEFAULT_OUTPUT_HEAD}
  --no-repack      keep TQ1_0 weights as they are (default: repacked to TQ2_0 at load, for the
                   faster TQ2_0 kernels; 22% more weight memory)
  --json           print one JSON object: pp_tps, tg_tps, runs, model, threads

Example:
  aria bench --model model.gguf --threads 2 --pp 128 --tg 64`,
  perplexity: `Usage: aria perplexity [--model PATH] --file TEXT [options]

Computes the perplexity of the model on a text file the way llama-perplexity does: the text is
tokenized, cut into chunks of --ctx tokens (a partial last chunk is dropped), each chunk is
evaluated from an empty cache with BOS first, and the second half of each chunk is scored.

Options:
  --model PATH     GGUF model file (default: aria-nano, the built-in model)
  --file PATH      UTF-8 text file
  --ctx N          chunk length (default: min(model's context, 512))
  --chunks N       score only the first N chunks
  --threads N      worker threads (default: all cores)
  --kernels K      auto | ref | avx2 | avx512 (default auto)
  --output-head H  float | int8 | int4: keep a float output head, or requantize it at load to
                   int8 or int4 (smaller, less exact); default ${DEFAULT_OUTPUT_HEAD}
  --no-repack      keep TQ1_0 weights as they are (default: repacked to TQ2_0 at load, for the
                   faster TQ2_0 kernels; 22% more weight memory)
  --json           print {"perplexity", "stderr", "tokens", "chunks", "ctx", "seconds", …}

Example:
  aria perplexity --model model.gguf --file wiki.test.raw --ctx 512 --json`,
  tokenize: `Usage: aria tokenize [--model PATH] (--text TEXT | --messages JSON) [options]

Prints the token ids of a text as the model's tokenizer gives them, one "id -> 'piece'" line per
token (like llama-tokenize). Reads only the model's metadata.

Options:
  --model PATH      GGUF model file (default: aria-nano, the built-in model)
  --text TEXT       text to tokenize
  --no-bos          do not add BOS at the start
  --special         turn special-token text such as <|eot_id|> into special tokens
  --chat            the text is a user message, rendered through the model's chat template
  --system TEXT     system message (implies --chat)
  --messages JSON   conversation as a JSON array of {"role", "content"} (implies --chat)
  --json            print {"tokens": [...], "pieces": [...]}, with a chat also "prompt" and
                    "template" (the template's source: "file" or "builtin:<name>")

Example:
  aria tokenize --model model.gguf --text "Hello world" --json`,
  serve: `Usage: aria serve [--model PATH] [options]

Serves the OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models, /health)
with continuous batching. Settings come from flags, then ARIA_* environment variables, then
config.json in the data dir, then defaults.

Options:
  --model PATH|NAME   GGUF model file (ARIA_MODEL; default aria-nano, the built-in demo model)
  --port N            HTTP port (ARIA_PORT; default 3000; 0 = any free port)
  --host HOST         address to listen on (ARIA_HOST; default 127.0.0.1)
  --p2p-port N        peer port (ARIA_P2P_PORT; 0 = any free port). The peer network starts
                      when this or --peers is given (then the default is any free port)
  --peers URLS        bootstrap peers, comma-separated ws://host:port (ARIA_PEERS); the API
                      then also answers GET /v1/aria/peers (aria peers)
  --p2p-cert PATH     PEM certificate: serve wss:// on the peer port (ARIA_P2P_CERT; with
  --p2p-key PATH      the PEM key, ARIA_P2P_KEY)
  --threads N         worker threads (ARIA_THREADS; default and cap: the consent policy's
                      max-threads, see aria help consent)
  --ctx N             positions per sequence (ARIA_CTX; default: min(model's, 2048))
  --parallel N        sequences decoded together, one KV slot each (ARIA_PARALLEL; default 4)
  --queue N           most requests waiting for a slot; beyond: 503 (ARIA_QUEUE; default 64)
  --api-key KEY       require "Authorization: Bearer KEY" on /v1/* (ARIA_API_KEY)
  --backend B         native | external | simulation (ARIA_BACKEND; default native);
                      simulation answers canned "[simulation]" text, for protocol tests only
  --upstream URL      OpenAI-compatible server for --backend external (ARIA_UPSTREAM)
  --data-dir DIR      data directory with config.json (ARIA_HOME; default ~/.aria)
  --output-head H     float | int8 | int4: keep a float output head, or requantize it at load
                      to int8 or to the smaller, less exact int4 (ARIA_OUTPUT_HEAD; default
                      ${DEFAULT_OUTPUT_HEAD})
  --no-repack         keep TQ1_0 weights as they are (ARIA_REPACK=false); by default they are
                      repacked to TQ2_0 at load, for the faster TQ2_0 kernels (22% more memory)
  --kv-type T         f32 | f16: KV cache element type (ARIA_KV_TYPE; default f32; f16 halves
                      the cache and is faster from a few hundred tokens of context)
  --tdp-watts W       package power of all CPUs (the maker's TDP), for energy estimates when
                      RAPL counters are unreadable (ARIA_TDP_WATTS; default: RAPL PL1 if readable)

${LAYERS_USAGE}

Examples:
  aria serve --model model.gguf --port 8080 --parallel 8
  aria serve --model model.gguf --layers 0-15 --p2p-port 9001
  aria serve --model model.gguf --pipeline --peers ws://127.0.0.1:9001`,
  model: MODEL_USAGE,
  consent: CONSENT_USAGE,
  ...P2P_USAGE,
  version: `Usage: aria version

Prints the version of ARIA.

Example:
  aria version`,
  help: `Usage: aria help [command]

Shows the help of a command (the same as aria <command> --help).

Examples:
  aria help
  aria help model`,
  ledger: LEDGER_USAGE,
};

/** --kv-type: the KV cache element type (default f32). */
export function kvType(value: unknown): KvType {
  if (value === undefined || value === "f32") return "f32";
  if (value === "f16") return "f16";
  throw new UsageError(`Invalid --kv-type "${String(value)}": expected f32 or f16`);
}

/** Names earlier ARIA versions used, mapped to today's commands. */
const ALIASES: ReadonlyArray<readonly [readonly string[], readonly string[]]> = [
  [["node", "start"], ["serve"]],
  [["api", "start"], ["serve"]],
  [["infer"], ["run"]],
  [["network", "peers"], ["peers"]],
];

/**
 * Rewrites the command names of earlier ARIA versions (`aria node start` = `aria serve`,
 * `aria api start` = serve, `aria infer` = run, `aria network peers` = peers).
 *
 * @param argv the arguments.
 * @returns The arguments with today's command name.
 */
export function expandAlias(argv: readonly string[]): string[] {
  for (const [from, to] of ALIASES) {
    if (from.every((w, i) => argv[i] === w)) return [...to, ...argv.slice(from.length)];
  }
  return [...argv];
}

function outputHead(value: unknown): OutputHead {
  if (value === undefined) return DEFAULT_OUTPUT_HEAD;
  const known = OUTPUT_HEADS.find((h) => h === value);
  if (known !== undefined) return known;
  throw new UsageError(`Invalid --output-head "${String(value)}": expected float, int8 or int4`);
}

function int(name: string, value: string | undefined, def: number, min: number): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`Invalid --${name} "${value}": expected an integer >= ${min}`);
  }
  return n;
}

function real(
  name: string,
  value: string | undefined,
  def: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`Invalid --${name} "${value}": expected a number in ${min}..${max}`);
  }
  return n;
}

function optionalInt(name: string, value: string | undefined, min: number): number | undefined {
  return value === undefined ? undefined : int(name, value, 0, min);
}

type Values = Record<string, string | boolean | string[] | undefined>;

function parseVerb(
  args: string[],
  options: NonNullable<Parameters<typeof parseArgs>[0]>["options"],
): Values {
  try {
    const { values } = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    });
    return values as Values;
  } catch (err: unknown) {
    // converted: node:util's message names the bad option
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parseTokenList(text: string): number[] {
  const ids = text.split(/[\s,]+/).filter((s) => s.length > 0).map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new UsageError(`Invalid --prompt-tokens "${text}": expected comma-separated token ids`);
  }
  return ids;
}

function parseLogitBias(items: readonly string[]): Map<number, number> {
  const bias = new Map<number, number>();
  for (const item of items) {
    const m = /^\s*(\d+)\s*[=:]\s*(\S+)\s*$/.exec(item);
    const value = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(value) || value < -100 || value > 100) {
      throw new UsageError(
        `Invalid --logit-bias "${item}": expected ID=BIAS with BIAS in -100..100`,
      );
    }
    bias.set(Number(m[1]), value);
  }
  return bias;
}

function parseRepeatPenalty(value: string | undefined): number {
  const n = real("repeat-penalty", value, 1, 0, 100);
  // 0 would divide by zero
  if (n === 0) throw new UsageError(`Invalid --repeat-penalty "${value}": expected a number > 0`);
  return n;
}

function parseRun(args: string[]): RunCommand | HelpCommand {
  const v = parseVerb(args, {
    model: { type: "string", short: "m" },
    prompt: { type: "string", short: "p" },
    "prompt-tokens": { type: "string" },
    ...CHAT_OPTIONS,
    "max-tokens": { type: "string", short: "n" },
    temperature: { type: "string" },
    "top-k": { type: "string" },
    "top-p": { type: "string" },
    "min-p": { type: "string" },
    seed: { type: "string" },
    stop: { type: "string", multiple: true },
    "repeat-penalty": { type: "string" },
    "repeat-last-n": { type: "string" },
    "frequency-penalty": { type: "string" },
    "presence-penalty": { type: "string" },
    "logit-bias": { type: "string", multiple: true },
    logprobs: { type: "string" },
    threads: { type: "string", short: "t" },
    ctx: { type: "string", short: "c" },
    kernels: { type: "string" },
    "output-head": { type: "string" },
    "no-repack": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (v.help) return { verb: "help", topic: "run" };
  const prompt = typeof v.prompt === "string" ? v.prompt : undefined;
  const tokens = typeof v["prompt-tokens"] === "string"
    ? parseTokenList(v["prompt-tokens"])
    : undefined;
  const messages = parseChat(v, prompt);
  if (messages !== undefined && tokens !== undefined) {
    throw new UsageError("Cannot combine --prompt-tokens with --chat, --system or --messages");
  }
  if (prompt === undefined && tokens === undefined && messages === undefined) {
    throw new UsageError("Missing --prompt: give a prompt text or --prompt-tokens (aria help run)");
  }
  const cmd: RunCommand = {
    verb: "run",
    model: typeof v.model === "string" ? v.model : DEFAULT_MODEL,
    outputHead: outputHead(v["output-head"]),
    repack: v["no-repack"] !== true,
    maxTokens: int("max-tokens", v["max-tokens"] as string | undefined, 128, 0),
    temperature: real("temperature", v.temperature as string | undefined, 0.8, 0, 100),
    topK: int("top-k", v["top-k"] as string | undefined, 40, 0),
    topP: real("top-p", v["top-p"] as string | undefined, 0.95, 0, 1),
    minP: real("min-p", v["min-p"] as string | undefined, 0.05, 0, 1),
    seed: int("seed", v.seed as string | undefined, 0, 0),
    stop: (v.stop as string[] | undefined) ?? [],
    repeatPenalty: parseRepeatPenalty(v["repeat-penalty"] as string | undefined),
    repeatLastN: int("repeat-last-n", v["repeat-last-n"] as string | undefined, 64, -1),
    frequencyPenalty: real(
      "frequency-penalty",
      v["frequency-penalty"] as string | undefined,
      0,
      -2,
      2,
    ),
    presencePenalty: real(
      "presence-penalty",
      v["presence-penalty"] as string | undefined,
      0,
      -2,
      2,
    ),
    logitBias: parseLogitBias((v["logit-bias"] as string[] | undefined) ?? []),
    json: v.json === true,
  };
  const logprobs = optionalInt("logprobs", v.logprobs as string | undefined, 0);
  if (logprobs !== undefined) {
    if (logprobs > 20) throw new UsageError(`Invalid --logprobs "${logprobs}": expected 0..20`);
    cmd.logprobs = logprobs;
  }
  if (prompt !== undefined) cmd.prompt = prompt;
  if (tokens !== undefined) cmd.promptTokens = tokens;
  if (messages !== undefined) cmd.messages = messages;
  const threads = optionalInt("threads", v.threads as string | undefined, 1);
  if (threads !== undefined) cmd.threads = threads;
  const ctx = optionalInt("ctx", v.ctx as string | undefined, 1);
  if (ctx !== undefined) cmd.ctx = ctx;
  if (typeof v.kernels === "string") cmd.kernels = v.kernels;
  return cmd;
}

function parseBench(args: string[]): BenchCommand | HelpCommand {
  const v = parseVerb(args, {
    model: { type: "string", short: "m" },
    threads: { type: "string", short: "t" },
    pp: { type: "string" },
    tg: { type: "string" },
    seqs: { type: "string" },
    depth: { type: "string", short: "d" },
    "kv-type": { type: "string" },
    reps: { type: "string", short: "r" },
    kernels: { type: "string" },
    "output-head": { type: "string" },
    "no-repack": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (v.help) return { verb: "help", topic: "bench" };
  const cmd: BenchCommand = {
    verb: "bench",
    model: typeof v.model === "string" ? v.model : DEFAULT_MODEL,
    outputHead: outputHead(v["output-head"]),
    repack: v["no-repack"] !== true,
    pp: int("pp", v.pp as string | undefined, 128, 0),
    tg: int("tg", v.tg as string | undefined, 64, 0),
    seqs: int("seqs", v.seqs as string | undefined, 1, 1),
    depth: int("depth", v.depth as string | undefined, 0, 0),
    kvType: kvType(v["kv-type"]),
    reps: int("reps", v.reps as string | undefined, 5, 1),
    json: v.json === true,
  };
  const threads = optionalInt("threads", v.threads as string | undefined, 1);
  if (threads !== undefined) cmd.threads = threads;
  if (typeof v.kernels === "string") cmd.kernels = v.kernels;
  return cmd;
}

const CHAT_OPTIONS = {
  chat: { type: "boolean" },
  system: { type: "string" },
  messages: { type: "string" },
} as const;

function parseMessagesJson(json: string): ChatMessage[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err: unknown) {
    // converted: the JSON error becomes a usage error naming the option
    throw new UsageError(`Invalid --messages: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ok = Array.isArray(value) &&
    value.every((m: unknown) =>
      typeof m === "object" && m !== null && "role" in m && "content" in m &&
      typeof m.role === "string" && typeof m.content === "string"
    );
  if (!ok) {
    throw new UsageError(
      'Invalid --messages: expected a JSON array of {"role": string, "content": string}',
    );
  }
  return (value as ChatMessage[]).map((m) => ({ role: m.role, content: m.content }));
}

/** The conversation of --chat / --system / --messages (text = a last user message), if any. */
function parseChat(
  v: Readonly<Record<string, unknown>>,
  text: string | undefined,
): ChatMessage[] | undefined {
  const system = typeof v["system"] === "string" ? v["system"] : undefined;
  const json = typeof v["messages"] === "string" ? v["messages"] : undefined;
  if (v["chat"] !== true && system === undefined && json === undefined) return undefined;
  const messages: ChatMessage[] = [];
  if (system !== undefined) messages.push({ role: "system", content: system });
  if (json !== undefined) messages.push(...parseMessagesJson(json));
  if (text !== undefined) messages.push({ role: "user", content: text });
  if (messages.length === 0) {
    throw new UsageError("Missing messages: --chat needs a text or --messages");
  }
  return messages;
}

function parsePerplexity(args: string[]): PerplexityCommand | HelpCommand {
  const v = parseVerb(args, {
    model: { type: "string", short: "m" },
    file: { type: "string", short: "f" },
    ctx: { type: "string", short: "c" },
    chunks: { type: "string" },
    threads: { type: "string", short: "t" },
    kernels: { type: "string" },
    "output-head": { type: "string" },
    "no-repack": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (v.help) return { verb: "help", topic: "perplexity" };
  if (typeof v.file !== "string") {
    throw new UsageError(
      "Missing --file: aria perplexity needs a text file (aria help perplexity)",
    );
  }
  const cmd: PerplexityCommand = {
    verb: "perplexity",
    model: typeof v.model === "string" ? v.model : DEFAULT_MODEL,
    outputHead: outputHead(v["output-head"]),
    repack: v["no-repack"] !== true,
    file: v.file,
    json: v.json === true,
  };
  const ctx = optionalInt("ctx", v.ctx as string | undefined, 4);
  if (ctx !== undefined) cmd.ctx = ctx;
  const chunks = optionalInt("chunks", v.chunks as string | undefined, 1);
  if (chunks !== undefined) cmd.chunks = chunks;
  const threads = optionalInt("threads", v.threads as string | undefined, 1);
  if (threads !== undefined) cmd.threads = threads;
  if (typeof v.kernels === "string") cmd.kernels = v.kernels;
  return cmd;
}

function parseTokenize(args: string[]): TokenizeCommand | HelpCommand {
  const v = parseVerb(args, {
    model: { type: "string", short: "m" },
    text: { type: "string", short: "p" },
    "no-bos": { type: "boolean" },
    special: { type: "boolean" },
    json: { type: "boolean" },
    ...CHAT_OPTIONS,
  });
  if (v.help) return { verb: "help", topic: "tokenize" };
  const text = typeof v.text === "string" ? v.text : undefined;
  const messages = parseChat(v, text);
  if (messages === undefined && text === undefined) {
    throw new UsageError("Missing --text: give a text or --messages (aria help tokenize)");
  }
  if (messages !== undefined && (v["no-bos"] === true || v.special === true)) {
    throw new UsageError("Cannot use --no-bos or --special with a chat: the template decides");
  }
  const cmd: TokenizeCommand = {
    verb: "tokenize",
    model: typeof v.model === "string" ? v.model : DEFAULT_MODEL,
    bos: v["no-bos"] !== true,
    special: v.special === true,
    json: v.json === true,
  };
  if (text !== undefined) cmd.text = text;
  if (messages !== undefined) cmd.messages = messages;
  return cmd;
}

const SERVE_FLAGS = {
  model: "model",
  port: "port",
  host: "host",
  "p2p-port": "p2pPort",
  peers: "peers",
  "p2p-cert": "p2pCert",
  "p2p-key": "p2pKey",
  threads: "threads",
  ctx: "ctx",
  parallel: "parallel",
  queue: "queue",
  "api-key": "apiKey",
  backend: "backend",
  upstream: "upstream",
  "data-dir": "dataDir",
  "output-head": "outputHead",
  "kv-type": "kvType",
  "tdp-watts": "tdpWatts",
  layers: "layers",
} as const;

function parseServe(args: string[]): ServeCommand | HelpCommand {
  const v = parseVerb(args, {
    ...Object.fromEntries(Object.keys(SERVE_FLAGS).map((k) => [k, { type: "string" as const }])),
    pipeline: { type: "boolean" },
    "no-repack": { type: "boolean" },
  });
  if (v.help) return { verb: "help", topic: "serve" };
  const flags: ServeCommand["flags"] = v.pipeline === true ? { pipeline: "true" } : {};
  if (v["no-repack"] === true) flags.repack = "false";
  for (const [flag, key] of Object.entries(SERVE_FLAGS)) {
    const value = v[flag];
    if (typeof value === "string") flags[key] = value;
  }
  return { verb: "serve", flags };
}

function consentCommand(rest: string[]): Command {
  try {
    return parseConsent(rest);
  } catch (err: unknown) {
    // Converted: consent-args.ts cannot import UsageError (it would be a cycle); same exit code 2.
    if (err instanceof AriaError && err.code === "USAGE") throw new UsageError(err.message);
    throw err;
  }
}

/**
 * Parses the command line (without the program name).
 *
 * @param argv the arguments, e.g. `["run", "--model", "m.gguf", "--prompt", "Hi"]`.
 * @returns the command.
 * @throws {UsageError} for an unknown verb, option or value.
 */
export function parseCommand(argv: readonly string[]): Command {
  const [verb, ...rest] = expandAlias(argv);
  switch (verb) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return rest[0] !== undefined ? { verb: "help", topic: rest[0] } : { verb: "help" };
    case "version":
    case "--version":
      return { verb: "version" };
    case "run":
      return parseRun(rest);
    case "bench":
      return parseBench(rest);
    case "tokenize":
      return parseTokenize(rest);
    case "perplexity":
      return parsePerplexity(rest);
    case "serve":
      return parseServe(rest);
    case "model": {
      const cmd = parseModelCommand(rest);
      return cmd === "help" ? { verb: "help", topic: "model" } : cmd;
    }
    case "consent":
      return consentCommand(rest);
    case "ledger":
      return parseLedgerCommand(rest);
    case "peers":
    case "keys":
      return parseP2pCommand(verb, rest, (m) => new UsageError(m));
    default:
      // verbs whose help is written here but whose parser lives elsewhere still answer --help
      if (USAGE[verb] !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
        return { verb: "help", topic: verb };
      }
      throw new UsageError(`Unknown command "${verb}": see aria --help`);
  }
}
