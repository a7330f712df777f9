/**
 * @module The ternary peers of the engine suite (benchmarks/METHODOLOGY.md, "Peers"): bitnet.cpp
 * (I2_S) and ik_llama.cpp (IQ2_BN, IQ2_BN_R4; Q6_K or F16 embedding), each run through its own
 * `llama-bench` from a build made OUTSIDE the repository (../shared/peers/ scripts). They read the
 * suite's generated I2_S file: bitnet.cpp as it is (ARIA writes bitnet.cpp's I2_S layout), ik_llama.cpp
 * after its own `llama-quantize` (cached next to the file, in benchmarks/models/, git-ignored).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

/** A peer engine name of the suite and how it is run. */
export interface PeerSpec {
  /** "bitnet.cpp" | "ik_llama.cpp:iq2_bn" | "ik_llama.cpp:iq2_bn_r4" | … "-f16head" */
  engine: string;
  /** The directory holding the peer's llama-bench and llama-quantize. */
  binDir: string;
  /** ik_llama.cpp's quantization type, or undefined to run the I2_S file itself (bitnet.cpp). */
  quantType?: "IQ2_BN" | "IQ2_BN_R4";
  /** Keep the embedding / head in F16 (ik_llama.cpp's default writes Q6_K). */
  f16Head: boolean;
}

/** The peers given by their build directories (each may be undefined: not run). */
export function peerSpecs(bitnetDir: string | undefined, ikDir: string | undefined): PeerSpec[] {
  const peers: PeerSpec[] = [];
  if (bitnetDir !== undefined) {
    peers.push({ engine: "bitnet.cpp", binDir: bitnetDir, f16Head: true });
  }
  if (ikDir !== undefined) {
    for (const quantType of ["IQ2_BN", "IQ2_BN_R4"] as const) {
      for (const f16Head of [false, true]) {
        const engine = `ik_llama.cpp:${quantType.toLowerCase()}${f16Head ? "-f16head" : ""}`;
        peers.push({ engine, binDir: ikDir, quantType, f16Head });
      }
    }
  }
  return peers;
}

function runChecked(cmd: string[]): Uint8Array {
  const p = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (p.exitCode !== 0) {
    throw new Error(`${cmd[0]} failed (${p.exitCode}): ${p.stderr.toString().slice(-2000)}`);
  }
  return p.stdout;
}

/** The file the peer runs for the suite's I2_S file at i2sPath (made once with its quantizer). */
export function peerModel(peer: PeerSpec, i2sPath: string): string {
  if (peer.quantType === undefined) return i2sPath;
  const out = i2sPath.replace(
    /\.gguf$/,
    `.ik-${peer.quantType.toLowerCase()}${peer.f16Head ? "-f16" : ""}.gguf`,
  );
  if (existsSync(out)) return out;
  const head = peer.f16Head ? ["--token-embedding-type", "f16", "--output-tensor-type", "f16"] : [];
  runChecked([
    join(peer.binDir, "llama-quantize"),
    "--allow-requantize",
    ...head,
    i2sPath,
    out,
    peer.quantType,
  ]);
  return out;
}

/** pp and tg tokens/s (llama-bench's mean over its one repetition) and the process's peak RSS. */
export function peerBench(
  peer: PeerSpec,
  model: string,
  threads: number,
  pp: number,
  tg: number,
): { ppTps: number; tgTps: number; rss: number } {
  const cmd = [
    join(peer.binDir, "llama-bench"),
    "-m",
    model,
    "-t",
    String(threads),
    "-p",
    String(pp),
    "-n",
    String(tg),
    "-r",
    "1",
    "-o",
    "json",
  ];
  const p = Bun.spawnSync(cmd, { stderr: "pipe" });
  if (p.exitCode !== 0) {
    throw new Error(`${peer.engine} llama-bench failed: ${p.stderr.toString().slice(-2000)}`);
  }
  const tests = JSON.parse(p.stdout.toString()) as Array<
    { n_prompt: number; n_gen: number; avg_ts: number }
  >;
  const ppTest = tests.find((t) => t.n_prompt > 0 && t.n_gen === 0);
  const tgTest = tests.find((t) => t.n_gen > 0 && t.n_prompt === 0);
  return {
    ppTps: ppTest?.avg_ts ?? NaN,
    tgTps: tgTest?.avg_ts ?? NaN,
    rss: p.resourceUsage?.maxRSS ?? 0,
  };
}
