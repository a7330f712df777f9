/**
 * @module `aria verify`: re-runs the inference a receipt names with the native engine and says
 * "reproduced" or where it differs. The decisions (which receipt, which request, what to expect,
 * how to compare) are src/ledger/replay.ts's; this shell reads the files, checks the model file's
 * SHA-256 and the engine's numerics contract, tokenizes the prompt as `aria serve` does, and
 * samples with the recorded settings and seed.
 */
import { createHash } from "node:crypto";
import { chatCompletionBody, completionBody, toChatRequest, toTextRequest } from "../api/index.ts";
import { readFileSync } from "node:fs";
import { defaultDataDir } from "../config/index.ts";
import {
  createGenerationEngine,
  kernelInfo,
  type KernelSet,
  numericsContract,
  openModel,
  setKernels,
} from "../engine/index.ts";
import { createRng, generate, SAMPLER_VERSION } from "../generation/index.ts";
import { constraintFor, triggeredConstraintFor, vocabTrieOf } from "../grammar/index.ts";
import {
  compareReplay,
  parseReplayRequest,
  planReplay,
  type ReplayOutcome,
  type ReplayPlan,
  type ReplayRequest,
} from "../ledger/index.ts";
import { openGguf, resolveModelPath } from "../model/index.ts";
import { AriaError } from "../shared/errors.ts";
import type { Result } from "../shared/result.ts";
import {
  chatModelInfoFromGguf,
  type ChatTool,
  chooseChatTemplate,
  createTokenizer,
  encodeChat,
  type Tokenizer,
  vocabSourceFromGguf,
} from "../tokenizer/index.ts";
import type { VerifyCommand } from "./verify-args.ts";

/** What `aria verify --json` prints. */
export type VerifyReport =
  | {
    ok: true;
    outcome: ReplayOutcome & { kind: "reproduced" };
    recordHash: string;
    kernels: string;
  }
  | {
    ok: false;
    reason: string;
    outcome?: ReplayOutcome;
    recordHash?: string;
    /** The texts of the differing tokens, when known. */
    expectedText?: string;
    actualText?: string;
  };

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err: unknown) {
    // handled: a missing or unreadable file is a plain failure with its name
    const code = (err as { code?: unknown }).code;
    throw new AriaError(
      "VERIFY_INPUT",
      `Cannot read the ${what} "${path}": ${String(code ?? err)}`,
    );
  }
}

// the receipt itself, or a response body (OpenAI / streamed provenance event) that carries one
function receiptOf(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // handled: reported as a receipt that does not verify, by planReplay's shape check
    return text;
  }
  const v = value as { kind?: unknown; provenance?: unknown };
  return v !== null && typeof v === "object" && v.kind !== "aria.receipt" &&
      v.provenance !== undefined
    ? v.provenance
    : value;
}

/**
 * The request a client kept. A whole OpenAI request body (`messages` or `prompt`) is read by the
 * API's own schema and converter, as the server read it: content parts, `logit_bias`, `grammar`,
 * `json_schema` and `response_format` give the same prompt, bias and grammar. Anything else (a
 * messages array, raw text) goes to the ledger's `parseReplayRequest`.
 */
