/**
 * @module Whether a completion request involves tools: functions to show the model, or calls and
 * results in its history. Backends that cannot render them (external upstreams, the simulation)
 * refuse such requests, and the peer router sends them only to nodes advertising "tools". Pure.
 */
import type { CompletionInput } from "./completion.ts";

/**
 * True when `input` lists tools or holds tool calls or tool results.
 *
 * @param input the request's input.
 * @returns whether a backend must handle tools to serve it.
 */
export function usesTools(input: CompletionInput): boolean {
  if (input.kind !== "chat") return false;
  return (input.tools?.length ?? 0) > 0 ||
    input.messages.some((m) => (m.toolCalls?.length ?? 0) > 0 || m.toolCallId !== undefined);
}
