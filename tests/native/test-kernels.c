/*
 * test-kernels.c — libbitnet's kernel layer against its oracle and against hand-made answers.
 *   (a) every SIMD kernel table this CPU runs vs aria_kernels_ref, over awkward lengths and extreme
 *       data: integer results and quantizer bytes must be identical, float dots within a bound;
 *   (b) known-answer decodes: TQ2_0 / TQ1_0 / I2_S blocks packed here from formats.md by test-local
 *       packers (and a few literal bytes), Q8_0 / Q4_0 / Q6_K / Q4_K / BF16 blocks with hand-computed
 *       values, all 65536 halves through the f16 conversions;
 *   (c) each dot kernel equals the dot of dequantized weights and dequantized activations.
 * Prints one line per check and "N passed, M failed" last; exits non-zero on any failure.
 *   build: make -C native build/test-kernels && native/build/test-kernels
 *   arm64 (NEON tables): make -C native CROSS=aarch64-linux-gnu- build/aarch64-linux-gnu/test-kernels &&
 *     qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu native/build/aarch64-linux-gnu/test-kernels
 *     (-cpu cortex-a53: no dotprod; tests/native/neon-qemu.test.ts runs both)
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"
#include "kernels.h"
#include "numerics.h"

#if defined(__x86_64__)
#    include <immintrin.h>
#endif

/* ---- harness ---------------------------------------------------------------------------------- */

static int g_passed, g_failed;

static void check(int ok, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
    }
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;  /* fixed seed: every run sees the same data */

static uint64_t rnd(void) {  /* splitmix64 */
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
    z          = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z          = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float rnd_unit(void) { return (float) (rnd() >> 40) / (float) (1 << 24) * 2.0f - 1.0f; }
static int   rnd_int(int n) { return (int) (rnd() % (uint64_t) n); }

static void * xmalloc(size_t n) {
    void * p = malloc(n > 0 ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- test-local packers, written from formats.md (not from the library) ------------------- */

/* TQ2_0 (§2.1): byte m of half h holds t[128h + 32k + m] + 1 in bits 2k..2k+1. */
static void pack_tq2_0(block_tq2_0 * b, const int8_t t[QK_K], aria_f16 d) {
    memset(b->qs, 0, sizeof b->qs);
    for (int j = 0; j < QK_K; j++) {
        const int h = j / 128, k = (j % 128) / 32, m = j % 32;
        b->qs[32 * h + m] |= (uint8_t) ((t[j] + 1) << (2 * k));
    }
    b->d = d;
}

/* TQ1_0 (§2.2): 5 codes c0..c4 -> v = c0*81 + c1*27 + c2*9 + c3*3 + c4, byte = ceil(v*256/243). */
static uint8_t tq1_byte(const int c[5]) {
    const int v = c[0] * 81 + c[1] * 27 + c[2] * 9 + c[3] * 3 + c[4];
    return (uint8_t) ((v * 256 + 242) / 243);
}

static void pack_tq1_0(block_tq1_0 * b, const int8_t t[QK_K], aria_f16 d) {
    int c[5];
    for (int m = 0; m < 32; m++) {              /* elements m + 32n */
        for (int n = 0; n < 5; n++) c[n] = t[m + 32 * n] + 1;
        b->qs[m] = tq1_byte(c);
    }
    for (int m = 0; m < 16; m++) {              /* elements 160 + 16n + m */
        for (int n = 0; n < 5; n++) c[n] = t[160 + 16 * n + m] + 1;
        b->qs[32 + m] = tq1_byte(c);
    }
    for (int j = 0; j < 4; j++) {               /* elements 240 + 4n + j, 5th trit a padding zero */
        for (int n = 0; n < 4; n++) c[n] = t[240 + 4 * n + j] + 1;
        c[4]     = 0;
        b->qh[j] = tq1_byte(c);
    }
    b->d = d;
}

/* I2_S (§3.1): byte b of a 128-block: c[b] << 6 | c[b+32] << 4 | c[b+64] << 2 | c[b+96]. */
static void pack_i2_s(uint8_t * x, const int8_t * t, int64_t n) {
    for (int64_t i = 0; i < n / 128; i++) {
        for (int b = 0; b < 32; b++) {
            const int8_t * tb = t + 128 * i;
            x[32 * i + b] = (uint8_t) (((tb[b] + 1) << 6) | ((tb[b + 32] + 1) << 4) |
                                       ((tb[b + 64] + 1) << 2) | (tb[b + 96] + 1));
        }
    }
}

/* ---- data generators --------------------------------------------------------------------- */

enum { ACT_RANDOM, ACT_EQUAL, ACT_ZERO, ACT_HUGE, ACT_SPIKE, ACT_TINY, ACT_MIXED, ACT_COUNT };
static const char * act_name[ACT_COUNT] = { "random", "all-equal", "all-zero", "huge", "spike",
                                            "tiny", "mixed-scale" };

static void fill_act(float * x, int64_t n, int kind) {
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
            case ACT_RANDOM: x[i] = rnd_unit() * 3.0f; break;
            case ACT_EQUAL:  x[i] = -0.7f; break;
            case ACT_ZERO:   x[i] = 0.0f; break;
            case ACT_HUGE:   x[i] = (rnd() & 1 ? 1e30f : -1e30f) * (0.5f + 0.5f * fabsf(rnd_unit())); break;
            case ACT_SPIKE:  x[i] = 0.0f; break;
            case ACT_TINY:   x[i] = rnd_unit() * 1e-30f; break;
            default:         x[i] = rnd_unit() * powf(10.0f, (float) rnd_int(9) - 4.0f); break;
        }
    }
    if (kind == ACT_SPIKE && n > 0) {
        x[rnd_int((int) n)] = 1000.0f;
    }
}

/* W_FF: every byte 0xff (code 3 everywhere, never written by an encoder): the largest |c*q|, the
 * int16-overflow worst case with all-(-128) activations. */
enum { W_CODES, W_RAW, W_ALL_NEG, W_ALL_ZERO, W_ALL_POS, W_FF, W_COUNT };
static const char * w_name[W_COUNT] = { "random-codes", "random-bytes", "all-(-1)", "all-0", "all-(+1)",
                                        "all-0xff" };

static int8_t ternary_for(int kind) {
    switch (kind) {
        case W_ALL_NEG:  return -1;
        case W_ALL_ZERO: return 0;
        case W_ALL_POS:  return 1;
        default:         return (int8_t) (rnd_int(3) - 1);
    }
}

static aria_f16 rnd_scale_f16(void) {
    return aria_f32_to_f16((rnd() & 1 ? 1.0f : -1.0f) * (0.001f + 0.1f * fabsf(rnd_unit())));
}

static void make_tq2_0(block_tq2_0 * x, int64_t nb, int kind) {
    int8_t t[QK_K];
    for (int64_t i = 0; i < nb; i++) {
        for (int j = 0; j < QK_K; j++) t[j] = ternary_for(kind);
        pack_tq2_0(&x[i], t, rnd_scale_f16());
        if (kind == W_RAW || kind == W_FF) {  /* code 3 too, which no encoder writes */
            for (int j = 0; j < 64; j++) x[i].qs[j] = kind == W_FF ? 0xff : (uint8_t) rnd();
        }
    }
}

static void make_tq1_0(block_tq1_0 * x, int64_t nb, int kind) {
    int8_t t[QK_K];
    for (int64_t i = 0; i < nb; i++) {
        for (int j = 0; j < QK_K; j++) t[j] = ternary_for(kind);
        pack_tq1_0(&x[i], t, rnd_scale_f16());
        if (kind == W_RAW || kind == W_FF) {  /* bytes 243..255 too, which no encoder writes */
            for (int j = 0; j < 48; j++) x[i].qs[j] = kind == W_FF ? 0xff : (uint8_t) rnd();
            for (int j = 0; j < 4; j++) x[i].qh[j] = kind == W_FF ? 0xff : (uint8_t) rnd();
        }
    }
}

static void make_i2_s(uint8_t * x, int64_t n, int kind) {
    int8_t * t = xmalloc((size_t) n);
    for (int64_t i = 0; i < n; i++) t[i] = ternary_for(kind);
    pack_i2_s(x, t, n);
    if (kind == W_RAW || kind == W_FF) {  /* code 3 too */
        for (int64_t i = 0; i < n / 4; i++) x[i] = kind == W_FF ? 0xff : (uint8_t) rnd();
    }
    free(t);
}

/* Q8_K blocks with arbitrary int8 (including -128, which the quantizer never writes) and
 * consistent bsums: the kernels' full input range. */
static void make_q8_K_raw(block_q8_K * y, int64_t nb, int extreme) {
    for (int64_t i = 0; i < nb; i++) {
        y[i].d = rnd_unit();
        for (int j = 0; j < QK_K; j++) {
            y[i].qs[j] = extreme ? (int8_t) (extreme < 0 ? -128 : 127) : (int8_t) rnd();
        }
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += y[i].qs[16 * g + j];
            y[i].bsums[g] = (int16_t) s;
        }
    }
}

/* ---- (a) SIMD tables vs _ref ------------------------------------------------------------- */

