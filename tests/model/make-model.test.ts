/**
 * @module Integration test of scripts/make-model.ts: every architecture × ternary format of
 * the tiny preset is generated into a temp dir, parsed back, checked against formats.md §5
 * names, shapes and metadata, and the three ternary formats must dequantize to the same
 * weights. Also checks that generation is byte-for-byte deterministic.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeModel } from "../../scripts/make-model.ts";
import { GgmlType } from "../../src/model/gguf-format.ts";
import {
  type GgufFile,
  kvNumber,
  kvString,
  kvStrings,
  parseGguf,
  tensorData,
} from "../../src/model/gguf-reader.ts";
import { dequantizeRow } from "../../src/model/quants.ts";
import type { SyntheticArch, TernaryFormat } from "../../src/model/synthetic.ts";

const dir = mkdtempSync(join(tmpdir(), "aria-make-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TYPES: Record<TernaryFormat, number> = {
  tq2_0: GgmlType.TQ2_0,
  tq1_0: GgmlType.TQ1_0,
  i2_s: GgmlType.I2_S,
};

async function generate(arch: SyntheticArch, type: TernaryFormat, seed = 1) {
  const path = await makeModel({
    preset: "tiny",
    type,
    arch,
    seed,
    out: join(dir, `${arch}-${type}-${seed}.gguf`),
  });
  const bytes = await Bun.file(path).bytes();
  return { path, bytes, file: parseGguf(bytes) };
}

function ternaryWeights(file: GgufFile, bytes: Uint8Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const t of file.tensors) {
    if ([GgmlType.TQ1_0, GgmlType.TQ2_0, GgmlType.I2_S].includes(t.type as 34)) {
      out.set(t.name, dequantizeRow(t.type, tensorData(file, bytes, t)));
    }
  }
  return out;
}

const EXPECTED: Record<
  Exclude<SyntheticArch, "qwen3">,
  { vocab: number; kvHeads: number; base: number; tokenizer: string }
> = {
  bitnet: { vocab: 32000, kvHeads: 4, base: 10000, tokenizer: "llama" },
  "bitnet-b1.58": { vocab: 128256, kvHeads: 2, base: 500000, tokenizer: "gpt2" },
  llama: { vocab: 128256, kvHeads: 2, base: 500000, tokenizer: "gpt2" },
};

// Each test generates a tiny file with a real vocabulary (up to ~130 MB with llama's untied
// output) and parses it back: about a second alone, several on a loaded 2-vCPU machine. Bun
// 1.4.5 ignores bunfig's [test] timeout (runs stopped at its 5 s default), hence this one.
const SLOW_MS = 60_000;

for (const arch of ["bitnet", "bitnet-b1.58", "llama"] as const) {
  describe(`makeModel() arch ${arch}`, () => {
    const weights = new Map<TernaryFormat, Map<string, Float32Array>>();
    for (const type of ["tq2_0", "tq1_0", "i2_s"] as const) {
      test(`makeModel() writes ${arch} ${type} tensors and metadata`, async () => {
        const { path, bytes, file } = await generate(arch, type);
        checkFile(file, arch, type);
        weights.set(type, ternaryWeights(file, bytes));
        rmSync(path);
      }, SLOW_MS);
    }
    test(`makeModel() writes identical ${arch} weights in TQ2_0, TQ1_0 and I2_S`, () => {
      const tq2 = [...weights.get("tq2_0")!];
      expect(tq2.length).toBe(14);
      expect([...weights.get("tq1_0")!]).toEqual(tq2);
      expect([...weights.get("i2_s")!]).toEqual(tq2);
    });
  });
}

function checkFile(
  file: GgufFile,
  arch: Exclude<SyntheticArch, "qwen3">,
  type: TernaryFormat,
): void {
  const e = EXPECTED[arch];
  const a = arch;
  expect({
    arch: kvString(file, "general.architecture"),
    ctx: kvNumber(file, `${a}.context_length`),
    embd: kvNumber(file, `${a}.embedding_length`),
    blocks: kvNumber(file, `${a}.block_count`),
    ff: kvNumber(file, `${a}.feed_forward_length`),
    heads: kvNumber(file, `${a}.attention.head_count`),
    kvHeads: kvNumber(file, `${a}.attention.head_count_kv`),
    rot: kvNumber(file, `${a}.rope.dimension_count`),
    base: kvNumber(file, `${a}.rope.freq_base`),
    eps: Math.abs(kvNumber(file, `${a}.attention.layer_norm_rms_epsilon`)! - 1e-5) < 1e-9,
    vocab: kvNumber(file, `${a}.vocab_size`),
    tokens: kvStrings(file, "tokenizer.ggml.tokens")?.length,
    model: kvString(file, "tokenizer.ggml.model"),
    fileType: kvNumber(file, "general.file_type"),
  }).toEqual({
    arch,
    ctx: 512,
    embd: 256,
    blocks: 2,
    ff: 768,
    heads: 4,
    kvHeads: e.kvHeads,
    rot: 64,
    base: e.base,
    eps: true,
    vocab: e.vocab,
    tokens: e.vocab,
    model: e.tokenizer,
    fileType: { tq1_0: 36, tq2_0: 37, i2_s: 40 }[type],
  });
  const shapes = Object.fromEntries(file.tensors.map((t) => [t.name, [t.dims, t.type]]));
  const tq = TYPES[type];
  const kvDim = 64 * e.kvHeads;
  expect(shapes["token_embd.weight"]).toEqual([[256, e.vocab], GgmlType.F16]);
  expect(shapes["blk.1.attn_k.weight"]).toEqual([[256, kvDim], tq]);
  expect(shapes["blk.1.ffn_down.weight"]).toEqual([[768, 256], tq]);
  expect(shapes["blk.1.ffn_norm.weight"]).toEqual([[256], GgmlType.F32]);
  expect(shapes["blk.1.ffn_sub_norm.weight"]).toEqual(
    arch === "llama" ? undefined : [[768], GgmlType.F32],
  );
  expect(shapes["output.weight"]).toEqual(
    arch === "llama" ? [[256, e.vocab], GgmlType.F16] : undefined,
  );
  expect(file.tensors.length).toBe(arch === "llama" ? 21 : 24);
}

describe("makeModel() determinism", () => {
  test("makeModel() writes byte-identical files for the same options and seed", async () => {
    const a = await generate("bitnet", "tq2_0", 7);
    const b = await makeModel({
      preset: "tiny",
      type: "tq2_0",
      arch: "bitnet",
      seed: 7,
      out: join(dir, "again.gguf"),
    });
    const c = await generate("bitnet", "tq2_0", 8);
    expect(Bun.hash(await Bun.file(b).bytes())).toBe(Bun.hash(a.bytes));
    expect(Bun.hash(c.bytes)).not.toBe(Bun.hash(a.bytes));
  }, SLOW_MS);

  test("makeModel() honours --no-pre and the embedding type", async () => {
    const path = await makeModel({
      preset: "tiny",
      type: "tq2_0",
      arch: "bitnet-b1.58",
      embdType: "q6_k",
      noPre: true,
      out: join(dir, "nopre.gguf"),
    });
    const file = parseGguf(await Bun.file(path).bytes());
    expect([file.kv.has("tokenizer.ggml.pre"), file.tensors[0]?.type]).toEqual([
      false,
      GgmlType.Q6_K,
    ]);
  });

  test("makeModel() rejects an unknown preset", () => {
    expect(makeModel({ preset: "huge", type: "tq2_0" })).rejects.toThrow(RangeError);
  });
});
