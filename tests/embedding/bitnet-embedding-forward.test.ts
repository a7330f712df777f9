/**
 * @module Microsoft's BitNet embedding models on the native engine (docs/models.md "BitNet
 * embedding models"): a generated file with bitnet-embedding-0.6b's real metadata and shapes (arch
 * qwen3, hidden 1024, 16 / 8 heads of 128, FFN 3072; 2 blocks and the Llama-2 vocabulary to stay
 * fast), its seven per-projection input norms per block, F16 norms, I2_S projections, no
 * output.weight, pooling_type and add_eos_token as its converter writes them. The engine's hidden
 * states and logits are compared with the TypeScript reference forward pass, which implements the
 * input norms independently (tests/helpers/reference-forward.ts). llama.cpp cannot be the oracle
 * here: its qwen3 loader does not know the `*_norm_in` tensors and refuses the file.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseGguf, tensorData } from "../../src/model/gguf-reader.ts";
import type { GgufValue } from "../../src/model/gguf-format.ts";
import { bool, encodeGguf, type GgufTensorWithData, str } from "../../src/model/gguf-writer.ts";
import { openModel, setKernels } from "../../src/engine/index.ts";
import { kvBool, kvNumber, openGguf, typeName } from "../../src/model/index.ts";
import { ReferenceModel } from "../helpers/reference-forward.ts";
import { EMBEDDING_MODEL, GENERATED_DIR, testModel } from "../helpers/models.ts";
import { compareLogits } from "../helpers/parity.ts";

setDefaultTimeout(300_000);

/** Token ids valid in the Llama-2 vocabulary. */
const PROMPT = [1, 450, 7483, 310, 3444, 338, 263, 4086];
/** As tests/native/qwen3.test.ts: 1e-4 of the logit range at the first positions, 3e-2 later. */
const STRICT = 1e-4;
const FLIP = 3e-2;

/** The file with its keys rewritten: `rename` swaps the arch prefix, `extra` adds keys. */
function rewritten(
  bytes: Uint8Array,
  options: Readonly<{ arch?: string; extra?: [string, GgufValue][] }>,
): Uint8Array {
  const file = parseGguf(bytes);
  const to = options.arch;
  const kv: [string, GgufValue][] = [...file.kv.entries()]
    .filter(([k]) => k !== "general.alignment")
    .map(([k, v]) => {
      if (to === undefined) return [k, v];
      if (k === "general.architecture") return [k, str(to)];
      return [k.startsWith("qwen3.") ? `${to}.${k.slice(6)}` : k, v];
    });
  const tensors: GgufTensorWithData[] = file.tensors.map((info) => ({
    name: info.name,
    dims: info.dims,
    type: info.type,
    data: tensorData(file, bytes, info),
  }));
  return encodeGguf([...kv, ...(options.extra ?? [])], tensors, { alignment: file.alignment });
}

describe("BitNet embedding models (qwen3 with per-projection input norms)", () => {
  test("gemma3 (bitnet-embedding-270m) and bidirectional attention are refused with the reason", async () => {
    const bytes = new Uint8Array(readFileSync(await testModel(EMBEDDING_MODEL)));
    const gemma = join(GENERATED_DIR, "embedding-as-gemma3.gguf");
    writeFileSync(gemma, rewritten(bytes, { arch: "gemma3" }));
    await expect(openModel(gemma)).rejects.toThrow(/gemma3.*sliding-window attention/);
    const bidirectional = join(GENERATED_DIR, "embedding-not-causal.gguf");
    writeFileSync(
      bidirectional,
      rewritten(bytes, { extra: [["qwen3.attention.causal", bool(false)]] }),
    );
    await expect(openModel(bidirectional)).rejects.toThrow(/attention\.causal is false/);
    const causal = join(GENERATED_DIR, "embedding-causal.gguf");
    writeFileSync(causal, rewritten(bytes, { extra: [["qwen3.attention.causal", bool(true)]] }));
    using model = await openModel(causal);
    expect(model.info.arch).toBe("qwen3");
  });

  test("the file holds the seven input norms per block, F16, and no output.weight", async () => {
    const path = await testModel(EMBEDDING_MODEL);
    await setKernels("auto");
    using model = await openModel(path);
    expect(model.info.arch).toBe("qwen3");
    expect(model.info.outputTied).toBe(true);
    const { file } = openGguf(path);
    const names = file.tensors.map((t) => t.name);
    expect(names.filter((n) => n.endsWith("_norm_in.weight"))).toHaveLength(2 * 7);
    expect(names).not.toContain("output.weight");
    for (const t of file.tensors.filter((t) => t.name.includes("norm"))) {
      expect(typeName(t.type)).toBe("F16");
    }
    expect(kvNumber(file, "qwen3.pooling_type")).toBe(3);
    expect(kvBool(file, "tokenizer.ggml.add_eos_token")).toBe(true);
  });

  for (const kernels of ["ref", "auto"] as const) {
    test(`logits match the reference forward pass at every position (${kernels} kernels)`, async () => {
      const path = await testModel(EMBEDDING_MODEL);
      const ref = ReferenceModel.fromBytes(new Uint8Array(readFileSync(path))).newSequence()
        .evalTokens(PROMPT);
      await setKernels(kernels);
      try {
        using model = await openModel(path);
        using ctx = model.createContext({ nCtx: 64, nThreads: 2 });
        ctx.decode(PROMPT, { logits: "all" });
        for (let i = 0; i < PROMPT.length; i++) {
          const { relative, sameArgmax } = compareLogits(ref[i]!, ctx.logits(i));
          expect(relative).toBeLessThan(i < 2 ? STRICT : FLIP);
          if (i < 2) expect(sameArgmax).toBe(true);
        }
      } finally {
        await setKernels("auto");
      }
    });
  }

  test("the input norms change the result (the comparison above is not vacuous)", async () => {
    const withNorms = await testModel(EMBEDDING_MODEL);
    // the same seeded weights without the input norms
    const without = await testModel({
      preset: EMBEDDING_MODEL.preset,
      arch: "qwen3",
      type: "i2_s",
    });
    const logitsOf = async (path: string) => {
      using model = await openModel(path);
      using ctx = model.createContext({ nCtx: 64, nThreads: 2 });
      ctx.decode(PROMPT);
      return ctx.logits(0).slice();
    };
    const { relative } = compareLogits(await logitsOf(withNorms), await logitsOf(without));
    expect(relative).toBeGreaterThan(1e-2);
  });
});
