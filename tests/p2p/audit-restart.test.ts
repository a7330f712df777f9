/**
 * Reputation across a restart (issue 20) with real `aria serve` processes: a routing node audits
 * an honest peer's answers, is killed (SIGKILL: nothing saved at exit), and started again on the
 * same data dir; it still knows the peer's audited answers and its warmed-up audit rate, and
 * `aria peers` shows them.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type Node, peers, ProcessGroup, until } from "../helpers/p2p-procs.ts";

interface Reputation {
  answers: number;
  passed: number;
  failed: number;
  skipped: number;
  convicted: string | null;
  rate: number;
}
const reputation = async (n: Node) =>
  ((await peers(n)) as unknown as { reputation: Record<string, Reputation> }).reputation;

/** One completion through `n`; returns who served it. */
async function complete(n: Node, seed: number): Promise<string> {
  const r = await fetch(`${n.api}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "aria-nano",
      prompt: "The river ran",
      max_tokens: 8,
      temperature: 0.9,
      seed,
    }),
  });
  expect(r.status).toBe(200);
  await r.json();
  return r.headers.get("x-aria-served-by") ?? "";
}

const NODE_ARGS = ["--p2p-port", "0", "--threads", "1"];

describe("a restarted router", () => {
  const procs = new ProcessGroup();
  afterAll(() => procs.close());

  test("keeps each peer's audit record and warm-up", async () => {
    const b = await procs.serve("b", NODE_ARGS);
    const routerArgs = [...NODE_ARGS, "--parallel", "1", "--peers", b.ws];
    let router = await procs.serve("router", routerArgs);
    await until(
      async () => (await peers(router)).peers.some((p) => p.id === b.id && p.models.length > 0),
      "the router to see b's advert",
    );
    // bursts of 3 on one slot: the overflow goes to b, whose first answers are audited at
    // 1, 2/3, 1/2 … (a new identity's warm-up)
    for (let i = 0; i < 30; i++) {
      await Promise.all([0, 1, 2].map((k) => complete(router, 10 * i + k)));
      if (((await reputation(router))[b.id]?.passed ?? 0) >= 3) break;
    }
    await until(
      async () => {
        const r = (await reputation(router))[b.id];
        return r !== undefined && r.passed + r.skipped >= 3;
      },
      "three audits of b's answers",
      60_000,
    );
    // let the audits in flight finish so the record is settled before the kill
    let before = (await reputation(router))[b.id]!;
    for (;;) {
      await Bun.sleep(1500);
      const now = (await reputation(router))[b.id]!;
      if (JSON.stringify(now) === JSON.stringify(before)) break;
      before = now;
    }
    expect(before.passed).toBeGreaterThanOrEqual(3);
    expect(before.rate).toBeLessThan(1);

    router.proc.kill(9);
    await router.proc.exited;
    procs.nodes.splice(procs.nodes.indexOf(router), 1);
    router = await procs.serve("router", routerArgs);
    // read from the data dir at start, before any new answer
    const after = (await reputation(router))[b.id];
    expect(after).toEqual(before);
    await until(
      async () => (await peers(router)).peers.some((p) => p.id === b.id),
      "the restarted router to reconnect to b",
    );
    const out = Bun.spawnSync([process.execPath, "src/main.ts", "peers", "--url", router.api], {
      cwd: join(import.meta.dir, "..", ".."),
    }).stdout.toString();
    expect(out).toContain(`audits ${before.passed}/${before.answers} passed`);
  }, 180_000);
});
