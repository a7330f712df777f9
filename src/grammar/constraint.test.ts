import { describe, expect, test } from "bun:test";
import { createRng } from "../generation/rng.ts";
import { constraintFor, createGrammarConstraint } from "./constraint.ts";
import { JSON_OBJECT_GRAMMAR, jsonSchemaToGrammar } from "./json-schema.ts";
import { parseGrammar } from "./parse.ts";
import { createVocabTrie } from "./trie.ts";

describe("constraintFor()", () => {
  // every byte, and pieces that span JSON boundaries
  const utf8 = new TextEncoder();
  const bytes = [
    ...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)),
    ...['{"', '":', '": "', '"},', '"]', '["', "bc", "true", "1e5", ".25", "é"].map((p) =>
      utf8.encode(p)
    ),
    new Uint8Array(0),
  ];
  const eos = bytes.length - 1;
  const trie = createVocabTrie(bytes, (id) => id === eos);
  const sorted = (out: Int32Array, n: number) => [...out.subarray(0, n)].sort((a, b) => a - b);

  test("constraintFor() requests sharing a grammar, interleaved, allow what fresh ones allow", () => {
    const schema = jsonSchemaToGrammar({
      type: "object",
      properties: {
        name: { type: "string", maxLength: 6 },
        tags: { type: "array", items: { enum: ["a", "bc"] }, maxItems: 3 },
        n: { type: "number" },
      },
      required: ["name", "tags", "n"],
    });
    for (const grammar of [JSON_OBJECT_GRAMMAR, schema]) {
      // three requests with the same text, stepped in turn along random allowed tokens; each
      // compared with a constraint of its own (nothing shared) at every step
      const shared = [1, 2, 3].map(() => constraintFor(grammar, trie));
      const fresh = [1, 2, 3].map(() => createGrammarConstraint(parseGrammar(grammar), trie));
      const rng = createRng(grammar.length);
      const a = new Int32Array(bytes.length);
      const b = new Int32Array(bytes.length);
      for (let step = 0; step < 40; step++) {
        for (let r = 0; r < 3; r++) {
          if (fresh[r]!.done) continue;
          const n = fresh[r]!.allowed(a);
          const m = shared[r]!.allowed(b);
          expect(sorted(b, m)).toEqual(sorted(a, n));
          const choices = [...a.subarray(0, n)].filter((t) => t !== eos);
          if (choices.length === 0) continue;
          const token = choices[Math.floor(rng() * choices.length)]!;
          expect(shared[r]!.allows(token)).toBe(true);
          fresh[r]!.accept(token);
          shared[r]!.accept(token);
          expect(shared[r]!.done).toBe(fresh[r]!.done);
        }
      }
    }
  });

  test("constraintFor() a bad grammar throws for its request and is not kept", () => {
    expect(() => constraintFor('root ::= ("a"', trie)).toThrow();
    expect(() => constraintFor('root ::= ("a"', trie)).toThrow();
    expect(constraintFor('root ::= "a"', trie).allows(97)).toBe(true);
  });
});
