import { describe, expect, test } from "bun:test";
import { JsonSchemaError } from "./json-schema.ts";
import { GrammarRuntime } from "./matcher.ts";
import { parseGrammar } from "./parse.ts";
import { MAX_PARALLEL_TOOL_CALLS, prefixRules, toolCallGrammar } from "./tool-call.ts";

const utf8 = new TextEncoder();

function accepts(grammar: string, text: string): boolean {
  const rt = new GrammarRuntime(parseGrammar(grammar));
  const s = rt.stepBytes(rt.start, utf8.encode(text));
  return s !== null && s.remaining === 0 && s.set.accepting;
}

const ADD = {
  name: "add",
  parameters: {
    type: "object",
    properties: { a: { type: "integer", minimum: 0, maximum: 9 }, b: { enum: ["x", "y"] } },
    required: ["a"],
  },
};
const NOW = { name: "now" };
const call = (inner: string) => `<tool_call>\n${inner}\n</tool_call>`;

describe("toolCallGrammar()", () => {
  test("accepts well-formed calls of the listed functions only", () => {
    const g = toolCallGrammar([ADD, NOW], { parallel: false });
    expect(accepts(g, call('{"name": "add", "arguments": {"a": 3}}'))).toBe(true);
    expect(accepts(g, call('{"name": "add", "arguments": {"a": 3, "b": "y"}}'))).toBe(true);
    expect(accepts(g, call('{"name": "now", "arguments": {"any": [1, {"k": null}]}}'))).toBe(true);
    for (
      const bad of [
        call('{"name": "add", "arguments": {"a": 10}}'), // outside the schema
        call('{"name": "add", "arguments": {"b": "x"}}'), // a required property missing
        call('{"name": "sub", "arguments": {"a": 1}}'), // not a listed function
        call('{"name": "now", "arguments": []}'), // arguments not an object
        `text ${call('{"name": "now", "arguments": {}}')}`, // nothing but calls
        call('{"name": "now", "arguments": {}}') + "\n" + call('{"name": "now", "arguments": {}}'),
      ]
    ) expect({ bad, ok: accepts(g, bad) }).toEqual({ bad, ok: false });
  });

  test("parallel: several calls, one newline apart, at most MAX_PARALLEL_TOOL_CALLS", () => {
    const g = toolCallGrammar([NOW], { parallel: true });
    const one = call('{"name": "now", "arguments": {}}');
    expect(accepts(g, [one, one, one].join("\n"))).toBe(true);
    expect(accepts(g, Array(MAX_PARALLEL_TOOL_CALLS).fill(one).join("\n"))).toBe(true);
    expect(accepts(g, Array(MAX_PARALLEL_TOOL_CALLS + 1).fill(one).join("\n"))).toBe(false);
  });

  test("parameters that are not an object schema, or strict ones it cannot enforce, are refused", () => {
    expect(() =>
      toolCallGrammar([{ name: "f", parameters: { type: "string" } }], { parallel: false })
    )
      .toThrow(JsonSchemaError);
    const pattern = { type: "object", properties: { s: { type: "string", pattern: "a+" } } };
    expect(() =>
      toolCallGrammar([{ name: "f", parameters: pattern, strict: true }], { parallel: false })
    ).toThrow(/tool "f".*pattern/);
    // not strict: the arguments are only held to be a JSON object
    const loose = toolCallGrammar([{ name: "f", parameters: pattern }], { parallel: false });
    expect(accepts(loose, call('{"name": "f", "arguments": {"s": "b", "t": 1}}'))).toBe(true);
    expect(() => toolCallGrammar([], { parallel: true })).toThrow(RangeError);
  });
});

describe("prefixRules()", () => {
  test("renames rules, leaves literals, classes, bounds and comments alone", () => {
    const g = 'root ::= a-b "root a" [a-z]{1,3} # root\nSPACE ::= " "\na-b ::= SPACE';
    expect(prefixRules(g, "p-")).toBe(
      'p-root ::= p-a-b "root a" [a-z]{1,3} # root\np-SPACE ::= " "\np-a-b ::= p-SPACE',
    );
  });
});
