import { describe, expect, test } from "bun:test";
import { fixedIdentity, makeChain, makeSigned } from "../../tests/helpers/ledger.ts";
import { type Block, hashHeader, type SignedHeader } from "./entry.ts";
import { sealBlock } from "./sign.ts";
import {
  ANNOUNCE_HEADERS,
  announceRange,
  type PeerChainView,
  receiveHeaders,
  requestedRange,
} from "./sync.ts";

const alice = fixedIdentity(1);
const mallory = fixedIdentity(2);
const peer = alice.nodeId as string;
const chain = makeChain(alice, [1, 2, 1, 3]); // heights 0..4
const headers = (blocks: readonly Block[]): SignedHeader[] =>
  blocks.map(({ header, signature }) => ({ header, signature }));

/** A view that stored `blocks` (heights 1..n) of a chain. */
function viewOf(blocks: readonly Block[]): PeerChainView {
  return {
    height: blocks.length,
    totalTokens: blocks.reduce((s, b) => s + b.header.totalTokens, 0),
    headerAt: (h) => blocks[h - 1],
  };
}
const empty = viewOf([]);

/** The same chain with block 2 re-sealed (other records), and every later block re-signed. */
function rewritten(): Block[] {
  const out: Block[] = chain.slice(0, 2);
  out.push(
    sealBlock(out[1]!.header, [makeSigned(alice, 99)], {
      identity: alice,
      timestampMs: 1_700_000_100_000,
    }),
  );
  for (const b of chain.slice(3)) {
    out.push(
      sealBlock(out[out.length - 1]!.header, b.records, {
        identity: alice,
        timestampMs: b.header.timestampMs,
      }),
    );
  }
  return out;
}

describe("receiveHeaders()", () => {
  test.each([
    ["the whole chain from genesis", headers(chain), empty, 4],
    ["the chain without genesis", headers(chain.slice(1)), empty, 4],
    [
      "headers that continue the stored ones",
      headers(chain.slice(3)),
      viewOf(chain.slice(1, 3)),
      4,
    ],
    ["headers that overlap the stored ones", headers(chain.slice(1)), viewOf(chain.slice(1, 3)), 4],
  ])("accepts %s", (_name, sent, view, height) => {
    const d = receiveHeaders(peer, sent, view);
    expect(d.type).toBe("accept");
    if (d.type !== "accept") return;
    expect(d.height).toBe(height);
    expect(d.headHash).toBe(hashHeader(chain[4]!.header));
    expect(d.totalTokens).toBe(chain.reduce((s, b) => s + b.header.totalTokens, 0));
    expect(d.headers.map((h) => h.header.height)).toEqual(
      [1, 2, 3, 4].filter((h) => h > view.height),
    );
  });
  test("an empty announcement accepts the stored head as it is", () => {
    expect(receiveHeaders(peer, [], empty)).toMatchObject({
      type: "accept",
      height: 0,
      headers: [],
    });
  });
  test("asks for the gap between what is stored and what is announced", () => {
    expect(receiveHeaders(peer, headers(chain.slice(3)), viewOf(chain.slice(1, 2))))
      .toEqual({ type: "request", fromHeight: 2, count: 3 });
  });
  test.each([
    [
      "a forged signature",
      () => {
        const h = headers(chain.slice(1));
        h[1] = { ...h[1]!, signature: h[2]!.signature };
        return { sent: h, view: empty };
      },
      /block 2: the producer's signature is invalid/,
    ],
    [
      "a block produced by another node",
      () => ({ sent: headers(makeChain(mallory, [1]).slice(1)), view: empty }),
      /produced by .*, not by the peer/,
    ],
    [
      "a rewritten block it showed before",
      () => ({ sent: headers(rewritten().slice(1)), view: viewOf(chain.slice(1, 4)) }),
      /the peer rewrote block 2/,
    ],
    [
      "a rewritten chain announced above what is stored",
      () => ({ sent: headers(rewritten().slice(4)), view: viewOf(chain.slice(1, 4)) }),
      /block 4: previous hash does not match/,
    ],
    [
      "a changed weight",
      () => {
        const h = headers(chain.slice(1, 2));
        h[0] = { ...h[0]!, header: { ...h[0]!.header, totalTokens: 999 } };
        return { sent: h, view: empty };
      },
      /signature is invalid/,
    ],
  ])("rejects %s", (_name, make, reason) => {
    const { sent, view } = make();
    const d = receiveHeaders(peer, sent, view);
    expect(d.type).toBe("reject");
    if (d.type === "reject") expect(d.reason).toMatch(reason);
  });
});

describe("ranges", () => {
  test.each([
    [0, 10, 4, { from: 0, to: 4 }],
    [2, 1, 4, { from: 2, to: 2 }],
    [5, 3, 4, undefined],
    [0, 10_000, 1000, { from: 0, to: 511 }],
  ])("requestedRange(%i, %i, head %i)", (from, count, head, want) => {
    expect(requestedRange(from, count, head)).toEqual(want);
  });
  test.each([
    [0, undefined],
    [3, { from: 1, to: 3 }],
    [100, { from: 100 - ANNOUNCE_HEADERS + 1, to: 100 }],
  ])("announceRange(%i)", (head, want) => {
    expect(announceRange(head)).toEqual(want);
  });
});