static int same_float(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
/* bit-identical, or both NaN (NaN payloads are not part of contract v2: numerics.h) */
static int same_or_nan(float a, float b) { return same_float(a, b) || (a != a && b != b); }

static const int64_t k_float_lengths[] = { 0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129,
                                           255, 257, 1000, 4097 };
static const int64_t k_tq_lengths[]  = { 256, 512, 768, 2560, 6912 };
static const int64_t k_i2s_lengths[] = { 128, 256, 384, 1536, 2560, 6912 };
#define COUNT(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* Float dots may differ from _ref only in summation order. Each order's error is at most
 * (n - 1) * 2^-24 * sum|x_i y_i| (standard bound for recursive summation), so two orders differ by
 * at most twice that; why: this is the bound, not a guess, so it never flakes and never hides a
 * wrong element (a wrong element shows up as an O(|x_i y_i|) difference). */
static int float_dot_close(float got, float want, int64_t n, double abs_sum) {
    const double tol = 2.0 * (double) (n > 1 ? n : 1) * 0x1p-24 * abs_sum + 1e-37;
    return fabs((double) got - (double) want) <= tol;
}

static void test_float_dots(const aria_kernel_table * k) {
    const aria_kernel_table * r = &aria_kernels_ref;
    for (int kind = 0; kind < ACT_COUNT; kind++) {
        if (kind == ACT_HUGE || kind == ACT_TINY) {
            continue;  /* products would overflow / underflow f32: not a summation-order question */
        }
        int    ok32 = 1, ok16 = 1;
        double worst32 = 0, worst16 = 0;
        for (int li = 0; li < COUNT(k_float_lengths); li++) {
            const int64_t n  = k_float_lengths[li];
            float *       x  = xmalloc((size_t) n * sizeof(float) + sizeof(float));
            float *       y  = xmalloc((size_t) n * sizeof(float));
            aria_f16 *    xh = xmalloc((size_t) n * sizeof(aria_f16) + sizeof(aria_f16));
            fill_act(x + 1, n, kind);  /* x + 1: unaligned on purpose */
            fill_act(y, n, kind == ACT_SPIKE ? ACT_RANDOM : kind);
            for (int64_t i = 0; i < n; i++) {
                uint16_t h;
                do {
                    h = (uint16_t) rnd();
                } while ((h & 0x7c00) == 0x7c00);  /* finite halves only */
                xh[i + 1] = kind == ACT_RANDOM ? h : aria_f32_to_f16(x[i + 1]);
            }
            double abs32 = 0, abs16 = 0;
            for (int64_t i = 0; i < n; i++) {
                abs32 += fabs((double) x[i + 1] * y[i]);
                abs16 += fabs((double) aria_f16_to_f32(xh[i + 1]) * y[i]);
            }
            float a, b;
            k->vec_dot_f32(n, &a, x + 1, y);
            r->vec_dot_f32(n, &b, x + 1, y);
            ok32 &= float_dot_close(a, b, n, abs32) && same_float(a, b);  /* contract v2: bitwise */
            if (abs32 > 0) worst32 = fmax(worst32, fabs((double) a - b) / abs32);
            k->vec_dot_f16_f32(n, &a, xh + 1, y);
            r->vec_dot_f16_f32(n, &b, xh + 1, y);
            ok16 &= float_dot_close(a, b, n, abs16) && same_float(a, b);
            if (abs16 > 0) worst16 = fmax(worst16, fabs((double) a - b) / abs16);
            free(x);
            free(y);
            free(xh);
        }
        check(ok32, "%s vec_dot_f32 %s: %d lengths 0..4097 bit-identical to ref (max |diff|/sum|xy| = %.2e)",
              k->name, act_name[kind], COUNT(k_float_lengths), worst32);
        check(ok16, "%s vec_dot_f16_f32 %s: %d lengths bit-identical to ref (max |diff|/sum|xy| = %.2e)", k->name,
              act_name[kind], COUNT(k_float_lengths), worst16);
    }
}

static void test_quantizers(const aria_kernel_table * k) {
    const aria_kernel_table * r = &aria_kernels_ref;
    int no_m128 = 1;
    for (int kind = 0; kind <= ACT_COUNT + 1; kind++) {  /* + NaN-sprinkled, + infinities */
        int ok_k = 1, ok_8 = 1;
        for (int li = 0; li < COUNT(k_i2s_lengths); li++) {
            const int64_t n = k_i2s_lengths[li];
            float *       x = xmalloc((size_t) n * sizeof(float));
            if (kind < ACT_COUNT) {
                fill_act(x, n, kind);
            } else {
                fill_act(x, n, ACT_RANDOM);
                for (int j = 0; j < 5; j++) {
                    x[rnd_int((int) n)] = kind == ACT_COUNT ? NAN : (j & 1 ? INFINITY : -INFINITY);
                }
            }
            if (n % QK_K == 0) {
                const int64_t nb = n / QK_K;
                block_q8_K *  a  = xmalloc((size_t) nb * sizeof(block_q8_K));
                block_q8_K *  b  = xmalloc((size_t) nb * sizeof(block_q8_K));
                k->quantize_row_q8_K(n, a, x);
                r->quantize_row_q8_K(n, b, x);
                ok_k &= memcmp(a, b, (size_t) nb * sizeof(block_q8_K)) == 0;
                for (int64_t e = 0; e < nb; e++) {
                    for (int j = 0; j < QK_K; j++) {
                        no_m128 &= a[e].qs[j] != -128;
                    }
                }
                free(a);
                free(b);
            }
            int8_t * qa = xmalloc((size_t) n);
            int8_t * qb = xmalloc((size_t) n);
            int32_t  sa = -1, sb = -2;
            float    fa = k->quantize_row_i8(n, qa, &sa, x);
            float    fb = r->quantize_row_i8(n, qb, &sb, x);
            ok_8 &= memcmp(qa, qb, (size_t) n) == 0 && sa == sb && memcmp(&fa, &fb, sizeof fa) == 0;
            free(qa);
            free(qb);
            free(x);
        }
        const char * what = kind < ACT_COUNT ? act_name[kind] : kind == ACT_COUNT ? "with-nan" : "with-inf";
        check(ok_k, "%s quantize_row_q8_K %s: byte-identical to ref", k->name, what);
        check(ok_8, "%s quantize_row_i8 %s: byte-identical to ref (q, sum, scale bits)", k->name, what);
    }
    check(no_m128, "%s quantize_row_q8_K never writes -128, for any input above (the q8_W dots' precondition)",
          k->name);
}

/* Activation sets for the TQ dots: the quantizer's output for each float pattern, and raw int8. */
static void make_tq_act(block_q8_K * y, int64_t n, int kind) {
    if (kind < ACT_COUNT) {
        float * x = xmalloc((size_t) n * sizeof(float));
        fill_act(x, n, kind);
        aria_kernels_ref.quantize_row_q8_K(n, y, x);
        free(x);
    } else {
        make_q8_K_raw(y, n / QK_K, kind == ACT_COUNT ? 0 : kind == ACT_COUNT + 1 ? -1 : 1);
    }
}
#define TQ_ACT_KINDS (ACT_COUNT + 3)  /* + raw random int8, all -128, all 127 */


static void test_tq_dots(const aria_kernel_table * k) {
    const aria_kernel_table * r = &aria_kernels_ref;
    for (int w = 0; w < W_COUNT; w++) {
        int ok2 = 1, ok1 = 1, cases = 0;
        for (int li = 0; li < COUNT(k_tq_lengths); li++) {
            const int64_t n   = k_tq_lengths[li];
            const int64_t nb  = n / QK_K;
            block_tq2_0 * x2  = xmalloc((size_t) nb * sizeof(block_tq2_0));
            block_tq1_0 * x1  = xmalloc((size_t) nb * sizeof(block_tq1_0));
            block_q8_K *  y   = xmalloc((size_t) nb * sizeof(block_q8_K));
            make_tq2_0(x2, nb, w);
            make_tq1_0(x1, nb, w);
            for (int a = 0; a < TQ_ACT_KINDS; a++, cases++) {
                make_tq_act(y, n, a);
                float s_k, s_r;
                k->vec_dot_tq2_0_q8_K(n, &s_k, x2, y);
                r->vec_dot_tq2_0_q8_K(n, &s_r, x2, y);
                ok2 &= same_float(s_k, s_r);  /* exact integer sums + the same float order */
                k->vec_dot_tq1_0_q8_K(n, &s_k, x1, y);
                r->vec_dot_tq1_0_q8_K(n, &s_r, x1, y);
                ok1 &= same_float(s_k, s_r);
            }
            free(x2);
            free(x1);
            free(y);
        }
        check(ok2, "%s vec_dot_tq2_0_q8_K %s: %d cases bit-identical to ref", k->name, w_name[w], cases);
        check(ok1, "%s vec_dot_tq1_0_q8_K %s: %d cases bit-identical to ref", k->name, w_name[w], cases);
    }
}

static void test_i2_s_dot(const aria_kernel_table * k) {
    const aria_kernel_table * r = &aria_kernels_ref;
    for (int w = 0; w < W_COUNT; w++) {
        int ok = 1, cases = 0;
        for (int li = 0; li < COUNT(k_i2s_lengths); li++) {
            const int64_t n = k_i2s_lengths[li];
            uint8_t *     x = xmalloc((size_t) n / 4);
            int8_t *      q = xmalloc((size_t) n);
            make_i2_s(x, n, w);
            for (int a = 0; a < ACT_COUNT + 3; a++, cases++) {
                if (a < ACT_COUNT) {
                    float * f = xmalloc((size_t) n * sizeof(float));
                    int32_t sum;
                    fill_act(f, n, a);
                    aria_kernels_ref.quantize_row_i8(n, q, &sum, f);
                    free(f);
                } else {  /* raw int8; all -128 / all 127: the int16-overflow worst cases */
                    for (int64_t i = 0; i < n; i++) {
                        q[i] = a == ACT_COUNT ? (int8_t) rnd() : a == ACT_COUNT + 1 ? -128 : 127;
                    }
                }
                int32_t s_k = 0, s_r = 1;
                k->vec_dot_i2_s_i8(n, &s_k, x, q);
                r->vec_dot_i2_s_i8(n, &s_r, x, q);
                ok &= s_k == s_r;
            }
            free(x);
            free(q);
        }
        check(ok, "%s vec_dot_i2_s_i8 %s: %d cases equal to ref", k->name, w_name[w], cases);
    }
}

/* Multi-row kernels: ny = 1..ARIA_MULTI_MAX activation rows of different kinds, at a stride that
 * is not the packed row size, against the reference's single-row kernel row by row. */
static void test_multi_dots(const aria_kernel_table * k) {
    const aria_kernel_table * r = &aria_kernels_ref;
    for (int w = 0; w < W_COUNT; w++) {
        int ok2 = 1, ok1 = 1, oki = 1, cases = 0;
        static const int64_t lengths[] = { 128, 256, 384, 512, 768, 2560, 6912 };  /* TQ: % 256 only */
        for (int li = 0; li < COUNT(lengths); li++) {
            const int64_t n      = lengths[li];
            const int     tq     = n % QK_K == 0;
            const int64_t nb     = (n + QK_K - 1) / QK_K;
            const int64_t stride = nb * (int64_t) sizeof(block_q8_K) + 12;  /* bytes, 4-aligned */
            block_tq2_0 * x2     = xmalloc((size_t) nb * sizeof(block_tq2_0));
            block_tq1_0 * x1     = xmalloc((size_t) nb * sizeof(block_tq1_0));
            uint8_t *     xi     = xmalloc((size_t) n / 4);
            char *        y      = xmalloc((size_t) (stride * ARIA_MULTI_MAX));
            int8_t *      q      = xmalloc((size_t) (n + 8) * ARIA_MULTI_MAX);
            if (tq) {
                make_tq2_0(x2, nb, w);
                make_tq1_0(x1, nb, w);
            }
            make_i2_s(xi, n, w);
            for (int a = 0; a < TQ_ACT_KINDS; a++) {
                for (int j = 0; j < ARIA_MULTI_MAX; j++) {  /* row j gets kind a + j */
                    if (tq) {
                        make_tq_act((block_q8_K *) (y + j * stride), n, (a + j) % TQ_ACT_KINDS);
                    }
                    for (int64_t e = 0; e < n; e++) {
                        q[j * (n + 8) + e] = (int8_t) rnd();
                    }
                }
                for (int ny = 1; ny <= ARIA_MULTI_MAX; ny++, cases++) {
                    float   s2[ARIA_MULTI_MAX], s1[ARIA_MULTI_MAX], e2, e1;
                    int32_t si[ARIA_MULTI_MAX], ei;
                    k->vec_dot_i2_s_i8_multi(n, si, xi, q, n + 8, ny);
                    if (tq) {
                        k->vec_dot_tq2_0_q8_K_multi(n, s2, x2, (const block_q8_K *) y, stride, ny);
                        k->vec_dot_tq1_0_q8_K_multi(n, s1, x1, (const block_q8_K *) y, stride, ny);
                    }
                    for (int j = 0; j < ny; j++) {
                        r->vec_dot_i2_s_i8(n, &ei, xi, q + j * (n + 8));
                        oki &= si[j] == ei;
                        if (!tq) {
                            continue;
                        }
                        const block_q8_K * yj = (const block_q8_K *) (y + j * stride);
                        r->vec_dot_tq2_0_q8_K(n, &e2, x2, yj);
                        r->vec_dot_tq1_0_q8_K(n, &e1, x1, yj);
                        /* exact integer sums, f32 accumulation of per-lane partial sums in another
                         * order: each partial is at most 3 sum|q| of its block (|c| <= 2), so the
                         * difference is within (nb + 8) 2^-23 sum_b 3 sum|q_b| |d_x d_y| */
                        double abs2 = 0.0, abs1 = 0.0;
                        for (int64_t b = 0; b < nb; b++) {
                            double sq = 0.0;
                            for (int e = 0; e < QK_K; e++) {
                                sq += abs(yj[b].qs[e]);
                            }
                            abs2 += 3.0 * sq * fabs((double) aria_f16_to_f32(x2[b].d) * yj[b].d);
                            abs1 += 3.0 * sq * fabs((double) aria_f16_to_f32(x1[b].d) * yj[b].d);
                        }
                        const double tol = (double) (nb + 8) * 0x1p-23;
                        (void) tol;  /* contract v2: block order, so bit-identical (the bound stays as a witness) */
                        ok2 &= same_float(s2[j], e2) && (fabs((double) s2[j] - e2) <= tol * abs2 || s2[j] != s2[j]);
                        ok1 &= same_float(s1[j], e1) && (fabs((double) s1[j] - e1) <= tol * abs1 || s1[j] != s1[j]);
                    }
                }
            }
            free(x2);
            free(x1);
            free(xi);
            free(y);
            free(q);
        }
        check(ok2, "%s vec_dot_tq2_0_q8_K_multi %s: %d cases bit-identical to ref", k->name, w_name[w], cases);
        check(ok1, "%s vec_dot_tq1_0_q8_K_multi %s: %d cases bit-identical to ref", k->name, w_name[w], cases);
        check(oki, "%s vec_dot_i2_s_i8_multi %s: %d cases equal to ref", k->name, w_name[w], cases);
    }
}

/* Two-row kernel: for every pair of weight kinds (the two rows differ), awkward lengths, ny = 1..4
 * activation rows of different kinds (with raw all -128 / all 127 rows), a weight row stride that
 * is not the packed row size: every output must be BIT-IDENTICAL to the same table's multi-row
 * kernel on that weight row (what keeps matmul's floats independent of how rows are paired; the
 * multi-row kernel itself is checked against _ref above), and outputs past ny stay untouched. */
static void test_2x_dots(const aria_kernel_table * k) {
    int ok = 1, untouched = 1, cases = 0;
    for (int w = 0; w < W_COUNT; w++) {
        for (int li = 0; li < COUNT(k_tq_lengths); li++) {
            const int64_t n        = k_tq_lengths[li];
            const int64_t nb       = n / QK_K;
            const int64_t x_stride = nb * (int64_t) sizeof(block_tq2_0) + 6;  /* bytes, 2-aligned */
            const int64_t y_stride = nb * (int64_t) sizeof(block_q8_K) + 12;
            char *        x        = xmalloc((size_t) (2 * x_stride));
            char *        y        = xmalloc((size_t) (y_stride * ARIA_MULTI_MAX));
            make_tq2_0((block_tq2_0 *) x, nb, w);
            make_tq2_0((block_tq2_0 *) (x + x_stride), nb, (w + 1 + li) % W_COUNT);
            for (int a = 0; a < TQ_ACT_KINDS; a++) {
                for (int j = 0; j < ARIA_MULTI_MAX; j++) {
                    make_tq_act((block_q8_K *) (y + j * y_stride), n, (a + j) % TQ_ACT_KINDS);
                }
                for (int ny = 1; ny <= ARIA_MULTI_MAX; ny++, cases++) {
                    float s2[2 * ARIA_MULTI_MAX], s1[ARIA_MULTI_MAX];
                    for (int e = 0; e < 2 * ARIA_MULTI_MAX; e++) {
                        s2[e] = -12345.0f;  /* sentinel for the outputs past ny */
                    }
                    k->vec_dot_tq2_0_q8_K_2x(n, s2, (const block_tq2_0 *) x, x_stride, (const block_q8_K *) y,
                                             y_stride, ny);
                    for (int r = 0; r < 2; r++) {
                        k->vec_dot_tq2_0_q8_K_multi(n, s1, (const block_tq2_0 *) (x + r * x_stride),
                                                    (const block_q8_K *) y, y_stride, ny);
                        for (int j = 0; j < ARIA_MULTI_MAX; j++) {
                            if (j < ny) {
                                ok &= same_float(s2[r * ARIA_MULTI_MAX + j], s1[j]);
                            } else {
                                untouched &= s2[r * ARIA_MULTI_MAX + j] == -12345.0f;
                            }
                        }
                    }
                }
            }
            free(x);
            free(y);
        }
    }
    check(ok, "%s vec_dot_tq2_0_q8_K_2x: %d cases bit-identical to vec_dot_tq2_0_q8_K_multi row by row", k->name,
          cases);
    check(untouched, "%s vec_dot_tq2_0_q8_K_2x: outputs past ny untouched", k->name);
}

/* The I2_S two-row kernel against the same table's multi-row kernel: exact int32 sums, so equal.
 * Lengths cross the kernel's widening period (8 blocks of 128) with and without a remainder;
 * weights include all code 3 (0xff) and activations all -128 / all 127, the int16 worst cases. */
static void test_i2_s_2x(const aria_kernel_table * k) {
    static const int64_t lengths[] = { 128, 384, 1024, 1152, 2560, 6912 };
    int ok = 1, untouched = 1, cases = 0;
    for (int w = 0; w < W_COUNT; w++) {
        for (int li = 0; li < COUNT(lengths); li++) {
            const int64_t n        = lengths[li];
            const int64_t x_stride = n / 4 + 3;  /* bytes: not the packed row size */
            const int64_t y_stride = n + 8;
            uint8_t *     x        = xmalloc((size_t) (2 * x_stride));
            int8_t *      y        = xmalloc((size_t) (y_stride * ARIA_MULTI_MAX));
            make_i2_s(x, n, w);
            make_i2_s(x + x_stride, n, (w + 1 + li) % W_COUNT);
            for (int a = 0; a < 3; a++) {  /* random, all -128, all 127 */
                for (int j = 0; j < ARIA_MULTI_MAX; j++) {
                    for (int64_t e = 0; e < n; e++) {
                        const int kind    = (a + j) % 3;
                        y[j * y_stride + e] = kind == 0 ? (int8_t) rnd() : kind == 1 ? -128 : 127;
                    }
                }
                for (int ny = 1; ny <= ARIA_MULTI_MAX; ny++, cases++) {
                    int32_t s2[2 * ARIA_MULTI_MAX], s1[ARIA_MULTI_MAX];
                    for (int e = 0; e < 2 * ARIA_MULTI_MAX; e++) {
                        s2[e] = -12345;  /* sentinel for the outputs past ny */
                    }
                    k->vec_dot_i2_s_i8_2x(n, s2, x, x_stride, y, y_stride, ny);
                    for (int r = 0; r < 2; r++) {
                        k->vec_dot_i2_s_i8_multi(n, s1, x + r * x_stride, y, y_stride, ny);
                        for (int j = 0; j < ARIA_MULTI_MAX; j++) {
                            if (j < ny) {
                                ok &= s2[r * ARIA_MULTI_MAX + j] == s1[j];
                            } else {
                                untouched &= s2[r * ARIA_MULTI_MAX + j] == -12345;
                            }
                        }
                    }
                }
            }
            free(x);
            free(y);
        }
    }
    check(ok, "%s vec_dot_i2_s_i8_2x: %d cases equal to vec_dot_i2_s_i8_multi row by row", k->name, cases);
    check(untouched, "%s vec_dot_i2_s_i8_2x: outputs past ny untouched", k->name);
}

/* Q8_K activations for the int8 head dots: make_tq_act's kinds with -128 (which quantize_row_q8_K
 * never writes, the kernels' precondition) replaced by -127: so raw random rows, all -127 and all
 * 127 rows (the int16 pair-sum worst cases against |qx| = 127 weights). */
static void make_q8_W_act(block_q8_K * y, int64_t n, int kind) {
    make_tq_act(y, n, kind);
    for (int64_t b = 0; b < n / QK_K; b++) {
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                int8_t * q = &y[b].qs[16 * g + j];
                *q         = *q == -128 ? -127 : *q;
                sum += *q;
            }
            y[b].bsums[g] = (int16_t) sum;
        }
    }
}

