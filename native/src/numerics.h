/*
 * numerics.h — the canonical float operations of engine contract v2 (docs/engine.md, "Numerics
 * contract v2"): every float the forward pass computes is fixed by this file and kernels-ref.c,
 * so that every kernel table, thread count and batch gives the same logits bit for bit.
 *
 * The rules:
 *  - only IEEE-754 single operations (+, -, *, /, sqrt, fused multiply-add, conversions), each
 *    rounded to nearest even; a fused multiply-add only where the reference writes fmaf (the float
 *    dots' partial sums), never one the compiler chose (the library is built with
 *    -ffp-contract=off);
 *  - every float sum has one order, written here: dot products in ARIA_DOT_LANES partial sums
 *    combined by aria_dot_lanes_reduce, block sums in block order, the rest element by element;
 *  - exp is aria_expf (below) everywhere, never libm's expf; the RoPE angles come from
 *    aria_rope_table (numerics.c), computed in double with only + - * / from our own series, never
 *    libm's powf / sinf / cosf (which differ between C libraries).
 * NaN payloads are not part of the contract (x86 and ARM quiet NaNs differently); whether a value
 * is NaN is.
 */
#ifndef ARIA_NUMERICS_H
#define ARIA_NUMERICS_H

#include <stdint.h>

/* The version of the numerics contract this library implements (aria_numerics_contract). */
#define ARIA_NUMERICS_CONTRACT 2

/* Float dot products (f32 x f32, f16 x f32): element i is added to partial sum i % 32 as
 * acc = fmaf(x_i, y_i, acc) (the exact product, one rounding), every partial sum starting at +0.
 * 32 lanes: four 8-lane AVX2 registers, two AVX-512 ones or eight NEON ones, enough independent
 * FMAs to hide their latency. (Every CPU with AVX2 or NEON has FMA; the scalar reference calls
 * aria_fmaf below, correctly rounded by construction: C99 requires the C library's fmaf to be,
 * but mingw-w64's is not, and its results differed from vfmadd's under wine.) */
#define ARIA_DOT_LANES 32

/* a * b + c with one rounding (what vfmadd and fmla compute), in portable C: the product of two
 * floats is exact in double (48 significant bits); the sum is rounded to odd in double (the
 * error-free TwoSum tells whether it was exact; if not, an even last bit is moved one step toward
 * the lost part), and rounding that to float is then the correctly rounded result (Boldo and
 * Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to
 * odd", 2008: 53 >= 24 + 2). Infinities and NaNs pass through the plain double operations. */
static inline float aria_fmaf(float a, float b, float c) {
    const double p = (double)a * (double)b;
    double s = p + (double)c;
    const double bv = s - p;
    const double err = (p - (s - bv)) + ((double)c - bv);
    if (err != 0.0 && s - s == 0.0) { /* inexact, and s finite (s - s is NaN for inf / NaN) */
        union { double d; uint64_t u; } v = { s };
        if ((v.u & 1u) == 0) {
            /* toward the lost part: away from zero when it has s's sign, else toward zero */
            v.u = ((err > 0.0) == (s > 0.0)) ? v.u + 1u : v.u - 1u;
            s = v.d;
        }
    }
    return (float)s;
}

/* The 32 partial sums to one float: for h = 16, 8, 4, 2, 1 in turn, acc[l] = acc[l] + acc[l + h]
 * for l < h; the result is acc[0]. (AVX2: (a0 + a2) + (a1 + a3), then the halves, then pairs.) */
static inline float aria_dot_lanes_reduce(float acc[ARIA_DOT_LANES]) {
    for (int h = ARIA_DOT_LANES / 2; h >= 1; h /= 2) {
        for (int l = 0; l < h; l++) {
            acc[l] = acc[l] + acc[l + h];
        }
    }
    return acc[0];
}

/* Round half to even of |v| < 2^22 with float adds only (the 1.5 * 2^23 trick, as nearest_int). */
static inline float aria_round_even_small(float v) {
    return (v + 12582912.0f) - 12582912.0f;
}

