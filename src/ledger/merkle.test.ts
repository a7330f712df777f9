import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { inclusionProof, merkleRoot, verifyInclusion } from "./merkle.ts";

function h(...parts: Uint8Array[]): Uint8Array {
  const x = createHash("sha256");
  for (const p of parts) x.update(p);
  return new Uint8Array(x.digest());
}
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** RFC 6962 2.1 written a second way (by list slicing), as the oracle. */
function oracleRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return h();
  if (leaves.length === 1) return h(Uint8Array.of(0), leaves[0]!);
  let k = 1;
  while (k << 1 < leaves.length) k <<= 1;
  return h(Uint8Array.of(1), oracleRoot(leaves.slice(0, k)), oracleRoot(leaves.slice(k)));
}

const leaves = (n: number) => Array.from({ length: n }, (_, i) => Uint8Array.of(i, i + 1));

describe("merkleRoot()", () => {
  test("merkleRoot() matches the RFC 6962 oracle for 0..33 leaves", () => {
    for (let n = 0; n <= 33; n++) {
      expect<string>(merkleRoot(leaves(n))).toBe(hex(oracleRoot(leaves(n))));
    }
  });
  test("merkleRoot() of three leaves splits 2 + 1", () => {
    const [a, b, c] = leaves(3).map((l) => h(Uint8Array.of(0), l));
    const expected = h(Uint8Array.of(1), h(Uint8Array.of(1), a!, b!), c!);
    expect<string>(merkleRoot(leaves(3))).toBe(hex(expected));
  });
});

describe("verifyInclusion()", () => {
  test("verifyInclusion() accepts every leaf's proof for trees of 1..20 leaves", () => {
    for (let n = 1; n <= 20; n++) {
      const ls = leaves(n);
      const root = merkleRoot(ls);
      for (let i = 0; i < n; i++) {
        expect(verifyInclusion(ls[i]!, inclusionProof(ls, i), root)).toBe(true);
      }
    }
  });
  test("verifyInclusion() rejects a wrong leaf, index, size, path or root", () => {
    const ls = leaves(7);
    const root = merkleRoot(ls);
    const p = inclusionProof(ls, 5);
    expect(verifyInclusion(ls[4]!, p, root)).toBe(false);
    expect(verifyInclusion(ls[5]!, { ...p, leafIndex: 4 }, root)).toBe(false);
    expect(verifyInclusion(ls[5]!, { ...p, treeSize: 6 }, root)).toBe(false);
    expect(verifyInclusion(ls[5]!, { ...p, path: p.path.slice(1) }, root)).toBe(false);
    expect(verifyInclusion(ls[5]!, { ...p, path: [...p.path, p.path[0]!] }, root)).toBe(false);
    expect(verifyInclusion(ls[5]!, p, merkleRoot(ls.slice(1)))).toBe(false);
    expect(verifyInclusion(ls[5]!, { ...p, leafIndex: 9 }, root)).toBe(false);
  });
  test("inclusionProof() throws RangeError outside the tree", () => {
    expect(() => inclusionProof(leaves(3), 3)).toThrow(RangeError);
  });
});
