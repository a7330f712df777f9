/**
 * @module Parsing of `aria ledger <verify|show|export|import|verify-receipt|receipt>` (kept apart
 * from args.ts so that verbs added in parallel merge cleanly) and its usage text. Pure.
 */
import { parseArgs } from "node:util";
import { AriaError } from "../shared/errors.ts";

/** `aria ledger …`. */
export type LedgerCommand =
  & { verb: "ledger"; dataDir?: string; json: boolean }
  & (
    | { action: "verify"; fraudProofs?: string[] }
    | { action: "show"; blocks: number; peers?: true }
    | { action: "export"; file: string }
    | { action: "import"; file: string }
    | { action: "verify-receipt"; file: string }
    | { action: "receipt"; recordHash: string }
  );

/** Usage of `aria ledger`. */
export const LEDGER_USAGE = `Usage: aria ledger <action> [options]

The provenance ledger: one signed record per inference, sealed into signed blocks
(docs/ledger.md).

Actions:
  verify               check genesis, links, heights, signatures, Merkle roots, weights,
                       policy changes, each block's energy attestation, and the chain
                       against the heads peers countersigned; names the first bad block
                       or record (exit 1 if the ledger is bad); also exit 1 when the chain
                       holds a record named in a valid fraud proof (the data dir's
                       fraud-proofs/ and each --fraud-proof FILE) and lists peer chains
                       whose producer such a proof convicted (their blocks do not count)
  show                 head, totals, the consent policy recorded, the newest blocks with
                       their energy attestations (--peers: the peers' chains as verified)
  export FILE          write the ledger as JSON lines (lossless; verifies first)
  import FILE          load an export into an empty ledger (verified before any write)
  verify-receipt FILE  check a receipt offline (exit 1 if it does not verify)
  receipt HASH         print the receipt of a record in this ledger (with its block proof
                       once sealed)

Options:
  --data-dir DIR       data directory holding ledger.sqlite (ARIA_HOME; default ~/.aria)
  --blocks N           show: how many of the newest blocks to list (default 10)
  --peers              show: each peer's chain (height, head, rejected and why)
  --fraud-proof FILE   verify: also check against this fraud proof (repeatable)
  --json               machine-readable output

Examples:
  aria ledger verify
  aria ledger show --blocks 5 --json
  aria ledger export ledger.jsonl
  aria ledger verify-receipt receipt.json`;

/** Default of --blocks. */
export const DEFAULT_SHOW_BLOCKS = 10;

function usage(message: string): AriaError {
  return new AriaError("USAGE", message);
}

/**
 * Parses the arguments after `aria ledger`.
 *
 * @param args the arguments.
 * @returns the command, or a help request.
 * @throws {AriaError} code USAGE for an unknown action, option or a missing argument.
 */
export function parseLedgerCommand(
  args: readonly string[],
): LedgerCommand | { verb: "help"; topic: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        "data-dir": { type: "string" },
        blocks: { type: "string" },
        peers: { type: "boolean" },
        "fraud-proof": { type: "string", multiple: true },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err: unknown) {
    // converted: node:util's message names the bad option
    throw usage(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  const [action, arg, ...extra] = positionals;
  if (values.help === true || action === undefined || action === "help") {
    return { verb: "help", topic: "ledger" };
  }
  if (extra.length > 0) throw usage(`Unexpected argument "${extra[0]}" (aria help ledger)`);
  const base = {
    verb: "ledger" as const,
    json: values.json === true,
    ...(values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {}),
  };
  const needArg = (what: string): string => {
    if (arg === undefined) throw usage(`Missing ${what}: aria ledger ${action} ${what}`);
    return arg;
  };
  const noArg = () => {
    if (arg !== undefined) throw usage(`Unexpected argument "${arg}" (aria help ledger)`);
  };
  switch (action) {
    case "verify": {
      noArg();
      const files = values["fraud-proof"] ?? [];
      return { ...base, action, ...(files.length > 0 ? { fraudProofs: files } : {}) };
    }
    case "show": {
      noArg();
      const blocks = values.blocks === undefined ? DEFAULT_SHOW_BLOCKS : Number(values.blocks);
      if (!Number.isSafeInteger(blocks) || blocks < 0) {
        throw usage(`Invalid --blocks "${values.blocks}": expected an integer >= 0`);
      }
      return {
        ...base,
        action,
        blocks,
        ...(values.peers === true ? { peers: true as const } : {}),
      };
    }
    case "export":
    case "import":
    case "verify-receipt":
      return { ...base, action, file: needArg("FILE") };
    case "receipt": {
      const recordHash = needArg("HASH");
      if (!/^[0-9a-f]{64}$/.test(recordHash)) {
        throw usage(`Invalid record hash "${recordHash}": expected 64 lowercase hex characters`);
      }
      return { ...base, action, recordHash };
    }
    default:
      throw usage(`Unknown ledger action "${action}" (aria help ledger)`);
  }
}
