import { describe, expect, test } from "bun:test";
import { GrammarRuntime, MATCHER_LIMITS } from "./matcher.ts";
import { GRAMMAR_LIMITS, GrammarError, parseGrammar } from "./parse.ts";

const utf8 = new TextEncoder();

/** Whether the grammar accepts exactly `text`. */
function accepts(grammar: string, text: string): boolean {
  const rt = new GrammarRuntime(parseGrammar(grammar));
  const s = rt.stepBytes(rt.start, utf8.encode(text));
  return s !== null && s.remaining === 0 && s.set.accepting;
}

function expectGrammarError(grammar: string, message: RegExp): void {
  let err: unknown;
  try {
    parseGrammar(grammar);
  } catch (e: unknown) {
    err = e;
  }
  expect(err).toBeInstanceOf(GrammarError);
  expect((err as GrammarError).code).toBe("GRAMMAR_INVALID");
  expect((err as Error).message).toMatch(message);
}

describe("parseGrammar()", () => {
  const cases: [string, string, string[], string[]][] = [
    ["alternation", 'root ::= "yes" | "no"', ["yes", "no"], ["", "ye", "yesno"]],
    ["sequence and refs", 'root ::= a " " b\na ::= "x"\nb ::= "y"', ["x y"], ["xy"]],
    ["groups", 'root ::= ("a" | "b") "c"', ["ac", "bc"], ["c", "abc"]],
    ["star", 'root ::= "a"*', ["", "a", "aaaa"], ["b"]],
    ["plus", 'root ::= "a"+', ["a", "aaa"], [""]],
    ["optional", 'root ::= "a"? "b"', ["ab", "b"], ["aab"]],
    ["{m}", 'root ::= "ab"{2}', ["abab"], ["ab", "ababab"]],
    ["{m,}", "root ::= [0-9]{2,}", ["12", "12345"], ["1"]],
    ["{m,n}", "root ::= [0-9]{1,3}", ["1", "123"], ["", "1234"]],
    ["{0,n}", 'root ::= "x"{0,2}', ["", "x", "xx"], ["xxx"]],
    ["class ranges", "root ::= [a-cx-z]+", ["abz", "x"], ["d", "w"]],
    ["negated class", 'root ::= [^"\\\\]*', ["abc d", "é"], ['a"', "\\"]],
    ["class escapes", "root ::= [\\]\\-\\^\\x41]+", ["]-^A"], ["B"]],
    ["literal escapes", 'root ::= "\\t\\n\\"\\\\\\x41\\u00e9\\U0001F600"', ['\t\n"\\Aé😀'], []],
    ["any char", "root ::= . .", ["ab", "é😀"], ["a", "abc"]],
    ["non-ASCII literal", 'root ::= "日本" [語-语]', ["日本語"], ["日本"]],
    [
      "comments and multi-line groups",
      '# a comment\nroot ::= ( # inside\n  "a"\n  | "b" # end\n)\n\n# trailing',
      ["a", "b"],
      ["ab"],
    ],
    ["empty alternative", 'root ::= "a" | ', ["a", ""], ["b"]],
    ["nested repetition", 'root ::= ("a" "b"?)+', ["a", "ab", "aab", "abab"], ["b"]],
    ["recursion", 'root ::= "(" root ")" | ""', ["", "()", "(())"], ["(()"]],
  ];
  for (const [name, grammar, yes, no] of cases) {
    test(`parseGrammar() compiles ${name}`, () => {
      for (const t of yes) expect({ t, ok: accepts(grammar, t) }).toEqual({ t, ok: true });
      for (const t of no) expect({ t, ok: accepts(grammar, t) }).toEqual({ t, ok: false });
    });
  }

  test("parseGrammar() rejects malformed grammars with the line", () => {
    expectGrammarError('a ::= "x"', /no "root" rule/);
    expectGrammarError("root ::= b", /line 1: rule "b" is not defined/);
    expectGrammarError('root ::= "x"\nroot ::= "y"', /line 2: rule "root" is defined twice/);
    expectGrammarError('root ::= "abc', /unterminated string literal/);
    expectGrammarError("root ::= [abc", /unterminated character class/);
    expectGrammarError('root ::= "\\q"', /unknown escape/);
    expectGrammarError('root ::= "\\xZZ"', /bad escape/);
    expectGrammarError("root ::= [z-a]", /reversed/);
    expectGrammarError('root ::= "a"{3,2}', /min > max/);
    expectGrammarError("root ::= <think>", /token references/);
    expectGrammarError('root ::= "a" )', /unexpected "\)"/);
    expectGrammarError('root "a"', /expected "::="/);
  });

  test("parseGrammar() refuses left recursion, direct and through nullable prefixes", () => {
    expectGrammarError('root ::= root "a" | "b"', /"root" is left recursive/);
    expectGrammarError('root ::= x\nx ::= y? root "a" | "b"\ny ::= "c"', /left recursive/);
    expectGrammarError('root ::= ("a"?)*', /left recursive/);
  });

  test("parseGrammar() enforces its size limits", () => {
    expectGrammarError("root ::= " + '"a" '.repeat(GRAMMAR_LIMITS.maxChars / 4 + 1), /characters/);
    expectGrammarError(`root ::= "a"{${GRAMMAR_LIMITS.maxRepeat + 1}}`, /repetition bound/);
    expectGrammarError(
      "root ::= " + "(".repeat(GRAMMAR_LIMITS.maxNesting + 1) + '"a"' +
        ")".repeat(GRAMMAR_LIMITS.maxNesting + 1),
      /nested deeper/,
    );
    // 8 nested {0,4096} chains multiply: refused by the element budget, not built
    expectGrammarError(
      'root ::= ((((("a"{0,4096}){0,4096}){0,4096}){0,4096}){0,4096})',
      /more than \d+ (elements|rules)/,
    );
  });
});

