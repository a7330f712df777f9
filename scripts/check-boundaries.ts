/**
 * @module Enforces the dependency rules of STYLE.md B2/B8 and the folder rules over src/ (tests
 * excluded):
 * - pure [P] files import no `bun:*`, `node:fs`, `node:net`, `node:child_process`, `node:os` and
 *   no shell file, and mention none of `Bun.`, `process.env`, `Date.now(`, `Math.random(`,
 *   `console.`;
 * - `bun:ffi` is imported only under src/engine/, `bun:sqlite` only in src/ledger/store*.ts;
 * - `process.env` is read only in src/config/load.ts;
 * - folders: a file imports another folder through that folder's `index.ts` only. Exceptions:
 *   src/shared/ (single-purpose modules, no index: imported file by file), and a pure file
 *   importing a pure file of another folder directly (an index that also re-exports shells would
 *   pull I/O into a pure file). The imports older than this rule are listed in
 *   KNOWN_DIRECT_IMPORTS: the list may only shrink (an entry that no longer occurs is reported,
 *   so the list stays exact);
 * - no cycles between folders (src/main.ts, the entry, is outside every folder).
 * The list of pure files below is the single source of truth. Exit code 1 on any violation.
 * `checkSources` is the whole check over an in-memory set of files (tests/scripts/ feeds it
 * violations); the shell part at the bottom reads src/.
 *
 * Usage: bun scripts/check-boundaries.ts
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, normalize, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");

/** Pure files and folders (prefix match on the path relative to the repo root). */
const PURE = [
  "src/shared/errors.ts",
  "src/model/gguf-format.ts",
  "src/model/gguf-reader.ts",
  "src/model/gguf-writer.ts",
  "src/model/gguf-error.ts",
  "src/model/quants.ts",
  "src/model/prng.ts",
  "src/model/synthetic.ts",
  "src/tokenizer/",
  "src/generation/",
  "src/grammar/",
  "src/cli/args.ts",
  "src/cli/commands.ts",
  "src/cli/usage.ts",
  "src/cli/ledger-args.ts",
  "src/cli/verify-args.ts",
  "src/engine/status.ts",
  "src/engine/port.ts",
  "src/api/",
  "src/contract/",
  "src/serve/plan.ts",
  "src/config/schema.ts",
  "src/config/defaults.ts",
  "src/identity/identity.ts",
  "src/model/convert.ts",
  "src/model/safetensors.ts",
  "src/model/registry.ts",
  "src/model/hub.ts",
  "src/model/hf-convert.ts",
  "src/model/ternary-fallback.ts",
  "src/cli/model-args.ts",
  "src/consent/policy.ts",
  "src/consent/evaluate.ts",
  "src/consent/gate.ts",
  "src/consent/events.ts",
  "src/consent/energy.ts",
  "src/consent/attestation.ts",
  "src/consent/metered-gate.ts",
  "src/consent/settings.ts",
  "src/cli/consent-args.ts",
  "src/ledger/entry.ts",
  "src/ledger/merkle.ts",
  "src/ledger/sign.ts",
  "src/ledger/chain.ts",
  "src/ledger/wire.ts",
  "src/ledger/receipt.ts",
  "src/ledger/provenance.ts",
  "src/ledger/attest.ts",
  "src/ledger/sync.ts",
  "src/ledger/store-format.ts",
  "src/pipeline/tensor-frame.ts",
  "src/pipeline/pipeline-plan.ts",
  "src/pipeline/stage-wire.ts",
  "src/pipeline/layer-range.ts",
  "src/dashboard/port.ts",
  "src/dashboard/routes.ts",
  "src/dashboard/_chat.ts",
  "src/dashboard/_http.ts",
  "src/dashboard/_csrf.ts",
  "src/dashboard/_models.ts",
  "src/dashboard/views/",
  "src/cli/peers-args.ts",
  "src/shared/result.ts",
  "src/shared/version.ts",
  "src/p2p/_reply-stream.ts",
  "src/p2p/protocol.ts",
  "src/p2p/handshake.ts",
  "src/p2p/replay.ts",
  "src/p2p/rate-limit.ts",
  "src/p2p/peer-state.ts",
  "src/p2p/plan.ts",
  "src/p2p/score.ts",
  "src/p2p/audit-plan.ts",
  "src/p2p/fraud-proof.ts",
  "src/p2p/test-cheat.ts",
  "src/p2p/transport.ts",
  "src/p2p/peer-table.ts",
  "src/p2p/serve-peer.ts",
  "src/p2p/peers-route.ts",
  "src/p2p/dht/",
  "src/p2p/address-book.ts",
  "src/p2p/relay/relay.ts",
  "src/p2p/relay/reachability.ts",
  "src/p2p/relay/endpoint.ts",
  "src/p2p/relay/wire.ts",
  "src/node/dashboard-map.ts",
  "src/node/answer-provenance.ts",
];

const FORBIDDEN_IN_PURE = ["Bun.", "process.env", "Date.now(", "Math.random(", "console."];
const FORBIDDEN_IMPORTS_IN_PURE = /^(bun:|node:fs|node:net|node:child_process|node:os)/;

/** Folders other folders import file by file (no index.ts): single-purpose shared modules. */
const DIRECT_FOLDERS = ["shared"];

