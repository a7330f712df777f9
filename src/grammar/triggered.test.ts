import { describe, expect, test } from "bun:test";
import { parseGrammar } from "./parse.ts";
import { toolCallGrammar } from "./tool-call.ts";
import { createVocabTrie } from "./trie.ts";
import { createTriggeredConstraint, triggeredConstraintFor } from "./triggered.ts";

const utf8 = new TextEncoder();
// every byte, some longer pieces, and an end-of-generation token
const PIECES = ["<tool_call>", "<tool", "_call>\n{", "hello", "<tool_call>\nX", '"name": '];
const BYTES = [
  ...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)),
  ...PIECES.map((p) => utf8.encode(p)),
  new Uint8Array(0),
];
const EOS = BYTES.length - 1;
const trie = createVocabTrie(BYTES, (id) => id === EOS);
const id = (piece: string) =>
  piece.length === 1 ? piece.charCodeAt(0) : 256 + PIECES.indexOf(piece);
const GRAMMAR = toolCallGrammar([{
  name: "f",
  parameters: { type: "object", properties: { a: { enum: [1, 2] } }, required: ["a"] },
}], { parallel: false });
const CALL = '\n{"name": "f", "arguments": {"a": 2}}\n</tool_call>';

/** Feeds text one byte at a time (pieces first when named), checking each token is allowed. */
function feed(c: ReturnType<typeof createTriggeredConstraint>, tokens: number[]): void {
  for (const t of tokens) {
    expect({ t, ok: c.allows(t) }).toEqual({ t, ok: true });
    c.accept(t);
  }
}
const chars = (s: string) => [...s].map((ch) => ch.charCodeAt(0));

describe("createTriggeredConstraint()", () => {
  test("free text, then a held call, then free again; never done", () => {
    const c = createTriggeredConstraint(parseGrammar(GRAMMAR), trie, "<tool_call>");
    feed(c, [id("hello"), ...chars(" <b> "), EOS]);
    expect(c.allows(id("<tool_call>\nX"))).toBe(true); // free: anything goes
    feed(c, [id("<tool_call>")]);
    // inside the call: only the grammar's text
    expect(c.allows(id("hello"))).toBe(false);
    expect(c.allows(EOS)).toBe(false);
    expect(c.allows("\n".charCodeAt(0))).toBe(true);
    const out = new Int32Array(BYTES.length);
    const n = c.allowed(out);
    expect([...out.subarray(0, n)]).toEqual(["\n".charCodeAt(0)]);
    feed(c, chars(CALL)); // the call, byte by byte
    expect(c.done).toBe(false);
    expect(c.allows(id("hello"))).toBe(true); // free again after </tool_call>
    expect(c.allows(EOS)).toBe(true);
    expect(c.allowed(out)).toBe(BYTES.length);
  });

  test("a trigger split over tokens, or ending inside a token, still starts the grammar", () => {
    const split = createTriggeredConstraint(parseGrammar(GRAMMAR), trie, "<tool_call>");
    feed(split, [id("hello"), id("<tool"), ...chars("_call>")]);
    expect(split.allows("x".charCodeAt(0))).toBe(false);
    const inside = createTriggeredConstraint(parseGrammar(GRAMMAR), trie, "<tool_call>");
    feed(inside, [id("<tool"), id("_call>\n{")]); // the token carries the trigger's end and more
    expect(inside.allows(id('"name": '))).toBe(true);
    expect(inside.allows("x".charCodeAt(0))).toBe(false);
    // a refused value is refused, an allowed one goes through
    feed(inside, [id('"name": '), ...chars('"f", "arguments": {"a": ')]);
    expect(inside.allows("3".charCodeAt(0))).toBe(false);
    feed(inside, chars("1}}\n</tool_call>"));
    expect(inside.allows(id("hello"))).toBe(true);
  });

  test("a token that carries the trigger into refused text leaves the grammar off", () => {
    const c = createTriggeredConstraint(parseGrammar(GRAMMAR), trie, "<tool_call>");
    feed(c, [id("<tool_call>\nX"), id("hello"), EOS]);
  });

  test("fail-over: forced tokens advance it; an empty trigger is refused", () => {
    const c = triggeredConstraintFor(GRAMMAR, trie, "<tool_call>", [id("<tool_call>")]);
    expect(c.allows(id("hello"))).toBe(false);
    expect(() => createTriggeredConstraint(parseGrammar(GRAMMAR), trie, "")).toThrow(RangeError);
  });
});
