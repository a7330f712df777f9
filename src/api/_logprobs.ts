/**
 * @module Turns the backend's per-token logprobs (token ids) into OpenAI's two wire shapes:
 * chat `logprobs.content[{token, logprob, bytes, top_logprobs}]` and legacy completions
 * `{tokens, token_logprobs, top_logprobs, text_offset}`. Token texts come from the backend's
 * optional `tokenBytes`; a backend without it reports `""` with empty bytes. Pure.
 */
import type { TokenLogprobs } from "../generation/sampler.ts";

/** Bytes of one token's text (may be a partial UTF-8 sequence). */
export type TokenBytes = (token: number) => Uint8Array;

const decoder = new TextDecoder();

/** One entry of chat `logprobs.content`. */
export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/** Legacy completions `logprobs`. */
export interface TextLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

function piece(bytesOf: TokenBytes | undefined, token: number) {
  const b = bytesOf ? bytesOf(token) : new Uint8Array(0);
  return { token: decoder.decode(b), bytes: [...b] };
}

/**
 * Chat shape.
 *
 * @param lps the backend's logprobs.
 * @param bytesOf token id -> bytes.
 * @returns the `content` array.
 */
export function chatLogprobs(
  lps: readonly TokenLogprobs[],
  bytesOf: TokenBytes | undefined,
): ChatLogprob[] {
  return lps.map((lp) => ({
    ...piece(bytesOf, lp.token),
    logprob: lp.logprob,
    top_logprobs: lp.topLogprobs.map((t) => ({ ...piece(bytesOf, t.token), logprob: t.logprob })),
  }));
}

/**
 * Legacy completions shape. `text_offset` counts UTF-16 code units from the start of the
 * completion (not of the prompt: no `echo` here), starting at `offset`.
 *
 * @param lps the backend's logprobs.
 * @param bytesOf token id -> bytes.
 * @param offset text length before the first of these tokens.
 * @returns the shape.
 */
export function textLogprobs(
  lps: readonly TokenLogprobs[],
  bytesOf: TokenBytes | undefined,
  offset = 0,
): TextLogprobs {
  const out: TextLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let at = offset;
  for (const lp of lps) {
    const { token } = piece(bytesOf, lp.token);
    out.tokens.push(token);
    out.token_logprobs.push(lp.logprob);
    const top: Record<string, number> = {};
    for (const t of lp.topLogprobs) top[piece(bytesOf, t.token).token] ??= t.logprob;
    out.top_logprobs.push(top);
    out.text_offset.push(at);
    at += token.length;
  }
  return out;
}
