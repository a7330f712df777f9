import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { portableExp, portableLog } from "./portable-math.ts";
import { createRng } from "./rng.ts";

// A 256-bit fixed-point reference, independent of the code under test: BigInt only.
const P = 256n;
const ONE = 1n << P;

// ln 2 = sum over k >= 1 of 1 / (k 2^k), to 256 bits (264 terms, 8 guard bits)
const LN2 = (() => {
  const g = 8n;
  let sum = 0n;
  for (let k = 1n; k <= 264n; k++) sum += (ONE << g) / (k << k);
  return sum >> g;
})();

function decompose(d: number): { m: bigint; e: bigint } {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, d);
  const bits = v.getBigUint64(0);
  const ef = (bits >> 52n) & 0x7ffn;
  const frac = bits & ((1n << 52n) - 1n);
  return ef === 0n ? { m: frac, e: -1074n } : { m: frac | (1n << 52n), e: ef - 1075n };
}

const shift = (v: bigint, s: bigint) => (s >= 0n ? v << s : v >> -s);

// |d - true| in units of d's last place, times 2^32 (true = t * 2^(te - P))
function ulpError(d: number, t: bigint, te: bigint): number {
  const { m, e } = decompose(d);
  const diff = (m << 32n) - shift(t, te - P - e + 32n);
  return Number(diff < 0n ? -diff : diff) / 2 ** 32;
}

// e^x as t * 2^(k - P)
function refExp(x: number): { t: bigint; te: bigint } {
  const { m, e } = decompose(Math.abs(x));
  const xf = (x < 0 ? -1n : 1n) * shift(m, e + P);
  const k = (xf + (xf < 0n ? -LN2 / 2n : LN2 / 2n)) / LN2;
  const r = xf - k * LN2;
  let term = ONE;
  let sum = ONE;
  for (let n = 1n; n < 80n && term !== 0n; n++) {
    term = (term * r) / (ONE * n);
    sum += term;
  }
  return { t: sum, te: k };
}

// log x (x > 0, normal or subnormal) as fixed point: (e + 52) ln 2 + 2 atanh((m - 1) / (m + 1))
function refLog(x: number): bigint {
  const { m, e } = decompose(x);
  let bits = 0n;
  for (let v = m; v > 1n; v >>= 1n) bits++;
  const mf = shift(m, P - bits); // m / 2^bits in [1, 2)
  const u = ((mf - ONE) << P) / (mf + ONE);
  const u2 = (u * u) >> P;
  let pw = u;
  let sum = 0n;
  for (let n = 1n; pw !== 0n; n += 2n) {
    sum += pw / n;
    pw = (pw * u2) >> P;
  }
  return (e + bits) * LN2 + 2n * sum;
}

function logUlpError(x: number): number {
  const d = portableLog(x);
  const t = refLog(x);
  return ulpError(Math.abs(d), t < 0n ? -t : t, 0n);
}

const uniform = (rng: () => number, lo: number, hi: number) => lo + (hi - lo) * rng();

describe("portableExp()", () => {
  test("portableExp() is within one ulp of a 256-bit reference over 6000 inputs", () => {
    const rng = createRng(1);
    const xs = [
      ...Array.from({ length: 2000 }, () => uniform(rng, -40, 0)), // the sampler's range
      ...Array.from({ length: 2000 }, () => uniform(rng, -708, 709)),
      ...Array.from({ length: 2000 }, () => uniform(rng, -1, 1) * 2 ** -(rng() * 40)),
      -0.34657359027997264,
      0.34657359027997264,
      0.5,
      -1,
      1,
      709.7,
      -708.3,
      Math.LN2,
    ];
    let worst = 0;
    for (const x of xs) {
      const { t, te } = refExp(x);
      worst = Math.max(worst, ulpError(portableExp(x), t, te));
    }
    expect(worst).toBeLessThan(1);
  });
  test("portableExp() at the edges: 0, tiny, overflow, underflow, subnormal, NaN", () => {
    expect(portableExp(0)).toBe(1);
    expect(portableExp(-0)).toBe(1);
    expect(portableExp(1e-300)).toBe(1);
    expect(portableExp(710)).toBe(Infinity);
    expect(portableExp(-746)).toBe(0);
    expect(portableExp(-Infinity)).toBe(0);
    expect(portableExp(Infinity)).toBe(Infinity);
    expect(portableExp(NaN)).toBeNaN();
    const sub = portableExp(-740); // subnormal: ~ 4.2e-322
    expect(sub).toBeGreaterThan(0);
    expect(Math.abs(sub - 4.2e-322)).toBeLessThan(1e-323);
  });
});

describe("portableLog()", () => {
  test("portableLog() is within one ulp of a 256-bit reference over 6000 inputs", () => {
    const rng = createRng(2);
    const xs = [
      ...Array.from({ length: 2000 }, () => uniform(rng, 1e-8, 1)), // min-p, softmax sums
      ...Array.from({ length: 2000 }, () => 2 ** uniform(rng, -1070, 1020)),
      ...Array.from({ length: 2000 }, () => 1 + uniform(rng, -1, 1) * 2 ** -(rng() * 50)),
      0.05,
      0.1,
      2,
      Math.E,
      5e-324,
      Number.MAX_VALUE,
    ];
    let worst = 0;
    for (const x of xs) if (x !== 1) worst = Math.max(worst, logUlpError(x));
    expect(worst).toBeLessThan(1);
  });
  test("portableLog() at the edges: 1, 0, negative, infinity, NaN", () => {
    expect(portableLog(1)).toBe(0);
    expect(portableLog(0)).toBe(-Infinity);
    expect(portableLog(-0)).toBe(-Infinity);
    expect(portableLog(-1)).toBeNaN();
    expect(portableLog(-Infinity)).toBeNaN();
    expect(portableLog(Infinity)).toBe(Infinity);
    expect(portableLog(NaN)).toBeNaN();
  });
});

describe("portable across JavaScript engines", () => {
  // the same 100 000 results, bit for bit, under JavaScriptCore (bun) and V8 (deno)
  const script = `
    import { portableExp, portableLog } from ${
    JSON.stringify(join(import.meta.dir, "portable-math.ts"))
  };
    const out = new Float64Array(200000);
    let s = 12345;
    for (let i = 0; i < 100000; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const u = s / 4294967296;
      out[2 * i] = portableExp(-50 + 60 * u);
      out[2 * i + 1] = portableLog(1e-12 + u * 4);
    }
    const buf = new Uint8Array(out.buffer);
    const digest = await crypto.subtle.digest("SHA-256", buf);
    console.log(Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(""));
  `;
  test("portableExp() and portableLog() hash the same in bun and deno", async () => {
    const deno = join(import.meta.dir, "../../node_modules/.bin/deno");
    const run = async (cmd: string[]) => {
      const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
      const out = (await new Response(p.stdout).text()).trim();
      expect(await p.exited).toBe(0);
      return out;
    };
    const file = join(import.meta.dir, `../../.portable-math-check-${process.pid}.ts`);
    await Bun.write(file, script);
    try {
      const inBun = await run([process.execPath, "run", file]);
      const inDeno = await run([deno, "run", "--quiet", "--no-config", file]);
      expect(inBun).toMatch(/^[0-9a-f]{64}$/);
      expect(inDeno).toBe(inBun);
    } finally {
      await Bun.file(file).delete();
    }
  }, 60_000);
});
