/**
 * @module A backend with its `complete` replaced and everything else forwarded (the wrappers that
 * meter or alter completions: p2p/serve-peer.ts, p2p/test-cheat.ts). One place, so a member added
 * to CompletionBackend is forwarded by every wrapper (the peer wrappers once dropped `embed`). Pure.
 */
import type { CompletionBackend } from "./completion.ts";

/**
 * @param backend the backend to forward to.
 * @param complete the new `complete`.
 * @returns a backend that is `backend` except for `complete`.
 */
export function withComplete(
  backend: CompletionBackend,
  complete: CompletionBackend["complete"],
): CompletionBackend {
  const wrapped: CompletionBackend = {
    kind: backend.kind,
    listModels: () => backend.listModels(),
    health: () => backend.health(),
    stats: () => backend.stats(),
    complete,
    close: () => backend.close(),
  };
  if (backend.tokenBytes) wrapped.tokenBytes = (m, t) => backend.tokenBytes!(m, t);
  if (backend.text) wrapped.text = (m) => backend.text!(m);
  if (backend.embed) wrapped.embed = (r, signal) => backend.embed!(r, signal);
  return wrapped;
}
