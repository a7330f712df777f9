/**
 * @module zod schemas for the ledger's JSON shapes: signed records, blocks, receipts, the lines
 * of an export file, and the peer messages that carry headers and blocks (`kind` discriminant,
 * dotted lowercase, STYLE.md B4), ready for src/p2p to route. The JSON field names are the
 * camelCase names of entry.ts's types. The schemas check structure (types, hex shapes, integer
 * ranges); the chain rules (hashes, signatures, links) are chain.ts's. Pure.
 */
import { z } from "zod";
import type {
  Block,
  BlockHeader,
  Hex32,
  PolicyChangeRecord,
  SignedHeader,
  SignedLedgerRecord,
  SignedRecord,
} from "./entry.ts";

/** Most headers or blocks in one peer message. Why 512: keeps a frame well under 1 MiB. */
export const MAX_ITEMS_PER_MESSAGE = 512;

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex characters")
  .transform((s) => s as Hex32);
const signature = z.string().regex(/^[0-9a-f]{128}$/, "expected 128 lowercase hex characters");
const count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const text = z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,256}$/, "expected ledger text");

// a decimal text of a double (entry.ts, replay facts); entry.ts's recordProblem checks the
// round trip
const numberText = z.string().regex(/^[-+.0-9eInfinity]{1,32}$/, "expected a decimal number");

/** The replay facts of a version 2 record (entry.ts, field 15). */
export const replaySchema = z.strictObject({
  contract: count,
  sampler: count,
  head: z.enum(["float", "int8", "int4"]),
  kvType: z.enum(["f32", "f16"]),
  sampling: z.strictObject({
    temperature: numberText,
    topK: numberText,
    topP: numberText,
    minP: numberText,
    repeatPenalty: numberText,
    repeatLastN: numberText,
    frequencyPenalty: numberText,
    presencePenalty: numberText,
  }),
  logitBiasHash: hex32,
  grammarHash: hex32,
  seed: z.int().min(0).max(0xffffffff),
  promptIdCount: count,
  promptIdsHash: hex32,
  continued: count,
  outputIdCount: count,
  outputIdsHash: hex32,
});

const recordFields = {
  requestId: text,
  modelId: text,
  modelSha256: hex32,
  promptHash: hex32,
  outputHash: hex32,
  promptTokens: count,
  completionTokens: count,
  nodes: z.array(z.strictObject({ nodeId: hex32, layerStart: count, layerEnd: count }))
    .min(1).max(64),
  timings: z.strictObject({ queueMs: count, promptMs: count, decodeMs: count }),
  energyMj: count,
  energySource: z.enum(["measured", "estimated"]),
  consentHash: hex32,
  timestampMs: count,
  signer: hex32,
};

/** An inference record (unsigned content): version 1, or version 2 with replay facts. */
export const recordSchema = z.union([
  z.strictObject({ version: z.literal(1), ...recordFields }),
  z.strictObject({ version: z.literal(2), ...recordFields, replay: replaySchema }),
]);

/** A signed inference record (receipts hold only these). */
export const signedRecordSchema: z.ZodType<SignedRecord> = z.strictObject({
  record: recordSchema,
  signature,
});

/** A consent policy change (encoding version 2). */
export const policyChangeSchema: z.ZodType<PolicyChangeRecord> = z.strictObject({
  kind: z.literal("policy-change"),
  version: z.literal(1),
  oldHash: hex32,
  newHash: hex32,
  timestampMs: count,
  signer: hex32,
});

/** Any signed record a block can hold (an inference or a policy change). */
export const signedLedgerRecordSchema: z.ZodType<SignedLedgerRecord> = z.strictObject({
  record: z.union([recordSchema, policyChangeSchema]),
  signature,
});

const headerFields = {
  height: count,
  prevHash: hex32,
  merkleRoot: hex32,
  timestampMs: count,
  producer: hex32,
  recordCount: count,
  totalTokens: count,
};

/** A block header: version 1, or version 2 with `inferenceCount` (entry.ts). */
export const headerSchema: z.ZodType<BlockHeader> = z.union([
  z.strictObject({ version: z.literal(1), ...headerFields }),
  z.strictObject({ version: z.literal(2), ...headerFields, inferenceCount: count }),
]);