/**
 * Cross-folder imports of a folder's internals that predate the folder rule, as
 * "importer -> target". Each is to be replaced by an import of the target folder's index.ts;
 * none may be added.
 */
export const KNOWN_DIRECT_IMPORTS: readonly string[] = [];

export function isPure(rel: string): boolean {
  return PURE.some((p) => (p.endsWith("/") ? rel.startsWith(p) : rel === p));
}

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** The module specifiers a file imports or re-exports (static and dynamic). */
function importsOf(code: string): string[] {
  return [
    ...code.matchAll(
      /(?:import|export)[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']/g,
    ),
  ].map((m) => m[1] ?? m[2] ?? "");
}

/** The folder of a path under src/ ("src/p2p/node.ts" -> "p2p"); undefined for src/main.ts. */
function folderOf(rel: string): string | undefined {
  const parts = rel.split("/");
  return parts[0] === "src" && parts.length > 2 ? parts[1] : undefined;
}

/**
 * Checks a set of source files against every rule.
 *
 * @param files path relative to the repository root (e.g. "src/p2p/node.ts") -> source text.
 * @param known the grandfathered direct imports (default KNOWN_DIRECT_IMPORTS).
 * @returns one line per violation; empty when every rule holds.
 */
export function checkSources(
  files: ReadonlyMap<string, string>,
  known: readonly string[] = KNOWN_DIRECT_IMPORTS,
): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Map<string, string>>(); // folder -> folder -> first file seen
  const seenKnown = new Set<string>();
  for (const [rel, source] of files) {
    const code = stripComments(source);
    const imports = importsOf(code);
    for (const spec of imports) {
      if (spec === "bun:ffi" && !rel.startsWith("src/engine/")) {
        problems.push(`${rel}: imports bun:ffi outside src/engine/`);
      }
      if (spec === "bun:sqlite" && !/^src\/ledger\/store[a-z-]*\.ts$/.test(rel)) {
        problems.push(`${rel}: imports bun:sqlite outside src/ledger/store*.ts`);
      }
    }
    if (code.includes("process.env") && rel !== "src/config/load.ts" && !isPure(rel)) {
      problems.push(`${rel}: reads process.env (only src/config/load.ts may)`);
    }
    const from = folderOf(rel);
    for (const spec of imports) {
      if (!spec.startsWith(".")) continue;
      const target = normalize(join(rel, "..", spec));
      const to = folderOf(target);
      if (from === undefined || to === undefined || to === from) continue;
      const byTarget = edges.get(from) ?? new Map<string, string>();
      if (!byTarget.has(to)) byTarget.set(to, rel);
      edges.set(from, byTarget);
      if (target === `src/${to}/index.ts` || DIRECT_FOLDERS.includes(to)) continue;
      if (isPure(rel) && isPure(target)) continue;
      const pair = `${rel} -> ${target}`;
      if (known.includes(pair)) seenKnown.add(pair);
      else {problems.push(
          `${rel}: imports "${target}" (another folder's internals: use src/${to}/index.ts)`,
        );}
    }
    if (!isPure(rel)) continue;
    for (const spec of imports) {
      if (FORBIDDEN_IMPORTS_IN_PURE.test(spec)) {
        problems.push(`${rel}: pure file imports "${spec}"`);
      }
      if (spec.startsWith(".")) {
        const target = normalize(join(rel, "..", spec));
        if (target.startsWith("src/") && !isPure(target)) {
          problems.push(`${rel}: pure file imports shell file "${target}"`);
        }
      }
    }
    for (const word of FORBIDDEN_IN_PURE) {
      if (code.includes(word)) problems.push(`${rel}: pure file mentions "${word}"`);
    }
  }
  for (const pair of known) {
    if (!seenKnown.has(pair)) {
      problems.push(`KNOWN_DIRECT_IMPORTS: "${pair}" no longer occurs: remove it from the list`);
    }
  }
  for (const cycle of folderCycles(edges)) {
    const via = cycle.slice(0, -1).map((f, i) =>
      `${f} -> ${cycle[i + 1]} (${edges.get(f)!.get(cycle[i + 1]!)})`
    );
    problems.push(`folder cycle: ${via.join(", ")}`);
  }
  return problems;
}

/** Every elementary cycle found by depth-first search, each once, as [a, b, ..., a]. */
function folderCycles(edges: ReadonlyMap<string, ReadonlyMap<string, string>>): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (f: string) => {
    if (done.has(f)) return;
    const at = path.indexOf(f);
    if (at >= 0) {
      const cycle = [...path.slice(at), f];
      const key = [...cycle.slice(0, -1)].sort().join(",");
      if (!seen.has(key)) {
        seen.add(key);
        cycles.push(cycle);
      }
      return;
    }
    path.push(f);
    for (const to of [...(edges.get(f)?.keys() ?? [])].sort()) visit(to);
    path.pop();
    done.add(f);
  };
  for (const f of [...edges.keys()].sort()) visit(f);
  return cycles;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

if (import.meta.main) {
  const files = new Map<string, string>();
  for (const file of walk(join(ROOT, "src"))) {
    files.set(relative(ROOT, file), readFileSync(file, "utf8"));
  }
  const problems = checkSources(files);
  if (problems.length > 0) {
    console.error(`check-boundaries: ${problems.length} violation(s)\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log("check-boundaries: ok");
}
