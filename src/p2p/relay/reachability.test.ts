import { describe, expect, test } from "bun:test";
import {
  applyReachEvent,
  decideDialBack,
  emptyDialBackBudget,
  EVIDENCE_MS,
  initialReach,
  planReach,
  type ReachState,
  TEST_TIMEOUT_MS,
} from "./reachability.ts";

const A = "a1".repeat(32), B = "b2".repeat(32), C = "c3".repeat(32);
const n = (i: number) => i.toString(16).padStart(32, "0");

function ask(s: ReachState, peer: string, nonce: string, now = 0): ReachState {
  return applyReachEvent(s, { type: "check_sent", peer, nonce, now });
}

describe("reachability", () => {
  test("a node that does not listen is unreachable at once and asks nobody", () => {
    const s = initialReach(null);
    expect(s.status).toBe("unreachable");
    expect(planReach(s, [A, B], 0)).toEqual([]);
  });

  test("two dial-backs seen by us make it reachable; a peer's word alone does not", () => {
    let s = initialReach("ws://127.0.0.1:9000");
    expect(planReach(s, [A, B, C], 0)).toEqual([A, B, C]);
    s = ask(ask(s, A, n(1)), B, n(2));
    s = applyReachEvent(s, { type: "result", peer: A, nonce: n(1), outcome: "dialled", now: 1 });
    expect(s.status).toBe("unknown");
    // a dial-back with the right nonce from the wrong peer proves nothing
    s = applyReachEvent(s, { type: "dialback", peer: C, nonce: n(1), now: 1 });
    expect(s.status).toBe("unknown");
    s = applyReachEvent(s, { type: "dialback", peer: A, nonce: n(1), now: 1 });
    expect(s.status).toBe("unknown");
    s = applyReachEvent(s, { type: "dialback", peer: B, nonce: n(2), now: 2 });
    expect(s.status).toBe("reachable");
    // evidence ages out
    s = applyReachEvent(s, { type: "tick", now: EVIDENCE_MS + 10 });
    expect(s.status).toBe("unknown");
  });

  test("while undecided, a peer that connects after a round is asked at once, not a minute later", () => {
    let s = initialReach("ws://127.0.0.1:9000");
    expect(planReach(s, [A], 0)).toEqual([A]);
    s = ask(s, A, n(1), 0);
    expect(planReach(s, [A], 1000)).toEqual([]); // A is pending
    expect(planReach(s, [A, B], 2000)).toEqual([B]); // B arrived: asked now
    s = ask(s, B, n(2), 2000);
    s = applyReachEvent(s, { type: "dialback", peer: A, nonce: n(1), now: 2500 });
    // A has evidence, B is pending: nobody new to ask; C would be the third opinion
    expect(planReach(s, [A, B], 3000)).toEqual([]);
    expect(planReach(s, [A, B, C], 3000)).toEqual([C]);
  });

  test("two failures (reported or timed out) and no success make it unreachable", () => {
    let s = ask(ask(initialReach("ws://127.0.0.1:9000"), A, n(1)), B, n(2));
    s = applyReachEvent(s, { type: "result", peer: A, nonce: n(1), outcome: "failed", now: 1 });
    expect(s.status).toBe("unknown");
    s = applyReachEvent(s, { type: "tick", now: TEST_TIMEOUT_MS + 1 });
    expect(s.status).toBe("unreachable");
    // a refusal is not evidence
    let r = ask(initialReach("ws://h:1"), C, n(3));
    r = applyReachEvent(r, { type: "result", peer: C, nonce: n(3), outcome: "refused", now: 1 });
    expect(r.pending.size).toBe(0);
    expect(r.evidence.size).toBe(0);
  });

  test("dial-back only to the requester's own host, rate limited", () => {
    let b = emptyDialBackBudget();
    const req = { peer: A, url: "ws://127.0.0.1:9000", observedHost: "::ffff:127.0.0.1" };
    const d = decideDialBack(b, req, 0);
    expect(d.decision).toBe("dial");
    if (d.decision === "dial") b = d.budget;
    expect(decideDialBack(b, req, 1000)).toEqual({ decision: "refused", reason: "too soon" });
    expect(decideDialBack(b, { ...req, peer: B, url: "ws://10.0.0.5:9000" }, 0))
      .toEqual({ decision: "refused", reason: "address is not the requester's host" });
    expect(decideDialBack(b, { ...req, peer: B, url: "http://127.0.0.1:1" }, 0)).toMatchObject({
      reason: "scheme",
    });
    expect(decideDialBack(b, { ...req, peer: B, url: "ws://[" }, 0)).toMatchObject({
      reason: "bad url",
    });
    for (let i = 0; i < 9; i++) {
      const x = decideDialBack(b, { ...req, peer: n(i) + n(i) }, 100 + i);
      if (x.decision !== "dial") throw new Error("refused early");
      b = x.budget;
    }
    expect(decideDialBack(b, { ...req, peer: C }, 200)).toEqual({
      decision: "refused",
      reason: "busy",
    });
  });
});
