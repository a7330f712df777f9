/**
 * @module From a completed inference to a signed, stored record and its receipt: the prompt
 * and output hashes, the record fields, signing, appending through a `LedgerWriter` port, and
 * the receipt (with the block and inclusion proof when this append sealed one). Its
 * `record(input)` matches the API's `ProvenanceSink` port (src/contract/completion.ts) structurally, so
 * the ledger does not import the API. Pure given the injected identity, writer and clock.
 */
import type { NodeIdentity } from "../identity/identity.ts";
import {
  type Block,
  type EnergySource,
  type Hex32,
  type InferenceRecord,
  isHex32,
  isLedgerText,
  LEDGER_VERSION,
  type NodeUse,
  type RecordHash,
  sha256Text,
  type SignedRecord,
  ZERO_HASH,
} from "./entry.ts";
import { buildReceipt, verifyReceipt } from "./receipt.ts";
import { signRecord } from "./sign.ts";
import type { Receipt } from "./wire.ts";
import type { Result } from "../shared/result.ts";

/** What the prompt was: a chat (messages after validation) or a raw prompt. */
export type PromptInput =
  | { kind: "chat"; messages: readonly { role: string; content: string }[] }
  | { kind: "text"; prompt: string }
  /** embedding work (docs/ledger.md "Embeddings"): texts or token id arrays */
  | { kind: "embed"; inputs: readonly (string | readonly number[])[] };

/** The parts of a completed inference the ledger needs (the API's ProvenanceInput fits). */
export interface InferenceInput {
  request: { id: string; model: string; input: PromptInput };
  result: {
    usage: { promptTokens: number; completionTokens: number };
    timings: { queueMs: number; promptMs: number; decodeMs: number };
    /** A pipeline's nodes and the blocks each ran (default: this node, every block). */
    layers?: readonly { nodeId: string; layerStart: number; layerEnd: number }[];
  };
  output: string;
}

/** Energy and consent of one inference, supplied by the energy meter and consent engine. */
export interface WorkFacts {
  energyMj: number;
  energySource: EnergySource;
  /** Hash of the consent contract in force (default: none, all zero). */
  consentHash?: string;
  /** The nodes and layers (default: the result's pipeline layers, else this node, layers
   * [0, nLayers)). */
  nodes?: readonly NodeUse[];
}

/** Where records go (store.ts's LedgerStore implements it). */
export interface LedgerWriter {
  append(signed: SignedRecord): { hash: RecordHash; block?: Block };
}

/** Options of {@link createProvenanceRecorder}. */
export interface RecorderOptions {
  identity: NodeIdentity;
  writer: LedgerWriter;
  clock: { nowMs(): number };
  /** SHA-256 of the GGUF file the model was loaded from. */
  modelSha256: Hex32;
  /** The model's layer count (this node ran all of them when nodes are not given). */
  nLayers: number;
  /**
   * Energy and consent of an inference. Without it, energy is recorded as 0 mJ "estimated"
   * (no meter wired): never "measured".
   */
  describeWork?: (input: InferenceInput) => WorkFacts;
}

/**
 * The prompt hash: SHA-256 of the UTF-8 of `JSON.stringify(["chat", [[role, content], ...]])`
 * or `JSON.stringify(["text", prompt])`, so a client can recompute it from what it sent.
 *
 * @param input the prompt.
 * @returns the hash.
 */
export function promptHash(input: PromptInput): Hex32 {
  const value = input.kind === "chat"
    ? ["chat", input.messages.map((m) => [m.role, m.content])]
    : input.kind === "embed"
    ? ["embed", input.inputs]
    : ["text", input.prompt];
  return sha256Text(JSON.stringify(value));
}

/**
 * A name as ledger text: characters outside printable ASCII, `"` and `\` become `_`, and it is
 * cut to 256 characters (handled here: the model's identity is its SHA-256 anyway).
 *
 * @param name any name.
 * @returns a valid ledger text ("_" for an empty name).
 */
export function toLedgerText(name: string): string {
  const text = name.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "_").slice(0, 256);
  return isLedgerText(text) ? text : "_";
}

const ms = (x: number) => Math.max(0, Math.round(x));

/**
 * A pipeline's layer map as record nodes.
 *
 * @throws {RangeError} when a node id is not a hex32 public key (the record would not verify).
 */
function pipelineNodes(
  layers: InferenceInput["result"]["layers"],
): NodeUse[] | undefined {
  if (layers === undefined || layers.length === 0) return undefined;
  return layers.map((l) => {
    if (!isHex32(l.nodeId)) throw new RangeError(`Cannot record node "${l.nodeId.slice(0, 80)}"`);
    return { nodeId: l.nodeId, layerStart: l.layerStart, layerEnd: l.layerEnd };
  });
}

