/**
 * @module Perplexity computed by llama.cpp (the oracle's logits) with exactly the chunking and
 * scoring of `aria perplexity` (src/generation/perplexity.ts), for the aria-nano checks.
 */
import {
  PerplexityAccumulator,
  perplexityChunks,
  tokenNll,
} from "../../src/generation/perplexity.ts";
import { llamaPromptLogits } from "./llama-oracle.ts";

/**
 * llama.cpp's perplexity over the first `maxChunks` chunks of a token stream.
 *
 * @param modelPath GGUF file.
 * @param tokens the tokenized text (BOS first).
 * @param nCtx chunk length.
 * @param bos BOS id put first in every chunk.
 * @param maxChunks most chunks to score.
 * @returns Perplexity and tokens scored.
 */
export function llamaPerplexity(
  modelPath: string,
  tokens: readonly number[],
  nCtx: number,
  bos: number | undefined,
  maxChunks = Infinity,
): { perplexity: number; tokens: number } {
  const acc = new PerplexityAccumulator();
  for (const chunk of perplexityChunks(tokens, nCtx, bos).slice(0, maxChunks)) {
    const rows = llamaPromptLogits(modelPath, chunk.tokens, { nCtx, chunk: nCtx, threads: 1 });
    for (let j = chunk.first; j < nCtx - 1; j++) acc.add(tokenNll(rows[j]!, chunk.tokens[j + 1]!));
  }
  return { perplexity: acc.perplexity, tokens: acc.count };
}
