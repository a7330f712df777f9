/**
 * @module Tensors the architecture does not read are refused at load (native/src/model.c
 * `check_tensor_names`, docs/models.md "Tensors ARIA refuses"): a bias, llama-3.1's
 * `rope_freqs`, a sub-norm in a `llama` file or a block past block_count would change the
 * results if they were skipped silently. Generated tiny models with one tensor added.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openModel } from "../../src/engine/index.ts";
import { withExtraTensor } from "../helpers/bitnet-variant.ts";
import { GENERATED_DIR, testModel } from "../helpers/models.ts";

const CASES = [
  { arch: "bitnet-b1.58", name: "blk.0.attn_q.bias", dims: [256] },
  { arch: "bitnet-b1.58", name: "blk.1.ffn_down.bias", dims: [256] },
  { arch: "llama", name: "rope_freqs.weight", dims: [32] },
  { arch: "llama", name: "blk.0.attn_sub_norm.weight", dims: [256] },
  { arch: "bitnet", name: "blk.7.attn_norm.weight", dims: [256] },
] as const;

describe("unknown tensors", () => {
  for (const c of CASES) {
    test(`a ${c.arch} file with "${c.name}" is refused with the tensor's name`, async () => {
      const base = readFileSync(await testModel({ preset: "tiny", arch: c.arch, type: "tq2_0" }));
      const path = join(GENERATED_DIR, `tiny-${c.arch}-extra-${c.name}.gguf`);
      writeFileSync(path, withExtraTensor(base, c.name, [...c.dims]));
      await expect(openModel(path)).rejects.toThrow(
        new RegExp(`tensor "${c.name.replaceAll(".", "\\.")}" is not part of architecture`),
      );
    });
  }

  test("the generated files themselves load (every tensor they have is read)", async () => {
    for (const arch of ["bitnet", "bitnet-b1.58", "llama"] as const) {
      using model = await openModel(await testModel({ preset: "tiny", arch, type: "tq2_0" }));
      expect(model.info.arch).toBe(arch);
    }
  });
});
