/**
 * @module `aria run`: tokenize the prompt with the model's own vocabulary, prefill it, then
 * sample token by token, printing text as soon as it forms complete UTF-8.
 */
import { openModel, setKernels } from "../engine/index.ts";
import type { KernelSet } from "../engine/index.ts";
import { createRng } from "../generation/rng.ts";
import { sampleToken } from "../generation/sampler.ts";
import { openGguf } from "../model/open.ts";
import { createTokenizer } from "../tokenizer/index.ts";
import { vocabSourceFromGguf } from "../tokenizer/vocab.ts";
import type { RunCommand } from "./args.ts";

/** The --json output of `aria run`. */
export interface RunResult {
  text: string;
  tokens: number[];
  prompt_tokens: number;
  prompt_token_ids: number[];
  completion_tokens: number;
  finish_reason: "stop" | "length";
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
 */
export async function runGenerate(
  cmd: RunCommand,
  write: (text: string) => void,
): Promise<RunResult> {
  if (cmd.kernels) await setKernels(cmd.kernels as KernelSet);
  using model = await openModel(cmd.model);
  const tokenizer = createTokenizer(vocabSourceFromGguf(openGguf(cmd.model).file));
  const prompt = cmd.promptTokens ??
    tokenizer.encode(cmd.prompt ?? "", { addBos: true, parseSpecial: false });
  const nCtx = cmd.ctx ??
    Math.min(model.info.nCtxTrain, Math.max(2048, prompt.length + cmd.maxTokens));
  const ctxOptions = { nCtx: Math.min(nCtx, model.info.nCtxTrain), nSeq: 1, nBatch: 256 };
  using ctx = model.createContext(
    cmd.threads ? { ...ctxOptions, nThreads: cmd.threads } : ctxOptions,
  );
  if (prompt.length === 0) throw new RangeError("Cannot run: the prompt has no tokens");
  if (prompt.length >= ctx.options.nCtx) {
    throw new RangeError(
      `Cannot run: the prompt has ${prompt.length} tokens, the context ${ctx.options.nCtx}`,
    );
  }
  const rng = createRng(cmd.seed);
  const sampler = { temperature: cmd.temperature, topK: cmd.topK, topP: cmd.topP, minP: cmd.minP };
  // generated text continues the prompt: keep the leading space of its first SentencePiece token
  const stream = tokenizer.createStreamDecoder({ stripSpacePrefix: false });

  let t0 = Bun.nanoseconds();
  for (let i = 0; i < prompt.length; i += ctx.options.nBatch) {
    ctx.decode(prompt.slice(i, i + ctx.options.nBatch));
  }
  const prefillMs = (Bun.nanoseconds() - t0) / 1e6;
  t0 = Bun.nanoseconds();
  const generated: number[] = [];
  let text = "";
  let finish: RunResult["finish_reason"] = "length";
  while (generated.length < cmd.maxTokens && ctx.seqLength(0) < ctx.options.nCtx) {
    const next = sampleToken(ctx.logits(0), sampler, rng);
    if (tokenizer.isEog(next)) {
      finish = "stop";
      break;
    }
    generated.push(next);
    const piece = stream.push(next);
    text += piece;
    if (!cmd.json && piece.length > 0) write(piece);
    if (generated.length < cmd.maxTokens && ctx.seqLength(0) < ctx.options.nCtx) ctx.decode([next]);
  }
  const tail = stream.flush();
  text += tail;
  const decodeMs = (Bun.nanoseconds() - t0) / 1e6;
  const result: RunResult = {
    text,
    tokens: generated,
    prompt_tokens: prompt.length,
    prompt_token_ids: prompt,
    completion_tokens: generated.length,
    finish_reason: finish,
    prefill_ms: round(prefillMs),
    decode_ms: round(decodeMs),
    prefill_tps: round(prompt.length / (prefillMs / 1000)),
    decode_tps: round(generated.length / (decodeMs / 1000)),
  };
  if (cmd.json) write(`${JSON.stringify(result)}\n`);
  else write(`${tail}\n`);
  return result;
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : 0;
}
