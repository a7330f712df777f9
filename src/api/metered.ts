/**
 * @module Consent metering of one generation: the admitted request's ticket counts its tokens and
 * is released exactly once. Shared by the API's routes (_run.ts) and by the peer server
 * (src/p2p/serve-peer.ts), which hold an admission for the same reasons. Pure.
 */
import type { CompletionChunk, CompletionResult, ConsentTicket } from "../contract/index.ts";

type Generation = AsyncGenerator<CompletionChunk, CompletionResult, void>;

/**
 * Wraps a backend generator so that the consent ticket counts its tokens and is released exactly
 * once however the completion ends: finished, thrown, or returned early (client disconnect, which
 * `streamResponse` turns into `gen.return()`). Tokens: each chunk's token ids as they are
 * produced, topped up to prompt + completion tokens at the end (backends that report no token
 * ids, such as an external upstream, are counted at the end only).
 *
 * @param gen the backend's generator.
 * @param ticket the admitted request's ticket.
 * @returns a generator with the same chunks and result.
 */
export async function* metered(gen: Generation, ticket: ConsentTicket): Generation {
  let counted = 0;
  let done = false;
  try {
    for (;;) {
      const r = await gen.next();
      if (r.done) {
        done = true;
        const total = r.value.usage.promptTokens + r.value.usage.completionTokens;
        if (total > counted) ticket.addTokens(total - counted);
        return r.value;
      }
      counted += r.value.tokens.length;
      ticket.addTokens(r.value.tokens.length);
      yield r.value;
    }
  } catch (err: unknown) {
    done = true; // the backend's generator has already ended by throwing
    throw err;
  } finally {
    ticket.release();
    // Returned early: finish the backend's generator too, so it frees its slot.
    // Terminated: an error while closing is the backend's to log; nobody waits for this result.
    if (!done) await gen.return(undefined as unknown as CompletionResult).catch(() => {});
  }
}
