/**
 * @module Helpers for the in-process API tests: build an app over a FakeBackend with a fixed
 * clock, POST JSON, and read an SSE body into its `data:` payloads.
 */
import { createApp } from "../../src/api/app.ts";
import type { ApiDeps } from "../../src/api/app.ts";
import { FakeBackend, type FakeBackendOptions } from "./fake-backend.ts";

/** 2023-11-14T22:13:20Z. */
export const FIXED_MS = 1_700_000_000_000;

/**
 * An app over a fake backend.
 *
 * @param options fake settings.
 * @param deps extra deps.
 * @returns the app, the fake and the log lines.
 */
export function makeApp(options: FakeBackendOptions = {}, deps: Partial<ApiDeps> = {}) {
  const backend = new FakeBackend(options);
  const logs: Record<string, unknown>[] = [];
  const app = createApp({
    backend,
    clock: { nowMs: () => FIXED_MS },
    log: (e) => logs.push(e),
    ...deps,
  });
  return { app, backend, logs };
}

/**
 * A POST with a JSON body.
 *
 * @param body the body (strings are sent as is).
 * @param headers extra headers.
 * @returns the RequestInit.
 */
export function post(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/**
 * The `data:` payloads of an SSE body ("[DONE]" kept as a string).
 *
 * @param res the response.
 * @returns the parsed payloads in order.
 */
export async function sseEvents(res: Response): Promise<unknown[]> {
  const text = await res.text();
  expectFraming(text);
  return text.split("\n\n").filter((e) => e !== "").map((e) => {
    const data = e.slice("data: ".length);
    return data === "[DONE]" ? data : JSON.parse(data);
  });
}

/**
 * The JSON `data:` payloads of a streamed SSE body as they arrive (for timing and for acting on
 * the first token); stops at "[DONE]" and throws on an `error` payload.
 *
 * @param res the streaming response.
 * @returns the parsed chunks in order.
 */
export async function* sseChunks(res: Response): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of res.body!) {
    buffer += decoder.decode(bytes, { stream: true });
    let i: number;
    while ((i = buffer.indexOf("\n\n")) >= 0) {
      const data = buffer.slice(0, i).replace(/^data: /, "");
      buffer = buffer.slice(i + 2);
      if (data === "[DONE]") return;
      const chunk = JSON.parse(data) as Record<string, unknown>;
      if (chunk.error) throw new Error(JSON.stringify(chunk.error));
      yield chunk;
    }
  }
}

function expectFraming(text: string): void {
  for (const e of text.split("\n\n").filter((x) => x !== "")) {
    if (!e.startsWith("data: ") || e.includes("\n")) throw new Error(`Bad SSE event: ${e}`);
  }
  if (!text.endsWith("\n\n")) throw new Error("SSE body does not end with a blank line");
}

/** A chat body for the fake model. */
export function chat(extra: Record<string, unknown> = {}) {
  return { model: "fake-model", messages: [{ role: "user", content: "Hi" }], ...extra };
}