/* The int8 head dot against _ref: exact integer block sums, f32 accumulation in another order.
 * Each order's error is at most about (nb + 3) 2^-24 times the sum of |partial sums| it adds
 * (nb block steps + a 3-level lane reduction), and every partial sum of block b is at most
 * |d_x d_y| sum_{i in b} |qx_i qy_i|: so |got - ref| <= (2 nb + 4) 2^-24 sum_b |d_x d_y| sum |qx qy|
 * (kernels.h); 1e-37 absorbs subnormal results. Returns -1 when some f32 d_x * d_y is not finite
 * (huge x huge: inf/NaN arithmetic, not a rounding question: the case is skipped), else 1 / 0. */
static int q8_W_close(float got, float want, const block_q8_W * x, const block_q8_K * y, int64_t n) {
    const int64_t nb  = n / QK_K;
    double        abs = 0.0;
    for (int64_t b = 0; b < nb; b++) {
        const float dd = x[b].d * y[b].d;
        if (!isfinite(dd)) {
            return -1;
        }
        double sq = 0.0;
        for (int j = 0; j < QK_K; j++) {
            sq += fabs((double) x[b].qs[j] * y[b].qs[j]);
        }
        abs += fabs((double) dd) * sq;
    }
    const double tol = (double) (2 * nb + 4) * 0x1p-24 * abs + 1e-37;
    return same_float(got, want) || fabs((double) got - (double) want) <= tol;
}

/* int8 head: the quantizer's round trip is within half a step; the dot is within the bound above
 * of ref for every weight and activation kind; the multi-row dot, for ny = 1..4 activation rows of
 * different kinds at a stride that is not the packed row size, gives for each row exactly the
 * single-row dot's float (and the ny = 1 call's), and leaves outputs past ny alone. */
static void test_q8_W(const aria_kernel_table * k) {
    const aria_kernel_table * r = &aria_kernels_ref;
    int ok_rt = 1, ok = 1, ok_multi = 1, ok_multi_ref = 1, untouched = 1, cases = 0, skipped = 0, multi_cases = 0;
    for (int li = 0; li < COUNT(k_tq_lengths); li++) {
        const int64_t n      = k_tq_lengths[li];
        const int64_t nb     = n / QK_K;
        const int64_t stride = nb * (int64_t) sizeof(block_q8_K) + 20;  /* bytes, 4-aligned */
        float *       w      = xmalloc((size_t) n * sizeof(float));
        float *       back   = xmalloc((size_t) n * sizeof(float));
        block_q8_W *  x      = xmalloc((size_t) nb * sizeof(block_q8_W));
        block_q8_K *  y      = xmalloc((size_t) nb * sizeof(block_q8_K));
        char *        ym     = xmalloc((size_t) (stride * ARIA_MULTI_MAX));
        for (int a = 0; a < ACT_COUNT; a++) {
            fill_act(w, n, a);
            aria_quantize_row_q8_W(w, x, n);
            aria_dequantize_row_q8_W(x, back, n);
            for (int64_t i = 0; i < n; i++) {
                ok_rt &= fabsf(back[i] - w[i]) <= 0.5f * x[i / QK_K].d * 1.0001f + 1e-30f;
                ok_rt &= x[i / QK_K].qs[i % QK_K] >= -127;
            }
            for (int b = 0; b < TQ_ACT_KINDS; b++) {
                make_q8_W_act(y, n, b);
                float s_k, s_r;
                k->vec_dot_q8_W_q8_K(n, &s_k, x, y);
                r->vec_dot_q8_W_q8_K(n, &s_r, x, y);
                const int close = q8_W_close(s_k, s_r, x, y, n);
                if (close < 0) {
                    skipped++;
                } else {
                    cases++;
                }
                ok &= same_or_nan(s_k, s_r);  /* contract v2: block order, bit-identical to ref */
                /* multi-row: rows of kinds b, b + 1, ... */
                for (int j = 0; j < ARIA_MULTI_MAX; j++) {
                    make_q8_W_act((block_q8_K *) (ym + j * stride), n, (b + j) % TQ_ACT_KINDS);
                }
                for (int ny = 1; ny <= ARIA_MULTI_MAX; ny++, multi_cases++) {
                    float s[ARIA_MULTI_MAX + 1];
                    for (int j = 0; j <= ARIA_MULTI_MAX; j++) {
                        s[j] = -12345.0f;  /* sentinel for the outputs past ny */
                    }
                    k->vec_dot_q8_W_q8_K_multi(n, s, x, (const block_q8_K *) ym, stride, ny);
                    for (int j = 0; j <= ARIA_MULTI_MAX; j++) {
                        if (j >= ny) {
                            untouched &= s[j] == -12345.0f;
                            continue;
                        }
                        const block_q8_K * yj = (const block_q8_K *) (ym + j * stride);
                        float              one, single, want;
                        k->vec_dot_q8_W_q8_K_multi(n, &one, x, yj, stride, 1);
                        k->vec_dot_q8_W_q8_K(n, &single, x, yj);
                        r->vec_dot_q8_W_q8_K(n, &want, x, yj);
                        ok_multi &= same_float(s[j], one) && same_float(s[j], single);
                        ok_multi_ref &= same_or_nan(s[j], want);
                    }
                }
            }
        }
        free(w);
        free(back);
        free(x);
        free(y);
        free(ym);
    }
    check(ok_rt, "%s quantize_row_q8_W: round trip within half a step, |q| <= 127", k->name);
    check(ok, "%s vec_dot_q8_W_q8_K: %d cases bit-identical to ref (and %d with d_x d_y overflowing f32: the "
              "same inf / NaN)", k->name, cases, skipped);
    check(ok_multi, "%s vec_dot_q8_W_q8_K_multi: %d cases (ny = 1..4), each row bit-identical to its ny = 1 call "
                    "and to vec_dot_q8_W_q8_K", k->name, multi_cases);
    check(ok_multi_ref, "%s vec_dot_q8_W_q8_K_multi: every row bit-identical to ref", k->name);
    check(untouched, "%s vec_dot_q8_W_q8_K_multi: outputs past ny untouched", k->name);
}

/* The multi-row f16 dot: awkward lengths (k_float_lengths), ny = 1..4 f32 rows of different
 * kinds, unaligned, at a stride that is not the row size; each row's float must equal the same
 * kernel's ny = 1 call (AVX2 / NEON / ref: also vec_dot_f16_f32 of the table), be within the
 * summation-order bound of ref, and outputs past ny stay untouched. */
static void test_f16_multi(const aria_kernel_table * k) {
    const aria_kernel_table * r    = &aria_kernels_ref;
    const int                 same = 1;  /* contract v2: every table's rows equal its (and ref's) single-row dot */
    int ok_one = 1, ok_single = 1, ok_ref = 1, untouched = 1, cases = 0;
    for (int kind = 0; kind < ACT_COUNT; kind++) {
        if (kind == ACT_HUGE || kind == ACT_TINY) {
            continue;  /* products overflow / underflow f32, as in test_float_dots */
        }
        for (int li = 0; li < COUNT(k_float_lengths); li++) {
            const int64_t n      = k_float_lengths[li];
            const int64_t stride = n + 3;  /* floats */
            aria_f16 *    xh     = xmalloc((size_t) (n + 1) * sizeof(aria_f16));
            float *       xf     = xmalloc((size_t) (n + 1) * sizeof(float));
            float *       y      = xmalloc((size_t) (stride * ARIA_MULTI_MAX + 1) * sizeof(float));
            fill_act(xf, n + 1, kind);
            for (int64_t i = 0; i <= n; i++) {
                uint16_t h;
                do {
                    h = (uint16_t) rnd();
                } while ((h & 0x7c00) == 0x7c00);  /* finite halves only */
                xh[i] = kind == ACT_RANDOM ? h : aria_f32_to_f16(xf[i]);
            }
            for (int j = 0; j < ARIA_MULTI_MAX; j++) {
                const int yk = (kind + j) % ACT_COUNT;
                fill_act(y + 1 + j * stride, stride, yk == ACT_HUGE || yk == ACT_TINY ? ACT_RANDOM : yk);
            }
            for (int ny = 1; ny <= ARIA_MULTI_MAX; ny++, cases++) {
                float s[ARIA_MULTI_MAX + 1];
                for (int j = 0; j <= ARIA_MULTI_MAX; j++) {
                    s[j] = -12345.0f;
                }
                /* xh + 1, y + 1: unaligned on purpose */
                k->vec_dot_f16_f32_multi(n, s, xh + 1, y + 1, stride * (int64_t) sizeof(float), ny);
                for (int j = 0; j <= ARIA_MULTI_MAX; j++) {
                    if (j >= ny) {
                        untouched &= s[j] == -12345.0f;
                        continue;
                    }
                    const float * yj = y + 1 + j * stride;
                    float         one, single, want;
                    k->vec_dot_f16_f32_multi(n, &one, xh + 1, yj, 8, 1);  /* stride unused for ny = 1 */
                    k->vec_dot_f16_f32(n, &single, xh + 1, yj);
                    r->vec_dot_f16_f32(n, &want, xh + 1, yj);
                    double abs = 0.0;
                    for (int64_t i = 0; i < n; i++) {
                        abs += fabs((double) aria_f16_to_f32(xh[i + 1]) * yj[i]);
                    }
                    ok_one &= same_float(s[j], one);
                    ok_single &= !same || same_float(s[j], single);
                    ok_ref &= float_dot_close(s[j], want, n, abs) && same_float(s[j], want);
                }
            }
            free(xh);
            free(xf);
            free(y);
        }
    }
    check(ok_one, "%s vec_dot_f16_f32_multi: %d cases (lengths 0..4097, ny = 1..4), each row bit-identical to its "
                  "ny = 1 call", k->name, cases);
    check(ok_single, "%s vec_dot_f16_f32_multi: rows bit-identical to vec_dot_f16_f32%s", k->name,
          same ? "" : " (not required of this table)");
    check(ok_ref, "%s vec_dot_f16_f32_multi: every row bit-identical to ref", k->name);
    check(untouched, "%s vec_dot_f16_f32_multi: outputs past ny untouched", k->name);
}

/* SiLU * u: awkward lengths, ordinary, huge (exp overflows), tiny, +-0, +-inf and NaN inputs;
 * bit-identical to _ref (NaN where it is NaN), and every element the
 * same float whether the row is done in one call or split in two anywhere (no separate tail path). */
static void test_silu(const aria_kernel_table * k) {
    static const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, NAN, 88.5f, -88.5f, 87.0f, -87.5f, 100.0f,
                                     -100.0f, 1e-30f, -1e-30f, 20.0f, -20.0f };
    int ok = 1, ok_split = 1, cases = 0;
    for (int li = 0; li < COUNT(k_float_lengths); li++) {
        const int64_t n = k_float_lengths[li];
        float * h = xmalloc(sizeof(float) * (size_t) (n + 1)), * u = xmalloc(sizeof(float) * (size_t) (n + 1));
        float * want = xmalloc(sizeof(float) * (size_t) (n + 1)), * split = xmalloc(sizeof(float) * (size_t) (n + 1));
        for (int64_t i = 0; i < n; i++) {
            h[i] = i % 7 == 3 ? special[(i / 7) % COUNT(special)] : rnd_unit() * 12.0f;
            u[i] = i % 11 == 5 ? -2.5f : rnd_unit() * 3.0f;
        }
        memcpy(want, h, sizeof(float) * (size_t) n);
        memcpy(split, h, sizeof(float) * (size_t) n);
        aria_kernels_ref.silu_mul_f32(n, want, u);
        k->silu_mul_f32(n, h, u);
        const int64_t cut = n / 3;
        k->silu_mul_f32(cut, split, u);
        k->silu_mul_f32(n - cut, split + cut, u + cut);
        for (int64_t i = 0; i < n; i++, cases++) {
            ok &= same_or_nan(h[i], want[i]);  /* contract v2: bit-identical */
            ok_split &= same_float(h[i], split[i]) || (isnan(h[i]) && isnan(split[i]));
        }
        free(h), free(u), free(want), free(split);
    }
    check(ok, "%s silu_mul_f32: %d elements bit-identical to ref (NaN where ref is NaN)", k->name, cases);
    check(ok_split, "%s silu_mul_f32: a row split in two gives the same floats as in one call", k->name);
}

