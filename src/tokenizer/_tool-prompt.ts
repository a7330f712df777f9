/**
 * @module The tool format of chat templates that do not handle tools themselves (the built-in
 * templates, and file templates that never mention `tools`): Hermes / Qwen 2.5 style, written
 * into the messages before the template renders them (private to chat-template.ts). Pure.
 *
 * - The tool list goes at the end of the system message (a system message is added first when
 *   the conversation has none): a "# Tools" section with one compact JSON line per function
 *   (name, description, parameters) inside `<tools></tools>`, and the instruction to answer
 *   calls as
 *   `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`.
 * - An assistant turn's earlier calls are appended to its content in that same form.
 * - Tool results become user turns: each result inside `<tool_response>\n…\n</tool_response>`,
 *   consecutive results joined in one turn.
 *
 * Everything written here is message content, so the tokenizer never parses special-token text
 * in it (a tool description cannot inject `<|eot_id|>`). The API parses the model's answer in the
 * same format (src/api/_tool-calls.ts), and the grammar of `tool_choice: "required"` produces it.
 */
import type { ChatMessage, ChatTool } from "./chat-template.ts";

/** The opening tag of one call in the model's output. */
export const TOOL_CALL_OPEN = "<tool_call>";
/** The closing tag of one call. */
export const TOOL_CALL_CLOSE = "</tool_call>";

/**
 * One tool's line in the system prompt: its name, description and parameters as compact JSON
 * (no `{"type": "function", …}` wrapper: fewer tokens for small contexts).
 *
 * @param tool the function.
 * @returns JSON text.
 */
export function toolLine(tool: ChatTool): string {
  const fn: Record<string, unknown> = { name: tool.name };
  if (tool.description !== undefined) fn["description"] = tool.description;
  if (tool.parameters !== undefined) fn["parameters"] = tool.parameters;
  return JSON.stringify(fn);
}

/**
 * The system prompt section that lists the tools.
 *
 * @param tools the functions.
 * @returns the section's text.
 */
export function toolsSection(tools: readonly ChatTool[]): string {
  // short on purpose: small models have small contexts (aria-nano: 256 tokens)
  return "# Tools\n\nFunctions:\n<tools>\n" + tools.map(toolLine).join("\n") +
    "\n</tools>\n\nTo call one, answer:\n" +
    `${TOOL_CALL_OPEN}\n{"name": <name>, "arguments": <JSON object>}\n${TOOL_CALL_CLOSE}`;
}

/**
 * One call as the model writes it.
 *
 * @param name the function's name.
 * @param args the arguments as JSON text ("" = no arguments).
 * @returns the `<tool_call>` block.
 */
export function toolCallText(name: string, args: string): string {
  const a = args.trim() === "" ? "{}" : args;
  return `${TOOL_CALL_OPEN}\n{"name": ${
    JSON.stringify(name)
  }, "arguments": ${a}}\n${TOOL_CALL_CLOSE}`;
}

/**
 * Writes tools, calls and results into plain messages (the format in the module comment).
 *
 * @param messages the conversation (tool calls and tool results included).
 * @param tools the functions the model may call (may be empty: only the history is rewritten).
 * @returns messages with only `role` and `content`.
 */
export function toolsAsText(
  messages: readonly ChatMessage[],
  tools: readonly ChatTool[],
): ChatMessage[] {
  const out: ChatMessage[] = [];
  let prevTool = false; // the last message written is a tool result turn
  for (const m of messages) {
    if (m.role === "tool") {
      const text = `<tool_response>\n${m.content}\n</tool_response>`;
      const last = out[out.length - 1];
      // consecutive results share one user turn (as Qwen's template does)
      if (prevTool && last !== undefined) {
        out[out.length - 1] = { role: "user", content: `${last.content}\n${text}` };
      } else out.push({ role: "user", content: text });
      prevTool = true;
      continue;
    }
    prevTool = false;
    const calls = m.toolCalls ?? [];
    const content = calls.length === 0
      ? m.content
      : [m.content, ...calls.map((c) => toolCallText(c.name, c.arguments))]
        .filter((s) => s !== "").join("\n");
    out.push({ role: m.role, content });
  }
  if (tools.length === 0) return out;
  const section = toolsSection(tools);
  if (out[0]?.role === "system") {
    out[0] = { role: "system", content: `${out[0].content}\n\n${section}` };
  } else out.unshift({ role: "system", content: section });
  return out;
}
