/**
 * @module Parsing of `aria verify --receipt R --prompt P [--model FILE]` (kept apart from args.ts
 * so that verbs added in parallel merge cleanly) and its usage text. Pure.
 */
import { parseArgs } from "node:util";
import { AriaError } from "../shared/errors.ts";

/** `aria verify`: re-run the inference a receipt names and compare. */
export interface VerifyCommand {
  verb: "verify";
  /** The receipt (JSON file): a receipt, or a whole response body with its `provenance`. */
  receipt: string;
  /** The request the client kept (messages JSON, a request body, or raw prompt text). */
  prompt: string;
  /** The GGUF file or model name (default: the record's model name, resolved like --model). */
  model?: string;
  kernels?: string;
  threads?: number;
  json: boolean;
}

/** Usage of `aria verify`. */
export const VERIFY_USAGE = `Usage: aria verify --receipt FILE --prompt FILE [options]

Re-runs the inference a receipt names, on this machine, and says "reproduced" or the
first token that differs (docs/ledger.md, "Replaying a receipt"). Needs a receipt of
record version 2 and the request the client sent; the result is the same on every CPU
and kernel set (engine numerics contract, docs/engine.md).

Options:
  --receipt FILE   the receipt: its JSON, or the whole JSON response that carried it
  --prompt FILE    what the client sent: a JSON array of chat messages, a request body
                   ({"messages": …} or {"prompt": "…"}, with its logit_bias and grammar
                   if it had them), or the raw text of a completions prompt
  --model FILE     the GGUF file or model name (default: the model the record names);
                   its SHA-256 must be the record's
  --kernels K      auto | ref | avx2 | avxvnni | avx512 (default auto)
  --threads N      worker threads (default: all cores)
  --json           machine-readable output

Exit codes: 0 reproduced, 1 not reproduced or not checkable (the reason is printed),
2 usage error.

Example:
  aria verify --receipt answer.json --prompt messages.json --kernels ref`;

function usage(message: string): AriaError {
  return new AriaError("USAGE", message);
}

/**
 * Parses the arguments after `aria verify`.
 *
 * @param args the arguments.
 * @returns the command, or a help request.
 * @throws {AriaError} code USAGE for an unknown option, a missing --receipt / --prompt or a bad
 *   --threads.
 */
export function parseVerifyCommand(
  args: readonly string[],
): VerifyCommand | { verb: "help"; topic: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        receipt: { type: "string" },
        prompt: { type: "string" },
        model: { type: "string", short: "m" },
        kernels: { type: "string" },
        threads: { type: "string", short: "t" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err: unknown) {
    // converted: node:util's message names the bad option
    throw usage(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help === true) return { verb: "help", topic: "verify" };
  if (v.receipt === undefined) throw usage("Missing --receipt FILE (aria help verify)");
  if (v.prompt === undefined) throw usage("Missing --prompt FILE (aria help verify)");
  const cmd: VerifyCommand = {
    verb: "verify",
    receipt: v.receipt,
    prompt: v.prompt,
    json: v.json === true,
  };
  if (v.model !== undefined) cmd.model = v.model;
  if (v.kernels !== undefined) cmd.kernels = v.kernels;
  if (v.threads !== undefined) {
    const n = Number(v.threads);
    if (!Number.isSafeInteger(n) || n < 1 || n > 1024) {
      throw usage(`Invalid --threads "${v.threads}": expected an integer 1..1024`);
    }
    cmd.threads = n;
  }
  return cmd;
}
