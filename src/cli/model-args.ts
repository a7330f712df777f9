/**
 * @module `aria model …` command line: argv (after "model") -> a typed ModelCommand, and its
 * usage text. Pure: no I/O (cli/model.ts runs the command). Kept apart from args.ts so that
 * verbs added by others merge cleanly; args.ts only dispatches "model" here.
 */
import { parseArgs } from "node:util";
import { AriaError } from "../shared/errors.ts";

/** Ternary types `aria model convert` writes. */
export const CONVERT_TYPES = ["tq2_0", "tq1_0", "i2_s"] as const;

/** `aria model list`. */
export interface ModelListCommand {
  verb: "model";
  action: "list";
  json: boolean;
}
/** `aria model pull NAME`. */
export interface ModelPullCommand {
  verb: "model";
  action: "pull";
  name: string;
  /** Download without a SHA-256 check (required when the registry has no hash). */
  noVerify: boolean;
}
/** `aria model rm NAME`. */
export interface ModelRmCommand {
  verb: "model";
  action: "rm";
  name: string;
}
/** `aria model info PATH|NAME`. */
export interface ModelInfoCommand {
  verb: "model";
  action: "info";
  target: string;
  json: boolean;
}
/** `aria model convert SRC_DIR OUT.gguf`. */
export interface ModelConvertCommand {
  verb: "model";
  action: "convert";
  src: string;
  out: string;
  type: (typeof CONVERT_TYPES)[number];
}

/** Every `aria model` command. */
export type ModelCommand =
  | ModelListCommand
  | ModelPullCommand
  | ModelRmCommand
  | ModelInfoCommand
  | ModelConvertCommand;

/** Usage text of `aria model`. */
export const MODEL_USAGE = `Usage: aria model <list|pull|rm|info|convert> [options]

Manages models in <data dir>/models (data dir: --data-dir of serve, ARIA_HOME, default ~/.aria).

Commands:
  list [--json]               installed and known models (name, aliases, size, license)
  pull NAME [--no-verify]     download a known model from the hub: resumes an interrupted
                              download, checks its SHA-256, installs only a complete file.
                              --no-verify skips the hash check (needed for models whose
                              hash ARIA does not know; aria model list shows "unverified")
  rm NAME                     delete an installed model (and any partial download of it)
  info PATH|NAME [--json]     GGUF facts: architecture, dimensions, tensor types, size
  convert SRC_DIR OUT.gguf [--type tq2_0|tq1_0|i2_s]
                              Hugging Face BitNet safetensors (bf16 master weights, or packed
                              uint8 + weight_scale) to a ternary GGUF (default type tq2_0).
                              Projections whose rows do not fit the type (tq: 256, i2_s:
                              128, e.g. bitnet_b1_58-3B) are stored as Q4_0 or F16 with the
                              same ternary values; the output lists them and why

Environment:
  HF_ENDPOINT   hub to download from (default https://huggingface.co)
  HF_TOKEN      token for gated models (sent to the hub only, not to its CDN)

Examples:
  aria model list
  aria model pull aria-2b-1bit
  aria run --model aria-2b-1bit --chat --prompt "Why is the sky blue?"
  aria model info aria-2b-1bit
  aria model info ./my-model.gguf --json
  aria model convert ./bitnet_b1_58-large ./large-tq2_0.gguf --type tq2_0
  aria model rm falcon3-1b`;

/** A mistake on the `aria model` command line (exit code 2). */
export class ModelUsageError extends AriaError {
  /** @param message what is wrong and how to fix it. */
  constructor(message: string) {
    super("USAGE", message);
  }
}

function parse(
  args: readonly string[],
  options: Record<string, { type: "boolean" | "string"; short?: string }>,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({
      args: [...args],
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    });
    return {
      values: r.values as Record<string, string | boolean | undefined>,
      positionals: r.positionals,
    };
  } catch (err: unknown) {
    // converted: node:util's message names the bad option
    throw new ModelUsageError(`${(err as Error).message} (aria model --help)`);
  }
}

function positionals(p: string[], want: string[], action: string): string[] {
  if (p.length !== want.length) {
    throw new ModelUsageError(
      `aria model ${action} takes ${want.join(" ")}; got ${p.length} argument(s) ` +
        `(example: aria model --help)`,
    );
  }
  return p;
}

/**
 * Parses the arguments after `aria model`.
 *
 * @param args e.g. `["pull", "aria-2b-1bit"]`.
 * @returns The command, or "help" when --help was asked or no action given.
 * @throws {ModelUsageError} For an unknown action, option or missing argument.
 */
export function parseModelCommand(args: readonly string[]): ModelCommand | "help" {
  const [action, ...rest] = args;
  if (action === undefined || action === "help" || action === "--help" || action === "-h") {
    return "help";
  }
  switch (action) {
    case "list":
    case "ls": {
      const { values, positionals: p } = parse(rest, { json: { type: "boolean" } });
      if (values["help"]) return "help";
      positionals(p, [], "list");
      return { verb: "model", action: "list", json: values["json"] === true };
    }
    case "pull": {
      const { values, positionals: p } = parse(rest, { "no-verify": { type: "boolean" } });
      if (values["help"]) return "help";
      const [name] = positionals(p, ["NAME"], "pull");
      return { verb: "model", action: "pull", name: name!, noVerify: values["no-verify"] === true };
    }
    case "rm":
    case "remove": {
      const { values, positionals: p } = parse(rest, {});
      if (values["help"]) return "help";
      const [name] = positionals(p, ["NAME"], "rm");
      return { verb: "model", action: "rm", name: name! };
    }
    case "info":
    case "show": {
      const { values, positionals: p } = parse(rest, { json: { type: "boolean" } });
      if (values["help"]) return "help";
      const [target] = positionals(p, ["PATH|NAME"], "info");
      return { verb: "model", action: "info", target: target!, json: values["json"] === true };
    }
    case "convert":
      return parseConvert(rest);
    default:
      throw new ModelUsageError(
        `Unknown command "aria model ${action}": expected list, pull, rm, info or convert`,
      );
  }
}

function parseConvert(rest: readonly string[]): ModelConvertCommand | "help" {
  const { values, positionals: p } = parse(rest, { type: { type: "string" } });
  if (values["help"]) return "help";
  const [src, out] = positionals(p, ["SRC_DIR", "OUT.gguf"], "convert");
  const type = (values["type"] ?? "tq2_0") as string;
  if (!(CONVERT_TYPES as readonly string[]).includes(type)) {
    throw new ModelUsageError(`Invalid --type "${type}": expected ${CONVERT_TYPES.join(", ")}`);
  }
  return { verb: "model", action: "convert", src: src!, out: out!, type: type as "tq2_0" };
}