/* The constants of aria_expf (Cephes' expf: x = k ln 2 + r, ln 2 split in two parts, a degree-6
 * polynomial in r). */
#define ARIA_EXP_HI    88.3762626647949f   /* x is clamped to [LO, HI] so that 2^k stays normal */
#define ARIA_EXP_LO    (-87.3365447504019f)
#define ARIA_EXP_INF   88.7228391f         /* above this, +inf */
#define ARIA_EXP_LOG2E 1.44269504088896341f
#define ARIA_EXP_C1    0.693359375f
#define ARIA_EXP_C2    (-2.12194440e-4f)
#define ARIA_EXP_P0    1.9875691500e-4f
#define ARIA_EXP_P1    1.3981999507e-3f
#define ARIA_EXP_P2    8.3334519073e-3f
#define ARIA_EXP_P3    4.1665795894e-2f
#define ARIA_EXP_P4    1.6666665459e-1f
#define ARIA_EXP_P5    5.0000001201e-1f

/* exp(x), the one exp of the engine (softmax, SiLU), operation by operation what the SIMD
 * versions (kernels-avx2.c exp8, kernels-neon.c) do lane by lane:
 *   xc = min(max(x, LO), HI); k = round_even(xc * log2e); r = (xc - k C1) - k C2;
 *   p = ((((P0 r + P1) r + P2) r + P3) r + P4) r + P5;  p = p (r r) + (r + 1);  y = p * 2^k;
 *   x < LO: +0; x > INF: +inf; NaN: NaN.
 * About 2 ulp from the true exp on [LO, HI]; below LO it gives 0 where expf gives a subnormal. */
static inline float aria_expf(float x) {
    if (x != x) {
        return x;
    }
    if (x < ARIA_EXP_LO) {
        return 0.0f;
    }
    if (x > ARIA_EXP_INF) {
        return __builtin_inff();
    }
    const float xc = x > ARIA_EXP_HI ? ARIA_EXP_HI : x;
    const float k  = aria_round_even_small(xc * ARIA_EXP_LOG2E);
    float       r  = xc - k * ARIA_EXP_C1;
    r              = r - k * ARIA_EXP_C2;
    float p        = ARIA_EXP_P0;
    p              = p * r + ARIA_EXP_P1;
    p              = p * r + ARIA_EXP_P2;
    p              = p * r + ARIA_EXP_P3;
    p              = p * r + ARIA_EXP_P4;
    p              = p * r + ARIA_EXP_P5;
    p              = p * (r * r) + (r + 1.0f);
    union {
        uint32_t u;
        float    f;
    } two_k = { .u = (uint32_t)((int32_t)k + 127) << 23 };
    return p * two_k.f;
}

/* SiLU times the up projection, the canonical element: (g / (1 + exp(0 - g))) * u. */
static inline float aria_silu_mul(float g, float u) {
    return (g / (1.0f + aria_expf(0.0f - g))) * u;
}

/* Double-precision helpers for the RoPE table (numerics.c): only + - * / on doubles, so every
 * IEEE-754 machine gives the same bits. */
double aria_exp_f64(double x);               /* |x| < 700 */
double aria_log_f64(double x);               /* x > 0, finite */
void   aria_sincos_f64(double x, double * s, double * c);  /* |x| < 2^30 */

/* base^(-2i/n_rot) for i < n_rot / 2, as floats (the RoPE inverse frequencies). */
void aria_rope_inv_freq(float base, int32_t n_rot, float * inv_freq);
/* The RoPE cos / sin table: cs[(p * half + i) * 2] = cos(theta), [.. + 1] = sin(theta), theta =
 * (float) p * inv_freq[i] rounded as a float, then cos and sin of it computed in double and rounded
 * to float. */
void aria_rope_table(const float * inv_freq, int32_t half, int32_t n_pos, float * cs);

#endif /* ARIA_NUMERICS_H */