static void test_axpy(const aria_kernel_table * k) {
    int ok = 1, cases = 0;
    for (int li = 0; li < COUNT(k_float_lengths); li++, cases++) {
        const int64_t n  = k_float_lengths[li];
        float *       x  = xmalloc((size_t) (n + 1) * sizeof(float));
        float *       y1 = xmalloc((size_t) (n + 1) * sizeof(float));
        float *       y2 = xmalloc((size_t) (n + 1) * sizeof(float));
        fill_act(x, n + 1, li % ACT_COUNT);
        fill_act(y1, n + 1, (li + 1) % ACT_COUNT);
        memcpy(y2, y1, (size_t) (n + 1) * sizeof(float));
        k->axpy_f32(n, 0.37f, x + 1, y1 + 1);  /* unaligned */
        aria_kernels_ref.axpy_f32(n, 0.37f, x + 1, y2 + 1);
        ok &= memcmp(y1, y2, (size_t) (n + 1) * sizeof(float)) == 0;
        free(x), free(y1), free(y2);
    }
    check(ok, "%s axpy_f32: %d lengths bit-identical to ref, y[0] untouched", k->name, cases);

    ok = 1, cases = 0;
    for (int li = 0; li < COUNT(k_float_lengths); li++, cases++) {
        const int64_t n  = k_float_lengths[li];
        float *       xf = xmalloc((size_t) (n + 1) * sizeof(float));
        aria_f16 *    x  = xmalloc((size_t) (n + 1) * sizeof(aria_f16));
        float *       y1 = xmalloc((size_t) (n + 1) * sizeof(float));
        float *       y2 = xmalloc((size_t) (n + 1) * sizeof(float));
        fill_act(xf, n + 1, li % ACT_COUNT);
        for (int64_t i = 0; i <= n; i++) x[i] = aria_f32_to_f16(xf[i]);
        fill_act(y1, n + 1, (li + 1) % ACT_COUNT);
        memcpy(y2, y1, (size_t) (n + 1) * sizeof(float));
        k->axpy_f16(n, -0.61f, x + 1, y1 + 1);  /* unaligned */
        aria_kernels_ref.axpy_f16(n, -0.61f, x + 1, y2 + 1);
        ok &= memcmp(y1, y2, (size_t) (n + 1) * sizeof(float)) == 0;
        free(xf), free(x), free(y1), free(y2);
    }
    check(ok, "%s axpy_f16: %d lengths bit-identical to ref, y[0] untouched", k->name, cases);
}

/* Attention rows kernels (kernels.h attn_*, optional): np cache rows of n elements at a stride of
 * n + 3, against the reference's single-row kernels called per row (what forward.c does without
 * them): every score and every output element BIT-IDENTICAL, nothing past np scores written. */
static void test_attn_rows(const aria_kernel_table * k) {
    if (!k->attn_dots_f32 || !k->attn_dots_f16 || !k->attn_axpys_f32 || !k->attn_axpys_f16) {
        check(!k->attn_dots_f32 && !k->attn_dots_f16 && !k->attn_axpys_f32 && !k->attn_axpys_f16,
              "%s attn rows kernels: all four or none", k->name);
        return;
    }
    static const int64_t ns[]  = { 1, 7, 8, 31, 32, 33, 64, 96, 100, 128, 130 };
    static const int64_t nps[] = { 1, 2, 5, 33 };
    const aria_kernel_table * r = &aria_kernels_ref;
    int ok_d32 = 1, ok_d16 = 1, ok_a32 = 1, ok_a16 = 1, cases = 0;
    for (int ni = 0; ni < COUNT(ns); ni++) {
        for (int pi = 0; pi < COUNT(nps); pi++, cases++) {
            const int64_t n = ns[ni], np = nps[pi], stride = n + 3, tot = stride * np;
            float *       kv  = xmalloc((size_t) tot * sizeof(float));
            aria_f16 *    kvh = xmalloc((size_t) tot * sizeof(aria_f16));
            float *       q   = xmalloc((size_t) n * sizeof(float));
            float         p[33], s1[34], s2[34];
            float *       y1  = xmalloc((size_t) n * sizeof(float));
            float *       y2  = xmalloc((size_t) n * sizeof(float));
            fill_act(kv, tot, (ni + pi) % ACT_COUNT == ACT_HUGE ? ACT_RANDOM : (ni + pi) % ACT_COUNT);
            for (int64_t i = 0; i < tot; i++) kvh[i] = aria_f32_to_f16(kv[i]);
            fill_act(q, n, ACT_RANDOM);
            for (int64_t j = 0; j < np; j++) p[j] = rnd_unit();
            /* dots: f32 and f16 rows */
            s1[np] = s2[np] = 12345.0f;
            k->attn_dots_f32(n, np, s1, kv, stride, q);
            for (int64_t j = 0; j < np; j++) r->vec_dot_f32(n, &s2[j], q, kv + j * stride);
            ok_d32 &= memcmp(s1, s2, sizeof(float) * (size_t) (np + 1)) == 0;
            k->attn_dots_f16(n, np, s1, kvh, stride, q);
            for (int64_t j = 0; j < np; j++) r->vec_dot_f16_f32(n, &s2[j], kvh + j * stride, q);
            ok_d16 &= memcmp(s1, s2, sizeof(float) * (size_t) (np + 1)) == 0;
            /* weighted sums of the rows into y, which starts non-zero */
            fill_act(y1, n, ACT_RANDOM);
            memcpy(y2, y1, sizeof(float) * (size_t) n);
            k->attn_axpys_f32(n, np, p, kv, stride, y1);
            for (int64_t j = 0; j < np; j++) r->axpy_f32(n, p[j], kv + j * stride, y2);
            ok_a32 &= memcmp(y1, y2, sizeof(float) * (size_t) n) == 0;
            k->attn_axpys_f16(n, np, p, kvh, stride, y1);
            for (int64_t j = 0; j < np; j++) r->axpy_f16(n, p[j], kvh + j * stride, y2);
            ok_a16 &= memcmp(y1, y2, sizeof(float) * (size_t) n) == 0;
            free(kv), free(kvh), free(q), free(y1), free(y2);
        }
    }
    check(ok_d32, "%s attn_dots_f32: %d cases (n, np) bit-identical to ref's vec_dot_f32 per row", k->name, cases);
    check(ok_d16, "%s attn_dots_f16: %d cases bit-identical to ref's vec_dot_f16_f32 per row", k->name, cases);
    check(ok_a32, "%s attn_axpys_f32: %d cases bit-identical to ref's axpy_f32 per row", k->name, cases);
    check(ok_a16, "%s attn_axpys_f16: %d cases bit-identical to ref's axpy_f16 per row", k->name, cases);
}

/* Rows kernels (decode): nr = 1, 2, 3, 7 weight rows of mixed kinds at a stride that is not the
 * packed row size; every output must be BIT-IDENTICAL to the same table's multi-row kernel with
 * ny = 1 on that row (what keeps a token's logits the same whether matmul takes the rows path or
 * the row loop), and nothing past nr is written. */
static void test_rows(const aria_kernel_table * k) {
    static const int64_t tq_n[] = { 256, 768, 2560 };
    static const int64_t i2_n[] = { 128, 384, 2560 };
    static const int64_t nrs[]  = { 1, 2, 3, 7 };
    int ok2 = 1, ok1 = 1, oki = 1, untouched = 1, cases = 0;
    for (int li = 0; li < COUNT(tq_n); li++) {
        for (int ni = 0; ni < COUNT(nrs); ni++) {
            const int64_t nr = nrs[ni];
            /* TQ1_0 and TQ2_0 */
            const int64_t n  = tq_n[li], nb = n / QK_K;
            const int64_t s2 = nb * (int64_t) sizeof(block_tq2_0) + 10, s1 = nb * (int64_t) sizeof(block_tq1_0) + 6;
            char *        x2 = xmalloc((size_t) (s2 * nr));
            char *        x1 = xmalloc((size_t) (s1 * nr));
            block_q8_K *  y  = xmalloc((size_t) nb * sizeof(block_q8_K));
            for (int64_t r = 0; r < nr; r++) {
                make_tq2_0((block_tq2_0 *) (x2 + r * s2), nb, (int) ((r + li) % W_COUNT));
                make_tq1_0((block_tq1_0 *) (x1 + r * s1), nb, (int) ((r + ni) % W_COUNT));
            }
            make_tq_act(y, n, (li + ni) % TQ_ACT_KINDS);
            float out2[8], out1[8], want;
            for (int e = 0; e < 8; e++) {
                out2[e] = out1[e] = -12345.0f;
            }
            k->vec_dot_tq2_0_q8_K_rows(n, nr, out2, (const block_tq2_0 *) x2, s2, y);
            k->vec_dot_tq1_0_q8_K_rows(n, nr, out1, (const block_tq1_0 *) x1, s1, y);
            for (int64_t r = 0; r < 8; r++) {
                if (r >= nr) {
                    untouched &= out2[r] == -12345.0f && out1[r] == -12345.0f;
                    continue;
                }
                k->vec_dot_tq2_0_q8_K_multi(n, &want, (const block_tq2_0 *) (x2 + r * s2), y, 0, 1);
                ok2 &= same_float(out2[r], want);
                k->vec_dot_tq1_0_q8_K_multi(n, &want, (const block_tq1_0 *) (x1 + r * s1), y, 0, 1);
                ok1 &= same_float(out1[r], want);
            }
            free(x2);
            free(x1);
            free(y);
            /* I2_S */
            const int64_t m  = i2_n[li], si = m / 4 + 5;
            uint8_t *     xi = xmalloc((size_t) (si * nr));
            int8_t *      q  = xmalloc((size_t) m);
            for (int64_t r = 0; r < nr; r++) {
                make_i2_s(xi + r * si, m, (int) ((r + li + ni) % W_COUNT));
            }
            for (int64_t e = 0; e < m; e++) {
                q[e] = (int8_t) rnd();
            }
            int32_t outi[8], wi;
            for (int e = 0; e < 8; e++) {
                outi[e] = -12345;
            }
            k->vec_dot_i2_s_i8_rows(m, nr, outi, xi, si, q);
            for (int64_t r = 0; r < 8; r++) {
                if (r >= nr) {
                    untouched &= outi[r] == -12345;
                    continue;
                }
                k->vec_dot_i2_s_i8_multi(m, &wi, xi + r * si, q, 0, 1);
                oki &= outi[r] == wi;
            }
            free(xi);
            free(q);
            cases++;
        }
    }
    check(ok2, "%s vec_dot_tq2_0_q8_K_rows: %d cases bit-identical to the multi-row kernel (ny 1)", k->name, cases);
    check(ok1, "%s vec_dot_tq1_0_q8_K_rows: %d cases bit-identical to the multi-row kernel (ny 1)", k->name, cases);
    check(oki, "%s vec_dot_i2_s_i8_rows: %d cases equal to the multi-row kernel (ny 1)", k->name, cases);
    check(untouched, "%s rows kernels: outputs past nr untouched", k->name);
}

/* The table's TQ1_0 -> TQ2_0 repack writes the ref's bytes for every kind of block (raw bytes
 * 243..255 and 0xff included), over lengths of 1 to 33 blocks. */
static void test_repack(const aria_kernel_table * k) {
    enum { NB = 33 };
    block_tq1_0 * x    = xmalloc(sizeof(block_tq1_0) * NB);
    block_tq2_0 * got  = xmalloc(sizeof(block_tq2_0) * NB);
    block_tq2_0 * want = xmalloc(sizeof(block_tq2_0) * NB);
    for (int kind = 0; kind < W_COUNT; kind++) {
        make_tq1_0(x, NB, kind);
        for (int64_t nb = 1; nb <= NB; nb += 8) {
            memset(got, 0x5a, sizeof(block_tq2_0) * NB);
            memset(want, 0x5a, sizeof(block_tq2_0) * NB);
            k->repack_tq1_0_tq2_0(x, got, nb);
            aria_kernels_ref.repack_tq1_0_tq2_0(x, want, nb);
            check(memcmp(got, want, sizeof(block_tq2_0) * NB) == 0, "%s repack_tq1_0_tq2_0 %s nb=%lld: ref's bytes",
                  k->name, w_name[kind], (long long) nb);
        }
    }
    free(x), free(got), free(want);
}

/* The x16 layout (kernels.h): rows of every weight kind, packed into groups (the last one partial,
 * n_rows = 16 ng - 5), unpack back to the same bytes; the table's x16 kernels, for ny = 1..8
 * activation rows of different kinds (raw -128 / 127 included) at a stride that is not the row
 * size, give for every real row exactly the float (TQ2_0, Q8_W) or integer (I2_S) of the reference
 * row kernel on the file's layout, and write nothing past 16 ng outputs or past ny rows. */
enum { X16_T_TQ2_0, X16_T_I2_S, X16_T_Q8_W, X16_T_Q4_W, X16_T_COUNT };

