import { describe, expect, test } from "bun:test";
import { createTokenizer } from "./index.ts";
import { countPieces, trainBpe, trainBpeFromCounts } from "./train-bpe.ts";
import { TOKEN_TYPE } from "./vocab.ts";

const CORPUS = [
  "the lower the lowest, the newer the newest.",
  "Lowly owls howl; the newest owl is the lowest owl.",
  "naïve café — the new owl!",
];

describe("trainBpe()", () => {
  test("trainBpe() starts from the 256 bytes and merges the most frequent pair first", () => {
    const { tokens, merges } = trainBpe(["aaab aab ab"], { vocabSize: 258, preTokenizer: "gpt2" });
    expect(tokens.length).toBe(258);
    expect(tokens[0x61]).toBe("a");
    // Pairs: (a,a)=3, (a,b)=3, (Ġ,a)=2 → tie between "aa" and "ab" goes to "aa" (sorts first).
    expect(merges[0]).toBe("a a");
    expect(tokens[256]).toBe("aa");
  });

  test("trainBpe() never merges across pre-tokenizer pieces", () => {
    const { tokens } = trainBpe(CORPUS, { vocabSize: 320, preTokenizer: "gpt2" });
    for (const t of tokens.slice(256)) {
      // A piece holds at most one leading space (Ġ) and never a letter followed by "Ġ".
      expect(t.slice(1)).not.toContain("Ġ");
    }
  });

  test("trainBpe() stops early when no pair is frequent enough", () => {
    const { tokens, merges } = trainBpe(["xyz"], { vocabSize: 1000, preTokenizer: "gpt2" });
    expect(merges).toEqual([]);
    expect(tokens.length).toBe(256);
  });

  test("trainBpe() is deterministic and counts piece order independently", () => {
    const a = trainBpe(CORPUS, { vocabSize: 300, preTokenizer: "gpt2" });
    const b = trainBpeFromCounts(
      new Map([...countPieces(CORPUS, "gpt2")].reverse()),
      { vocabSize: 300 },
    );
    expect(b).toEqual(a);
  });

  test("trainBpe() rejects a size below the byte alphabet", () => {
    expect(() => trainBpe(CORPUS, { vocabSize: 100, preTokenizer: "gpt2" })).toThrow(RangeError);
  });

  test("a trained vocabulary round-trips text through createTokenizer()", () => {
    const { tokens, merges } = trainBpe(CORPUS, { vocabSize: 320, preTokenizer: "gpt2" });
    const all = [...tokens, "<|endoftext|>"];
    const types = all.map((_, i) => (i === tokens.length ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.NORMAL));
    const tok = createTokenizer({
      model: "gpt2",
      pre: "gpt-2",
      tokens: all,
      tokenTypes: types,
      merges,
      bosId: tokens.length,
      eosId: tokens.length,
      addBos: false,
    });
    for (const text of [...CORPUS, "unseen Ωmega 123 text"]) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
    }
    // Frequent words of the corpus become single tokens.
    expect(tok.encode(" the").length).toBe(1);
    expect(tok.encode(" lowest").length).toBeLessThan(4);
  });
});
