/**
 * @module The grammar of `tool_choice: "required"` and of a named tool choice: the output is one
 * or more `<tool_call>\n{"name": "<a listed function>", "arguments": <JSON valid under that
 * function's parameters schema>}\n</tool_call>` blocks, separated by one newline, and nothing
 * else (the Hermes format of src/tokenizer/_tool-prompt.ts, which the API's parser reads). Each
 * function's arguments grammar comes from json-schema.ts, its rules renamed with a per-function
 * prefix so that several schemas live in one grammar. Pure.
 */
import { gbnfLiteral, JsonSchemaError, jsonSchemaToGrammar } from "./json-schema.ts";

/** A function as the grammar needs it. */
export interface ToolGrammarFunction {
  name: string;
  /** JSON Schema of the arguments (absent or `{}` = any JSON object). */
  parameters?: Record<string, unknown> | undefined;
  /**
   * true: a schema keyword the converter cannot enforce is an error (JsonSchemaError). false or
   * absent: such a function's arguments are only constrained to be a JSON object.
   */
  strict?: boolean | undefined;
}

/** Options of {@link toolCallGrammar}. */
export interface ToolGrammarOptions {
  /** More than one call allowed (`parallel_tool_calls`, default true in OpenAI's API). */
  parallel: boolean;
}

/** Most calls one answer may hold under `parallel` (why: a small model could loop otherwise). */
export const MAX_PARALLEL_TOOL_CALLS = 8;

/**
 * The grammar of an answer made of tool calls only.
 *
 * @param functions the functions that may be called (one for a named choice).
 * @param options parallel calls or exactly one.
 * @returns GBNF text with a `root` rule.
 * @throws {JsonSchemaError} for a parameters schema that is not an object schema, or that uses
 *   a keyword the converter cannot enforce when the function is `strict` (the message names the
 *   function).
 * @example
 * ```ts
 * toolCallGrammar([{ name: "get_weather", parameters: { type: "object" } }], { parallel: false });
 * ```
 */
export function toolCallGrammar(
  functions: readonly ToolGrammarFunction[],
  options: ToolGrammarOptions,
): string {
  if (functions.length === 0) throw new RangeError("Cannot build a tool grammar: no functions");
  const lines: string[] = [];
  const alternatives = functions.map((f, i) => {
    const args = argumentsGrammar(f);
    lines.push(...prefixRules(args, `tool${i}-`).trimEnd().split("\n"));
    const head = gbnfLiteral(`{"name": ${JSON.stringify(f.name)}, "arguments": `);
    return `${head} tool${i}-root`;
  });
  const root = options.parallel ? `call ("\\n" call){0,${MAX_PARALLEL_TOOL_CALLS - 1}}` : "call";
  return [
    `root ::= ${root}`,
    `call ::= "<tool_call>\\n" (${alternatives.join(" | ")}) "}\\n</tool_call>"`,
    ...lines,
  ].join("\n") + "\n";
}

function argumentsGrammar(f: ToolGrammarFunction): string {
  const p = f.parameters ?? {};
  const schema = Object.keys(p).length === 0 ? { type: "object" } : p;
  const type = schema["type"];
  if (type !== undefined && type !== "object") {
    throw new JsonSchemaError(
      `Cannot use the parameters of tool "${f.name}": the schema must describe an object`,
    );
  }
  try {
    return jsonSchemaToGrammar(schema);
  } catch (err: unknown) {
    // converted (strict: the tool's name added) or handled (not strict: any JSON object)
    if (!(err instanceof JsonSchemaError)) throw err;
    if (f.strict === true) {
      throw new JsonSchemaError(
        `Cannot enforce the parameters of tool "${f.name}": ${err.message}`,
        {
          cause: err,
        },
      );
    }
    return jsonSchemaToGrammar({ type: "object" });
  }
}

/**
 * Renames every rule of a GBNF text with a prefix (definitions and references); literals, character
 * classes, repetition bounds and comments are left alone.
 *
 * @param gbnf grammar text.
 * @param prefix prepended to each rule name.
 * @returns the renamed grammar.
 */
export function prefixRules(gbnf: string, prefix: string): string {
  let out = "";
  let i = 0;
  const n = gbnf.length;
  while (i < n) {
    const ch = gbnf[i]!;
    if (ch === '"' || ch === "[") {
      const close = ch === '"' ? '"' : "]";
      let j = i + 1;
      while (j < n && gbnf[j] !== close) j += gbnf[j] === "\\" ? 2 : 1;
      out += gbnf.slice(i, j + 1);
      i = j + 1;
    } else if (ch === "{" || ch === "#") {
      const j = gbnf.indexOf(ch === "{" ? "}" : "\n", i);
      const end = j === -1 ? n : ch === "{" ? j + 1 : j;
      out += gbnf.slice(i, end);
      i = end;
    } else if (/[A-Za-z0-9-]/.test(ch)) {
      let j = i;
      while (j < n && /[A-Za-z0-9-]/.test(gbnf[j]!)) j++;
      out += prefix + gbnf.slice(i, j);
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
