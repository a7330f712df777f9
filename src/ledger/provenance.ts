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
  hashTokenIds,
  type Hex32,
  type InferenceRecord,
  isHex32,
  isLedgerText,
  LEDGER_VERSION,
  type NodeUse,
  numberText,
  RECORD_V2,
  type RecordHash,
  type ReplayFacts,
  sha256Text,
  type SignedRecord,
  ZERO_HASH,
} from "./entry.ts";
import { buildReceipt, verifyReceipt } from "./receipt.ts";
import { signRecord } from "./sign.ts";
import type { Receipt } from "./wire.ts";
import type { Result } from "../shared/result.ts";

/** One chat message as the prompt hash sees it (tool fields: tool calling). */
export interface PromptMessage {
  role: string;
  content: string;
  toolCalls?: readonly { id: string; name: string; arguments: string }[] | undefined;
  toolCallId?: string | undefined;
}

/** What the prompt was: a chat (messages after validation, tools) or a raw prompt. */
export type PromptInput =
  | {
    kind: "chat";
    messages: readonly PromptMessage[];
    tools?:
      | readonly { name: string; description?: string | undefined; parameters?: unknown }[]
      | undefined;
  }
  | { kind: "text"; prompt: string }
  /** embedding work (docs/ledger.md "Embeddings"): texts or token id arrays */
  | { kind: "embed"; inputs: readonly (string | readonly number[])[] };

/** Sampler settings as the backend used them (src/generation's SamplerOptions, all set). */
export interface ReplaySettings {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  repeatLastN: number;
  frequencyPenalty: number;
  presencePenalty: number;
  logitBias: ReadonlyMap<number, number>;
}

/** How an answer was computed (the contract's CompletionReplay fits). */
export interface ReplayInput {
  contract: number;
  sampler: number;
  head: ReplayFacts["head"];
  kvType: ReplayFacts["kvType"];
  sampling: Readonly<ReplaySettings>;
  grammar?: string;
  seed: number;
  promptIds: readonly number[];
  continued: number;
  outputIds: readonly number[];
}

