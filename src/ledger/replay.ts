/**
 * @module Re-executing a receipt (docs/ledger.md §2.4): from a receipt and the request its client
 * kept, the plan of a replay (model, head, KV type, sampler settings, seed, the ids to expect),
 * and the comparison of a replay with the record: "reproduced", or where it differs. The shell
 * (`aria verify`, src/cli/verify.ts) runs the engine between the two. Pure.
 *
 * Each bad input is handled here and named in the returned error: a receipt that does not verify,
 * a version 1 record (no replay facts), a prompt file that is not JSON of the accepted shapes or
 * whose prompt is not the record's, a logit bias or grammar that is missing or not the record's,
 * and a record that continued another node's tokens (a fail-over) whose receipt does not carry
 * exactly those ids (`continuedIds`; with the prompt they must hash to the record's
 * promptIdsHash, which compareReplay checks).
 */
import {
  hashTokenIds,
  type Hex32,
  RECORD_V2,
  type ReplayFacts,
  type SignedRecord,
} from "./entry.ts";
import {
  grammarHash,
  logitBiasHash,
  promptHash,
  type PromptInput,
  type ReplaySettings,
} from "./provenance.ts";
import { verifyReceipt } from "./receipt.ts";
import type { Result } from "../shared/result.ts";
import type { Receipt } from "./wire.ts";

/** What the requester kept: the prompt, and the logit bias and grammar if it sent them. */
export interface ReplayRequest {
  input: PromptInput;
  logitBias?: ReadonlyMap<number, number>;
  grammar?: string;
  /**
   * Where a lazy grammar starts (tool_choice "auto": the tool call grammar from `<tool_call>`
   * on); with `grammar` only. Not in the record: the request determines it, as it did on the
   * node.
   */
  grammarTrigger?: string;
}

/** Everything a replay needs, taken from a verified receipt and the request. */
export interface ReplayPlan {
  recordHash: string;
  signer: string;
  modelId: string;
  modelSha256: Hex32;
  contract: number;
  sampler: number;
  head: ReplayFacts["head"];
  kvType: ReplayFacts["kvType"];
  sampling: ReplaySettings;
  grammar?: string;
  /** The grammar applies from this text on (see ReplayRequest). */
  grammarTrigger?: string;
  seed: number;
  input: PromptInput;
  /**
   * Ids another node generated that the record's node continued after a fail-over (from the
   * receipt; empty when none): the replay evaluates the prompt's ids followed by these.
   */
  continuedIds: readonly number[];
  promptIdCount: number;
  promptIdsHash: Hex32;
  outputIdCount: number;
  outputIdsHash: Hex32;
  /** The sampled ids, when the receipt carries them (checked against the hash). */
  outputIds?: readonly number[];
}

/** What a replay produced: the ids it evaluated and the ids it sampled. */
export interface ReplayRun {
  promptIds: readonly number[];
  outputIds: readonly number[];
}

/** How a replay compares with the record. */
export type ReplayOutcome =
  | { kind: "reproduced"; tokens: number }
  /** The prompt tokenized to other ids than the node evaluated (template, tokenizer, tools). */
  | { kind: "prompt-differs"; expectedCount: number; actualCount: number }
  /**
   * The sampled ids differ from the record's. Where (`index`, the first differing token, with the
   * recorded `expected` and the replayed `actual` id) is known when the receipt carries its ids.
   */
  | { kind: "output-differs"; index?: number; expected?: number; actual?: number };

/**
 * Reads the request file a client kept: a JSON array of chat messages, an object with
 * `messages` (an OpenAI chat body) or `prompt` (a completions body, a string), optionally with
 * `logit_bias` (token id -> bias, OpenAI's shape) and `grammar` (GBNF text); anything that is not
 * JSON of these shapes is taken as the raw text of a completions prompt.
 *
 * @param text the file's text.
 * @returns the request, or why it cannot be used.
 */
