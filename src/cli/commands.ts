/**
 * @module The typed commands the CLI parses argv into (args.ts builds them, main.ts runs them).
 * Types only; pure. Moved from args.ts unchanged.
 */
import type { KvType, OutputHead } from "../config/defaults.ts";
import type { ChatMessage } from "../tokenizer/chat-template.ts";
import type { ModelCommand } from "./model-args.ts";
import type { ConsentCommand } from "./consent-args.ts";
import type { LedgerCommand } from "./ledger-args.ts";
import type { KeysCommand, PeersCommand } from "./peers-args.ts";
import type { VerifyCommand } from "./verify-args.ts";

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
    allowedHosts?: string;
    corsOrigins?: string;
    aliases?: string;
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
    i2sLayout?: string;
    tdpWatts?: string;
    /** Pipeline stage: blocks "A-B" (src/pipeline/layer-range.ts). */
    layers?: string;
    kernels?: string;
    auditRate?: string;
    /** Pipeline coordinator: "true" when --pipeline is given (src/pipeline/layer-range.ts). */
    pipeline?: string;
    relay?: string;
    listen?: string;
    lanDiscovery?: string;
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
  | LedgerCommand
  | VerifyCommand;