static void test_x16(const aria_kernel_table * k) {
    static const int32_t types[X16_T_COUNT] = { ARIA_TYPE_TQ2_0, ARIA_TYPE_I2_S, ARIA_TYPE_Q8_W, ARIA_TYPE_Q4_W };
    static const char *  names[X16_T_COUNT] = { "tq2_0", "i2_s", "q8_W", "q4_W" };
    static const int64_t tq_n[]             = { 256, 768, 2560, 6912 };
    static const int64_t i2_n[]             = { 128, 384, 2560, 6912 };
    const aria_kernel_table * r = &aria_kernels_ref;
    for (int ti = 0; ti < X16_T_COUNT; ti++) {
        const int32_t type = types[ti];
        int ok_rt = 1, ok = 1, untouched = 1, cases = 0;
        for (int li = 0; li < 4; li++) {
            const int64_t  n      = type == ARIA_TYPE_I2_S ? i2_n[li] : tq_n[li];
            const int64_t  nb     = n / QK_K;
            const int64_t  ng     = 1 + li % 3;
            const int64_t  nrows  = 16 * ng - 5;
            const uint64_t row_b  = type == ARIA_TYPE_TQ2_0 ? (uint64_t) nb * sizeof(block_tq2_0)
                                    : type == ARIA_TYPE_I2_S ? (uint64_t) n / 4
                                    : type == ARIA_TYPE_Q4_W ? (uint64_t) (n / QK4_W) * sizeof(block_q4_W)
                                                             : (uint64_t) nb * sizeof(block_q8_W);
            const uint64_t gb     = aria_x16_group_bytes(type, n);
            uint8_t *      rows   = xmalloc(row_b * (uint64_t) nrows);
            uint8_t *      groups = xmalloc(gb * (uint64_t) ng);
            uint8_t *      back   = xmalloc(row_b);
            uint8_t *      scr    = xmalloc((size_t) n);
            for (int64_t rr = 0; rr < nrows; rr++) {
                uint8_t * row = rows + row_b * (uint64_t) rr;
                if (type == ARIA_TYPE_TQ2_0) {
                    make_tq2_0((block_tq2_0 *) row, nb, (int) ((rr + li) % W_COUNT));
                } else if (type == ARIA_TYPE_I2_S) {
                    make_i2_s(row, n, (int) ((rr + li) % W_COUNT));
                } else if (type == ARIA_TYPE_Q4_W) {
                    /* random nibbles, or every nibble 0 (q = -8) or 15 (q = +7): the extremes */
                    block_q4_W * b = (block_q4_W *) row;
                    for (int64_t ib = 0; ib < n / QK4_W; ib++) {
                        b[ib].d = rnd_scale_f16();
                        for (int j = 0; j < QK4_W / 2; j++) {
                            b[ib].qs[j] = (uint8_t) (rr % 5 == 1 ? 0x00 : rr % 5 == 2 ? 0xff : rnd_int(256));
                        }
                    }
                } else {
                    block_q8_W * b = (block_q8_W *) row;
                    for (int64_t ib = 0; ib < nb; ib++) {
                        b[ib].d = rnd_unit() * 0.05f;
                        for (int j = 0; j < QK_K; j++) {
                            b[ib].qs[j] = (int8_t) (rr % 5 == 1 ? (j & 1 ? 127 : -127) : rnd_int(255) - 127);
                        }
                    }
                }
            }
            for (int64_t g = 0; g < ng; g++) {
                const int64_t nr = nrows - 16 * g < 16 ? nrows - 16 * g : 16;
                aria_x16_pack_group(type, n, rows + row_b * (uint64_t) (16 * g), row_b, nr, groups + gb * (uint64_t) g,
                                    scr);
            }
            for (int64_t rr = 0; rr < nrows; rr++) {
                aria_x16_unpack_row(type, n, groups + gb * (uint64_t) (rr / 16), (int) (rr % 16), back);
                ok_rt &= memcmp(back, rows + row_b * (uint64_t) rr, row_b) == 0;
            }
            /* activations: Q8_K rows (TQ2_0, Q8_W) or int8 rows (I2_S), each of another kind */
            const int64_t ys = type == ARIA_TYPE_I2_S ? n + 12 : nb * (int64_t) sizeof(block_q8_K) + 20;
            char *        ym = xmalloc((size_t) (ys * ARIA_X16_MAX_NY));
            for (int j = 0; j < ARIA_X16_MAX_NY; j++) {
                if (type == ARIA_TYPE_I2_S) {
                    for (int64_t e = 0; e < n; e++) {
                        ym[j * ys + e] = (char) (j == 2 ? -128 : j == 3 ? 127 : (int8_t) rnd());
                    }
                } else {
                    make_tq_act((block_q8_K *) (ym + j * ys), n, (li + j) % TQ_ACT_KINDS);
                }
            }
            const int64_t ss  = 16 * ng + 3;
            const int64_t cap = ss * (ARIA_X16_MAX_NY + 1);
            float *       sf  = xmalloc(sizeof(float) * (size_t) cap);
            int32_t *     si  = xmalloc(sizeof(int32_t) * (size_t) cap);
            for (int ny = 1; ny <= ARIA_X16_MAX_NY; ny++, cases++) {
                for (int64_t e = 0; e < cap; e++) {
                    sf[e] = -12345.0f;
                    si[e] = -12345;
                }
                if (type == ARIA_TYPE_TQ2_0) {
                    k->gemm_tq2_0_x16(n, ng, groups, (int64_t) gb, (const block_q8_K *) ym, ys, ny, sf, ss);
                } else if (type == ARIA_TYPE_Q8_W) {
                    k->gemm_q8_W_x16(n, ng, groups, (int64_t) gb, (const block_q8_K *) ym, ys, ny, sf, ss);
                } else if (type == ARIA_TYPE_Q4_W) {
                    k->gemm_q4_W_x16(n, ng, groups, (int64_t) gb, (const block_q8_K *) ym, ys, ny, sf, ss);
                } else {
                    k->gemm_i2_s_x16(n, ng, groups, (int64_t) gb, (const int8_t *) ym, ys, ny, si, ss);
                }
                for (int64_t e = 0; e < cap; e++) {
                    const int64_t j = e / ss, rr = e % ss;
                    if (j >= ny || rr >= 16 * ng) {
                        untouched &= type == ARIA_TYPE_I2_S ? si[e] == -12345 : sf[e] == -12345.0f;
                        continue;
                    }
                    if (rr >= nrows) {
                        continue;  /* padding rows: any value */
                    }
                    const uint8_t * row = rows + row_b * (uint64_t) rr;
                    if (type == ARIA_TYPE_I2_S) {
                        int32_t want;
                        r->vec_dot_i2_s_i8(n, &want, row, (const int8_t *) (ym + j * ys));
                        ok &= si[e] == want;
                    } else {
                        float want;
                        if (type == ARIA_TYPE_TQ2_0) {
                            r->vec_dot_tq2_0_q8_K(n, &want, (const block_tq2_0 *) row, (const block_q8_K *) (ym + j * ys));
                        } else if (type == ARIA_TYPE_Q4_W) {
                            aria_vec_dot_q4_W_q8_K_ref(n, &want, (const block_q4_W *) row, (const block_q8_K *) (ym + j * ys));
                        } else {
                            r->vec_dot_q8_W_q8_K(n, &want, (const block_q8_W *) row, (const block_q8_K *) (ym + j * ys));
                        }
                        ok &= same_float(sf[e], want);
                    }
                }
            }
            free(rows), free(groups), free(back), free(scr), free(ym), free(sf), free(si);
        }
        check(ok_rt, "%s x16 %s: packed groups unpack to the same row bytes", k->name, names[ti]);
        check(ok, "%s gemm_%s_x16: %d cases (n, ny = 1..8, a partial group), every row bit-identical to ref's row kernel",
              k->name, names[ti], cases);
        check(untouched, "%s gemm_%s_x16: nothing written past the groups' rows or past ny", k->name, names[ti]);
    }
}

/* The x16 lookup-table GEMM (kernels.h "x16 lookup tables"): aria_gemm_*_x16_lut_ref and the table's
 * own LUT kernel (if any), for ny from 1 to 32 (1, 2, 7, 9, 15, 16, 17, 24, 31, 32), row lengths that are not multiples of the 512 / 1024
 * elements of a table pass, 1..3 groups (the last partial), activations of every kind (raw -128 and
 * 127 included: the int16 bound's worst cases) at a stride that is not the row size: every real row
 * equals ref's row kernel bit for bit. Group 0 holds only codes 0..2 (the tables' path); the others
 * also codes 3 (the multiply-add fallback) and all-(-1) / all-(+1) rows against all -128. */
static void test_x16_lut(const aria_kernel_table * k) {
    static const int64_t tq_n[] = { 256, 768, 2560 };
    static const int64_t i2_n[] = { 128, 384, 1152 };
    static const int     valid_kinds[4] = { W_CODES, W_ALL_NEG, W_ALL_POS, W_ALL_ZERO };
    const aria_kernel_table * r = &aria_kernels_ref;
    for (int ti = 0; ti < 2; ti++) {
        const int32_t type = ti == 0 ? ARIA_TYPE_TQ2_0 : ARIA_TYPE_I2_S;
        int           ok_ref = 1, ok_k = 1, untouched = 1, cases = 0;
        for (int li = 0; li < 3; li++) {
            const int64_t  n     = ti == 0 ? tq_n[li] : i2_n[li];
            const int64_t  nb    = n / QK_K;
            const int64_t  ng    = 1 + (li + 1) % 3;
            const int64_t  nrows = 16 * ng - 3;
            const uint64_t row_b = ti == 0 ? (uint64_t) nb * sizeof(block_tq2_0) : (uint64_t) n / 4;
            const uint64_t gb    = aria_x16_group_bytes(type, n);
            uint8_t *      rows  = xmalloc(row_b * (uint64_t) nrows);
            uint8_t *      grp   = xmalloc(gb * (uint64_t) ng);
            uint8_t *      scr   = xmalloc((size_t) n);
            for (int64_t rr = 0; rr < nrows; rr++) {
                const int kind = rr < 16 ? valid_kinds[(rr + li) % 4] : (int) ((rr + li) % W_COUNT);
                if (ti == 0) {
                    make_tq2_0((block_tq2_0 *) (rows + row_b * (uint64_t) rr), nb, kind);
                } else {
                    make_i2_s(rows + row_b * (uint64_t) rr, n, kind);
                }
            }
            for (int64_t g = 0; g < ng; g++) {
                const int64_t nr = nrows - 16 * g < 16 ? nrows - 16 * g : 16;
                aria_x16_pack_group(type, n, rows + row_b * (uint64_t) (16 * g), row_b, nr, grp + gb * (uint64_t) g, scr);
            }
            const int64_t ys = ti == 1 ? n + 12 : nb * (int64_t) sizeof(block_q8_K) + 20;
            char *        ym = xmalloc((size_t) (ys * ARIA_X16_LUT_NY));
            for (int j = 0; j < ARIA_X16_LUT_NY; j++) {
                if (ti == 1) {
                    for (int64_t e = 0; e < n; e++) {
                        ym[j * ys + e] = (char) ((j + li) % 5 == 2 ? -128 : (j + li) % 5 == 3 ? 127 : (int8_t) rnd());
                    }
                } else {
                    make_tq_act((block_q8_K *) (ym + j * ys), n, (li + j) % TQ_ACT_KINDS);
                }
            }
            const int64_t ss  = 16 * ng + 5;
            const int64_t cap = ss * (ARIA_X16_LUT_NY + 1);
            float *       sf  = xmalloc(sizeof(float) * (size_t) cap);
            int32_t *     si  = xmalloc(sizeof(int32_t) * (size_t) cap);
            /* token counts at both ends and around the one / two ymm boundary of a table entry */
            static const int nys[] = { 1, 2, 7, 9, 15, 16, 17, 24, 31, ARIA_X16_LUT_NY };
            for (size_t yi = 0; yi < sizeof nys / sizeof nys[0]; yi++) {
                const int ny = nys[yi];
                for (int pass = 0; pass < 2; pass++) {  /* the scalar LUT, then the table's */
                    if ((pass == 0 && k != r) || (pass == 1 && !k->gemm_tq2_0_x16_lut)) {
                        continue;  /* the scalar LUT once (with the ref table) */
                    }
                    cases++;
                    for (int64_t e = 0; e < cap; e++) {
                        sf[e] = -12345.0f;
                        si[e] = -12345;
                    }
                    if (ti == 0) {
                        (pass == 0 ? aria_gemm_tq2_0_x16_lut_ref : k->gemm_tq2_0_x16_lut)(
                            n, ng, grp, (int64_t) gb, (const block_q8_K *) ym, ys, ny, sf, ss);
                    } else {
                        (pass == 0 ? aria_gemm_i2_s_x16_lut_ref : k->gemm_i2_s_x16_lut)(
                            n, ng, grp, (int64_t) gb, (const int8_t *) ym, ys, ny, si, ss);
                    }
                    for (int64_t e = 0; e < cap; e++) {
                        const int64_t j = e / ss, rr = e % ss;
                        if (j >= ny || rr >= 16 * ng) {
                            untouched &= ti == 1 ? si[e] == -12345 : sf[e] == -12345.0f;
                            continue;
                        }
                        if (rr >= nrows) {
                            continue;
                        }
                        const uint8_t * row  = rows + row_b * (uint64_t) rr;
                        int             same = 0;
                        if (ti == 1) {
                            int32_t want;
                            r->vec_dot_i2_s_i8(n, &want, row, (const int8_t *) (ym + j * ys));
                            same = si[e] == want;
                        } else {
                            float want;
                            r->vec_dot_tq2_0_q8_K(n, &want, (const block_tq2_0 *) row, (const block_q8_K *) (ym + j * ys));
                            same = same_float(sf[e], want);
                        }
                        if (pass == 0) {
                            ok_ref &= same;
                        } else {
                            ok_k &= same;
                        }
                    }
                }
            }
            free(rows), free(grp), free(scr), free(ym), free(sf), free(si);
        }
        if (k == r) {
            check(ok_ref, "aria_gemm_%s_x16_lut_ref: %d cases (n, ny from 1 to 32, partial groups, codes 3), every row bit-identical to ref's row kernel",
                  ti == 0 ? "tq2_0" : "i2_s", cases);
        }
        if (k->gemm_tq2_0_x16_lut) {
            check(ok_k, "%s gemm_%s_x16_lut: %d cases, every row bit-identical to ref's row kernel", k->name,
                  ti == 0 ? "tq2_0" : "i2_s", cases);
        }
        if (k == r || k->gemm_tq2_0_x16_lut) {
            check(untouched, "%s gemm_%s_x16_lut: nothing written past the groups' rows or past ny", k->name,
                  ti == 0 ? "tq2_0" : "i2_s");
        }
    }
}

static void test_table(const aria_kernel_table * k) {
    test_x16(k);
    test_x16_lut(k);
    test_silu(k);
    test_repack(k);
    test_axpy(k);
    test_attn_rows(k);
    test_q8_W(k);
    test_f16_multi(k);
    test_multi_dots(k);
    test_2x_dots(k);
    test_i2_s_2x(k);
    test_rows(k);
    test_float_dots(k);
    test_quantizers(k);
    test_tq_dots(k);
    test_i2_s_dot(k);
}

/* ---- (b) known answers ------------------------------------------------------------------- */

static int all_equal(const float * got, const float * want, int64_t n, int64_t * bad) {
    for (int64_t i = 0; i < n; i++) {
        if (!(got[i] == want[i])) {
            *bad = i;
            return 0;
        }
    }
    return 1;
}