export function parseReplayRequest(text: string): Result<ReplayRequest, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // handled: not JSON, so the whole file is the prompt of a text completion
    return { ok: true, value: { input: { kind: "text", prompt: text } } };
  }
  if (Array.isArray(value)) return chatRequest(value, {});
  if (value === null || typeof value !== "object") {
    return { ok: true, value: { input: { kind: "text", prompt: text } } };
  }
  const body = value as Record<string, unknown>;
  const extras = extrasOf(body);
  if (!extras.ok) return extras;
  if (Array.isArray(body.messages)) return chatRequest(body.messages, extras.value);
  if (typeof body.prompt === "string") {
    return { ok: true, value: { input: { kind: "text", prompt: body.prompt }, ...extras.value } };
  }
  return {
    ok: false,
    error: 'the prompt file holds JSON without "messages" (an array) or "prompt" (a string)',
  };
}

type Extras = { logitBias?: ReadonlyMap<number, number>; grammar?: string };

function extrasOf(body: Record<string, unknown>): Result<Extras, string> {
  const extras: Extras = {};
  if (body.logit_bias !== undefined && body.logit_bias !== null) {
    if (typeof body.logit_bias !== "object" || Array.isArray(body.logit_bias)) {
      return { ok: false, error: "logit_bias is not an object of token id -> bias" };
    }
    const bias = new Map<number, number>();
    for (const [id, b] of Object.entries(body.logit_bias as Record<string, unknown>)) {
      if (!/^(0|[1-9][0-9]{0,9})$/.test(id) || typeof b !== "number" || !Number.isFinite(b)) {
        return { ok: false, error: `logit_bias entry "${id.slice(0, 20)}" is not id -> number` };
      }
      bias.set(Number(id), b);
    }
    if (bias.size > 0) extras.logitBias = bias;
  }
  if (body.grammar !== undefined) {
    if (typeof body.grammar !== "string") return { ok: false, error: "grammar is not a string" };
    extras.grammar = body.grammar;
  }
  return { ok: true, value: extras };
}

const ROLES = new Set(["system", "user", "assistant", "tool"]);

// content as the API joins it: a string, null, or text parts joined with ""
function chatRequest(messages: unknown[], extras: Extras): Result<ReplayRequest, string> {
  const out: { role: string; content: string }[] = [];
  for (const [i, m] of messages.entries()) {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || !ROLES.has(role)) {
      return { ok: false, error: `message ${i} has no role among system, user, assistant, tool` };
    }
    let text: string;
    if (content === null || content === undefined) text = "";
    else if (typeof content === "string") text = content;
    else if (Array.isArray(content) && content.every((p) => typeof p?.text === "string")) {
      text = content.map((p: { text: string }) => p.text).join("");
    } else return { ok: false, error: `message ${i} has content that is not text` };
    out.push({ role, content: text });
  }
  if (out.length === 0) return { ok: false, error: "the prompt file holds no messages" };
  return { ok: true, value: { input: { kind: "chat", messages: out }, ...extras } };
}

/**
 * Plans the replay of a receipt: checks the receipt (receipt.ts), that its record is version 2,
 * that the request is the one the record was made for (prompt hash, logit bias and grammar
 * hashes), and turns the recorded settings back into numbers.
 *
 * @param receipt the receipt as read (untrusted JSON).
 * @param request what the client kept.
 * @returns the plan, or why there is nothing to replay.
 */
