/**
 * @module `aria perplexity`: perplexity of a model on a text file, computed the way
 * llama-perplexity does (src/generation/perplexity.ts): chunks of --ctx tokens, BOS first,
 * the second half of each chunk scored.
 */
import { readFileSync } from "node:fs";
import { defaultThreads } from "../engine/index.ts";
import { openCliModel } from "./_open.ts";
import { PerplexityAccumulator, perplexityChunks, tokenNll } from "../generation/index.ts";
import { openGguf } from "../model/index.ts";
import { createTokenizer, vocabSourceFromGguf } from "../tokenizer/index.ts";
import { AriaError } from "../shared/errors.ts";
import type { PerplexityCommand } from "./args.ts";

/** Result of `aria perplexity` (its --json output). */
export interface PerplexityResult {
  model: string;
  perplexity: number;
  stderr: number;
  /** Tokens scored. */
  tokens: number;
  /** Tokens in the whole text. */
  text_tokens: number;
  chunks: number;
  ctx: number;
  seconds: number;
}

/**
 * Computes the perplexity.
 *
 * @param cmd parsed options.
 * @param progress receives "[chunk]ppl" progress items (not called with --json).
 * @returns The result.
 * @throws {AriaError} When the text is shorter than one chunk.
 * @throws {EngineError} For a bad model file or an engine failure.
 */
export async function runPerplexity(
  cmd: PerplexityCommand,
  progress: (item: string) => void,
): Promise<PerplexityResult> {
  const text = readFileSync(cmd.file, "utf8");
  using model = await openCliModel(cmd);
  const { file } = openGguf(cmd.model);
  const tokenizer = createTokenizer(vocabSourceFromGguf(file));
  const nCtx = cmd.ctx ?? Math.min(512, model.info.nCtxTrain);
  const tokens = tokenizer.encode(text);
  const bos = tokenizer.vocab.addBos ? tokenizer.vocab.bosId : undefined;
  let chunks = perplexityChunks(tokens, nCtx, bos);
  if (cmd.chunks !== undefined) chunks = chunks.slice(0, cmd.chunks);
  if (chunks.length === 0) {
    throw new AriaError(
      "PPL_TEXT_TOO_SHORT",
      `Cannot compute perplexity: ${cmd.file} has ${tokens.length} tokens, fewer than one chunk of ${nCtx} (use a smaller --ctx)`,
    );
  }
  const nBatch = Math.min(nCtx, 512);
  using ctx = model.createContext({
    nCtx,
    nSeq: 1,
    nBatch,
    nThreads: cmd.threads ?? defaultThreads(),
  });
  const acc = new PerplexityAccumulator();
  const t0 = Bun.nanoseconds();
  for (const [c, chunk] of chunks.entries()) {
    ctx.truncate(0, 0);
    for (let s = 0; s < nCtx; s += nBatch) {
      const part = chunk.tokens.slice(s, s + nBatch);
      const want = part.map((_, i) => s + i >= chunk.first && s + i < nCtx - 1);
      ctx.decode(part, { logits: want });
      let row = 0;
      for (let i = 0; i < part.length; i++) {
        if (!want[i]) continue;
        acc.add(tokenNll(ctx.logits(row++), chunk.tokens[s + i + 1]!));
      }
    }
    if (!cmd.json) progress(`[${c + 1}]${acc.perplexity.toFixed(4)},`);
  }
  return {
    model: cmd.model,
    perplexity: acc.perplexity,
    stderr: acc.stderr,
    tokens: acc.count,
    text_tokens: tokens.length,
    chunks: chunks.length,
    ctx: nCtx,
    seconds: (Bun.nanoseconds() - t0) / 1e9,
  };
}

/** Human-readable summary, like llama-perplexity's last line. */
export function formatPerplexity(r: PerplexityResult): string {
  return `\nFinal estimate: PPL = ${r.perplexity.toFixed(4)} +/- ${r.stderr.toFixed(5)} ` +
    `(${r.tokens} tokens scored in ${r.chunks} chunks of ${r.ctx}, ${r.seconds.toFixed(1)} s)`;
}
