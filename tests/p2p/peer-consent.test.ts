/**
 * The owner's consent applied to work from peers, with real processes on loopback: routed
 * requests count against the serving node's daily token quota, so once the peer has used up the
 * day, the router has nowhere to go (503) and the node's own clients are refused too (403). (That
 * routers skip a peer whose advertised policy refuses is tested in tests/p2p/memory.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Node, peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

const ROOT = join(import.meta.dir, "..", "..");
const procs = new ProcessGroup();

function consentSet(name: string, key: string, value: string): void {
  const r = Bun.spawnSync([
    process.execPath,
    "src/main.ts",
    "consent",
    "set",
    key,
    value,
    "--data-dir",
    join(procs.home, name),
  ], { cwd: ROOT });
  if (r.exitCode !== 0) throw new Error(`consent set ${key}: ${r.stderr.toString()}`);
}

const BODY = { model: "aria-nano", prompt: "The river", max_tokens: 8, temperature: 0 };
const post = (n: Node) =>
  fetch(`${n.api}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(BODY),
  });

let quota: Node; // aria-nano, 30 tokens a day
let router: Node; // no model: routes everything

beforeAll(async () => {
  consentSet("quota", "quota", "30");
  quota = await procs.serve("quota", ["--p2p-port", "0", "--threads", "1"]);
  router = await procs.serve("router", ["--backend", "simulation", "--peers", quota.ws]);
  await until(
    async () => (await peers(router)).peers.some((p) => p.models.length > 0),
    "the router to see the quota node's advert",
  );
}, 60_000);

afterAll(() => procs.close());

describe("consent for peers' work", () => {
  test("routed work counts against the serving node's daily quota", async () => {
    const first = await post(router);
    expect(first.status).toBe(200);
    expect(first.headers.get("x-aria-served-by")).toBe(quota.id);
    const used = (await first.json() as { usage: { total_tokens: number } }).usage.total_tokens;
    expect(used).toBeGreaterThan(0);
    // keep going until the quota node's day is used up: then the router has no node left
    let refused: Response | undefined;
    for (let i = 0; i < 30 && refused === undefined; i++) {
      const r = await post(router);
      if (r.status !== 200) refused = r;
      else expect(r.headers.get("x-aria-served-by")).toBe(quota.id);
    }
    expect(refused?.status).toBe(503);
    // the quota node's own clients meet the same used-up day
    const local = await post(quota);
    expect(local.status).toBe(403);
    expect(await local.text()).toContain("CONSENT_DENIED");
  }, 60_000);
});
