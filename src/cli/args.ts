/**
 * @module Command-line parsing: argv → a typed `Command` (the types are in commands.ts, the usage
 * texts in usage.ts; both re-exported here). Pure: no I/O (the shell in main.ts prints and
 * exits). Uses node:util's parseArgs.
 */
import { parseArgs } from "node:util";
import { AriaError } from "../shared/errors.ts";
import {
  BUILTIN_MODEL_NAME,
  DEFAULT_OUTPUT_HEAD,
  type KvType,
  type OutputHead,
} from "../config/defaults.ts";
import type { ChatMessage } from "../tokenizer/chat-template.ts";
import { OUTPUT_HEADS } from "../engine/port.ts";
import { parseModelCommand } from "./model-args.ts";
import { parseConsent } from "./consent-args.ts";
import { parseLedgerCommand } from "./ledger-args.ts";
import { parseP2pCommand } from "./peers-args.ts";
import { parseVerifyCommand } from "./verify-args.ts";

export type {
  BenchCommand,
  Command,
  HelpCommand,
  PerplexityCommand,
  RunCommand,
  ServeCommand,
  TokenizeCommand,
  VersionCommand,
} from "./commands.ts";
export { USAGE } from "./usage.ts";
import type {
  BenchCommand,
  Command,
  HelpCommand,
  PerplexityCommand,
  RunCommand,
  ServeCommand,
  TokenizeCommand,
} from "./commands.ts";
import { USAGE } from "./usage.ts";

/** --model when none is given: the built-in model (src/model/builtin.ts resolves the name). */
export const DEFAULT_MODEL = BUILTIN_MODEL_NAME;

/** A mistake in the command line: the message says what and how to fix it. */
export class UsageError extends AriaError {
  /** @param message what is wrong. */
  constructor(message: string) {
    super("USAGE", message);
  }
}

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
  "i2s-layout": "i2sLayout",
  "tdp-watts": "tdpWatts",
  layers: "layers",
  kernels: "kernels",
  "audit-rate": "auditRate",
} as const;

function parseServe(args: string[]): ServeCommand | HelpCommand {
  const v = parseVerb(args, {
    ...Object.fromEntries(Object.keys(SERVE_FLAGS).map((k) => [k, { type: "string" as const }])),
    pipeline: { type: "boolean" },
    "no-repack": { type: "boolean" },
    relay: { type: "boolean" },
    "no-listen": { type: "boolean" },
    "lan-discovery": { type: "boolean" },
    "allowed-host": { type: "string", multiple: true },
    "cors-origin": { type: "string", multiple: true },
    alias: { type: "string", multiple: true },
  });
  if (v.help) return { verb: "help", topic: "serve" };
  const flags: ServeCommand["flags"] = v.pipeline === true ? { pipeline: "true" } : {};
  if (v["no-repack"] === true) flags.repack = "false";
  if (v.relay === true) flags.relay = "true";
  if (v["no-listen"] === true) flags.listen = "false";
  if (v["lan-discovery"] === true) flags.lanDiscovery = "true";
  for (const [flag, key] of Object.entries(SERVE_FLAGS)) {
    const value = v[flag];
    if (typeof value === "string") flags[key] = value;
  }
  // repeatable: joined like their ARIA_* variables (comma-separated)
  const hosts = v["allowed-host"];
  if (Array.isArray(hosts) && hosts.length > 0) flags.allowedHosts = hosts.join(",");
  const origins = v["cors-origin"];
  if (Array.isArray(origins) && origins.length > 0) flags.corsOrigins = origins.join(",");
  const aliases = v["alias"];
  if (Array.isArray(aliases) && aliases.length > 0) flags.aliases = aliases.join(",");
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
    case "verify":
      return parseVerifyCommand(rest);
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
