import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { checkSources } from "../../scripts/check-boundaries.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** A small tree that follows every rule; each test breaks one. */
function tree(extra: Record<string, string> = {}): Map<string, string> {
  return new Map(Object.entries({
    "src/shared/errors.ts": "export class AriaError extends Error {}\n",
    "src/p2p/index.ts": 'export { P2PNode } from "./node.ts";\n',
    "src/p2p/node.ts":
      'import { AriaError } from "../shared/errors.ts";\nexport class P2PNode {}\n',
    "src/node/index.ts": 'export { startNode } from "./start.ts";\n',
    "src/node/start.ts":
      'import { P2PNode } from "../p2p/index.ts";\nexport function startNode() {}\n',
    "src/main.ts": 'import { startNode } from "./node/index.ts";\n',
    ...extra,
  }));
}

describe("checkSources()", () => {
  test("reports nothing for imports through index.ts and of src/shared/", () => {
    expect(checkSources(tree(), [])).toEqual([]);
  });

  test("reports an import of another folder's internals", () => {
    const files = tree({
      "src/node/start.ts": 'import { P2PNode } from "../p2p/node.ts";\n',
    });
    expect(checkSources(files, [])).toEqual([
      'src/node/start.ts: imports "src/p2p/node.ts" (another folder\'s internals: use src/p2p/index.ts)',
    ]);
  });

  test("accepts a listed old import, and reports a listed import that no longer occurs", () => {
    const files = tree({ "src/node/start.ts": 'import type { X } from "../p2p/node.ts";\n' });
    expect(checkSources(files, ["src/node/start.ts -> src/p2p/node.ts"])).toEqual([]);
    expect(checkSources(tree(), ["src/node/start.ts -> src/p2p/node.ts"])).toEqual([
      'KNOWN_DIRECT_IMPORTS: "src/node/start.ts -> src/p2p/node.ts" no longer occurs: remove it from the list',
    ]);
  });

  test("reports a cycle between folders, even through index.ts files", () => {
    const files = tree({
      "src/p2p/node.ts": 'import { startNode } from "../node/index.ts";\nexport class P2PNode {}\n',
    });
    expect(checkSources(files, [])).toEqual([
      "folder cycle: node -> p2p (src/node/start.ts), p2p -> node (src/p2p/node.ts)",
    ]);
  });

  test("lets a pure file import a pure file of another folder directly", () => {
    const files = tree({
      "src/contract/completion.ts": "export interface CompletionBackend {}\n",
      "src/api/port-user.ts":
        'import type { CompletionBackend } from "../contract/completion.ts";\n',
    });
    expect(checkSources(files, [])).toEqual([]);
  });

  test("reports I/O in a pure file and bun:sqlite outside the ledger store", () => {
    const files = tree({
      "src/contract/completion.ts": 'import { readFileSync } from "node:fs";\nconsole.log(1);\n',
      "src/node/start.ts": 'import { Database } from "bun:sqlite";\n',
    });
    expect(checkSources(files, [])).toEqual([
      "src/node/start.ts: imports bun:sqlite outside src/ledger/store*.ts",
      'src/contract/completion.ts: pure file imports "node:fs"',
      'src/contract/completion.ts: pure file mentions "console."',
    ]);
  });

  test("the repository's src/ passes", () => {
    const files = new Map<string, string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) {
          files.set(relative(ROOT, p), readFileSync(p, "utf8"));
        }
      }
    };
    walk(join(ROOT, "src"));
    expect(checkSources(files)).toEqual([]);
  });
});