/**
 * Builds the unsigned record of an inference.
 *
 * @param input the inference.
 * @param options identity, model facts, clock and work facts.
 * @returns the record.
 * @throws {RangeError} when the work facts are malformed or claim a measured 0 mJ.
 */
export function buildRecord(
  input: InferenceInput,
  options: Readonly<Omit<RecorderOptions, "writer">>,
): InferenceRecord {
  const facts = options.describeWork?.(input) ??
    { energyMj: 0, energySource: "estimated" as const };
  if (!Number.isSafeInteger(facts.energyMj) || facts.energyMj < 0) {
    throw new RangeError(`Cannot record energy ${facts.energyMj} mJ: expected an integer >= 0`);
  }
  if (facts.energySource === "measured" && facts.energyMj === 0) {
    throw new RangeError("Cannot record a measured energy of 0 mJ: no inference costs nothing");
  }
  const consentHash = facts.consentHash ?? ZERO_HASH;
  if (!isHex32(consentHash)) throw new RangeError("Cannot record a malformed consent hash");
  const signer = options.identity.nodeId as string as Hex32;
  const { usage, timings } = input.result;
  return {
    version: LEDGER_VERSION,
    requestId: toLedgerText(input.request.id),
    modelId: toLedgerText(input.request.model),
    modelSha256: options.modelSha256,
    promptHash: promptHash(input.request.input),
    outputHash: sha256Text(input.output),
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    nodes: facts.nodes ?? pipelineNodes(input.result.layers) ??
      [{ nodeId: signer, layerStart: 0, layerEnd: options.nLayers }],
    timings: {
      queueMs: ms(timings.queueMs),
      promptMs: ms(timings.promptMs),
      decodeMs: ms(timings.decodeMs),
    },
    energyMj: facts.energyMj,
    energySource: facts.energySource,
    consentHash,
    timestampMs: ms(options.clock.nowMs()),
    signer,
  };
}

/**
 * A recorder with the API's `ProvenanceSink` shape: builds, signs and appends the record of
 * each inference and returns its receipt.
 *
 * @param options identity, writer, clock, model facts and work facts.
 * @returns the recorder.
 */
export function createProvenanceRecorder(
  options: Readonly<RecorderOptions>,
): { record(input: InferenceInput): { recordHash: string; receipt: Receipt } } {
  return {
    record(input) {
      const { signed } = signRecord(buildRecord(input, options), options.identity);
      const { hash, block } = options.writer.append(signed);
      return { recordHash: hash, receipt: buildReceipt(signed, block) };
    },
  };
}

/** What a relayed receipt must show for the request this node answered with it. */
export interface RelayExpectation {
  /** The peer that answered: it must be the record's signer. */
  peer: string;
  /** The request as this node's client sent it. */
  model: string;
  input: PromptInput;
  /** The text the client got, when the peer produced all of it (no fail-over): its hash must
   * be the record's output hash. */
  output?: string;
}

/**
 * Checks a receipt a peer sent back with its answer (protocol 1.3 `complete.end.receipt`) before
 * this node passes it to its client: a valid receipt (record hash, signature, and block proof
 * when present) signed by the peer that answered, for the model and prompt the client asked
 * for, and for the output the client got. Never throws.
 *
 * @param receipt the receipt as received (untrusted JSON).
 * @param expect the peer, the request and the output.
 * @returns the record hash and the receipt, or why it is not passed on.
 */
export function checkRelayedReceipt(
  receipt: unknown,
  expect: RelayExpectation,
): Result<{ recordHash: string; receipt: Receipt }, string> {
  const checked = verifyReceipt(receipt);
  if (!checked.ok) return checked;
  const { record } = (receipt as Receipt).record;
  if (record.signer !== expect.peer) {
    return { ok: false, error: "the receipt is signed by another node than the one that answered" };
  }
  if (record.modelId !== toLedgerText(expect.model)) {
    return { ok: false, error: "the receipt names another model" };
  }
  if (record.promptHash !== promptHash(expect.input)) {
    return { ok: false, error: "the receipt's prompt hash is not the request's" };
  }
  if (expect.output !== undefined && record.outputHash !== sha256Text(expect.output)) {
    return { ok: false, error: "the receipt's output hash is not the answer's" };
  }
  return { ok: true, value: { recordHash: checked.value.recordHash, receipt: receipt as Receipt } };
}