static void test_known_ternary(void) {
    float   y[QK_K], want[QK_K];
    int8_t  t[QK_K];
    int64_t bad = -1;

    /* Literal bytes, decoded by hand. TQ2_0: 0x55 = codes 1,1,1,1 = zeros; qs[0] = 0b10'01'00'10:
     * element 0 code 2 (+1), 32 code 0 (-1), 64 code 1 (0), 96 code 2 (+1); d = 0.5. */
    block_tq2_0 b2;
    memset(b2.qs, 0x55, sizeof b2.qs);
    b2.qs[0]  = 0x92;  /* bits 1-0 = 2, 3-2 = 0, 5-4 = 1, 7-6 = 2 */
    b2.qs[33] = 0x06;  /* half 1, m = 1: element 129 code 2, 161 code 1, 193 code 0, 225 code 0 */
    b2.d      = 0x3800;
    memset(want, 0, sizeof want);
    want[0] = 0.5f, want[32] = -0.5f, want[96] = 0.5f;
    want[129] = 0.5f, want[193] = -0.5f, want[225] = -0.5f;
    check(aria_dequantize_row(ARIA_TYPE_TQ2_0, &b2, y, QK_K) == 0 && all_equal(y, want, QK_K, &bad),
          "TQ2_0 literal block decodes by hand (first bad element %lld)", (long long) bad);

    /* TQ1_0: byte 128 = trits 1,1,1,1,1 (all zero); qh byte 127 = 1,1,1,1 (+ pad); qs[0] = 186 =
     * ceil(176 * 256 / 243), 176 = 2*81 + 0*27 + 1*9 + 1*3 + 2: elements 0 (+1), 32 (-1), 128 (+1). */
    block_tq1_0 b1;
    memset(b1.qs, 128, sizeof b1.qs);
    memset(b1.qh, 127, sizeof b1.qh);
    b1.qs[0] = 186;
    b1.d     = 0x3c00;  /* 1.0 */
    memset(want, 0, sizeof want);
    want[0] = 1.0f, want[32] = -1.0f, want[128] = 1.0f;
    bad = -1;
    check(aria_dequantize_row(ARIA_TYPE_TQ1_0, &b1, y, QK_K) == 0 && all_equal(y, want, QK_K, &bad),
          "TQ1_0 literal block decodes by hand (first bad element %lld)", (long long) bad);

    /* I2_S: 0x55 = all zero; byte 0 = 0b10'00'01'10: element 0 code 2 (+1), 32 code 0 (-1),
     * 64 code 1 (0), 96 code 2 (+1); scale 1.25. */
    uint8_t bi[32];
    memset(bi, 0x55, sizeof bi);
    bi[0] = 0x86;
    aria_dequantize_row_i2_s(bi, 1.25f, y, 128);
    memset(want, 0, sizeof want);
    want[0] = 1.25f, want[32] = -1.25f, want[96] = 1.25f;
    bad = -1;
    check(all_equal(y, want, 128, &bad), "I2_S literal block decodes by hand (first bad element %lld)",
          (long long) bad);

    /* Packed by the test-local packers, every element checked, several patterns. */
    for (int pat = 0; pat < 4; pat++) {
        for (int j = 0; j < QK_K; j++) {
            t[j] = pat == 0 ? (int8_t) (j % 3 - 1) : pat == 1 ? (int8_t) ((j * 7 + j / 5) % 3 - 1)
                 : pat == 2 ? (int8_t) (j & 1 ? 1 : -1) : (int8_t) (rnd_int(3) - 1);
        }
        const float d = pat == 3 ? -0.375f : 0.25f;  /* exact in f16 */
        for (int j = 0; j < QK_K; j++) want[j] = (float) t[j] * d;
        pack_tq2_0(&b2, t, aria_f32_to_f16(d));
        bad = -1;
        check(aria_dequantize_row(ARIA_TYPE_TQ2_0, &b2, y, QK_K) == 0 && all_equal(y, want, QK_K, &bad),
              "TQ2_0 pattern %d round-trips through the packer (first bad %lld)", pat, (long long) bad);
        pack_tq1_0(&b1, t, aria_f32_to_f16(d));
        bad = -1;
        check(aria_dequantize_row(ARIA_TYPE_TQ1_0, &b1, y, QK_K) == 0 && all_equal(y, want, QK_K, &bad),
              "TQ1_0 pattern %d round-trips through the packer (first bad %lld)", pat, (long long) bad);
        uint8_t xi[QK_K / 4];
        pack_i2_s(xi, t, QK_K);
        aria_dequantize_row_i2_s(xi, d, y, QK_K);
        bad = -1;
        check(all_equal(y, want, QK_K, &bad), "I2_S pattern %d round-trips through the packer (first bad %lld)",
              pat, (long long) bad);
    }

    /* TQ1_0: every 5-trit group value 0..242 packs and decodes back (the fixed-point trick). */
    int ok = 1;
    for (int v = 0; v < 243 && ok; v++) {
        for (int j = 0; j < QK_K; j++) t[j] = 0;
        const int c[5] = { v / 81 % 3, v / 27 % 3, v / 9 % 3, v / 3 % 3, v % 3 };
        for (int n = 0; n < 5; n++) t[7 + 32 * n] = (int8_t) (c[n] - 1);
        pack_tq1_0(&b1, t, 0x3c00);
        aria_dequantize_row(ARIA_TYPE_TQ1_0, &b1, y, QK_K);
        for (int n = 0; n < 5; n++) ok &= y[7 + 32 * n] == (float) (c[n] - 1);
    }
    check(ok, "TQ1_0 all 243 trit groups decode back");
}

/* aria_repack_tq1_0_to_tq2_0 (aria_model_repack): a TQ1_0 block becomes the TQ2_0 block of the same
 * codes and scale. Encoder-made blocks: byte for byte what the test-local TQ2_0 packer makes of the
 * same trits. Every kind (also bytes 243..255 and 0xff, which no encoder writes): the same
 * dequantized values bit for bit, the f16 scale copied as bits (NaN, inf, -0 too), and the reference
 * TQ2_0 dot of the copy equal to the reference TQ1_0 dot of the original (same integer sums, same
 * float operations). */
static void test_repack_tq1_0(void) {
    enum { NB = 24 };
    block_tq1_0 * x   = xmalloc(sizeof(block_tq1_0) * NB);
    block_tq2_0 * y   = xmalloc(sizeof(block_tq2_0) * NB);
    block_tq2_0 * ref = xmalloc(sizeof(block_tq2_0) * NB);
    block_q8_K *  a   = xmalloc(sizeof(block_q8_K) * NB);
    float *       f1  = xmalloc(sizeof(float) * NB * QK_K);
    float *       f2  = xmalloc(sizeof(float) * NB * QK_K);
    int8_t        t[QK_K];
    for (int kind = 0; kind < W_COUNT; kind++) {
        const int encoded = kind != W_RAW && kind != W_FF;
        for (int i = 0; i < NB; i++) {
            for (int j = 0; j < QK_K; j++) t[j] = ternary_for(kind);
            const aria_f16 d = rnd_scale_f16();
            pack_tq1_0(&x[i], t, d);
            pack_tq2_0(&ref[i], t, d);
            if (!encoded) {
                for (int j = 0; j < 48; j++) x[i].qs[j] = kind == W_FF ? 0xff : (uint8_t) rnd();
                for (int j = 0; j < 4; j++) x[i].qh[j] = kind == W_FF ? 0xff : (uint8_t) rnd();
            }
        }
        memset(y, 0xa5, sizeof(block_tq2_0) * NB);  /* every byte must be written */
        aria_repack_tq1_0_to_tq2_0(x, y, NB);
        if (encoded) {
            check(memcmp(y, ref, sizeof(block_tq2_0) * NB) == 0,
                  "repack TQ1_0 -> TQ2_0 %s: bytes equal the TQ2_0 packer's", w_name[kind]);
        }
        aria_dequantize_row(ARIA_TYPE_TQ1_0, x, f1, NB * QK_K);
        aria_dequantize_row(ARIA_TYPE_TQ2_0, y, f2, NB * QK_K);
        int64_t first_bad = -1;
        for (int64_t j = 0; j < NB * QK_K && first_bad < 0; j++) {
            if (memcmp(&f1[j], &f2[j], sizeof(float)) != 0) first_bad = j;
        }
        check(first_bad < 0, "repack TQ1_0 -> TQ2_0 %s: dequantized values equal (first bad %lld)",
              w_name[kind], (long long) first_bad);
        make_q8_K_raw(a, NB, 0);
        float s1 = 0.0f, s2 = 0.0f;
        aria_kernels_ref.vec_dot_tq1_0_q8_K(NB * QK_K, &s1, x, a);
        aria_kernels_ref.vec_dot_tq2_0_q8_K(NB * QK_K, &s2, y, a);
        check(same_float(s1, s2), "repack TQ1_0 -> TQ2_0 %s: reference dots equal (%.9g, %.9g)", w_name[kind],
              (double) s1, (double) s2);
    }
    /* the scale's bits, whatever they are */
    const aria_f16 scales[] = { 0x7e00, 0x7c00, 0xfc00, 0x8000, 0x0001, 0x3c00 };
    int            ok       = 1;
    for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
        x[0].d = scales[k];
        aria_repack_tq1_0_to_tq2_0(x, y, 1);
        ok &= y[0].d == scales[k];
    }
    check(ok, "repack TQ1_0 -> TQ2_0: the f16 scale is copied bit for bit (NaN, inf, -0, subnormal)");
    free(x), free(y), free(ref), free(a), free(f1), free(f2);
}

#if defined(__x86_64__)
/* The hardware conversions, as a second oracle for ternary.h's (only called when the CPU has F16C). */
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t v) { return _cvtsh_ss(v); }
__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float v) { return (uint16_t) _cvtss_sh(v, 0); }
#endif

static void test_known_f16(void) {
    int ok = 1, n_nan = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = aria_f16_to_f32((aria_f16) h);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {
            n_nan++;
            const aria_f16 back = aria_f32_to_f16(f);
            ok &= isnan(f) && (back & 0x7c00) == 0x7c00 && (back & 0x3ff) != 0 && (back & 0x8000) == (h & 0x8000);
        } else {
            ok &= aria_f32_to_f16(f) == h;
        }
    }
    check(ok, "f16 -> f32 -> f16 round trip for all 65536 halves (%d NaNs stay NaN)", n_nan);
    check(aria_f16_to_f32(0x3c00) == 1.0f && aria_f16_to_f32(0xc000) == -2.0f &&
              aria_f16_to_f32(0x0001) == 0x1p-24f && aria_f16_to_f32(0x7bff) == 65504.0f &&
              isinf(aria_f16_to_f32(0xfc00)) && aria_f32_to_f16(65520.0f) == 0x7c00 &&
              aria_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00 && aria_f32_to_f16(1.0f + 0x1p-10f + 0x1p-11f) == 0x3c02,
          "f16 known values (1, -2, smallest subnormal, max, -inf, overflow, ties to even)");
#if defined(__x86_64__)
    if (aria_cpu_has_avx2()) {
        int hw = 1;
        for (uint32_t h = 0; h < 65536; h++) {
            const float a = aria_f16_to_f32((aria_f16) h);
            const float b = hw_f16_to_f32((uint16_t) h);
            hw &= memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
        }
        for (int i = 0; i < 1000000; i++) {
            uint32_t bits = (uint32_t) rnd();
            float    f;
            memcpy(&f, &bits, sizeof f);
            if (!isnan(f)) hw &= aria_f32_to_f16(f) == hw_f32_to_f16(f);
        }
        /* every f32 exponent and the low bits around each rounding boundary (ties to even,
         * subnormal halves, overflow): 2^16 high halves x 7 low patterns */
        static const uint32_t lows[] = { 0x0000, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x2000, 0xffff };
        for (uint32_t hi = 0; hi < 65536; hi++) {
            for (int l = 0; l < COUNT(lows); l++) {
                const uint32_t bits = hi << 16 | lows[l];
                float          f;
                memcpy(&f, &bits, sizeof f);
                if (!isnan(f)) hw &= aria_f32_to_f16(f) == hw_f32_to_f16(f);
            }
        }
        check(hw, "f16 conversions agree with F16C bit for bit (all halves; 1e6 random floats and 458752 "
                  "boundary floats back, round to nearest even)");
    }
#endif
    aria_f16 hx[4] = { 0x3c00, 0xb800, 0x0000, 0x7bff };
    float    y[4];
    check(aria_dequantize_row(ARIA_TYPE_F16, hx, y, 4) == 0 && y[0] == 1.0f && y[1] == -0.5f && y[2] == 0.0f &&
              y[3] == 65504.0f,
          "aria_dequantize_row F16");
}

