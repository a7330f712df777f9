/**
 * @module How many bits the output head needs (issue 18, "a head between int8 and int4"): on
 * aria-nano, its tied F16 head is replaced by a dequantized copy of itself at 8, 6 and 4 bits per
 * value (written as an extra F32 `output.weight`, so token_embd, the input side, is unchanged; the
 * `bitnet` arch always ties its head, so the file is relabelled `bitnet-b1.58` with
 * `hidden_activation = "silu"`, the same computation, checked bit for bit on the logits first),
 * and each file's held-out perplexity (`aria perplexity --ctx 256 --output-head float`) and logits
 * over the first 256 held-out positions are compared with the F16 head's. The rounding of each
 * candidate is that of a kernel that would run it:
 *   int8  ARIA's Q8_W: per 256 values d = absmax / 127, q = round_half_even(w / d) in -127..127
 *   q6    per 32 values d = f16(m / -32) (m the value of largest magnitude), q in -32..31: 6.5 bits
 *   q6_16 the same per 16 values (Q6_K's sub-block; Q6_K stores 8-bit sub-scales: 6.5625 bits)
 *   int4  ARIA's Q4_W: per 32 values d = f16(m / -8), q in -8..7: 4.5 bits
 * Only the weights are rounded here; the engine's int8 / int4 heads also round h to Q8_K, so the
 * int8 and int4 rows check the simulation against the real heads (docs/engine.md).
 *
 * Usage: node_modules/.bin/bun benchmarks/engine/head-bits.bench.ts [--threads N]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openModel } from "../../src/engine/index.ts";
import { findTensor, parseGguf, tensorData } from "../../src/model/gguf-reader.ts";
import { encodeGguf, str } from "../../src/model/gguf-writer.ts";
import { f16ToF32, f32ToF16 } from "../../src/model/quants.ts";
import { createTokenizer, vocabSourceFromGguf } from "../../src/tokenizer/index.ts";
import { compareLogits } from "../../tests/helpers/parity.ts";

const ROOT = join(import.meta.dir, "..", "..");
const NANO = join(ROOT, "static", "models", "aria-nano.gguf");
const HELDOUT = join(ROOT, "tests", "fixtures", "aria-nano", "heldout.txt");
const { values } = parseArgs({
  options: { threads: { type: "string", default: "2" }, all: { type: "boolean", default: false } },
});

/** Round half to even (the engine's lrintf). */
function rne(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Dequantized copy of w (rows of n) in blocks of `block`: scale from the block, q clamped to [lo, hi]. */
function roundTrip(
  w: Float32Array,
  block: number,
  kind: "int8" | "signed",
): (lo: number, hi: number) => Float32Array {
  return (lo, hi) => {
    const out = new Float32Array(w.length);
    for (let b = 0; b < w.length; b += block) {
      let m = 0;
      for (let i = b; i < b + block; i++) if (Math.abs(w[i]!) > Math.abs(m)) m = w[i]!;
      // int8: d = absmax / 127 in f32; signed: d = f16(m / lo), lo the negative end (Q4_0's choice)
      const d = kind === "int8"
        ? Math.fround(Math.abs(m) / 127)
        : f16ToF32(f32ToF16(Math.fround(m / lo)));
      const inv = d === 0 ? 0 : Math.fround(1 / d);
      for (let i = b; i < b + block; i++) {
        const q = kind === "int8"
          ? rne(Math.fround(w[i]! / d || 0))
          : rne(Math.fround(w[i]! * inv));
        out[i] = Math.fround(Math.min(hi, Math.max(lo, q)) * d);
      }
    }
    return out;
  };
}

const bytes = new Uint8Array(readFileSync(NANO));
const file = parseGguf(bytes);
const embd = findTensor(file, "token_embd.weight")!;
const [nEmbd, nVocab] = embd.dims as [number, number];
const raw = tensorData(file, bytes, embd);
const w = new Float32Array(nEmbd * nVocab);
for (let i = 0; i < w.length; i++) w[i] = f16ToF32(raw[2 * i]! | (raw[2 * i + 1]! << 8));

// --all adds the 16-value 6-bit blocks and a 5-bit head (each perplexity run takes minutes)
const variants: Array<[string, number, Float32Array]> = [
  ["int8 (8.125 b)", 8.125, roundTrip(w, 256, "int8")(-127, 127)],
  ["q6 /32 (6.5 b)", 6.5, roundTrip(w, 32, "signed")(-32, 31)],
  ...(values.all
    ? [
      ["q6 /16 (7 b; Q6_K-like 6.5625)", 7, roundTrip(w, 16, "signed")(-32, 31)] as [
        string,
        number,
        Float32Array,
      ],
      ["q5 /32 (5.5 b)", 5.5, roundTrip(w, 32, "signed")(-16, 15)] as [
        string,
        number,
        Float32Array,
      ],
    ]
    : []),
  ["int4 (4.5 b)", 4.5, roundTrip(w, 32, "signed")(-8, 7)],
];

const dir = mkdtempSync(join(tmpdir(), "aria-head-bits-"));
const tokenizer = createTokenizer(vocabSourceFromGguf(file));
const text = readFileSync(HELDOUT, "utf8");
const tokens = tokenizer.encode(text).slice(0, 256);

function logitsOf(path: string): Promise<Float32Array[]> {
  return openModel(path).then((m) => {
    using model = m;
    using ctx = model.createContext({
      nCtx: 256,
      nSeq: 1,
      nBatch: 256,
      nThreads: Number(values.threads),
    });
    ctx.decode(tokens, { logits: "all" });
    return tokens.map((_, i) => ctx.logits(i).slice());
  });
}

function perplexity(path: string): number {
  const p = Bun.spawnSync([
    process.execPath,
    join(ROOT, "src", "main.ts"),
    "perplexity",
    "--model",
    path,
    "--file",
    HELDOUT,
    "--ctx",
    "256",
    "--output-head",
    "float",
    "--threads",
    values.threads!,
    "--json",
  ], { stderr: "inherit" });
  if (p.exitCode !== 0) throw new Error(`aria perplexity failed on ${path}`);
  return (JSON.parse(p.stdout.toString()) as { perplexity: number }).perplexity;
}

/** aria-nano relabelled as bitnet-b1.58 (SiLU), plus an F32 output.weight when given. */
function relabelled(head: Float32Array | undefined): Uint8Array {
  const kv: Array<[string, (typeof file.kv extends ReadonlyMap<string, infer V> ? V : never)]> = [];
  for (const [k, v] of file.kv) {
    if (k === "general.architecture") kv.push([k, str("bitnet-b1.58")]);
    else kv.push([k.startsWith("bitnet.") ? `bitnet-b1.58.${k.slice(7)}` : k, v]);
  }
  kv.push(["bitnet-b1.58.hidden_activation", str("silu")]);
  const tensors = file.tensors.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    data: tensorData(file, bytes, t),
  }));
  if (head) {
    tensors.push({
      name: "output.weight",
      dims: [nEmbd, nVocab],
      type: 0,
      data: new Uint8Array(head.buffer),
    });
  }
  return encodeGguf(kv, tensors, { alignment: file.alignment });
}

