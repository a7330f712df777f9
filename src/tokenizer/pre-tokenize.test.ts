import { describe, expect, test } from "bun:test";
import { CORPUS } from "../../tests/tokenizer/corpus.ts";
import { preTokenize, splitDefault, splitGpt2, splitLlama3, splitQwen2 } from "./pre-tokenize.ts";

describe("splitLlama3()", () => {
  test("splitLlama3() splits contractions, 1-3 digit groups and punctuation", () => {
    expect(splitLlama3("I'm 1234567!")).toEqual(["I", "'m", " ", "123", "456", "7", "!"]);
    expect(splitLlama3("DON'T")).toEqual(["DON", "'T"]);
  });

  test("splitLlama3() leaves the last space of a run to the next word", () => {
    expect(splitLlama3("Hello  world")).toEqual(["Hello", " ", " world"]);
    expect(splitLlama3("  \n  x")).toEqual(["  \n", " ", " x"]);
    expect(splitLlama3("a\n\nb")).toEqual(["a", "\n\n", "b"]);
    expect(splitLlama3("x   ")).toEqual(["x", "   "]);
  });

  test("splitLlama3() gives a letter run one leading non-letter", () => {
    expect(splitLlama3("$HOME/~user")).toEqual(["$HOME", "/~", "user"]);
    expect(splitLlama3("\nabc")).toEqual(["\n", "abc"]);
  });

  test("splitLlama3() treats an unassigned code point like punctuation, as llama.cpp does", () => {
    expect(splitLlama3("!\u0378!'s")).toEqual(["!\u0378!'", "s"]);
    expect(splitLlama3("\u0378's")).toEqual(["\u0378'", "s"]);
  });

  test("splitLlama3() matches the tokenizer.json regex on the corpus", () => {
    // The Llama-3 regex with \s as Unicode White_Space (llama.cpp's whitespace set).
    const re =
      /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\p{White_Space}\p{L}\p{N}]+[\r\n]*|\p{White_Space}*[\r\n]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
    expect(CORPUS.map((s) => splitLlama3(s))).toEqual(CORPUS.map((s) => s.match(re) ?? []));
  });
});

describe("splitQwen2()", () => {
  test("splitQwen2() splits digits one by one and otherwise splits like Llama-3", () => {
    expect(splitQwen2("I'm 1234!")).toEqual(["I", "'m", " ", "1", "2", "3", "4", "!"]);
    const digitFree = CORPUS.filter((s) => !/\p{N}/u.test(s));
    expect(digitFree.map(splitQwen2)).toEqual(digitFree.map(splitLlama3));
  });
});

describe("splitGpt2()", () => {
  test("splitGpt2() attaches one space to words, numbers and punctuation", () => {
    expect(splitGpt2("Hello  world 42 !!")).toEqual(["Hello", " ", " world", " 42", " !!"]);
    expect(splitGpt2("I'M it's")).toEqual(["I", "'", "M", " it", "'s"]);
  });
});

describe("splitDefault()", () => {
  test("splitDefault() separates punctuation runs and groups of three digits", () => {
    expect(splitDefault("x 1234")).toEqual(["x", " ", "123", "4"]);
    expect(splitDefault("Hi, (you)!")).toEqual(["Hi", ",", " ", "(", "you", ")!"]);
  });
});

describe("preTokenize()", () => {
  test("preTokenize() pieces concatenate back to the input for every splitter", () => {
    for (const kind of ["llama3", "qwen2", "gpt2", "default"] as const) {
      expect(CORPUS.map((s) => preTokenize(kind, s).join(""))).toEqual([...CORPUS]);
    }
  });

  test("preTokenize() returns no pieces for the empty string", () => {
    expect(["llama3", "gpt2", "default"].map((k) => preTokenize(k as "llama3", ""))).toEqual([
      [],
      [],
      [],
    ]);
  });
});