/** A signed block header. */
export const signedHeaderSchema: z.ZodType<SignedHeader> = z.strictObject({
  header: headerSchema,
  signature,
});

/** A whole block. */
export const blockSchema: z.ZodType<Block> = z.strictObject({
  header: headerSchema,
  signature,
  records: z.array(signedLedgerRecordSchema),
});

/** A Merkle inclusion proof. */
export const proofSchema = z.strictObject({
  leafIndex: count,
  treeSize: count,
  path: z.array(hex32).max(64),
});

/** Most output ids a receipt carries. Why 2^20: more than any context ARIA serves. */
export const MAX_RECEIPT_OUTPUT_IDS = 1 << 20;

/** A provenance receipt (receipt.ts). */
export const receiptSchema = z.strictObject({
  kind: z.literal("aria.receipt"),
  version: z.literal(1),
  recordHash: hex32,
  record: signedRecordSchema,
  // version 2 records: the sampled token ids themselves (not signed; receipt.ts checks them
  // against the record's outputIdsHash), so that a replay can name the first differing token
  outputIds: z.array(z.int().min(0).max(0xffffffff)).max(MAX_RECEIPT_OUTPUT_IDS).optional(),
  // version 2 records with continued > 0 (a fail-over): the ids another node generated, which
  // this node took as the end of its prompt (not signed; their count must be the record's
  // `continued`, and with the requester's prompt they must hash to promptIdsHash: replay.ts)
  continuedIds: z.array(z.int().min(0).max(0xffffffff)).max(MAX_RECEIPT_OUTPUT_IDS).optional(),
  block: z.strictObject({
    hash: hex32,
    header: headerSchema,
    signature,
    proof: proofSchema,
  }).optional(),
});

/**
 * The first line of an export file (version 2: may hold policy changes, version 2 headers;
 * version 3: may also hold version 2 inference records).
 */
export const exportHeadSchema = z.strictObject({
  kind: z.literal("aria.ledger.export"),
  version: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  height: count,
  headHash: hex32,
});

/** Peer message: a run of signed headers, oldest first. */
export const headersMessageSchema = z.strictObject({
  kind: z.literal("ledger.headers"),
  version: z.literal(1),
  headers: z.array(signedHeaderSchema).max(MAX_ITEMS_PER_MESSAGE),
});

/** Peer message: ask for `count` signed headers from `fromHeight` (answered by ledger.headers). */
export const headersRequestSchema = z.strictObject({
  kind: z.literal("ledger.headers.request"),
  version: z.literal(1),
  fromHeight: count,
  count: z.int().min(1).max(MAX_ITEMS_PER_MESSAGE),
});

/** Peer message: ask for `count` whole blocks from `fromHeight`. */
export const blocksRequestSchema = z.strictObject({
  kind: z.literal("ledger.blocks.request"),
  version: z.literal(1),
  fromHeight: count,
  count: z.int().min(1).max(MAX_ITEMS_PER_MESSAGE),
});

/** Peer message: whole blocks, oldest first. */
export const blocksMessageSchema = z.strictObject({
  kind: z.literal("ledger.blocks"),
  version: z.literal(1),
  blocks: z.array(blockSchema).max(MAX_ITEMS_PER_MESSAGE),
});

/** A head attestation (attest.ts). */
export const headAttestationSchema = z.strictObject({
  version: z.literal(1),
  producer: hex32,
  height: count,
  headHash: hex32,
  witness: hex32,
  timestampMs: count,
  signature,
});

/** Peer message: countersignatures of chain heads (a witness's view of producers' heads). */
export const attestationsMessageSchema = z.strictObject({
  kind: z.literal("ledger.attestations"),
  version: z.literal(1),
  attestations: z.array(headAttestationSchema).max(MAX_ITEMS_PER_MESSAGE),
});

/** Any ledger peer message. */
export const ledgerMessageSchema = z.discriminatedUnion("kind", [
  headersMessageSchema,
  headersRequestSchema,
  blocksRequestSchema,
  blocksMessageSchema,
  attestationsMessageSchema,
]);

/** A ledger peer message. */
export type LedgerMessage = z.infer<typeof ledgerMessageSchema>;
/** A receipt as JSON. */
export type Receipt = z.infer<typeof receiptSchema>;
