import { describe, expect, test } from "bun:test";
import {
  codePointFlags,
  FLAG_DEFINED,
  FLAG_LETTER,
  FLAG_NUMBER,
  FLAG_WHITESPACE,
  toCodePoints,
  utf8Encode,
} from "./_unicode.ts";

describe("codePointFlags()", () => {
  test("codePointFlags() classifies letters, numbers and whitespace like llama.cpp", () => {
    const cases: Record<string, number> = {
      a: FLAG_LETTER | FLAG_DEFINED,
      "中": FLAG_LETTER | FLAG_DEFINED,
      "1": FLAG_NUMBER | FLAG_DEFINED,
      "٣": FLAG_NUMBER | FLAG_DEFINED,
      "½": FLAG_NUMBER | FLAG_DEFINED,
      " ": FLAG_WHITESPACE | FLAG_DEFINED,
      "\n": FLAG_WHITESPACE | FLAG_DEFINED,
      "\u0085": FLAG_WHITESPACE | FLAG_DEFINED, // White_Space, unlike JS \s
      "\u3000": FLAG_WHITESPACE | FLAG_DEFINED,
      "\ufeff": FLAG_DEFINED, // JS \s, but not White_Space
      "\u0301": FLAG_DEFINED, // combining mark
      "!": FLAG_DEFINED,
      "😀": FLAG_DEFINED,
      "\u0378": FLAG_DEFINED, // unassigned: like punctuation in llama.cpp
    };
    const got = Object.fromEntries(
      Object.keys(cases).map((ch) => [ch, codePointFlags(ch.codePointAt(0)!)]),
    );
    expect(got).toEqual(cases);
  });

  test("codePointFlags() returns 0 past the end of the text (-1)", () => {
    expect(codePointFlags(-1)).toBe(0);
  });
});

describe("toCodePoints()", () => {
  test("toCodePoints() pairs surrogates and records UTF-16 offsets", () => {
    const { cps, offsets } = toCodePoints("a😀b");
    expect({ cps: [...cps], offsets: [...offsets] }).toEqual({
      cps: [0x61, 0x1f600, 0x62],
      offsets: [0, 1, 3, 4],
    });
  });

  test("toCodePoints() keeps a lone surrogate as one code point", () => {
    expect([...toCodePoints("\ud800x").cps]).toEqual([0xd800, 0x78]);
  });
});

describe("utf8Encode()", () => {
  test("utf8Encode() writes U+FFFD for a lone surrogate", () => {
    expect([...utf8Encode("\ud800")]).toEqual([0xef, 0xbf, 0xbd]);
  });
});
