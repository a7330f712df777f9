/**
 * @module A Falcon-E style file (docs/models.md): arch `llama`, I2_S projections, pre-tokenizer
 * `falcon_e`, as bitnet.cpp's converter writes Falcon-E (its LlamaModel and tokenizer hash
 * table). llama.cpp cannot load it (no I2_S, no "falcon_e"), so: ARIA loads it, its tokenizer
 * gives the ids of the same vocabulary with the Llama-3 pre-tokenizer (which llama-parity.test.ts
 * checks against llama.cpp), and its logits match the reference forward pass.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { openModel } from "../../src/engine/index.ts";
import { parseGguf } from "../../src/model/gguf-reader.ts";
import { createTokenizer } from "../../src/tokenizer/index.ts";
import { vocabSourceFromGguf } from "../../src/tokenizer/vocab.ts";
import { compareLogits } from "../helpers/parity.ts";
import { ReferenceModel } from "../helpers/reference-forward.ts";
import { testModel } from "../helpers/models.ts";
import { CORPUS } from "../tokenizer/corpus.ts";

const PROMPT = [128000, 9906, 11, 1917, 0, 578, 4062, 14198];

describe("Falcon-E style file (llama, I2_S, falcon_e)", () => {
  test("loads, tokenizes like the Llama-3 split and matches the reference forward pass", async () => {
    const path = await testModel({ preset: "tiny", arch: "llama", type: "i2_s", pre: "falcon_e" });
    const bytes = new Uint8Array(readFileSync(path));
    const file = parseGguf(bytes);
    const source = vocabSourceFromGguf(file);
    expect(source.pre).toBe("falcon_e");
    const tok = createTokenizer(source);
    const llama3 = createTokenizer({ ...source, pre: "llama-bpe" });
    expect(CORPUS.map((t) => tok.encode(t))).toEqual(CORPUS.map((t) => llama3.encode(t)));

    const ref = ReferenceModel.fromBytes(bytes).newSequence().evalTokens(PROMPT);
    using model = await openModel(path);
    expect(model.info.arch).toBe("llama");
    using ctx = model.createContext({ nCtx: 32, nThreads: 2 });
    ctx.decode(PROMPT, { logits: "all" });
    PROMPT.forEach((_, i) => {
      const { relative, sameArgmax } = compareLogits(ref[i]!, ctx.logits(i));
      expect(relative).toBeLessThan(i < 2 ? 1e-4 : 3e-2); // as tests/native/forward.test.ts
      if (i < 2) expect(sameArgmax).toBe(true);
    });
  });
});