static void test_known_scalar_types(void) {
    float y[QK_K], want[QK_K];
    int64_t bad = -1;

    /* BF16: top half of an f32. */
    const uint16_t bf[5] = { 0x3fc0, 0xc020, 0x7f80, 0x0001, 0x8000 };
    check(aria_dequantize_row(ARIA_TYPE_BF16, bf, y, 5) == 0 && y[0] == 1.5f && y[1] == -2.5f && isinf(y[2]) &&
              y[3] == 0x1p-133f && y[4] == 0.0f && signbit(y[4]),
          "BF16 known values (1.5, -2.5, inf, smallest subnormal, -0)");

    /* Q8_0: d = 0.25, q_j = j - 16. */
    block_q8_0 q8[2];
    for (int b = 0; b < 2; b++) {
        q8[b].d = b == 0 ? 0x3400 : 0xc000;  /* 0.25, -2 */
        for (int j = 0; j < 32; j++) q8[b].qs[j] = (int8_t) (j - 16);
    }
    for (int j = 0; j < 64; j++) want[j] = (float) (j % 32 - 16) * (j < 32 ? 0.25f : -2.0f);
    check(aria_dequantize_row(ARIA_TYPE_Q8_0, q8, y, 64) == 0 && all_equal(y, want, 64, &bad),
          "Q8_0 two blocks (d = 0.25, -2) decode by hand (first bad %lld)", (long long) bad);

    /* Q4_0: byte j = (j & 15) | (15 - j) << 4 -> element j = j - 8, element j + 16 = 7 - j. */
    block_q4_0 q4;
    q4.d = 0x3c00;
    for (int j = 0; j < 16; j++) q4.qs[j] = (uint8_t) (j | ((15 - j) << 4));
    for (int j = 0; j < 16; j++) want[j] = (float) (j - 8), want[j + 16] = (float) (7 - j);
    bad = -1;
    check(aria_dequantize_row(ARIA_TYPE_Q4_0, &q4, y, 32) == 0 && all_equal(y, want, 32, &bad),
          "Q4_0 block decodes by hand (first bad %lld)", (long long) bad);

    /* Q6_K: ql = qh = 0 make every value 0 - 32; d = 0.5, scales[k] = k - 8. A few elements set:
     *  ql[0] = 0x5a, qh[0] = 0b11'10'01'00: element 0 = (10 | 0 << 4) - 32 = -22 (scale 0),
     *    element 32 = (0 | 1 << 4) - 32 = -16 (scale 2), element 64 = (5 | 2 << 4) - 32 = 5 (scale 4),
     *    element 96 = (0 | 3 << 4) - 32 = 16 (scale 6);
     *  half 1: ql[64 + 40] = 0xf3 (l = 8): element 168 = 3 - 32 = -29 (scale 8 + 2), element 232 =
     *    15 - 32 = -17 (scale 8 + 6); qh[32 + 17] = 0x01 (l = 17): element 145 = (0 | 1 << 4) - 32 =
     *    -16 (scale 8 + 1). */
    block_q6_K q6;
    memset(&q6, 0, sizeof q6);
    q6.d = 0x3800;
    for (int k = 0; k < 16; k++) q6.scales[k] = (int8_t) (k - 8);
    q6.ql[0]       = 0x5a;
    q6.qh[0]       = 0xe4;
    q6.ql[64 + 40] = 0xf3;
    q6.qh[32 + 17] = 0x01;
    for (int j = 0; j < QK_K; j++) {
        const int half = j / 128, r = j % 128, l = r % 32, quarter = r / 32;
        const int sc   = q6.scales[8 * half + l / 16 + 2 * quarter];
        want[j]        = 0.5f * (float) sc * -32.0f;
    }
    want[0]   = 0.5f * (float) (0 - 8) * -22.0f;
    want[32]  = 0.5f * (float) (2 - 8) * -16.0f;
    want[64]  = 0.5f * (float) (4 - 8) * 5.0f;
    want[96]  = 0.5f * (float) (6 - 8) * 16.0f;
    want[168] = 0.5f * (float) (10 - 8) * -29.0f;
    want[232] = 0.5f * (float) (14 - 8) * -17.0f;
    want[145] = 0.5f * (float) (9 - 8) * -16.0f;
    bad = -1;
    check(aria_dequantize_row(ARIA_TYPE_Q6_K, &q6, y, QK_K) == 0 && all_equal(y, want, QK_K, &bad),
          "Q6_K block decodes by hand (first bad %lld)", (long long) bad);

    /* Q4_K: d = 1, dmin = 0.5; sub-block (scale, min) = (1,0) (2,1) (3,2) (4,3) (17,16) (33,4)
     * (5,40) (63,7), packed by hand into the 12 scale bytes; byte l of chunk c = (l & 15) |
     * (15 - (l & 15)) << 4. Element 64c + l = sc[2c] * (l & 15) - 0.5 * min[2c], element
     * 64c + 32 + l = sc[2c+1] * (15 - (l & 15)) - 0.5 * min[2c+1]. */
    static const int sc[8] = { 1, 2, 3, 4, 17, 33, 5, 63 };
    static const int mn[8] = { 0, 1, 2, 3, 16, 4, 40, 7 };
    block_q4_K       q4k;
    const uint8_t    scales[12] = { 65, 130, 3, 196, 64, 1, 130, 3, 1, 65, 133, 127 };
    q4k.d    = 0x3c00;
    q4k.dmin = 0x3800;
    memcpy(q4k.scales, scales, 12);
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            q4k.qs[32 * c + l]   = (uint8_t) ((l & 15) | ((15 - (l & 15)) << 4));
            want[64 * c + l]      = (float) (sc[2 * c] * (l & 15)) - 0.5f * (float) mn[2 * c];
            want[64 * c + 32 + l] = (float) (sc[2 * c + 1] * (15 - (l & 15))) - 0.5f * (float) mn[2 * c + 1];
        }
    }
    bad = -1;
    check(aria_dequantize_row(ARIA_TYPE_Q4_K, &q4k, y, QK_K) == 0 && all_equal(y, want, QK_K, &bad),
          "Q4_K block (6-bit scales and mins, high bits split) decodes by hand (first bad %lld)",
          (long long) bad);

    check(aria_dequantize_row(ARIA_TYPE_I2_S, bf, y, 128) == -1 && aria_dequantize_row(99, bf, y, 1) == -1 &&
              aria_dequantize_row(ARIA_TYPE_Q8_0, q8, y, 31) == -1,
          "aria_dequantize_row refuses I2_S (needs a scale), unknown ids and partial blocks");
}

static void test_type_facts(void) {
    check(aria_type_row_bytes(ARIA_TYPE_TQ2_0, 2560) == 10 * 66 && aria_type_row_bytes(ARIA_TYPE_TQ1_0, 2560) == 10 * 54 &&
              aria_type_row_bytes(ARIA_TYPE_I2_S, 2560) == 640 && aria_type_row_bytes(ARIA_TYPE_F16, 3) == 6 &&
              aria_type_row_bytes(ARIA_TYPE_F32, 3) == 12 && aria_type_row_bytes(ARIA_TYPE_BF16, 5) == 10 &&
              aria_type_row_bytes(ARIA_TYPE_Q8_0, 64) == 68 && aria_type_row_bytes(ARIA_TYPE_Q4_0, 64) == 36 &&
              aria_type_row_bytes(ARIA_TYPE_Q4_K, 512) == 288 && aria_type_row_bytes(ARIA_TYPE_Q6_K, 512) == 420 &&
              aria_type_row_bytes(ARIA_TYPE_Q8_K, 256) == 292 && aria_type_row_bytes(38, 256) == 0 &&
              aria_type_row_bytes(ARIA_TYPE_TQ2_0, 100) == 0,
          "aria_type_row_bytes for every type (0 for unknown ids and partial blocks)");
    check(aria_type_block_elems(ARIA_TYPE_F32) == 1 && aria_type_block_elems(ARIA_TYPE_Q8_0) == 32 &&
              aria_type_block_elems(ARIA_TYPE_Q6_K) == 256 && aria_type_block_elems(ARIA_TYPE_I2_S) == 128 &&
              aria_type_block_elems(39) == 0 && aria_type_block_elems(-1) == 0,
          "aria_type_block_elems");
    static const int32_t ids[] = { 0, 1, 2, 8, 12, 14, 15, 30, 34, 35, 36 };
    int named = 1;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) named &= aria_type_name(ids[i]) != NULL;
    check(named && strcmp(aria_type_name(ARIA_TYPE_TQ1_0), "TQ1_0") == 0 && strcmp(aria_type_name(36), "I2_S") == 0 &&
              aria_type_name(38) == NULL && aria_type_name(3) == NULL,
          "aria_type_name names every aria.h type, NULL otherwise");
    check(strcmp(aria_type_name_any(38), "TL1 (bitnet.cpp)") == 0 &&
              strcmp(aria_type_name_any(39), "TL2 (bitnet.cpp) or MXFP4") == 0 &&
              strcmp(aria_type_name_any(13), "Q5_K") == 0 && strcmp(aria_type_name_any(35), "TQ2_0") == 0 &&
              aria_type_name_any(1000) == NULL,
          "aria_type_name_any names known-but-unsupported ids (38 = %s, 39 = %s)", aria_type_name_any(38),
          aria_type_name_any(39));
}

/* The int4 head format: the quantizer (every q in -8..7; the block's largest-magnitude value maps to
 * -8 up to the f16 rounding of d; every other value within half a step, or one step where +8 was
 * clamped to +7; an all-zero block gives d = 0), the x16 groups of aria_model_requantize_output_to
 * (made by quantize + aria_x16_pack_group), and the reference row dot against the f64 sum of the
 * dequantized weights times the Q8_K values (the int sums are exact; f32 rounding only). */
static void test_q4_W_format(void) {
    static const int64_t lengths[] = { 256, 512, 2560 };
    int ok_range = 1, ok_rt = 1, ok_zero = 1, ok_dot = 1;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        const int64_t n  = lengths[li];
        float *       w  = xmalloc(sizeof(float) * (size_t) n);
        float *       bk = xmalloc(sizeof(float) * (size_t) n);
        block_q4_W *  x  = xmalloc(sizeof(block_q4_W) * (size_t) (n / QK4_W));
        block_q8_K *  y  = xmalloc(sizeof(block_q8_K) * (size_t) (n / QK_K));
        for (int a = 0; a < ACT_COUNT; a++) {
            fill_act(w, n, a);
            for (int64_t i = 0; i < QK4_W; i++) {
                w[i] = a == 0 ? 0.0f : w[i];  /* the first block all zero for one kind */
            }
            aria_quantize_row_q4_W(w, x, n);
            aria_dequantize_row_q4_W(x, bk, n);
            for (int64_t b = 0; b < n / QK4_W; b++) {
                const float d    = aria_f16_to_f32(x[b].d);
                float       amax = 0.0f;
                for (int j = 0; j < QK4_W; j++) {
                    amax = fabsf(w[b * QK4_W + j]) > amax ? fabsf(w[b * QK4_W + j]) : amax;
                }
                if (amax == 0.0f) {
                    ok_zero &= d == 0.0f && bk[b * QK4_W] == 0.0f;
                    continue;
                }
                if (!isfinite(d) || d == 0.0f) {
                    continue;  /* |m| / 8 outside f16's range (the "huge" kind): not a rounding question */
                }
                for (int j = 0; j < QK4_W; j++) {
                    const float v = w[b * QK4_W + j];
                    const float e = fabsf(bk[b * QK4_W + j] - v);
                    const int   q = (int) lrintf(bk[b * QK4_W + j] / d);
                    ok_range &= q >= -8 && q <= 7;
                    /* q == 7 (a value near -m, clamped from +8): up to one step, plus what f16's
                     * rounding of d = m / -8 took off 8 |d| (8 half-ulps, 2^-8 |d|) */
                    ok_rt &= fabsf(v) == amax && v * d < 0.0f ? e <= amax * 0x1p-10f + 1e-30f
                           : q == 7 ? e <= fabsf(d) * (1.0f + 0x1p-8f)
                                    : e <= 0.5001f * fabsf(d) + 1e-30f;
                }
            }
            make_tq_act(y, n, a % TQ_ACT_KINDS);
            double want = 0.0, mag = 0.0;
            for (int64_t i = 0; i < n; i++) {
                const double p = (double) bk[i] * y[i / QK_K].qs[i % QK_K] * y[i / QK_K].d;
                want += p;
                mag += fabs(p);
            }
            float got;
            aria_vec_dot_q4_W_q8_K_ref(n, &got, x, y);
            if (isfinite(mag) && isfinite(got)) {
                ok_dot &= fabs((double) got - want) <= (double) (n / QK4_W + 4) * 0x1p-23 * mag + 1e-30;
            }
        }
        free(w), free(bk), free(x), free(y);
    }
    check(ok_range, "quantize_row_q4_W: every q in -8..7");
    check(ok_rt, "quantize_row_q4_W: the block's extreme within f16 rounding, others within half a step (one where "
                 "+8 was clamped)");
    check(ok_zero, "quantize_row_q4_W: an all-zero block has d = 0");
    check(ok_dot, "aria_vec_dot_q4_W_q8_K_ref: the f64 sum of dequantized products within f32 rounding");
}

/* ---- (c) dots vs dequantized operands ---------------------------------------------------- */

/* Ternary dots: per block the integer sum is exact and is scaled once by d_x*d_y (one rounding),
 * then blocks are summed in f32 (nb roundings); the dequantized side rounds d_y*q per element. So
 * the difference is at most about (nb + 3) * 2^-24 * sum|w a|; why 1e-5: nb <= 27 here, a 10x margin. */
#define TQ_DEQUANT_TOL 1e-5

static void test_against_dequant(const aria_kernel_table * k) {
    const int64_t n  = 6912;
    const int64_t nb = n / QK_K;
    float *       xf = xmalloc((size_t) n * sizeof(float));
    float *       w  = xmalloc((size_t) n * sizeof(float));
    float *       a  = xmalloc((size_t) n * sizeof(float));
    block_q8_K *  y  = xmalloc((size_t) nb * sizeof(block_q8_K));
    block_tq2_0 * x2 = xmalloc((size_t) nb * sizeof(block_tq2_0));
    block_tq1_0 * x1 = xmalloc((size_t) nb * sizeof(block_tq1_0));
    fill_act(xf, n, ACT_MIXED);
    k->quantize_row_q8_K(n, y, xf);
    aria_dequantize_row(ARIA_TYPE_Q8_K, y, a, n);

    for (int fmt = 0; fmt < 2; fmt++) {
        float s;
        if (fmt == 0) {
            make_tq2_0(x2, nb, W_CODES);
            aria_dequantize_row(ARIA_TYPE_TQ2_0, x2, w, n);
            k->vec_dot_tq2_0_q8_K(n, &s, x2, y);
        } else {
            make_tq1_0(x1, nb, W_CODES);
            aria_dequantize_row(ARIA_TYPE_TQ1_0, x1, w, n);
            k->vec_dot_tq1_0_q8_K(n, &s, x1, y);
        }
        double dot = 0, abs_sum = 0;
        for (int64_t i = 0; i < n; i++) {
            dot += (double) w[i] * a[i];
            abs_sum += fabs((double) w[i] * a[i]);
        }
        check(fabs(s - dot) <= TQ_DEQUANT_TOL * abs_sum, "%s %s dot = dot of dequantized rows (%.6g vs %.6g)", k->name,
              fmt == 0 ? "TQ2_0" : "TQ1_0", (double) s, dot);
    }

    /* I2_S: (sum c q - sum q) must equal sum t q exactly, t the dequantized weights at scale 1;
     * and the engine's float output (D - S) / s * w_scale matches the dequantized dot. */
    uint8_t * xi = xmalloc((size_t) n / 4);
    int8_t *  q  = xmalloc((size_t) n);
    make_i2_s(xi, n, W_CODES);
    int32_t   S;
    const float s = k->quantize_row_i8(n, q, &S, xf);
    int32_t   D;
    k->vec_dot_i2_s_i8(n, &D, xi, q);
    aria_dequantize_row_i2_s(xi, 1.0f, w, n);
    int64_t exact = 0;
    for (int64_t i = 0; i < n; i++) exact += (int64_t) w[i] * q[i];
    check((int64_t) D - S == exact, "%s I2_S: D - S = %lld equals sum t*q of the dequantized row", k->name,
          (long long) ((int64_t) D - S));
    const float w_scale = 0.8125f;
    const float out     = (float) (D - S) / s * w_scale;
    aria_dequantize_row_i2_s(xi, w_scale, w, n);
    double dot = 0, abs_sum = 0;
    for (int64_t i = 0; i < n; i++) {
        dot += (double) w[i] * ((double) q[i] / s);
        abs_sum += fabs((double) w[i] * ((double) q[i] / s));
    }
    /* why 1e-6: two f32 roundings (divide, multiply) on an exact integer */
    check(fabs(out - dot) <= 1e-6 * abs_sum, "%s I2_S output (D - S) / s * w_scale = dequantized dot (%.6g vs %.6g)",
          k->name, (double) out, dot);

    /* f16 weights: the dot equals the dot of the dequantized row, within the summation bound. */
    aria_f16 * xh = xmalloc((size_t) n * sizeof(aria_f16));
    for (int64_t i = 0; i < n; i++) xh[i] = aria_f32_to_f16(rnd_unit());
    aria_dequantize_row(ARIA_TYPE_F16, xh, w, n);
    float sf;
    k->vec_dot_f16_f32(n, &sf, xh, xf);
    dot = 0, abs_sum = 0;
    for (int64_t i = 0; i < n; i++) {
        dot += (double) w[i] * xf[i];
        abs_sum += fabs((double) w[i] * xf[i]);
    }
    check(fabs(sf - dot) <= (double) n * 0x1p-24 * abs_sum, "%s F16 dot = dot of dequantized row", k->name);

    free(xf), free(w), free(a), free(y), free(x2), free(x1), free(xi), free(q), free(xh);
}

