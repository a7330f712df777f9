/**
 * @module TEST ONLY: a cheating backend for the audit tests (issue 20). It is switched on by the
 * environment variable ARIA_TEST_ONLY_CHEAT_AFTER=N (config `testOnlyCheatAfter`, no flag) and
 * wraps only what a node serves to peers: every output token after the first N of an answer is
 * replaced by its neighbour id (t -> t - 1, 0 -> 1) and its text by that token's bytes, the
 * result's replay facts name the perturbed ids, and the node signs the perturbed answer as its own, like a node that saves work on long answers while
 * passing the 8-token model challenge (router.ts). An honest node never sets it. Pure.
 */
import type {
  CompletionBackend,
  CompletionChunk,
  CompletionRequest,
  CompletionResult,
} from "../contract/index.ts";
import { withComplete } from "../contract/index.ts";

/**
 * Wraps a backend to perturb every output token after the first `after` of each answer.
 *
 * @param backend the honest backend.
 * @param after tokens left as they are at the start of each answer.
 * @returns the cheating backend.
 */
export function cheatingBackend(backend: CompletionBackend, after: number): CompletionBackend {
  const decoder = new TextDecoder();
  async function* complete(
    request: CompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<CompletionChunk, CompletionResult, void> {
    const gen = backend.complete(request, signal);
    let seen = 0;
    const perturb = (t: number, i: number) => (i < after ? t : t === 0 ? 1 : t - 1);
    let step = await gen.next();
    for (; !step.done; step = await gen.next()) {
      const chunk = step.value;
      const tokens = chunk.tokens.map((t, i) => perturb(t, seen + i));
      const changed = tokens.some((t, i) => t !== chunk.tokens[i]);
      seen += tokens.length;
      if (!changed) {
        yield chunk;
        continue;
      }
      const bytes = tokens.map((t) => backend.tokenBytes?.(request.model, t) ?? new Uint8Array());
      const text = backend.tokenBytes ? decoder.decode(concat(bytes)) : `${chunk.text}~`;
      yield { ...chunk, tokens, text };
    }
    const r = step.value;
    if (r.replay === undefined) return r;
    return { ...r, replay: { ...r.replay, outputIds: r.replay.outputIds.map(perturb) } };
  }
  return withComplete(backend, complete);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
