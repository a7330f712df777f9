/**
 * @module The usage text of every verb (`aria help`, `aria <verb> --help`). Pure. Moved from
 * args.ts unchanged.
 */
import { DEFAULT_OUTPUT_HEAD } from "../config/defaults.ts";
import { LAYERS_USAGE } from "../pipeline/layer-range.ts";
import { MODEL_USAGE } from "./model-args.ts";
import { CONSENT_USAGE } from "./consent-args.ts";
import { LEDGER_USAGE } from "./ledger-args.ts";
import { P2P_USAGE } from "./peers-args.ts";
import { VERIFY_USAGE } from "./verify-args.ts";

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
  verify      re-run the answer a receipt names and check it token for token
  peers       list the peers this node knows (also: aria network peers)
  consent     show or change the node owner's consent policy
  keys        show this node's identity (aria keys show)
  version     print the version
  help        show help for a command (aria help model)

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
  --kernels K           auto | ref | avx2 | avxvnni | avx512 (default auto)
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
  --kernels K      auto | ref | avx2 | avxvnni | avx512 (default auto)
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
  --kernels K      auto | ref | avx2 | avxvnni | avx512 (default auto)
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
  --peers URLS        bootstrap peers, comma-separated ws://host:port (ARIA_PEERS, or "peers"
                      in config.json); the API then also answers GET /v1/aria/peers (aria peers)
  --relay             relay for peers that cannot be dialled (ARIA_RELAY), within the consent
                      policy's relay-limits (aria consent set relay-limits ...)
  --no-listen         accept no peer connections (ARIA_LISTEN=false): dial out only, as behind
                      NAT; the node serves over its own connections and through a relay
  --lan-discovery     find peers on the local network by UDP multicast (ARIA_LAN_DISCOVERY);
                      starts the peer network
  --audit-rate X      fraction of peers' answers this node re-executes to check them
                      (ARIA_AUDIT_RATE; default 0.05; new peers more; docs/protocol.md)
  --kernels SET       kernel table: auto, ref, avx2, avxvnni, avx512, neon (ARIA_KERNELS;
                      default auto; results are bit-identical on every table)
  --allowed-host NAME another name this node is reached by (repeatable, or comma-separated
                      ARIA_ALLOWED_HOSTS; "name" or "name:port"): the API, the dashboard and
                      the peer port refuse any other Host than loopback names, --host and these
                      (DNS rebinding, handshake relays)
  --cors-origin URL   an origin whose pages may call /v1/* (repeatable, or comma-separated
                      ARIA_CORS_ORIGINS; default none: no CORS, "*" allows every origin)
  --alias NAME        another name the served model answers to in "model" (repeatable, or
                      comma-separated ARIA_ALIASES); /v1/models lists it. A registry name given
                      to --model (aria-2b-1bit) is the model's id already
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
  --i2s-layout L      x86 | arm: the I2_S code layout of the model file (ARIA_I2S_LAYOUT; default
                      x86, the published files); arm for files quantized by bitnet.cpp on ARM
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
  verify: VERIFY_USAGE,
};
