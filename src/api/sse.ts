/**
 * @module Server-sent events framing for the streamed completions: one JSON object per
 * `data:` line, an `error` event after a failure, and the final `data: [DONE]`. Pure: strings in,
 * strings out; the route decides what to send.
 */

/** The line that ends an OpenAI stream. */
export const SSE_DONE = "data: [DONE]\n\n";

/**
 * Frames one JSON payload as an SSE event. JSON.stringify never emits a raw newline, so one
 * `data:` line always holds the whole payload.
 *
 * @param payload any JSON-serialisable value.
 * @returns `data: <json>\n\n`.
 * @example
 * ```ts
 * sseData({ a: 1 }); // 'data: {"a":1}\n\n'
 * ```
 */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** Headers of an SSE response. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  // Stops nginx-style proxies from buffering the stream.
  "x-accel-buffering": "no",
};
