/**
 * @module Enforces the dependency rules of STYLE.md B2/B8 over src/ (tests excluded):
 * - pure [P] files import no `bun:*`, `node:fs`, `node:net`, `node:child_process` and no shell
 *   file, and mention none of `Bun.`, `process.env`, `Date.now(`, `Math.random(`, `console.`;
 * - `bun:ffi` is imported only under src/engine/, `bun:sqlite` only in src/ledger/store.ts;
 * - `process.env` is read only in src/config/load.ts.
 * The list of pure files below is the single source of truth. Exit code 1 on any violation.
 *
 * Usage: bun scripts/check-boundaries.ts
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

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
  "src/cli/ledger-args.ts",
  "src/engine/status.ts",
  "src/engine/port.ts",
  "src/api/",
  "src/contract/",
  "src/serve/plan.ts",
  "src/config/schema.ts",
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
  "src/pipeline/tensor-frame.ts",
  "src/pipeline/pipeline-plan.ts",
  "src/pipeline/stage-wire.ts",
  "src/cli/layers-args.ts",
  "src/dashboard/port.ts",
  "src/dashboard/routes.ts",
  "src/dashboard/_chat.ts",
  "src/dashboard/_http.ts",
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

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

function isPure(rel: string): boolean {
  return PURE.some((p) => (p.endsWith("/") ? rel.startsWith(p) : rel === p));
}

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const problems: string[] = [];
for (const file of walk(join(ROOT, "src"))) {
  const rel = relative(ROOT, file);
  const code = stripComments(readFileSync(file, "utf8"));
  const imports = [
    ...code.matchAll(
      /(?:import|export)[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']/g,
    ),
  ]
    .map((m) => m[1] ?? m[2] ?? "");
  for (const spec of imports) {
    if (spec === "bun:ffi" && !rel.startsWith("src/engine/")) {
      problems.push(`${rel}: imports bun:ffi outside src/engine/`);
    }
    if (spec === "bun:sqlite" && rel !== "src/ledger/store.ts") {
      problems.push(`${rel}: imports bun:sqlite outside src/ledger/store.ts`);
    }
  }
  if (code.includes("process.env") && rel !== "src/config/load.ts" && !isPure(rel)) {
    problems.push(`${rel}: reads process.env (only src/config/load.ts may)`);
  }
  if (!isPure(rel)) continue;
  for (const spec of imports) {
    if (FORBIDDEN_IMPORTS_IN_PURE.test(spec)) problems.push(`${rel}: pure file imports "${spec}"`);
    if (spec.startsWith(".")) {
      const target = relative(ROOT, join(file, "..", spec));
      if (target.startsWith("src/") && !isPure(target)) {
        problems.push(`${rel}: pure file imports shell file "${target}"`);
      }
    }
  }
  for (const word of FORBIDDEN_IN_PURE) {
    if (code.includes(word)) problems.push(`${rel}: pure file mentions "${word}"`);
  }
}

if (problems.length > 0) {
  console.error(`check-boundaries: ${problems.length} violation(s)\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("check-boundaries: ok");
