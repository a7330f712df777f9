/**
 * @module exp and log with the same bits on every CPU and JavaScript engine, for the sampler
 * (softmax weights, temperature, top-p, min-p, logprobs). `Math.exp` and `Math.log` are
 * "implementation-approximated" in ECMAScript: V8, JavaScriptCore and SpiderMonkey may return
 * different last bits, and a seeded draw that lands near a boundary between two tokens then picks
 * another token. A ledger receipt promises that the same logits, settings and seed give the same
 * tokens anywhere (docs/ledger.md, record version 2), so the sampler uses these instead.
 *
 * Both are fdlibm's algorithms (Sun Microsystems, 1993: `e_exp.c`, `e_log.c`, the reference
 * behind Java's StrictMath), written with only the operations ECMAScript defines exactly: `+ - * /`
 * on doubles (IEEE 754 binary64, round to nearest even; JavaScript never fuses a multiply and an
 * add), `Math.trunc`, comparisons, and reading / writing the bits of a double. Each operation is
 * written in the order it is evaluated, so every engine computes the same double. Error: below one
 * ulp (fdlibm's bound; `portable-math.test.ts` measures it against a 256-bit reference).
 * Pure.
 */

// one scratch double and its two 32-bit halves, little-endian explicitly (DataView)
const scratch = new DataView(new ArrayBuffer(8));

function highWord(x: number): number {
  scratch.setFloat64(0, x, true);
  return scratch.getInt32(4, true);
}

function lowWord(x: number): number {
  scratch.setFloat64(0, x, true);
  return scratch.getUint32(0, true);
}

function withHighWord(x: number, hi: number): number {
  scratch.setFloat64(0, x, true);
  scratch.setInt32(4, hi, true);
  return scratch.getFloat64(0, true);
}

// 2^k for k = -1022 .. 1023, exact (built from the exponent bits)
function pow2(k: number): number {
  scratch.setUint32(0, 0, true);
  scratch.setUint32(4, (k + 1023) << 20, true);
  return scratch.getFloat64(0, true);
}

const LN2_HI = 6.93147180369123816490e-01; // 0x3fe62e42 fee00000: k * LN2_HI is exact
const LN2_LO = 1.90821492927058770002e-10; // 0x3dea39ef 35793c76
const INV_LN2 = 1.44269504088896338700e+00;
const EXP_OVER = 7.09782712893383973096e+02; // above: +Infinity
const EXP_UNDER = -7.45133219101941108420e+02; // below: 0
const TWO_M1000 = 9.33263618503218878990e-302; // 2^-1000
const P1 = 1.66666666666666019037e-01;
const P2 = -2.77777777770155933842e-03;
const P3 = 6.61375632143793436117e-05;
const P4 = -1.65339022054652515390e-06;
const P5 = 4.13813679705723846039e-08;

/**
 * e^x, the same double on every engine (fdlibm `e_exp.c`: x = k ln 2 + r, |r| <= ln 2 / 2, a
 * degree-5 rational approximation of e^r, times 2^k).
 *
 * @param x any double.
 * @returns e^x within one ulp; +Infinity above 709.78, 0 below -745.13, NaN for NaN.
 */
export function portableExp(x: number): number {
  if (x !== x) return x;
  if (x > EXP_OVER) return Infinity;
  if (x < EXP_UNDER) return 0;
  let k = 0;
  let hi = 0;
  let lo = 0;
  let r = x;
  // |x| > ln 2 / 2: reduce by k = round(x / ln 2) (halves away from zero, as fdlibm)
  if (x > 0.34657359027997264 || x < -0.34657359027997264) {
    k = Math.trunc(INV_LN2 * x + (x < 0 ? -0.5 : 0.5));
    hi = x - k * LN2_HI;
    lo = k * LN2_LO;
    r = hi - lo;
  } else if (x < 3.725290298461914e-9 && x > -3.725290298461914e-9) {
    return 1 + x; // |x| < 2^-28
  }
  const t = r * r;
  const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((r * c) / (c - 2) - r);
  const y = 1 - ((lo - (r * c) / (2 - c)) - hi);
  // y in [0.5, 2): scaling by 2^k is exact unless the result is subnormal (then one rounding)
  if (k >= -1021) return k > 1023 ? y * 2 * pow2(k - 1) : y * pow2(k);
  return y * pow2(k + 1000) * TWO_M1000;
}

const TWO54 = 1.80143985094819840000e+16;
const LG1 = 6.666666666666735130e-01;
const LG2 = 3.999999999940941908e-01;
const LG3 = 2.857142874366239149e-01;
const LG4 = 2.222219843214978396e-01;
const LG5 = 1.818357216161805012e-01;
const LG6 = 1.531383769920937332e-01;
const LG7 = 1.479819860511658591e-01;

/**
 * The natural logarithm, the same double on every engine (fdlibm `e_log.c`: x = 2^k (1 + f) with
 * sqrt(2)/2 < 1 + f < sqrt(2), then log(1 + f) from s = f / (2 + f) and a degree-14 polynomial).
 *
 * @param x any double.
 * @returns log x within one ulp; -Infinity for ±0, NaN below 0 and for NaN, +Infinity for it.
 */
export function portableLog(x: number): number {
  let hx = highWord(x);
  const lx = lowWord(x);
  let k = 0;
  if (hx < 0x00100000) { // x < 2^-1022: zero, negative or subnormal
    if (((hx & 0x7fffffff) | lx) === 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54; // exact: scales a subnormal into the normal range
    hx = highWord(x);
  }
  if (hx >= 0x7ff00000) return x + x; // +Infinity or NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const i = (hx + 0x95f64) & 0x100000;
  x = withHighWord(x, hx | (i ^ 0x3ff00000)); // normalize x or x / 2
  k += i >> 20;
  const f = x - 1;
  const dk = k;
  if ((0x000fffff & (2 + hx)) < 3) { // |f| < 2^-20
    if (f === 0) return k === 0 ? 0 : dk * LN2_HI + dk * LN2_LO;
    const r = f * f * (0.5 - 0.33333333333333333 * f);
    return k === 0 ? f - r : dk * LN2_HI - ((r - dk * LN2_LO) - f);
  }
  const s = f / (2 + f);
  const z = s * s;
  const w = z * z;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  const r = t2 + t1;
  if (((hx - 0x6147a) | (0x6b851 - hx)) > 0) {
    const hfsq = 0.5 * f * f;
    return k === 0
      ? f - (hfsq - s * (hfsq + r))
      : dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f);
  }
  return k === 0 ? f - s * (f - r) : dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f);
}