/** The parts of a completed inference the ledger needs (the API's ProvenanceInput fits). */
export interface InferenceInput {
  request: { id: string; model: string; input: PromptInput };
  result: {
    usage: { promptTokens: number; completionTokens: number };
    timings: { queueMs: number; promptMs: number; decodeMs: number };
    /** A pipeline's nodes and the blocks each ran (default: this node, every block). */
    layers?: readonly { nodeId: string; layerStart: number; layerEnd: number }[];
    /** What re-running it needs: present, the record is version 2 (docs/ledger.md §2.4). */
    replay?: ReplayInput;
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
 * or `JSON.stringify(["text", prompt])`, so a client can recompute it from what it sent. With
 * tool calling (docs/ledger.md §2.1): a message with calls or a call id is
 * `[role, content, [[id, name, arguments], ...], toolCallId or null]`, and a chat with tools
 * ends with a third element `[[name, description or null, parameters or null], ...]`; without
 * them the hash is what it always was.
 *
 * @param input the prompt.
 * @returns the hash.
 */
export function promptHash(input: PromptInput): Hex32 {
  if (input.kind === "text") return sha256Text(JSON.stringify(["text", input.prompt]));
  if (input.kind === "embed") return sha256Text(JSON.stringify(["embed", input.inputs]));
  const messages = input.messages.map((m) =>
    (m.toolCalls?.length ?? 0) === 0 && m.toolCallId === undefined ? [m.role, m.content] : [
      m.role,
      m.content,
      (m.toolCalls ?? []).map((c) => [c.id, c.name, c.arguments]),
      m.toolCallId ?? null,
    ]
  );
  const tools = (input.tools ?? []).map((t) => [
    t.name,
    t.description ?? null,
    t.parameters ?? null,
  ]);
  const value = tools.length === 0 ? ["chat", messages] : ["chat", messages, tools];
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
 * The hash of a logit bias: SHA-256 of `JSON.stringify([[id, "bias"], ...])`, entries sorted by
 * id, each bias as a decimal text (entry.ts `numberText`); none or empty = all zero.
 *
 * @param bias token id -> bias.
 * @returns the hash.
 */
export function logitBiasHash(bias: ReadonlyMap<number, number> | undefined): Hex32 {
  if (bias === undefined || bias.size === 0) return ZERO_HASH;
  const entries = [...bias].sort((a, b) => a[0] - b[0]).map(([id, b]) => [id, numberText(b)]);
  return sha256Text(JSON.stringify(entries));
}

/**
 * The hash of a grammar: SHA-256 of its UTF-8; none = all zero.
 *
 * @param grammar the GBNF text.
 * @returns the hash.
 */
export function grammarHash(grammar: string | undefined): Hex32 {
  return grammar === undefined ? ZERO_HASH : sha256Text(grammar);
}

/**
 * The replay facts of a record (version 2, field 15) from how the backend computed the answer.
 *
 * @param r the backend's replay input.
 * @returns the facts.
 * @throws {RangeError} for a NaN setting or a token id outside 0 .. 2^32-1.
 */
export function replayFacts(r: Readonly<ReplayInput>): ReplayFacts {
  const s = r.sampling;
  return {
    contract: r.contract,
    sampler: r.sampler,
    head: r.head,
    kvType: r.kvType,
    sampling: {
      temperature: numberText(s.temperature),
      topK: numberText(s.topK),
      topP: numberText(s.topP),
      minP: numberText(s.minP),
      repeatPenalty: numberText(s.repeatPenalty),
      repeatLastN: numberText(s.repeatLastN),
      frequencyPenalty: numberText(s.frequencyPenalty),
      presencePenalty: numberText(s.presencePenalty),
    },
    logitBiasHash: logitBiasHash(s.logitBias),
    grammarHash: grammarHash(r.grammar),
    seed: r.seed >>> 0,
    promptIdCount: r.promptIds.length,
    promptIdsHash: hashTokenIds(r.promptIds),
    continued: r.continued,
    outputIdCount: r.outputIds.length,
    outputIdsHash: hashTokenIds(r.outputIds),
  };
}

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
  const { usage, timings, replay } = input.result;
  const record: InferenceRecord = {
    version: replay ? RECORD_V2 : LEDGER_VERSION,
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
  if (replay) record.replay = replayFacts(replay);
  return record;
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
      const replay = input.result.replay;
      // after a fail-over, the ids this node continued go with the receipt: the requester holds
      // the prompt, not them, and a replay needs both (replay.ts)
      const continued = replay && replay.continued > 0
        ? replay.promptIds.slice(replay.promptIds.length - replay.continued)
        : undefined;
      return {
        recordHash: hash,
        receipt: buildReceipt(signed, block, replay?.outputIds, continued),
      };
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
  /**
   * The sampling the request asked for: a version 2 record must name the same seed (when the
   * client gave one), logit bias, grammar and the settings the request set (top-k aside: a
   * backend clamps it to the vocabulary).
   */
  sampling?: {
    seed?: number;
    grammar?: string;
    settings: Readonly<Partial<ReplaySettings>>;
  };
}

// the first replay fact of a relayed version 2 record that is not what the request asked for
function relayedReplayProblem(
  facts: ReplayFacts,
  asked: NonNullable<RelayExpectation["sampling"]>,
): string | undefined {
  if (asked.seed !== undefined && facts.seed !== asked.seed >>> 0) return "another seed";
  if (facts.grammarHash !== grammarHash(asked.grammar)) return "another grammar";
  const { logitBias, topK: _clamped, ...numbers } = asked.settings;
  if (facts.logitBiasHash !== logitBiasHash(logitBias)) return "another logit bias";
  for (const [k, v] of Object.entries(numbers) as [keyof typeof numbers, number][]) {
    if (v !== undefined && facts.sampling[k] !== numberText(v)) return `another ${k}`;
  }
  return undefined;
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
  if (record.version === RECORD_V2 && record.replay && expect.sampling) {
    const problem = relayedReplayProblem(record.replay, expect.sampling);
    if (problem !== undefined) {
      return { ok: false, error: `the receipt's record names ${problem} than the request` };
    }
  }
  return { ok: true, value: { recordHash: checked.value.recordHash, receipt: receipt as Receipt } };
}
