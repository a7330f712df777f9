/**
 * @module Known-answer test: our tokenizer against the llama.cpp ids checked in at
 * tests/vectors/tokenizer-golden.json (made by scripts/make-tokenizer-vectors.ts), for the
 * whole corpus, three vocabularies, BOS on/off and special parsing on/off. Runs without
 * llama.cpp; tests/tokenizer/llama-parity.test.ts asks llama.cpp live.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CORPUS } from "./corpus.ts";
import { testTokenizer, type TestVocabName } from "./fixtures.ts";

interface Golden {
  texts: string[];
  ids: Record<TestVocabName, Record<string, number[][]>>;
}

const golden = JSON.parse(
  readFileSync(new URL("../vectors/tokenizer-golden.json", import.meta.url), "utf8"),
) as Golden;

const MODES = [
  { addBos: true, parseSpecial: false },
  { addBos: true, parseSpecial: true },
  { addBos: false, parseSpecial: false },
  { addBos: false, parseSpecial: true },
] as const;

describe("tokenizer golden ids (llama.cpp)", () => {
  test("the vectors were made from the current corpus", () => {
    expect(golden.texts).toEqual([...CORPUS]);
  });

  for (const name of ["llama2", "llama3", "llama3-no-pre"] as const) {
    for (const mode of MODES) {
      const key = `bos=${+mode.addBos},special=${+mode.parseSpecial}`;
      test(`encode() matches llama.cpp for ${name} with ${key}`, () => {
        const tokenizer = testTokenizer(name);
        const got = golden.texts.map((t) => tokenizer.encode(t, mode));
        const want = golden.ids[name][key]!;
        // One toEqual over [text, ids] pairs names the failing string.
        expect(golden.texts.map((t, i) => [t, got[i]])).toEqual(
          golden.texts.map((t, i) => [t, want[i]]),
        );
      });
    }
  }
});
