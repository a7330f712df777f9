/**
 * @module Writes tests/vectors/tokenizer-golden.json: the token ids llama.cpp gives every
 * string of the tokenizer corpus (tests/tokenizer/corpus.ts), for the Llama-2 vocabulary
 * (SentencePiece, `make-model --arch bitnet`), the Llama-3 vocabulary with
 * `tokenizer.ggml.pre = "llama-bpe"` (`--arch llama`) and without `pre` (`--arch llama
 * --no-pre`, which llama.cpp splits with its DEFAULT regexes), each with BOS on and off and
 * special-token parsing on and off. llama.cpp is node-llama-cpp's prebuilt library, driven by
 * tests/helpers/llama-oracle.ts. Run it again when the corpus changes.
 *
 * Usage: bun scripts/make-tokenizer-vectors.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildLlamaOracle } from "./build-oracle.ts";
import { makeModel } from "./make-model.ts";
import { llamaTokenizeMany } from "../tests/helpers/llama-oracle.ts";
import { CORPUS } from "../tests/tokenizer/corpus.ts";

/** The vocabularies and the make-model options that produce them. */
const VOCABS = [
  { name: "llama2", arch: "bitnet", noPre: false },
  { name: "llama3", arch: "llama", noPre: false },
  { name: "llama3-no-pre", arch: "llama", noPre: true },
] as const;

const OUT = join(import.meta.dir, "..", "tests", "vectors", "tokenizer-golden.json");

if (import.meta.main) {
  const dir = mkdtempSync(join(tmpdir(), "aria-tokvec-"));
  try {
    const oracle = buildLlamaOracle();
    const ids: Record<string, Record<string, number[][]>> = {};
    for (const v of VOCABS) {
      const path = await makeModel({
        preset: "tiny",
        type: "tq2_0",
        arch: v.arch,
        noPre: v.noPre,
        out: join(dir, `${v.name}.gguf`),
      });
      const byMode: Record<string, number[][]> = {};
      for (const addBos of [true, false]) {
        for (const parseSpecial of [false, true]) {
          byMode[`bos=${+addBos},special=${+parseSpecial}`] = llamaTokenizeMany(path, CORPUS, {
            addBos,
            parseSpecial,
          });
        }
      }
      ids[v.name] = byMode;
    }
    const json = {
      about: "Token ids from llama.cpp (llama_tokenize) for tests/tokenizer/corpus.ts; " +
        "made by scripts/make-tokenizer-vectors.ts. Keys: bos = add_special, special = " +
        "parse_special. llama3-no-pre is split with llama.cpp's DEFAULT pre-tokenizer.",
      llamaCppCommit: oracle.llamaCommit,
      vocabularies: Object.fromEntries(
        VOCABS.map((
          v,
        ) => [v.name, `make-model --preset tiny --arch ${v.arch}${v.noPre ? " --no-pre" : ""}`]),
      ),
      texts: CORPUS,
      ids,
    };
    writeFileSync(OUT, JSON.stringify(json) + "\n");
    // Leave the file as `deno fmt` wants it, so the lint gate stays green.
    const deno = join(import.meta.dir, "..", "node_modules", ".bin", "deno");
    Bun.spawnSync([deno, "fmt", "-q", OUT], { stdout: "inherit", stderr: "inherit" });
    console.log(`Wrote ${OUT} (${CORPUS.length} texts x ${VOCABS.length} vocabularies x 4 modes)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
