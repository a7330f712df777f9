import { describe, expect, test } from "bun:test";
import { createRng } from "../generation/rng.ts";
import { createGrammarConstraint } from "./constraint.ts";
import { JSON_OBJECT_GRAMMAR, jsonSchemaToGrammar } from "./json-schema.ts";
import { GrammarRuntime, MATCHER_LIMITS, type MatchState } from "./matcher.ts";
import { GrammarError, parseGrammar } from "./parse.ts";
import { allowedTokens, allowedTokensRef, createVocabTrie, stepToken } from "./trie.ts";

const utf8 = new TextEncoder();

/** A small byte-level vocabulary: every byte, pieces that span JSON boundaries, split UTF-8. */
export function testVocab(): { bytes: Uint8Array[]; eos: number; bos: number } {
  const pieces = [
    '"},',
    '":"',
    '": "',
    '"}',
    "}}",
    "},{",
    '{"',
    '["',
    '"]',
    "]}",
    ", ",
    "\n  ",
    "true",
    "false",
    "null",
    "-0",
    "1e5",
    "E-3",
    ".25",
    "\\u00",
    "\\ud83d",
    "\\ude00",
    "\\n",
    'a"',
    "name",
    " name",
    "age",
    "é",
    "日本",
    "😀",
    "ab",
    "abc",
    " the",
  ];
  const bytes: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) bytes.push(Uint8Array.of(b));
  for (const p of pieces) bytes.push(utf8.encode(p));
  bytes.push(utf8.encode("日").subarray(0, 2)); // a character cut after its second byte
  bytes.push(Uint8Array.of(0x97, 0xa5)); // ... and its rest with "本"'s lead? no: 日 = E6 97 A5
  bytes.push(Uint8Array.of(0xa5, 0x22)); // the last byte of 日 then a quote
  const bos = bytes.length;
  bytes.push(new Uint8Array(0));
  const eos = bytes.length;
  bytes.push(new Uint8Array(0));
  return { bytes, eos, bos };
}

describe("allowedTokens()", () => {
  const { bytes, eos, bos } = testVocab();
  const trie = createVocabTrie(bytes, (id) => id === eos);

  const bruteForce = (rt: GrammarRuntime, s: MatchState): number[] =>
    bytes.map((_, id) => id).filter((id) => stepToken(trie, rt, s, id) !== null);

  test("allowedTokens() equals checking every token, along random JSON walks", () => {
    const rng = createRng(7);
    const counted = jsonSchemaToGrammar({
      type: "object",
      properties: { s: { type: "string", minLength: 2, maxLength: 6 }, t: { type: "string" } },
    });
    const out = new Int32Array(bytes.length);
    for (let walk = 0; walk < 40; walk++) {
      const grammar = parseGrammar(walk % 2 === 0 ? JSON_OBJECT_GRAMMAR : counted);
      const rt = new GrammarRuntime(grammar);
      let s = rt.start;
      for (let step = 0; step < 40; step++) {
        const n = allowedTokens(trie, rt, s, out);
        const fast = [...out.subarray(0, n)].sort((a, b) => a - b);
        expect(fast).toEqual(bruteForce(rt, s));
        const ref = out.subarray(0, allowedTokensRef(trie, rt, s, out));
        expect([...ref].sort((a, b) => a - b)).toEqual(fast);
        const choices = fast.filter((id) => id !== eos);
        if (choices.length === 0) break;
        s = stepToken(trie, rt, s, choices[Math.floor(rng() * choices.length)]!)!;
      }
    }
  });

  test("stepToken() takes tokens that span grammar boundaries", () => {
    const rt = new GrammarRuntime(parseGrammar(JSON_OBJECT_GRAMMAR));
    const run = (...texts: string[]) => {
      let s: MatchState | null = rt.start;
      for (const t of texts) {
        const id = bytes.findIndex((b) => b.length > 0 && new TextDecoder().decode(b) === t);
        expect(id).toBeGreaterThanOrEqual(0);
        s = s && stepToken(trie, rt, s, id);
      }
      return s;
    };
    expect(run('{"', "a", '":"', "x", '"},')).toBeNull(); // "}," cannot follow a top-level "}"
    const s = run('{"', "a", '": "', "b", '"}');
    expect(s?.set.accepting).toBe(true);
    expect(stepToken(trie, rt, s!, eos)).toBe(s);
    const nested = run('{"', "a", '"', ":", "[", '{"', "b", '"', ":", "1e5", "}", "]", "}");
    expect(nested?.set.accepting).toBe(true);
    expect(run('{"', "a", '"', ":", "[", "{", "}", "]}")?.set.done).toBe(false); // space may follow
    expect(run('{"', "a", '"', ":", "[", "{", "}", "]}", ", ")).toBeNull();
  });

  test("stepToken() follows a character split across tokens", () => {
    const rt = new GrammarRuntime(parseGrammar('root ::= "\\"" [^"]* "\\""'));
    const first = bytes.findIndex((b) => b.length === 2 && b[0] === 0xe6 && b[1] === 0x97);
    const last = bytes.findIndex((b) => b.length === 2 && b[0] === 0xa5 && b[1] === 0x22);
    let s = stepToken(trie, rt, rt.start, 0x22)!;
    s = stepToken(trie, rt, s, first)!;
    expect(s.remaining).toBe(1);
    // while the character is incomplete, the grammar cannot end and no quote is allowed
    expect(stepToken(trie, rt, s, eos)).toBeNull();
    expect(stepToken(trie, rt, s, 0x22)).toBeNull();
    s = stepToken(trie, rt, s, last)!;
    expect(s.set.accepting && s.remaining === 0).toBe(true);
  });

  test("allowedTokens() never allows empty tokens and allows EOS only at an end", () => {
    const rt = new GrammarRuntime(parseGrammar('root ::= "ab" "c"?'));
    const out = new Int32Array(bytes.length);
    const ab = stepToken(
      trie,
      rt,
      rt.start,
      bytes.findIndex((b) => b.length === 2 && b[0] === 97 && b[1] === 98),
    )!;
    const ids = [...out.subarray(0, allowedTokens(trie, rt, ab, out))].sort((a, b) => a - b);
    expect(ids).toEqual([99, eos]);
    const start = [...out.subarray(0, allowedTokens(trie, rt, rt.start, out))];
    expect(start).not.toContain(bos);
    expect(start).not.toContain(eos);
  });
});

