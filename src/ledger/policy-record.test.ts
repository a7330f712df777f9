/**
 * Encoding version 2: the policy-change record kind and version 2 headers, their pinned bytes
 * (written by hand from the layout in entry.ts), the unchanged version 1 vectors, and the chain
 * rules that involve policy changes (tampering, signer, sequence, Proof of Useful Work).
 */
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import {
  fixedIdentity,
  makeChain,
  makePolicyChange,
  makeSigned,
} from "../../tests/helpers/ledger.ts";
import {
  blockBodyFault,
  GENESIS_BLOCK,
  GENESIS_HASH,
  pendingPolicyFault,
  verifyChain,
  verifyHeaders,
} from "./chain.ts";
import {
  type Block,
  type BlockHeader,
  encodeHeader,
  encodeRecord,
  hashHeader,
  hashRecord,
  headerProblem,
  type Hex32,
  type PolicyChangeRecord,
  recordProblem,
  type SignedLedgerRecord,
  ZERO_HASH,
} from "./entry.ts";
import { sealBlock, signHeader } from "./sign.ts";
import { blockSchema, signedLedgerRecordSchema, signedRecordSchema } from "./wire.ts";

const A = "a".repeat(64) as Hex32;
const B = "b".repeat(64) as Hex32;
const C = "c".repeat(64) as Hex32;
const D = "d".repeat(64) as Hex32;
const alice = fixedIdentity(1);
const mallory = fixedIdentity(2);
const T = 1_700_000_100_000;

const POLICY: PolicyChangeRecord = {
  kind: "policy-change",
  version: 1,
  oldHash: ZERO_HASH,
  newHash: B,
  timestampMs: 1700000000000,
  signer: A,
};
const POLICY_JSON = `["policy-change",1,"${ZERO_HASH}","${B}",1700000000000,"${A}"]`;
const V2_HEADER: BlockHeader = {
  version: 2,
  height: 1,
  prevHash: GENESIS_HASH,
  merkleRoot: B,
  timestampMs: 5,
  producer: A,
  recordCount: 2,
  totalTokens: 12,
  inferenceCount: 1,
};
const V2_JSON = `[2,1,"${GENESIS_HASH}","${B}",5,"${A}",2,12,1]`;