describe("GrammarRuntime", () => {
  test("step() decodes UTF-8 across calls and refuses invalid bytes", () => {
    const rt = new GrammarRuntime(parseGrammar('root ::= [à-ÿ] | [一-鿿] | "😀"'));
    const at = (bytes: number[]) => rt.stepBytes(rt.start, Uint8Array.from(bytes));
    // "é" = C3 A9, split: the partial state is kept and checked against the class
    const half = at([0xc3]);
    expect(half).not.toBeNull();
    expect(half!.remaining).toBe(1);
    expect(at([0xc3, 0xa9])!.set.accepting).toBe(true);
    expect(at([0xc2, 0xa9])).toBeNull(); // "©" U+00A9: not in the class
    expect(at([0xe6, 0x97, 0xa5])!.set.accepting).toBe(true); // 日
    expect(at([0xf0, 0x9f, 0x98, 0x80])!.set.accepting).toBe(true); // 😀
    expect(at([0xf0, 0x9f, 0x98, 0x81])).toBeNull(); // 😁
    expect(at([0x80])).toBeNull(); // continuation without a lead
    expect(at([0xc0, 0xa9])).toBeNull(); // overlong lead
    expect(at([0xe0, 0x80, 0xa9])).toBeNull(); // overlong 3-byte
    expect(at([0xed, 0xa0, 0x80])).toBeNull(); // surrogate D800
    expect(at([0xc3, 0x41])).toBeNull(); // lead then ASCII
  });

  test("GrammarRuntime refuses nesting beyond its depth limit", () => {
    const rt = new GrammarRuntime(parseGrammar('root ::= "[" root "]" | "x"'));
    let s = rt.start;
    const open = Uint8Array.of(0x5b);
    let err: unknown;
    try {
      for (let i = 0; i <= MATCHER_LIMITS.maxDepth; i++) s = rt.stepBytes(s, open)!;
    } catch (e: unknown) {
      err = e;
    }
    expect(err).toBeInstanceOf(GrammarError);
    expect((err as Error).message).toMatch(/nesting deeper/);
  });

  test("GrammarRuntime refuses a grammar whose parses multiply", () => {
    // every prefix of a's can end any of 600 rules: more live stacks than allowed
    const rules = Array.from({ length: 600 }, (_, i) => `r${i} ::= "a"+ "${i}"`).join("\n");
    const alts = Array.from({ length: 600 }, (_, i) => `r${i}`).join(" | ");
    expect(() => new GrammarRuntime(parseGrammar(`root ::= ${alts}\n${rules}`))).toThrow(
      /ambiguous parses/,
    );
  });
});