try {
  const base = await logitsOf(NANO);
  const same = join(dir, "relabelled.gguf");
  writeFileSync(same, relabelled(undefined));
  (await logitsOf(same)).forEach((g, i) => {
    if (compareLogits(base[i]!, g).relative !== 0) {
      throw new Error("the relabelled file computes other logits");
    }
  });
  const basePpl = perplexity(NANO);
  console.log(
    `| head | bits/value | held-out ppl | vs F16 | max logit diff / range | same top token |`,
  );
  console.log(`|---|---|---|---|---|---|`);
  console.log(`| F16 (file) | 16 | ${basePpl.toFixed(3)} | | | |`);
  for (const [name, bits, wq] of variants) {
    const path = join(dir, `${bits}.gguf`);
    writeFileSync(path, relabelled(wq));
    const got = await logitsOf(path);
    let worst = 0;
    let same = 0;
    got.forEach((g, i) => {
      const c = compareLogits(base[i]!, g);
      worst = Math.max(worst, c.relative);
      if (c.sameArgmax) same++;
    });
    const ppl = perplexity(path);
    console.log(
      `| ${name} | ${bits} | ${ppl.toFixed(3)} | ${(100 * (ppl / basePpl - 1)).toFixed(3)}% | ${
        (100 * worst).toFixed(2)
      }% | ${same}/${tokens.length} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
