/**
 * @module `aria run`: tokenize the prompt with the model's own vocabulary, then drive the
 * generation loop (src/generation) over the native engine, printing text as soon as it is safe
 * to show (complete UTF-8, no stop string or start of one).
 */
import { createGenerationEngine } from "../engine/index.ts";
import { openCliModel } from "./_open.ts";
import {
  createRng,
  generate,
  type GenerationResult,
  type StopReason,
  type TokenLogprobs,
} from "../generation/index.ts";
import { openGguf } from "../model/index.ts";
import { createTokenizer, type Tokenizer, vocabSourceFromGguf } from "../tokenizer/index.ts";
import type { RunCommand } from "./args.ts";
import { buildPromptIds } from "./prompt.ts";

/** One token's logprobs in the --json output (`token` is its text). */
export interface RunLogprob {
  id: number;
  token: string;
  logprob: number;
  top_logprobs: Array<{ id: number; token: string; logprob: number }>;
}

/** The --json output of `aria run`. */
export interface RunResult {
  text: string;
  tokens: number[];
  prompt_tokens: number;
  prompt_token_ids: number[];
  completion_tokens: number;
  finish_reason: "stop" | "length";
  stop_reason: StopReason;
  /** The stop string that ended the text, if one did. */
  stop_string?: string;
  /** With --logprobs. */
  logprobs?: RunLogprob[];
  prefill_ms: number;
  decode_ms: number;
  prefill_tps: number;
  decode_tps: number;
}

/**
 * Generates a continuation.
 *
 * @param cmd parsed options.
 * @param write receives text as it is generated (not called with --json).
 * @returns the result (printed as JSON with --json).
 * @throws {EngineError} for a bad model file or an engine failure.
 * @throws {ContextOverflowError} when the prompt does not fit the context.
 * @throws {RangeError} for an empty prompt.
 */
export async function runGenerate(
  cmd: RunCommand,
  write: (text: string) => void,
): Promise<RunResult> {
  using model = await openCliModel(cmd);
  const { file } = openGguf(cmd.model);
  const tokenizer = createTokenizer(vocabSourceFromGguf(file));
  const prompt = buildPromptIds(cmd, tokenizer, file).ids;
  const nCtx = cmd.ctx ??
    Math.min(model.info.nCtxTrain, Math.max(2048, prompt.length + cmd.maxTokens));
  const ctxOptions = { nCtx: Math.min(nCtx, model.info.nCtxTrain), nSeq: 1, nBatch: 256 };
  using ctx = model.createContext(
    cmd.threads ? { ...ctxOptions, nThreads: cmd.threads } : ctxOptions,
  );
  const gen = generate({ engine: createGenerationEngine(ctx), tokenizer }, prompt, {
    maxTokens: cmd.maxTokens,
    sampling: {
      temperature: cmd.temperature,
      topK: cmd.topK,
      topP: cmd.topP,
      minP: cmd.minP,
      repeatPenalty: cmd.repeatPenalty,
      repeatLastN: cmd.repeatLastN,
      frequencyPenalty: cmd.frequencyPenalty,
      presencePenalty: cmd.presencePenalty,
      logitBias: cmd.logitBias,
    },
    rng: createRng(cmd.seed),
    stop: cmd.stop,
    ...(cmd.logprobs !== undefined && cmd.json ? { logprobs: cmd.logprobs } : {}),
    clock: () => Bun.nanoseconds() / 1e6,
  });
  let step = await gen.next();
  for (; !step.done; step = await gen.next()) {
    if (!cmd.json && step.value.text.length > 0) write(step.value.text);
  }
  const result = toRunResult(step.value, prompt, tokenizer);
  if (cmd.json) write(`${JSON.stringify(result)}\n`);
  else write(`${step.value.tail}\n`);
  return result;
}

function toRunResult(r: GenerationResult, prompt: number[], tokenizer: Tokenizer): RunResult {
  const prefillMs = r.timings.promptMs;
  const decodeMs = r.timings.decodeMs;
  const result: RunResult = {
    text: r.text,
    tokens: r.tokens,
    prompt_tokens: prompt.length,
    prompt_token_ids: prompt,
    completion_tokens: r.usage.completionTokens,
    finish_reason: r.finishReason,
    stop_reason: r.stopReason,
    prefill_ms: round(prefillMs),
    decode_ms: round(decodeMs),
    prefill_tps: round(prompt.length / (prefillMs / 1000)),
    decode_tps: round(r.tokens.length / (decodeMs / 1000)),
  };
  if (r.stopString !== undefined) result.stop_string = r.stopString;
  if (r.logprobs) result.logprobs = r.logprobs.map((lp) => toRunLogprob(lp, tokenizer));
  return result;
}

function toRunLogprob(lp: TokenLogprobs, tokenizer: Tokenizer): RunLogprob {
  return {
    id: lp.token,
    token: tokenizer.tokenPiece(lp.token),
    logprob: lp.logprob,
    top_logprobs: lp.topLogprobs.map((t) => ({
      id: t.token,
      token: tokenizer.tokenPiece(t.token),
      logprob: t.logprob,
    })),
  };
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : 0;
}
