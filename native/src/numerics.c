/*
 * numerics.c — the RoPE angles of engine contract v2 (numerics.h), computed without libm: exp, log,
 * sin and cos in double from range reduction and Taylor series, using only + - * / (IEEE-754
 * correctly rounded on every machine; the library is built with -ffp-contract=off), so the table
 * is the same bits with any C library. Accuracy: a few double ulps, far below the float rounding
 * of the results.
 */
#include "numerics.h"

#include <string.h>

/* Round half to even of |v| < 2^51 (1.5 * 2^52 trick). */
static double round_even_f64(double v) {
    return (v + 6755399441055744.0) - 6755399441055744.0;
}

/* 2^k for -1022 <= k <= 1023, from its bits. */
static double pow2_f64(int32_t k) {
    const uint64_t bits = (uint64_t)(k + 1023) << 52;
    double         d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* ln 2 in two parts, the first with trailing zero bits so that k * LN2_HI is exact for |k| < 2^11. */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define LN2    0.69314718055994530942

double aria_exp_f64(double x) {
    const double k = round_even_f64(x * 1.44269504088896340736);
    const double r = (x - k * LN2_HI) - k * LN2_LO;  /* |r| <= ln2 / 2 */
    /* Horner on the Taylor series to r^22 / 22! (the next term is below 1e-30) */
    double sum = 1.0;
    for (int n = 22; n >= 1; n--) {
        sum = 1.0 + sum * r / (double)n;
    }
    /* 2^k in two steps so that k down to -1074 + 22 stays exact enough; callers keep |x| < 700 */
    const int32_t ki = (int32_t)k;
    const int32_t k1 = ki / 2;
    return sum * pow2_f64(k1) * pow2_f64(ki - k1);
}

double aria_log_f64(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t e = (int32_t)((bits >> 52) & 0x7ff) - 1023;
    bits      = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;  /* m in [1, 2) */
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.41421356237309504880) {
        m = m / 2.0;
        e++;
    }
    /* ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: the series to s^41 */
    const double s  = (m - 1.0) / (m + 1.0);
    const double s2 = s * s;
    double       t  = 0.0;
    for (int n = 41; n >= 1; n -= 2) {
        t = 1.0 / (double)n + s2 * t;
    }
    return (double)e * LN2 + 2.0 * s * t;
}

/* pi / 2 in three parts of 33 bits (the first two) so that k * part is exact for |k| < 2^20. */
#define PIO2_1 1.57079632673412561417e+00
#define PIO2_2 6.07710050630396597660e-11
#define PIO2_3 2.02226624871116645580e-21

void aria_sincos_f64(double x, double * s, double * c) {
    const double k = round_even_f64(x * 0.63661977236758134308);  /* x * 2 / pi */
    const double r = ((x - k * PIO2_1) - k * PIO2_2) - k * PIO2_3;  /* |r| <= pi / 4 (a hair over) */
    const double r2 = r * r;
    /* sin r = r (1 - r^2/(2*3) (1 - r^2/(4*5) (...))), cos r = 1 - r^2/(1*2) (1 - r^2/(3*4) (...)),
     * to r^25 / 25! and r^24 / 24! */
    double sn = 1.0, cn = 1.0;
    for (int n = 24; n >= 2; n -= 2) {
        sn = 1.0 - r2 / ((double)n * (double)(n + 1)) * sn;
        cn = 1.0 - r2 / ((double)(n - 1) * (double)n) * cn;
    }
    sn = r * sn;
    const int64_t q = (int64_t)k & 3;  /* two's complement: -1 & 3 = 3 */
    switch (q) {
        case 0: *s = sn; *c = cn; break;
        case 1: *s = cn; *c = -sn; break;
        case 2: *s = -sn; *c = -cn; break;
        default: *s = -cn; *c = sn; break;
    }
}

void aria_rope_inv_freq(float base, int32_t n_rot, float * inv_freq) {
    const double ln_base = aria_log_f64((double)base);
    for (int32_t i = 0; i < n_rot / 2; i++) {
        inv_freq[i] = (float)aria_exp_f64(-2.0 * (double)i / (double)n_rot * ln_base);
    }
}

void aria_rope_table(const float * inv_freq, int32_t half, int32_t n_pos, float * cs) {
    for (int32_t p = 0; p < n_pos; p++) {
        for (int32_t i = 0; i < half; i++) {
            const float theta = (float)p * inv_freq[i];
            double      sn, cn;
            aria_sincos_f64((double)theta, &sn, &cn);
            cs[((int64_t)p * half + i) * 2]     = (float)cn;
            cs[((int64_t)p * half + i) * 2 + 1] = (float)sn;
        }
    }
}
