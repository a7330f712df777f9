import { describe, expect, test } from "bun:test";
import { createStopMatcher, toFinishReason } from "./stop.ts";

/** Feeds pieces; returns the released pieces and the stop string. */
function run(stops: string[], pieces: string[]): { out: string[]; stop?: string; tail: string } {
  const m = createStopMatcher(stops);
  const out: string[] = [];
  for (const p of pieces) {
    const scan = m.push(p);
    out.push(scan.text);
    if (scan.stop !== undefined) return { out, stop: scan.stop, tail: m.flush() };
  }
  return { out, tail: m.flush() };
}

describe("createStopMatcher()", () => {
  test("push() releases text at once when no stop string can start in it", () => {
    expect(run(["END"], ["Hello", " world"])).toEqual({ out: ["Hello", " world"], tail: "" });
  });

  test("push() matches a stop string split over 2 tokens and keeps the text before it", () => {
    expect(run(["END"], ["Hi E", "ND more"])).toEqual({ out: ["Hi ", ""], stop: "END", tail: "" });
  });

  test("push() matches a stop string split over 3 tokens", () => {
    expect(run(["<|end|>"], ["ok<|", "en", "d|>!"])).toEqual({
      out: ["ok", "", ""],
      stop: "<|end|>",
      tail: "",
    });
  });

  test("push() releases held text when a partial match turns out not to be one", () => {
    expect(run(["END"], ["a E", "N", "x"])).toEqual({ out: ["a ", "", "ENx"], tail: "" });
  });

  test("flush() releases a partial match left at the end", () => {
    expect(run(["END"], ["a EN"])).toEqual({ out: ["a "], tail: "EN" });
  });

  test("push() stops at the very first token, with no text", () => {
    expect(run(["\n"], ["\nHello"])).toEqual({ out: [""], stop: "\n", tail: "" });
  });

  test("push() prefers the stop string that completes first when one starts like another", () => {
    // "Hello" completes before "Hello world" could
    expect(run(["Hello world", "Hello"], ["Say Hel", "lo world"])).toEqual({
      out: ["Say ", ""],
      stop: "Hello",
      tail: "",
    });
    // the longer one wins when it completes first
    expect(run(["abcd", "cdx"], ["ab", "cdx"])).toEqual({ out: ["", ""], stop: "abcd", tail: "" });
  });

  test("push() gives the same result however the text is split", () => {
    const stops = ["bcd", "cdef", "d"];
    const text = "abcdefg";
    const whole = run(stops, [text]);
    for (let cut = 1; cut < text.length; cut++) {
      const split = run(stops, [text.slice(0, cut), text.slice(cut)]);
      expect({ text: split.out.join(""), stop: split.stop }).toEqual({
        text: whole.out.join(""),
        stop: whole.stop,
      });
    }
    expect(whole).toEqual({ out: ["a"], stop: "bcd", tail: "" });
  });

  test("push() handles multi-byte characters next to a stop string", () => {
    expect(run(["ß!"], ["Straß", "!", "x"])).toEqual({
      out: ["Stra", ""],
      stop: "ß!",
      tail: "",
    });
    expect(run(["🙂"], ["a🙂b"])).toEqual({ out: ["a"], stop: "🙂", tail: "" });
  });

  test("push() returns nothing after a match, and empty stop strings are ignored", () => {
    const m = createStopMatcher(["", "x"]);
    expect(m.push("abc")).toEqual({ text: "abc" });
    expect(m.push("x")).toEqual({ text: "", stop: "x" });
    expect(m.push("more")).toEqual({ text: "" });
    expect(m.flush()).toBe("");
  });
});

describe("toFinishReason()", () => {
  test("toFinishReason() maps eog and stop strings to stop, limits to length", () => {
    expect(
      ["eog", "stop_string", "max_tokens", "context_full"].map((r) =>
        toFinishReason(r as Parameters<typeof toFinishReason>[0])
      ),
    ).toEqual(["stop", "stop", "length", "length"]);
  });
});