describe("MATCHER_LIMITS.maxWorkPerStep", () => {
  test("allowedTokens() stops a grammar built to make each step slow", () => {
    // 240 counters side by side: every position is a new set of 480 stacks
    const n = 240;
    const grammar = `root ::= ${Array.from({ length: n }, (_, i) => `r${i}`).join(" | ")}\n` +
      Array.from(
        { length: n },
        (_, i) => `r${i} ::= [ab]{0,${40 + (i % 7)}} "${String.fromCharCode(0x100 + i)}"`,
      )
        .join("\n");
    const rt = new GrammarRuntime(parseGrammar(grammar));
    // 120 tokens under "a" (abab…, aaba…): a subtree large enough for the walk to group each
    // set's bytes (the expensive path a grammar like this one would exploit)
    const vocab = Array.from(
      { length: 120 },
      (_, k) =>
        utf8.encode(k < 60 ? "ab".repeat(k + 1).slice(0, k + 1) : "a" + "ab".repeat(k)).slice(
          0,
          k - 58,
        ),
    );
    const small = createVocabTrie(vocab, () => false);
    rt.beginStep();
    expect(() => allowedTokens(small, rt, rt.start, new Int32Array(120))).toThrow(
      /more work than allowed/,
    );
    expect(rt.work).toBeGreaterThan(MATCHER_LIMITS.maxWorkPerStep);
  });
});

describe("createGrammarConstraint()", () => {
  const { bytes, eos } = testVocab();
  const trie = createVocabTrie(bytes, (id) => id === eos);

  test("createGrammarConstraint() is done when nothing can follow", () => {
    const c = createGrammarConstraint(parseGrammar('root ::= "ab"'), trie);
    expect(c.done).toBe(false);
    c.accept(97);
    expect(c.allows(eos)).toBe(false);
    c.accept(98);
    expect(c.done).toBe(true);
    expect(c.allows(eos)).toBe(true);
  });

  test("createGrammarConstraint() throws a GrammarError when no token is allowed", () => {
    // a vocabulary of "a" and "b" (and EOS) cannot spell "c"
    const small = createVocabTrie(
      [utf8.encode("a"), utf8.encode("b"), new Uint8Array(0)],
      (id) => id === 2,
    );
    const c = createGrammarConstraint(parseGrammar('root ::= "a" "c"'), small);
    c.accept(0);
    expect(() => c.allowed(new Int32Array(3))).toThrow(GrammarError);
    expect(() => c.allowed(new Int32Array(3))).toThrow(/allows no token/);
    expect(() => c.accept(1)).toThrow(/does not allow it/);
  });
});
