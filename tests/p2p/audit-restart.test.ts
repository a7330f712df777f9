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

    // a fresh honest node joins once b is measured again: the score prefers b (an unmeasured
    // peer counts at UNKNOWN_SPEED), so only exploration sends c traffic, within a bounded number
    // of fixed-size bursts; c, a new identity, has its first answer audited
    for (let i = 0; i < 4; i++) {
      await Promise.all([0, 1, 2].map((k) => complete(router, 500 + 10 * i + k)));
    }
    const c = await procs.serve("c", [...NODE_ARGS, "--peers", router.ws]);
    await until(
      async () => (await peers(router)).peers.some((p) => p.id === c.id && p.models.length > 0),
      "the router to see c's advert",
    );
    let bursts = 0;
    let cAnswers = 0;
    for (; bursts < 12 && cAnswers === 0; bursts++) {
      const served = await Promise.all(
        [0, 1, 2].map((k) => complete(router, 900 + 10 * bursts + k)),
      );
      cAnswers = served.filter((s) => s === c.id).length;
    }
    console.log(JSON.stringify({ freshPeerFirstRoutedInBurst: bursts, routedPerBurst: 2 }));
    expect(cAnswers).toBeGreaterThan(0);
    await until(
      async () => {
        const r = (await reputation(router))[c.id];
        return r !== undefined && r.passed + r.skipped >= 1;
      },
      "the audit of c's first answer",
      60_000,
    );
    const rc = (await reputation(router))[c.id]!;
    expect(rc.passed).toBeGreaterThanOrEqual(1); // audited: a new identity's rate is 1
    expect(rc.failed).toBe(0);
    // the dashboard's peers page and aria peers render with the new peer and the restored one
    const page = await (await fetch(`${router.api}/peers`)).text();
    expect(page).toContain(c.id.slice(0, 8));
    expect(page).toContain("re-executed and matched");
  }, 180_000);
});
