import { describe, expect, test } from "bun:test";
import { fixedIdentity, makeChain, makeSigned } from "../../tests/helpers/ledger.ts";
import { findRewrite, signHeadAttestation, verifyHeadAttestation } from "./attest.ts";
import { GENESIS_BLOCK } from "./chain.ts";
import { type Block, hashHeader } from "./entry.ts";
import { sealBlock } from "./sign.ts";

const alice = fixedIdentity(1);
const witness = fixedIdentity(3);

function attestHead(chain: Block[]) {
  const head = chain[chain.length - 1]!.header;
  return signHeadAttestation(
    { producer: alice.nodeId, height: head.height, headHash: hashHeader(head) },
    { witness, timestampMs: 5 },
  );
}

describe("verifyHeadAttestation()", () => {
  test("verifyHeadAttestation() accepts a signed attestation and rejects an altered one", () => {
    const a = attestHead(makeChain(alice, [1, 1]));
    expect(verifyHeadAttestation(a)).toBe(true);
    expect(verifyHeadAttestation({ ...a, height: 1 })).toBe(false);
    expect(verifyHeadAttestation({ ...a, witness: alice.nodeId as string as typeof a.witness }))
      .toBe(false);
    expect(verifyHeadAttestation({ ...a, timestampMs: 1.5 })).toBe(false);
  });
});

describe("findRewrite()", () => {
  test("findRewrite() accepts the attested chain and its honest extensions", () => {
    const chain = makeChain(alice, [1, 1]);
    const a = attestHead(chain);
    expect(findRewrite(chain.map((b) => b.header), [a])).toBeUndefined();
    const longer = [
      ...chain,
      sealBlock(chain[2]!.header, [makeSigned(alice, 50)], { identity: alice, timestampMs: 0 }),
    ];
    expect(findRewrite(longer.map((b) => b.header), [a])).toBeUndefined();
  });
  test("findRewrite() names the height where a fully re-signed history differs", () => {
    const chain = makeChain(alice, [1, 1]);
    const a = attestHead(chain);
    // alice rebuilds her chain from block 1 with other records, every block validly signed
    const rewritten: Block[] = [GENESIS_BLOCK];
    for (const n of [70, 71]) {
      const prev = rewritten[rewritten.length - 1]!.header;
      rewritten.push(sealBlock(prev, [makeSigned(alice, n)], { identity: alice, timestampMs: 0 }));
    }
    expect(findRewrite(rewritten.map((b) => b.header), [a])).toEqual({
      height: 2,
      witness: witness.nodeId as string as typeof a.witness,
      reason: `block 2 differs from the one witness ${witness.nodeId} countersigned`,
    });
    expect(findRewrite([GENESIS_BLOCK.header], [a])?.reason).toMatch(/ends below height 2/);
    // a forged attestation is ignored
    expect(findRewrite(rewritten.map((b) => b.header), [{ ...a, timestampMs: 6 }]))
      .toBeUndefined();
  });
});
