import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../../src/config/schema.ts";
import { LEDGER_FILE, openLedger } from "../../src/ledger/index.ts";
import { loadOrCreateIdentity } from "../../src/identity/index.ts";
import { startNode } from "../../src/node/index.ts";
import { AriaError } from "../../src/shared/errors.ts";

const home = mkdtempSync(join(tmpdir(), "aria-start-node-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** A node on the simulation backend (no model), on free ports, in its own data dir. */
function config(name: string, extra: Record<string, unknown> = {}) {
  return resolveConfig(
    [{ backend: "simulation", port: 0, host: "127.0.0.1", ...extra }],
    join(home, name),
  );
}

async function isListening(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`);
    return true;
  } catch {
    // handled: a refused connection is the answer "not listening"
    return false;
  }
}

describe("startNode()", () => {
  test("serves until disposed; disposing closes the port and the ledger", async () => {
    const lines: string[] = [];
    const logs: Record<string, unknown>[] = [];
    let url: string;
    {
      await using node = await startNode(config("a"), {
        print: (l) => lines.push(l),
        log: (e) => logs.push(e),
      });
      url = node.url;
      expect(node.role).toBe("api");
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(lines.some((l) => l.startsWith(`ARIA listening on ${url}`))).toBe(true);
    }
    expect(await isListening(url)).toBe(false);
    expect(existsSync(join(home, "a", `${LEDGER_FILE}-wal`))).toBe(false);
    // the ledger was closed and holds the first start's policy record
    const identity = loadOrCreateIdentity(join(home, "a"));
    using store = openLedger(join(home, "a", LEDGER_FILE), { identity, clock: { nowMs: () => 0 } });
    expect(store.lastPolicyHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(logs.some((e) => e["msg"] === "consent policy changed")).toBe(true);
  });

  test("a step that fails stops what the earlier steps started, then throws", async () => {
    // the peer port is taken: the node fails at the peers step, after its ledger, policy
    // watcher and backend have started
    const blocker = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const err = await startNode(config("b", { p2pPort: blocker.port }), {
      print: () => {},
      log: () => {},
    }).catch((e: unknown) => e).finally(() => blocker.stop(true));
    expect(err).toBeInstanceOf(AriaError);
    expect((err as AriaError).code).toBe("P2P_LISTEN");
    // nothing of the failed node is left open: sqlite removes the WAL file when the last
    // connection to the ledger closes
    expect(existsSync(join(home, "b", `${LEDGER_FILE}-wal`))).toBe(false);
    const identity = loadOrCreateIdentity(join(home, "b"));
    using store = openLedger(join(home, "b", LEDGER_FILE), { identity, clock: { nowMs: () => 0 } });
    expect(store.lastPolicyHash()).toMatch(/^[0-9a-f]{64}$/);
  });
});
