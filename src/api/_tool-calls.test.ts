import { describe, expect, test } from "bun:test";
import { parseCallText, parseToolCalls, ToolCallStream } from "./_tool-calls.ts";

const OPTS = { names: new Set(["get_weather", "now"]), maxCalls: 8 };
const block = (inner: string) => `<tool_call>\n${inner}\n</tool_call>`;
const W = block('{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}');
const N = block('{"name": "now", "arguments": {}}');

/** Feeds `text` cut at every position in `cuts` and joins what the stream releases. */
function streamed(text: string, cuts: number[], options = OPTS) {
  const s = new ToolCallStream(options);
  let content = "";
  const calls = [];
  let pos = 0;
  for (const c of [...cuts, text.length]) {
    const step = s.push(text.slice(pos, c));
    content += step.content;
    calls.push(...step.calls);
    pos = c;
  }
  const last = s.end();
  return { content: content + last.content, calls: [...calls, ...last.calls] };
}

describe("parseToolCalls", () => {
  test("one call: no content, compact arguments", () => {
    expect(parseToolCalls(W, OPTS)).toEqual({
      content: null,
      calls: [{ name: "get_weather", arguments: '{"city":"Paris","days":2}' }],
    });
  });

  test("several calls with text before and between", () => {
    const out = parseToolCalls(`Let me check.\n${W}\n${N}\n`, OPTS);
    expect(out.content).toBe("Let me check.");
    expect(out.calls.map((c) => c.name)).toEqual(["get_weather", "now"]);
  });

  test("text without calls is kept exactly, whitespace included", () => {
    const text = "  Hello <tool world\n\n";
    expect(parseToolCalls(text, OPTS)).toEqual({ content: text, calls: [] });
  });

  test("malformed blocks stay content", () => {
    const bad = [
      block('{"name": "get_weather", "arguments": {"city": '), // bad JSON
      block('{"name": "unknown", "arguments": {}}'), // not a listed function
      block('{"arguments": {}}'), // no name
      block('{"name": "now", "arguments": [1]}'), // arguments not an object
      block('{"name": "now", "arguments": "not json"}'),
      block("[]"),
    ];
    for (const b of bad) {
      expect(parseToolCalls(b, OPTS)).toEqual({ content: b, calls: [] });
    }
  });

  test("an unterminated block (cut by max_tokens) is content", () => {
    const cut = W.slice(0, 30);
    expect(parseToolCalls(`${N}${cut}`, OPTS)).toEqual({
      content: cut,
      calls: [{ name: "now", arguments: "{}" }],
    });
  });

  test("arguments as a JSON string, `parameters`, or absent", () => {
    expect(parseCallText('{"name": "now", "arguments": "{\\"a\\": 1}"}', OPTS.names)?.arguments)
      .toBe('{"a":1}');
    expect(parseCallText('{"name": "now", "parameters": {"b": true}}', OPTS.names)?.arguments)
      .toBe('{"b":true}');
    expect(parseCallText('{"name": "now"}', OPTS.names)?.arguments).toBe("{}");
  });

  test("maxCalls 1: later blocks are content", () => {
    const out = parseToolCalls(`${W}\n${N}`, { ...OPTS, maxCalls: 1 });
    expect(out.calls.map((c) => c.name)).toEqual(["get_weather"]);
    expect(out.content).toBe(`\n${N}`);
  });
});

describe("ToolCallStream", () => {
  const texts = [
    W,
    `Sure.\n${W}\n${N}`,
    `A\n${W}\nB`,
    "no calls here <tool_ but\nplain text <",
    `${block('{"name": "nope"}')} and ${N}`,
    `${N}${W.slice(0, 25)}`,
  ];

  test("every split point gives the whole answer's content and calls", () => {
    for (const text of texts) {
      const whole = parseToolCalls(text, OPTS);
      for (let i = 0; i <= text.length; i++) {
        const s = streamed(text, [i]);
        expect(s.calls).toEqual(whole.calls);
        expect(s.content).toBe(whole.content ?? "");
      }
    }
  });

  test("character by character", () => {
    for (const text of texts) {
      const cuts = Array.from({ length: text.length }, (_, i) => i);
      const s = streamed(text, cuts);
      const whole = parseToolCalls(text, OPTS);
      expect(s.calls).toEqual(whole.calls);
      expect(s.content).toBe(whole.content ?? "");
    }
  });

  test("content is released before the call completes, a tag prefix is held back", () => {
    const s = new ToolCallStream(OPTS);
    expect(s.push("Hi <tool_")).toEqual({ content: "Hi", calls: [] });
    expect(s.push("call>\n{")).toEqual({ content: "", calls: [] });
    const step = s.push('"name": "now"}\n</tool_call>');
    expect(step.calls).toEqual([{ name: "now", arguments: "{}" }]);
    expect(s.callCount).toBe(1);
    expect(s.end()).toEqual({ content: "", calls: [] });
  });
});