function requestOf(text: string): Result<ReplayRequest, string> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // handled: not JSON, the raw text of a completions prompt (parseReplayRequest says so)
    return parseReplayRequest(text);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return parseReplayRequest(text);
  }
  const chat = "messages" in value;
  if (!chat && !("prompt" in value)) return parseReplayRequest(text);
  // the model name does not matter here (the record names the model): a body may omit it
  const body = { model: "verify", ...value };
  // handled: a body the server would have refused with a 400 cannot be the one it answered
  const bad = (issues: readonly { path: PropertyKey[]; message: string }[]) => ({
    ok: false as const,
    error: `"${issues[0]?.path.join(".")}": ${issues[0]?.message}`,
  });
  try {
    let request;
    if (chat) {
      const parsed = chatCompletionBody.safeParse(body);
      if (!parsed.success) return bad(parsed.error.issues);
      request = toChatRequest("chatcmpl-verify", parsed.data).request;
    } else {
      const parsed = completionBody.safeParse(body);
      if (!parsed.success) return bad(parsed.error.issues);
      request = toTextRequest("cmpl-verify", parsed.data).request;
    }
    const out: ReplayRequest = { input: request.input };
    const bias = request.sampling.logitBias;
    if (bias !== undefined && bias.size > 0) out.logitBias = bias;
    if (request.grammar !== undefined) out.grammar = request.grammar;
    // tool_choice "auto": the tool call grammar is lazy on the node, so it must be in the replay
    if (request.grammarTrigger !== undefined) out.grammarTrigger = request.grammarTrigger;
    return { ok: true, value: out };
  } catch (err: unknown) {
    // handled: what the server refuses (unsupported parameters, a bad grammar) is named here
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Runs `aria verify`.
 *
 * @param cmd the parsed command.
 * @param out receives the report (text lines, or one JSON line with --json).
 * @returns the exit code: 0 reproduced, 1 otherwise.
 * @throws {AriaError} VERIFY_INPUT for unreadable files; engine errors for a bad model file.
 */
export async function runVerify(cmd: VerifyCommand, out: (line: string) => void): Promise<number> {
  const report = await verifyReceiptByReplay(cmd);
  if (cmd.json) out(JSON.stringify(report));
  else if (report.ok) {
    out(
      `reproduced: ${report.outcome.tokens} tokens, bit for bit (record ${report.recordHash}, ` +
        `kernels ${report.kernels})`,
    );
  } else out(`NOT reproduced: ${report.reason}`);
  return report.ok ? 0 : 1;
}

async function verifyReceiptByReplay(cmd: VerifyCommand): Promise<VerifyReport> {
  const request = requestOf(readText(cmd.prompt, "prompt file"));
  if (!request.ok) return { ok: false, reason: `the prompt file: ${request.error}` };
  const planned = planReplay(receiptOf(readText(cmd.receipt, "receipt")), request.value);
  if (!planned.ok) return { ok: false, reason: planned.error };
  const plan = planned.value;
  const fail = (reason: string): VerifyReport => ({
    ok: false,
    reason,
    recordHash: plan.recordHash,
  });

  if (plan.sampler !== SAMPLER_VERSION) {
    return fail(
      `the record's sampler is version ${plan.sampler}; this aria has ${SAMPLER_VERSION}`,
    );
  }
  const contract = await numericsContract();
  if (plan.contract !== contract) {
    return fail(
      `the record was made under engine numerics contract ${plan.contract}; this engine ` +
        `implements ${contract}, so the logits need not match bit for bit`,
    );
  }
  const modelPath = cmd.model ?? await resolveModelPath(plan.modelId, defaultDataDir());
  const { bytes, file } = openGguf(modelPath);
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== plan.modelSha256) {
    return fail(
      `the model file "${modelPath}" (SHA-256 ${sha}) is not the one the record names ` +
        `(${plan.modelSha256}): pass it with --model`,
    );
  }
  if (cmd.kernels) await setKernels(cmd.kernels as KernelSet);
  const tokenizer = createTokenizer(vocabSourceFromGguf(file));
  // after a fail-over the node evaluated the prompt and then the ids it continued (the receipt's)
  const promptIds = [...promptIdsOf(plan, tokenizer, file), ...plan.continuedIds];
  // the prompt must tokenize to the record's ids before anything is evaluated
  const early = compareReplay(plan, { promptIds, outputIds: [] });
  if (early.kind === "prompt-differs") return describe(early, plan, tokenizer);

  using model = await openModel(modelPath, { outputHead: plan.head, repack: true });
  // the context only needs to hold this replay: the logits do not depend on its size
  const nCtx = Math.min(model.info.nCtxTrain, plan.promptIdCount + plan.outputIdCount + 1);
  const sizes = { nCtx, nSeq: 1, nBatch: 256, kvType: plan.kvType };
  using ctx = model.createContext(cmd.threads ? { ...sizes, nThreads: cmd.threads } : sizes);
  // as the native backend builds it: a trigger (tool_choice "auto") makes the grammar lazy
  // (a grammar starts after the continued ids, as the node's did)
  const constraint = plan.grammar === undefined
    ? undefined
    : plan.grammarTrigger === undefined
    ? constraintFor(plan.grammar, vocabTrieOf(tokenizer), plan.continuedIds)
    : triggeredConstraintFor(
      plan.grammar,
      vocabTrieOf(tokenizer),
      plan.grammarTrigger,
      plan.continuedIds,
    );
  const gen = generate({ engine: createGenerationEngine(ctx), tokenizer }, promptIds, {
    maxTokens: plan.outputIdCount,
    sampling: plan.sampling,
    rng: createRng(plan.seed),
    ...(constraint ? { constraint } : {}),
  });
  const outputIds: number[] = [];
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) outputIds.push(step.value.token);
  const outcome = compareReplay(plan, { promptIds, outputIds });
  if (outcome.kind !== "reproduced") return describe(outcome, plan, tokenizer);
  const { kernels } = await kernelInfo();
  return { ok: true, outcome, recordHash: plan.recordHash, kernels };
}

// the prompt ids exactly as `aria serve`'s native backend builds them
function promptIdsOf(
  plan: ReplayPlan,
  tokenizer: Tokenizer,
  file: ReturnType<typeof openGguf>["file"],
): number[] {
  if (plan.input.kind === "text") return tokenizer.encode(plan.input.prompt, { addBos: true });
  // handled here: an embedding record has no generated tokens to replay
  if (plan.input.kind === "embed") throw new Error("an embedding record has nothing to replay");
  const template = chooseChatTemplate(chatModelInfoFromGguf(file));
  // tool calling: the calls, call ids and tools render into the prompt as on the node
  // (tools come only from an OpenAI body read by the API's schema: parameters is an object)
  const tools = plan.input.tools as readonly ChatTool[] | undefined;
  return encodeChat(tokenizer, plan.input.messages, { template, tools }).ids;
}

function describe(
  outcome: Exclude<ReplayOutcome, { kind: "reproduced" }>,
  plan: ReplayPlan,
  tokenizer: Tokenizer,
): VerifyReport {
  const base = { ok: false as const, outcome, recordHash: plan.recordHash };
  switch (outcome.kind) {
    case "prompt-differs":
      return {
        ...base,
        reason: `the prompt tokenizes to ${outcome.actualCount} ids here and the record's ` +
          `${outcome.expectedCount} ids hash differently (another chat template, tokenizer, ` +
          "or tools in the request)",
      };
    case "output-differs": {
      if (outcome.index === undefined) {
        return {
          ...base,
          reason: "the sampled token ids differ from the record's (its receipt carries no ids, " +
            "so the first difference is unknown)",
        };
      }
      const text = (id: number | undefined) =>
        id === undefined
          ? "(none: the run ended)"
          : `${id} ${JSON.stringify(tokenizer.tokenPiece(id))}`;
      const r: VerifyReport = {
        ...base,
        reason: `token ${outcome.index} differs: the record has ${text(outcome.expected)}, ` +
          `this run sampled ${text(outcome.actual)}`,
      };
      if (outcome.expected !== undefined) r.expectedText = tokenizer.tokenPiece(outcome.expected);
      if (outcome.actual !== undefined) r.actualText = tokenizer.tokenPiece(outcome.actual);
      return r;
    }
  }
}