const sha = (...parts: string[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function fault(blocks: readonly Block[]) {
  const r = verifyChain(blocks);
  if (r.ok) throw new Error("expected the chain to fail");
  return r.error;
}

/** Genesis, then one block with `records` sealed by `producer`. */
function chainOf(records: readonly SignedLedgerRecord[], producer = alice): Block[] {
  return [
    GENESIS_BLOCK,
    sealBlock(GENESIS_BLOCK.header, records, { identity: producer, timestampMs: T }),
  ];
}

describe("encoding version 2: bytes", () => {
  test.each([
    ["policy-change record", () => text(encodeRecord(POLICY)), POLICY_JSON],
    [
      "policy-change hash",
      () => hashRecord(POLICY),
      sha("aria.ledger.policy-change.v1\n", POLICY_JSON),
    ],
    ["version 2 header", () => text(encodeHeader(V2_HEADER)), V2_JSON],
    ["version 2 header hash", () => hashHeader(V2_HEADER), sha("aria.ledger.block.v1\n", V2_JSON)],
    // Unchanged by version 2 (also pinned in entry.test.ts):
    [
      "genesis hash",
      () => GENESIS_HASH,
      "0102bcda92b0950c85271a7f13aa54d7c13ea3d663c6d0c9b6332d46cb102d32",
    ],
  ])("%s", (_name, got, want) => {
    expect(got()).toBe(want);
  });
  test("a block of inference records only is still a version 1 header of 8 fields", () => {
    const block = makeChain(alice, [2])[1]!;
    expect(block.header.version).toBe(1);
    expect("inferenceCount" in block.header).toBe(false);
    expect(JSON.parse(text(encodeHeader(block.header)))).toHaveLength(8);
  });
  test("a policy change and an inference with the same fields never share a hash", () => {
    // domain separation: the same JSON under another prefix is another hash
    expect(hashRecord(POLICY)).not.toBe(sha("aria.ledger.record.v1\n", POLICY_JSON));
  });
});

describe("encoding version 2: shapes", () => {
  test.each([
    ["version", { ...POLICY, version: 2 as 1 }, "unsupported policy-change version 2"],
    [
      "bad hex",
      { ...POLICY, newHash: "AB" as Hex32 },
      "newHash is not 64 lowercase hex characters",
    ],
    ["float time", { ...POLICY, timestampMs: 1.5 }, "the timestamp is not a non-negative integer"],
    ["no change", { ...POLICY, oldHash: B }, "the policy change does not change the policy"],
    ["unknown kind", { ...POLICY, kind: "vote" as "policy-change" }, 'unknown record kind "vote"'],
  ])("recordProblem() refuses a policy change with a %s", (_n, record, reason) => {
    expect(recordProblem(record as PolicyChangeRecord)).toBe(reason);
    expect(() => encodeRecord(record as PolicyChangeRecord)).toThrow(TypeError);
  });
  test.each([
    ["v2 without inferences", { ...V2_HEADER, inferenceCount: 0 }],
    ["v2 with only inferences", { ...V2_HEADER, inferenceCount: 2 }],
    ["v2 without the field", { ...V2_HEADER, inferenceCount: undefined }],
    ["v1 with the field", { ...V2_HEADER, version: 1 as const }],
    ["v3", { ...V2_HEADER, version: 3 as 2 }],
  ])("headerProblem() refuses a %s", (_n, header) => {
    const h = { ...header } as BlockHeader;
    if (h.inferenceCount === undefined) delete h.inferenceCount;
    expect(headerProblem(h)).toBeDefined();
  });
  test("receipts take inference records only; blocks take both kinds", () => {
    const signed = makePolicyChange(alice, ZERO_HASH, B);
    expect(signedRecordSchema.safeParse(signed).success).toBe(false);
    expect(signedLedgerRecordSchema.safeParse(signed).success).toBe(true);
    const block = chainOf([makeSigned(alice, 1), signed])[1]!;
    expect(blockSchema.parse(JSON.parse(JSON.stringify(block)))).toEqual(block);
  });
});

describe("verifyChain() with policy changes", () => {
  test("a block with a policy change is version 2 and weighs only its inference tokens", () => {
    const chain = chainOf([makeSigned(alice, 1), makePolicyChange(alice, ZERO_HASH, B)]);
    const h = chain[1]!.header;
    expect({ v: h.version, n: h.recordCount, inf: h.inferenceCount, tokens: h.totalTokens })
      .toEqual({ v: 2, n: 2, inf: 1, tokens: 12 });
    const r = verifyChain(chain);
    expect(r.ok && r.value.totalTokens).toBe(12);
    expect(verifyHeaders(chain).ok).toBe(true);
  });
  test("a changed policy-change field is caught by its signature", () => {
    const chain = chainOf([makeSigned(alice, 1), makePolicyChange(alice, ZERO_HASH, B)]);
    const b = chain[1]!;
    const records = [...b.records];
    const p = records[1]!.record as PolicyChangeRecord;
    records[1] = { ...records[1]!, record: { ...p, newHash: C } };
    chain[1] = { ...b, records };
    expect(fault(chain)).toEqual({
      height: 1,
      recordIndex: 1,
      reason: "the signer's signature is invalid",
    });
  });
  test("a policy change signed by another node than the producer is refused", () => {
    const chain = chainOf([makeSigned(alice, 1), makePolicyChange(mallory, ZERO_HASH, B)]);
    expect(fault(chain)).toMatchObject({ height: 1, recordIndex: 1 });
    expect(fault(chain).reason).toMatch(/other than the block's producer/);
  });
  test("a deleted policy change breaks the sequence even when the producer re-seals", () => {
    const changes = [
      makePolicyChange(alice, ZERO_HASH, B),
      makePolicyChange(alice, B, C),
      makePolicyChange(alice, C, D),
    ];
    expect(verifyChain(chainOf([makeSigned(alice, 1), ...changes])).ok).toBe(true);
    const without = chainOf([makeSigned(alice, 1), changes[0]!, changes[2]!]);
    expect(fault(without)).toMatchObject({ height: 1, recordIndex: 2 });
    expect(fault(without).reason).toMatch(/previous one ended at/);
  });
  test("policy changes alone make no block (Proof of Useful Work)", () => {
    expect(() => chainOf([makePolicyChange(alice, ZERO_HASH, B)])).toThrow(RangeError);
  });
  test("a version 1 header over a policy change is refused even when re-signed", () => {
    const chain = chainOf([makeSigned(alice, 1), makePolicyChange(alice, ZERO_HASH, B)]);
    const { inferenceCount: _n, ...rest } = chain[1]!.header;
    const v1: BlockHeader = { ...rest, version: 1 };
    chain[1] = { ...signHeader(v1, alice), records: chain[1]!.records };
    expect(fault(chain).reason).toBe("the header counts 2 inference records, the block holds 1");
  });
  test("a policy change replayed in a later block is refused", () => {
    const change = makePolicyChange(alice, ZERO_HASH, B);
    const chain = chainOf([makeSigned(alice, 1), change]);
    chain.push(sealBlock(chain[1]!.header, [makeSigned(alice, 2), change], {
      identity: alice,
      timestampMs: T,
    }));
    expect(fault(chain).reason).toMatch(/already appears earlier/);
  });
});

describe("pendingPolicyFault()", () => {
  const sealed = chainOf([makeSigned(alice, 1), makePolicyChange(alice, ZERO_HASH, B)]);
  test.each([
    ["continues the sealed change", [makePolicyChange(alice, B, C)], undefined],
    [
      "continues a pending change",
      [makePolicyChange(alice, B, C), makePolicyChange(alice, C, D)],
      undefined,
    ],
    ["skips a change", [makePolicyChange(alice, C, D)], 0],
    [
      "skips after a pending change",
      [makePolicyChange(alice, B, C), makePolicyChange(alice, D, B)],
      1,
    ],
  ])("%s", (_name, pending, index) => {
    const r = pendingPolicyFault(sealed, pending.map((p) => p.record));
    expect(r?.index).toBe(index);
  });
});

describe("blockBodyFault()", () => {
  test("accepts a block whose records match its header, names a swapped record", () => {
    const block = chainOf([makeSigned(alice, 1), makePolicyChange(alice, ZERO_HASH, B)])[1]!;
    expect(blockBodyFault(block)).toBeUndefined();
    const swapped = { ...block, records: [makeSigned(alice, 2), block.records[1]!] };
    expect(blockBodyFault(swapped)?.reason).toBe("the Merkle root does not match the records");
  });
});
