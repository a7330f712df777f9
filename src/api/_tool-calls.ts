/**
 * @module Tool calls out of a model's output: the Hermes blocks
 * `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>` (the format the chat templates
 * describe, src/tokenizer/_tool-prompt.ts, and the tool grammar produces,
 * src/grammar/tool-call.ts), whole or as a stream cut anywhere. Pure.
 *
 * What counts as a call (everything else stays content, never dropped): a closed block whose
 * text is a JSON object with `name` one of the request's functions and `arguments` (or
 * `parameters`, Llama's name) an object, or a string holding a JSON object, or absent (= `{}`).
 * An unterminated block (the output was cut) is content. With `maxCalls` reached, later blocks
 * are content. Arguments are re-serialised compactly (`JSON.stringify`).
 *
 * Content around calls: when there are calls, the content is the text outside them with trailing
 * whitespace removed, and null when nothing else is left; without calls it is the text as is.
 * The stream applies the same rule: whitespace is held back until text follows it, so the
 * streamed deltas concatenate to exactly the whole answer's content.
 */
import { TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from "../tokenizer/index.ts";

/** One call found in the output. */
export interface ParsedToolCall {
  name: string;
  /** Compact JSON text of the arguments object. */
  arguments: string;
}

/** A whole output split into content and calls. */
export interface ParsedOutput {
  /** null when the answer is calls only. */
  content: string | null;
  calls: ParsedToolCall[];
}

/** What the parser accepts. */
export interface ToolParseOptions {
  /** Names of the request's functions. */
  names: ReadonlySet<string>;
  /** Most calls to take (1 with `parallel_tool_calls: false`). */
  maxCalls: number;
}

/**
 * Reads one block's inner text as a call.
 *
 * @param inner the text between the tags.
 * @param names the request's functions.
 * @returns the call, or null when the text is not one.
 */
export function parseCallText(inner: string, names: ReadonlySet<string>): ParsedToolCall | null {
  let value: unknown;
  try {
    value = JSON.parse(inner);
  } catch {
    // handled: not JSON, so not a call (the block stays content)
    return null;
  }
  if (!isObject(value) || typeof value["name"] !== "string" || !names.has(value["name"])) {
    return null;
  }
  let args = value["arguments"] ?? value["parameters"] ?? {};
  if (typeof args === "string") {
    try {
      args = JSON.parse(args);
    } catch {
      // handled: a string that is not JSON is not an arguments object
      return null;
    }
  }
  if (!isObject(args)) return null;
  return { name: value["name"], arguments: JSON.stringify(args) };
}

/**
 * Splits a whole output into content and calls.
 *
 * @param text the model's output.
 * @param options the request's functions and the most calls to take.
 * @returns content (null when only calls) and calls.
 * @example
 * ```ts
 * parseToolCalls('<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>', {
 *   names: new Set(["f"]), maxCalls: 8,
 * }); // { content: null, calls: [{ name: "f", arguments: "{}" }] }
 * ```
 */
export function parseToolCalls(text: string, options: ToolParseOptions): ParsedOutput {
  const stream = new ToolCallStream(options);
  const a = stream.push(text);
  const b = stream.end();
  const calls = [...a.calls, ...b.calls];
  const content = a.content + b.content;
  return { content: calls.length > 0 && content === "" ? null : content, calls };
}

/** What one step of the stream releases. */
export interface StreamStep {
  /** Content safe to send now. */
  content: string;
  /** Calls completed by this step. */
  calls: ParsedToolCall[];
}

/** Incremental parser: text goes in as it is generated, content and whole calls come out. */
export class ToolCallStream {
  readonly #options: ToolParseOptions;
  /** Text not yet classified: a possible start of the open tag, or an open block. */
  #buf = "";
  #inBlock = false;
  /** Whitespace held back until text follows it (dropped at the end if there are calls). */
  #space = "";
  #count = 0;

  /** @param options the request's functions and the most calls to take. */
  constructor(options: ToolParseOptions) {
    this.#options = options;
  }

  /** Calls found so far. */
  get callCount(): number {
    return this.#count;
  }

  /**
   * Adds generated text.
   *
   * @param text the next piece of output.
   * @returns what can be released.
   */
  push(text: string): StreamStep {
    this.#buf += text;
    const out: StreamStep = { content: "", calls: [] };
    for (;;) {
      if (!this.#inBlock) {
        const open = this.#count < this.#options.maxCalls ? this.#buf.indexOf(TOOL_CALL_OPEN) : -1;
        if (open === -1) {
          const keep = this.#count < this.#options.maxCalls ? partialPrefix(this.#buf) : 0;
          this.#emit(out, this.#buf.slice(0, this.#buf.length - keep));
          this.#buf = this.#buf.slice(this.#buf.length - keep);
          return out;
        }
        this.#emit(out, this.#buf.slice(0, open));
        this.#buf = this.#buf.slice(open);
        this.#inBlock = true;
      }
      const close = this.#buf.indexOf(TOOL_CALL_CLOSE);
      if (close === -1) return out;
      const end = close + TOOL_CALL_CLOSE.length;
      const call = parseCallText(
        this.#buf.slice(TOOL_CALL_OPEN.length, close),
        this.#options.names,
      );
      if (call !== null) {
        out.calls.push(call);
        this.#count++;
      } else this.#emit(out, this.#buf.slice(0, end));
      this.#buf = this.#buf.slice(end);
      this.#inBlock = false;
    }
  }

  /**
   * Ends the stream: held text (a cut block, a partial tag) is content.
   *
   * @returns the last content (no new calls).
   */
  end(): StreamStep {
    const out: StreamStep = { content: "", calls: [] };
    this.#emit(out, this.#buf);
    this.#buf = "";
    this.#inBlock = false;
    if (this.#count === 0) out.content += this.#space;
    this.#space = "";
    return out;
  }

  #emit(out: StreamStep, text: string): void {
    if (text === "") return;
    const body = text.trimEnd();
    if (body === "") {
      this.#space += text;
      return;
    }
    out.content += this.#space + body;
    this.#space = text.slice(body.length);
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of the open tag. */
function partialPrefix(text: string): number {
  for (let k = Math.min(text.length, TOOL_CALL_OPEN.length - 1); k > 0; k--) {
    if (TOOL_CALL_OPEN.startsWith(text.slice(text.length - k))) return k;
  }
  return 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