/* ---- selection ----------------------------------------------------------------------------- */

static void test_selection(void) {
    const char * feat = aria_cpu_features_str();
    check(feat != NULL && feat[0] != '\0', "aria_cpu_features_str = \"%s\"", feat ? feat : "(null)");
    check(aria_kernels_select(ARIA_KERNELS_REF) == 0 && aria_kernels_selected() == ARIA_KERNELS_REF &&
              aria_kernels_current() == &aria_kernels_ref,
          "aria_kernels_select(REF) selects the reference table");
    check(aria_kernels_select(99) == ARIA_STATUS_INVALID_ARG && aria_kernels_select(-1) == ARIA_STATUS_INVALID_ARG,
          "aria_kernels_select refuses unknown values with INVALID_ARG");
#if defined(__x86_64__)
    check(aria_kernels_select(ARIA_KERNELS_NEON) == ARIA_STATUS_UNSUPPORTED, "NEON is UNSUPPORTED on x86-64");
    check(aria_kernels_select(ARIA_KERNELS_AVX512) == (aria_cpu_has_avx512() ? 0 : ARIA_STATUS_UNSUPPORTED),
          "AVX512 selectable iff the probe says so (%d)", aria_cpu_has_avx512());
    check(aria_kernels_select(ARIA_KERNELS_AVXVNNI) == (aria_cpu_has_avxvnni() ? 0 : ARIA_STATUS_UNSUPPORTED),
          "AVXVNNI selectable iff the probe says so (%d)", aria_cpu_has_avxvnni());
    check(!aria_cpu_has_avxvnni() || (aria_kernels_select(ARIA_KERNELS_AVXVNNI) == 0 &&
                                      aria_kernels_selected() == ARIA_KERNELS_AVXVNNI &&
                                      aria_kernels_current() == &aria_kernels_avxvnni),
          "AVXVNNI selects the avxvnni table where the CPU has it");
    check(aria_kernels_select(ARIA_KERNELS_AVXVNNI + 1) == ARIA_STATUS_INVALID_ARG,
          "the value after the last kernel set is INVALID_ARG");
    const int32_t best = aria_cpu_has_avx512()  ? ARIA_KERNELS_AVX512
                       : aria_cpu_has_avxvnni() ? ARIA_KERNELS_AVXVNNI
                       : aria_cpu_has_avx2()    ? ARIA_KERNELS_AVX2
                                                : ARIA_KERNELS_REF;
#elif defined(__aarch64__)
    check(aria_cpu_has_neon() && aria_kernels_select(ARIA_KERNELS_AVX2) == ARIA_STATUS_UNSUPPORTED &&
              aria_kernels_select(ARIA_KERNELS_AVX512) == ARIA_STATUS_UNSUPPORTED,
          "AVX2 / AVX512 are UNSUPPORTED on aarch64");
    const aria_kernel_table * neon = aria_cpu_has_i8mm()      ? &aria_kernels_neon_i8mm
                                   : aria_cpu_has_dotprod() ? &aria_kernels_neon_dotprod
                                                            : &aria_kernels_neon;
    check(aria_kernels_select(ARIA_KERNELS_NEON) == 0 && aria_kernels_selected() == ARIA_KERNELS_NEON &&
              aria_kernels_current() == neon,
          "NEON selects the %s table (dotprod %s, i8mm %s)", neon->name, aria_cpu_has_dotprod() ? "present" : "absent",
          aria_cpu_has_i8mm() ? "present" : "absent");
    const int32_t best = ARIA_KERNELS_NEON;
#else
    const int32_t best = ARIA_KERNELS_REF;
#endif
    const int auto_ok = aria_kernels_select(ARIA_KERNELS_AUTO) == 0 && aria_kernels_selected() == best;
    check(auto_ok, "AUTO picks the best table (%s)", aria_kernels_current()->name);
}

/* numerics.h: the one exp, and the RoPE helpers (our own, not libm's) against libm in double: the
 * contract only needs them to be the same everywhere, these bounds check that they are also right. */
/* The CPU's own fused multiply-add (vfmadd on x86-64 with FMA, fmadd on arm64): the oracle of
 * aria_fmaf. */
#if defined(__x86_64__)
__attribute__((target("fma")))
#endif
static float hw_fmaf(float a, float b, float c) {
    return __builtin_fmaf(a, b, c);
}

static float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* aria_fmaf (the reference's fused multiply-add, portable C) equals the hardware's bit for bit:
 * random operands over the whole exponent range, products cancelling against c, results near
 * halfway cases and in the subnormal range, infinities and NaNs. */
static void test_fmaf(void) {
#if defined(__x86_64__)
    if (strstr(aria_cpu_features_str(), "fma") == NULL) {
        printf("skip aria_fmaf against the CPU's FMA (no FMA on this CPU)\n");
        return;
    }
#endif
    long bad = 0;
    long n   = 0;
    for (int i = 0; i < 3000000; i++) {
        const uint64_t r = rnd();
        float a = bits_to_float((uint32_t) r);
        float b = bits_to_float((uint32_t) (r >> 32));
        float c = bits_to_float((uint32_t) rnd());
        switch (i % 4) {
        case 1: c = -(a * b) * (1.0f + (float) (i % 7) * 0x1p-23f); break; /* cancellation */
        case 2: /* moderate exponents: ties and near-ties of the final rounding */
            a = ldexpf((float) (r & 0xffffff), -(int) (r % 40));
            b = ldexpf((float) ((r >> 24) & 0xffffff), -(int) ((r >> 48) % 40));
            c = ldexpf((float) ((r >> 8) & 0xffffff), (int) ((r >> 56) % 16) - 40);
            break;
        case 3: /* results in the subnormal range */
            a = ldexpf((float) (r & 0xffffff) + 1.0f, -90);
            b = ldexpf((float) ((r >> 24) & 0xffffff) + 1.0f, -80);
            c = ldexpf((float) ((r >> 40) & 0xffff), -149) * ((r >> 63) ? -1.0f : 1.0f);
            break;
        default: break;
        }
        const float want = hw_fmaf(a, b, c);
        const float got  = aria_fmaf(a, b, c);
        n++;
        if (!(same_float(got, want) || (isnan(got) && isnan(want)))) {
            if (bad < 3) printf("  aria_fmaf(%a, %a, %a) = %a, FMA gives %a\n", a, b, c, got, want);
            bad++;
        }
    }
    check(bad == 0, "aria_fmaf equals the CPU's fused multiply-add bit for bit (%ld triples, %ld differ)", n,
          bad);
}

static void test_numerics(void) {
    double worst_exp = 0.0;
    int    ok_exp    = 1;
    for (int i = 0; i < 2000000; i++) {
        const float x    = -87.0f + 175.0f * (float) (rnd() >> 40) / (float) (1 << 24);
        const double want = exp((double) x);
        const float  got  = aria_expf(x);
        const double ulp  = fabs((double) nextafterf((float) want, INFINITY) - (float) want);
        const double e    = fabs((double) got - want) / ulp;
        worst_exp         = e > worst_exp ? e : worst_exp;
    }
    ok_exp &= worst_exp <= 3.0;  /* Cephes' expf without FMA: about 2 ulp at worst */
    ok_exp &= aria_expf(-88.0f) == 0.0f && isinf(aria_expf(89.0f)) && isnan(aria_expf(NAN)) && aria_expf(0.0f) == 1.0f &&
              aria_expf(-INFINITY) == 0.0f && isinf(aria_expf(INFINITY));
    check(ok_exp, "aria_expf within 3 ulp of exp on [-87, 88] (worst %.2f ulp), 0 / inf / NaN outside", worst_exp);

    double worst_sc = 0.0, worst_log = 0.0, worst_e = 0.0;
    for (int i = 0; i < 200000; i++) {
        const double x = (double) (rnd() >> 11) / 9007199254740992.0 * 2e5 - 1e5;  /* |x| < 1e5 */
        double       s, c;
        aria_sincos_f64(x, &s, &c);
        worst_sc        = fmax(worst_sc, fmax(fabs(s - sin(x)), fabs(c - cos(x))));
        const double lx = (double) (rnd() >> 11) / 9007199254740992.0 * 1e12 + 1e-3;
        worst_log       = fmax(worst_log, fabs(aria_log_f64(lx) - log(lx)) / fabs(log(lx)) * (fabs(log(lx)) > 1e-3));
        const double ex = (double) (rnd() >> 11) / 9007199254740992.0 * 60.0 - 30.0;
        worst_e         = fmax(worst_e, fabs(aria_exp_f64(ex) - exp(ex)) / exp(ex));
    }
    check(worst_sc < 1e-11 && worst_log < 1e-14 && worst_e < 1e-14,
          "aria_sincos_f64 / aria_log_f64 / aria_exp_f64 agree with libm (|sincos| %.1e for |x| < 1e5, log rel %.1e, "
          "exp rel %.1e)", worst_sc, worst_log, worst_e);

    /* the RoPE table within one float ulp of libm's sin / cos of the same float angle */
    enum { HALF = 64, NPOS = 512 };
    float  inv[HALF], cs[NPOS * HALF * 2];
    int    ok_rope = 1;
    aria_rope_inv_freq(500000.0f, 2 * HALF, inv);
    aria_rope_table(inv, HALF, NPOS, cs);
    for (int i = 0; i < HALF; i++) {
        const float want = (float) pow(500000.0, -2.0 * i / (2.0 * HALF));
        ok_rope &= fabsf(inv[i] - want) <= fabsf(nextafterf(want, INFINITY) - want);
    }
    for (int p = 0; p < NPOS; p++) {
        for (int i = 0; i < HALF; i++) {
            const double th = (double) ((float) p * inv[i]);
            const float  c = (float) cos(th), sn = (float) sin(th);
            ok_rope &= fabsf(cs[(p * HALF + i) * 2] - c) <= fabsf(nextafterf(c, INFINITY) - c) + 1e-30f;
            ok_rope &= fabsf(cs[(p * HALF + i) * 2 + 1] - sn) <= fabsf(nextafterf(sn, INFINITY) - sn) + 1e-30f;
        }
    }
    check(ok_rope, "RoPE inverse frequencies and cos / sin table within one float ulp of libm (%d positions)", NPOS);

    /* the canonical lane order, spelled out once more by hand for n = 70: a plain sequential sum
     * would differ, this must not */
    float x[70], y[70], acc[ARIA_DOT_LANES] = { 0 }, got;
    for (int i = 0; i < 70; i++) {
        x[i] = rnd_unit() * 1000.0f;
        y[i] = rnd_unit();
        acc[i % 32] = aria_fmaf(x[i], y[i], acc[i % 32]);
    }
    for (int h = 16; h >= 1; h /= 2) {
        for (int l = 0; l < h; l++) {
            acc[l] = acc[l] + acc[l + h];
        }
    }
    aria_kernels_ref.vec_dot_f32(70, &got, x, y);
    check(same_float(got, acc[0]), "ref vec_dot_f32 is numerics.h's 32-lane order (n = 70)");
}

int main(void) {
    printf("cpu features: %s\n", aria_cpu_features_str());
    test_fmaf();
    test_numerics();
    test_known_ternary();
    test_repack_tq1_0();
    test_known_f16();
    test_known_scalar_types();
    test_type_facts();
    test_q4_W_format();
    test_selection();
    test_table(&aria_kernels_ref);  /* ref vs ref: the harness itself (must trivially agree) */
    test_against_dequant(&aria_kernels_ref);
#if defined(__x86_64__)
    const aria_kernel_table * simd[3]  = { &aria_kernels_avx2, &aria_kernels_avxvnni, &aria_kernels_avx512 };
    const int                 avail[3] = { aria_cpu_has_avx2(), aria_cpu_has_avxvnni(), aria_cpu_has_avx512() };
    for (int i = 0; i < 3; i++) {
        if (!avail[i]) {
            printf("skip %s: not supported by this CPU / OS\n", simd[i]->name);
            continue;
        }
        test_table(simd[i]);
        test_against_dequant(simd[i]);
    }
#elif defined(__aarch64__)
    /* ARMv8.0 NEON always; the dotprod table only where SDOT runs (qemu-aarch64 -cpu cortex-a53
     * lacks it, -cpu max has it: tests/native/neon-qemu.test.ts runs both) */
    test_table(&aria_kernels_neon);
    test_against_dequant(&aria_kernels_neon);
    if (aria_cpu_has_dotprod()) {
        test_table(&aria_kernels_neon_dotprod);
        test_against_dequant(&aria_kernels_neon_dotprod);
    } else {
        printf("skip %s: this CPU lacks dotprod\n", aria_kernels_neon_dotprod.name);
    }
    if (aria_cpu_has_i8mm()) {
        test_table(&aria_kernels_neon_i8mm);
        test_against_dequant(&aria_kernels_neon_i8mm);
    } else {
        printf("skip %s: this CPU lacks i8mm\n", aria_kernels_neon_i8mm.name);
    }
#endif
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