export function planReplay(receipt: unknown, request: ReplayRequest): Result<ReplayPlan, string> {
  const checked = verifyReceipt(receipt);
  if (!checked.ok) return { ok: false, error: `the receipt does not verify: ${checked.error}` };
  const r = receipt as Receipt;
  const { record } = r.record as SignedRecord;
  const f = record.replay;
  if (record.version !== RECORD_V2 || f === undefined) {
    return {
      ok: false,
      error: "the record is version 1: it names no replay facts (seed, settings, token ids)",
    };
  }
  if (promptHash(request.input) !== record.promptHash) {
    return {
      ok: false,
      error: "the prompt is not the one this record was made for (its hash differs from the " +
        "record's promptHash)",
    };
  }
  if (logitBiasHash(request.logitBias) !== f.logitBiasHash) {
    return {
      ok: false,
      error: f.logitBiasHash === ZERO
        ? "the prompt file has a logit_bias and the record names none"
        : "the record names a logit bias: the prompt file must hold the same logit_bias",
    };
  }
  if (grammarHash(request.grammar) !== f.grammarHash) {
    return {
      ok: false,
      error: f.grammarHash === ZERO
        ? "the prompt file has a grammar and the record names none"
        : 'the record names a grammar: the prompt file must hold the same "grammar"',
    };
  }
  // a fail-over: the ids another node generated come with the receipt (checked against the
  // record's count there, and with the prompt against promptIdsHash by compareReplay)
  const continuedIds = r.continuedIds ?? [];
  if (continuedIds.length !== f.continued) {
    return {
      ok: false,
      error: `the record continued ${f.continued} tokens another node generated (a fail-over), ` +
        `and the receipt carries ${continuedIds.length} of them (continuedIds)`,
    };
  }
  const num = (k: keyof typeof f.sampling) => Number(f.sampling[k]);
  const plan: ReplayPlan = {
    recordHash: checked.value.recordHash,
    signer: record.signer,
    modelId: record.modelId,
    modelSha256: record.modelSha256,
    contract: f.contract,
    sampler: f.sampler,
    head: f.head,
    kvType: f.kvType,
    sampling: {
      temperature: num("temperature"),
      topK: num("topK"),
      topP: num("topP"),
      minP: num("minP"),
      repeatPenalty: num("repeatPenalty"),
      repeatLastN: num("repeatLastN"),
      frequencyPenalty: num("frequencyPenalty"),
      presencePenalty: num("presencePenalty"),
      logitBias: request.logitBias ?? new Map(),
    },
    seed: f.seed,
    input: request.input,
    continuedIds,
    promptIdCount: f.promptIdCount,
    promptIdsHash: f.promptIdsHash,
    outputIdCount: f.outputIdCount,
    outputIdsHash: f.outputIdsHash,
  };
  if (request.grammar !== undefined) {
    plan.grammar = request.grammar;
    if (request.grammarTrigger !== undefined) plan.grammarTrigger = request.grammarTrigger;
  }
  if (r.outputIds !== undefined) plan.outputIds = r.outputIds;
  return { ok: true, value: plan };
}

const ZERO = "0".repeat(64);

/**
 * Compares a replay with the record: the evaluated ids must hash to the record's promptIdsHash,
 * and the sampled ids to its outputIdsHash (same count).
 *
 * @param plan the plan.
 * @param run what the replay evaluated and sampled (`outputIdCount` tokens, or fewer if it ended).
 * @returns "reproduced", or the first difference.
 */
export function compareReplay(plan: Readonly<ReplayPlan>, run: Readonly<ReplayRun>): ReplayOutcome {
  if (
    run.promptIds.length !== plan.promptIdCount ||
    hashTokenIds(run.promptIds) !== plan.promptIdsHash
  ) {
    return {
      kind: "prompt-differs",
      expectedCount: plan.promptIdCount,
      actualCount: run.promptIds.length,
    };
  }
  const same = run.outputIds.length === plan.outputIdCount &&
    hashTokenIds(run.outputIds) === plan.outputIdsHash;
  if (same) return { kind: "reproduced", tokens: run.outputIds.length };
  const expected = plan.outputIds;
  if (expected === undefined) {
    // without the ids, the first difference is unknown; the hash says that there is one
    return { kind: "output-differs" };
  }
  const n = Math.max(expected.length, run.outputIds.length);
  for (let i = 0; i < n; i++) {
    const want = expected[i];
    const got = run.outputIds[i];
    if (want !== got) {
      const d: ReplayOutcome = { kind: "output-differs", index: i };
      if (want !== undefined) d.expected = want;
      if (got !== undefined) d.actual = got;
      return d;
    }
  }
  // unreachable with a verified receipt (its ids hash to the record's); reported, not hidden
  return { kind: "output-differs", index: n };
}
