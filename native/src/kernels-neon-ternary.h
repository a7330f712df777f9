/*
 * kernels-neon-ternary.h — the NEON ternary dots (TQ2_0 x Q8_K, TQ1_0 x Q8_K, I2_S x int8, single
 * and multi-row), written once and compiled twice: by kernels-neon.c (ARMv8.0: int8 x int8 -> int16
 * multiply-accumulate) and by kernels-neon-dotprod.c (ARMv8.2 dotprod: int8 x int8 -> int32 in one
 * sdot). Private to those two files; not a general header.
 *
 * The including file defines, before including this one, the int8 dot-product step:
 *   dot_acc                        accumulator type
 *   dot_acc   dot_zero(void)       an empty accumulator
 *   dot_acc   dot_mla(acc, a, b)   acc + the 16 products a_i * b_i (int8x16_t each)
 *   int32_t   dot_sum(acc0, acc1)  sum of every lane of both accumulators, exact
 *   int32x4_t dot_widen(v, acc0, acc1)  v + the lanes of both accumulators, exact
 *   int32x4_t row_dot(v, a, b)     v + per lane r the 4 products a_i * b_i, i = 4r .. 4r + 3,
 *                                  exact for |a_i| <= 15 (the int4 head's nibbles)
 * Every accumulator below takes at most 8 dot_mla steps before it is summed or widened; the
 * including file states why its type cannot overflow in 8 steps.
 *
 * Results: the integer block sums are exact, and the TQ kernels accumulate
 * (float) sum_block * (d_x * d_y) in block order exactly like _ref, single and multi-row alike:
 * bit-identical to _ref (stricter than the multi-row bound in kernels.h). I2_S sums are exact int32.
 */
#ifndef ARIA_KERNELS_NEON_TERNARY_H
#define ARIA_KERNELS_NEON_TERNARY_H

#include <arm_neon.h>
#include <assert.h>
#include <string.h>

#include "kernels.h"

/* f16 -> f32 exactly (FCVT; same value as aria_f16_to_f32 for every non-NaN half). */
static inline float neon_f16_to_f32(aria_f16 h) {
    __fp16 v;
    memcpy(&v, &h, sizeof v);
    return (float) v;
}

/* ---- weight decoders: one 256 (TQ) or 128 (I2_S) block to 16-lane vectors, t[k] = elements
 * 16k .. 16k + 15 in order ---------------------------------------------------------------------- */

/* TQ2_0 (formats.md §2.1): byte m of half h holds elements 128h + 32k + m in bits 2k..2k+1, as
 * codes c = t + 1 (-1, 0, 1 -> 0, 1, 2). Returned as t = c - 1 (code 3, never written, gives 2,
 * as in _ref). */
static inline void tq2_0_decode(const block_tq2_0 * restrict x, int8x16_t t[16]) {
    const uint8x16_t m3  = vdupq_n_u8(3);
    const int8x16_t  one = vdupq_n_s8(1);
    for (int h = 0; h < 2; h++) {
        for (int g = 0; g < 2; g++) {  /* bytes 16g .. 16g + 15 of the half */
            const uint8x16_t b = vld1q_u8(x->qs + 32 * h + 16 * g);
            t[8 * h + 0 + g]   = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, m3)), one);
            t[8 * h + 2 + g]   = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 2), m3)), one);
            t[8 * h + 4 + g]   = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 4), m3)), one);
            t[8 * h + 6 + g]   = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 6)), one);
        }
    }
}

/* Top trit of each fixed-point byte q, minus 1: (q * 3) >> 8 is 0 for q <= 85, 1 for q <= 170,
 * 2 above, so t = (q >= 86) + (q >= 171) - 1. The compares give 0 or -1 (all ones). */
static inline int8x16_t tq1_trit(uint8x16_t q) {
    const int8x16_t ge1 = vreinterpretq_s8_u8(vcgeq_u8(q, vdupq_n_u8(86)));
    const int8x16_t ge2 = vreinterpretq_s8_u8(vcgeq_u8(q, vdupq_n_u8(171)));
    return vsubq_s8(vsubq_s8(vdupq_n_s8(-1), ge1), ge2);
}

/* TQ1_0 (formats.md §2.2): trit n of a byte is the top trit of byte * 3^n (mod 256).
 * qs[0..31]: byte m holds elements 32n + m (n = 0..4); qs[32..47]: byte 32 + m holds elements
 * 160 + 16n + m; qh[j] holds elements 240 + 4n + j (n = 0..3). */
static inline void tq1_0_decode(const block_tq1_0 * restrict x, int8x16_t t[16]) {
    static const uint8_t pow3[5]     = { 1, 3, 9, 27, 81 };
    static const uint8_t pow3_qh[16] = { 1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27 };
    const uint8x16_t     p0          = vld1q_u8(x->qs);
    const uint8x16_t     p1          = vld1q_u8(x->qs + 16);
    const uint8x16_t     p2          = vld1q_u8(x->qs + 32);
    for (int n = 0; n < 5; n++) {
        const uint8x16_t m = vdupq_n_u8(pow3[n]);
        t[2 * n]           = tq1_trit(vmulq_u8(p0, m));  /* elements 32n .. 32n + 15 */
        t[2 * n + 1]       = tq1_trit(vmulq_u8(p1, m));  /* elements 32n + 16 .. 32n + 31 */
        t[10 + n]          = tq1_trit(vmulq_u8(p2, m));  /* elements 160 + 16n .. + 15 */
    }
    uint32_t h4;
    memcpy(&h4, x->qh, sizeof h4);
    /* lane l = 4n + j holds qh[j] (little-endian dup), times 3^n: elements 240 .. 255 */
    t[15] = tq1_trit(vmulq_u8(vreinterpretq_u8_u32(vdupq_n_u32(h4)), vld1q_u8(pow3_qh)));
}

/* I2_S (formats.md §3.1): byte b of a 32-byte block holds element b in bits 7-6, b + 32 in 5-4,
 * b + 64 in 3-2, b + 96 in 1-0. Raw codes c (0..3), as the kernel table wants them. */
static inline void i2_s_decode(const uint8_t * restrict x, int8x16_t c[8]) {
    const uint8x16_t m3 = vdupq_n_u8(3);
    for (int g = 0; g < 2; g++) {
        const uint8x16_t b = vld1q_u8(x + 16 * g);
        c[0 + g]           = vreinterpretq_s8_u8(vshrq_n_u8(b, 6));
        c[2 + g]           = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 4), m3));
        c[4 + g]           = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(b, 2), m3));
        c[6 + g]           = vreinterpretq_s8_u8(vandq_u8(b, m3));
    }
}

/* ---- TQ x Q8_K ------------------------------------------------------------------------------ */

/* Exact sum over one 256 block of t_k * q_k (16 vectors; 8 dot_mla steps per accumulator). */
static inline int32_t tq_block_sum(const int8x16_t t[16], const int8_t * restrict q) {
    dot_acc acc0 = dot_zero();
    dot_acc acc1 = dot_zero();
#pragma GCC unroll 8
    for (int k = 0; k < 16; k += 2) {
        acc0 = dot_mla(acc0, t[k], vld1q_s8(q + 16 * k));
        acc1 = dot_mla(acc1, t[k + 1], vld1q_s8(q + 16 * k + 16));
    }
    return dot_sum(acc0, acc1);
}

/* NY activation rows (compile-time constant at each call) against one TQ row: each weight block
 * is decoded once for all rows; TQ1 selects the decoder. */
static inline __attribute__((always_inline)) void tq_multi(int64_t n, float * restrict s, const void * restrict x,
                                                           const block_q8_K * restrict y, int64_t y_stride,
                                                           const int NY, const int TQ1) {
    assert(n % QK_K == 0);
    float sumf[ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        sumf[j] = 0.0f;
    }
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8x16_t t[16];
        float     dx;
        if (TQ1) {
            const block_tq1_0 * xb = (const block_tq1_0 *) x + i;
            tq1_0_decode(xb, t);
            dx = neon_f16_to_f32(xb->d);
        } else {
            const block_tq2_0 * xb = (const block_tq2_0 *) x + i;
            tq2_0_decode(xb, t);
            dx = neon_f16_to_f32(xb->d);
        }
        for (int j = 0; j < NY; j++) {
            const block_q8_K * yj   = (const block_q8_K *) ((const char *) y + j * y_stride) + i;
            const int32_t      sumi = tq_block_sum(t, yj->qs);
            sumf[j] += (float) sumi * (dx * yj->d);  /* _ref's operation order */
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j] = sumf[j];
    }
}

static void vec_dot_tq2_0_q8_K(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                               const block_q8_K * restrict y) {
    tq_multi(n, s, x, y, 0, 1, 0);
}

static void vec_dot_tq1_0_q8_K(int64_t n, float * restrict s, const block_tq1_0 * restrict x,
                               const block_q8_K * restrict y) {
    tq_multi(n, s, x, y, 0, 1, 1);
}

static void vec_dot_tq2_0_q8_K_multi(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                     const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: tq_multi(n, s, x, y, y_stride, 1, 0); break;
        case 2: tq_multi(n, s, x, y, y_stride, 2, 0); break;
        case 3: tq_multi(n, s, x, y, y_stride, 3, 0); break;
        default: tq_multi(n, s, x, y, y_stride, 4, 0); break;
    }
}

/* Two weight rows: the multi-row kernel once per row (no register blocking on NEON yet), so
 * bit-identical to it by construction. */
static void vec_dot_tq2_0_q8_K_2x(int64_t n, float * restrict s, const block_tq2_0 * restrict x, int64_t x_stride,
                                  const block_q8_K * restrict y, int64_t y_stride, int ny) {
    for (int r = 0; r < 2; r++) {
        vec_dot_tq2_0_q8_K_multi(n, s + r * ARIA_MULTI_MAX, (const block_tq2_0 *) ((const char *) x + r * x_stride),
                                 y, y_stride, ny);
    }
}

static void vec_dot_tq1_0_q8_K_multi(int64_t n, float * restrict s, const block_tq1_0 * restrict x,
                                     const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: tq_multi(n, s, x, y, y_stride, 1, 1); break;
        case 2: tq_multi(n, s, x, y, y_stride, 2, 1); break;
        case 3: tq_multi(n, s, x, y, y_stride, 3, 1); break;
        default: tq_multi(n, s, x, y, y_stride, 4, 1); break;
    }
}

/* ---- I2_S x int8 ---------------------------------------------------------------------------- */

/* NY int8 rows (at y + j * y_stride) against one I2_S row: codes decoded once per 128 block; each
 * block's 8 vectors go through two accumulators (4 dot_mla steps each), widened to int32 lanes
 * once per block, so the int32 sums are exact whatever the data. */
static inline __attribute__((always_inline)) void i2_s_multi(int64_t n, int32_t * restrict s,
                                                             const uint8_t * restrict x, const int8_t * restrict y,
                                                             int64_t y_stride, const int NY) {
    assert(n % QK_I2S == 0);
    int32x4_t acc32[ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        acc32[j] = vdupq_n_s32(0);
    }
    for (int64_t i = 0; i < n / QK_I2S; i++) {
        int8x16_t c[8];
        i2_s_decode(x + 32 * i, c);
        for (int j = 0; j < NY; j++) {
            const int8_t * q    = y + j * y_stride + QK_I2S * i;
            dot_acc        acc0 = dot_zero();
            dot_acc        acc1 = dot_zero();
#pragma GCC unroll 4
            for (int k = 0; k < 8; k += 2) {
                acc0 = dot_mla(acc0, c[k], vld1q_s8(q + 16 * k));
                acc1 = dot_mla(acc1, c[k + 1], vld1q_s8(q + 16 * k + 16));
            }
            acc32[j] = dot_widen(acc32[j], acc0, acc1);
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j] = vaddvq_s32(acc32[j]);
    }
}

static void vec_dot_i2_s_i8(int64_t n, int32_t * restrict s, const uint8_t * restrict x, const int8_t * restrict y) {
    i2_s_multi(n, s, x, y, 0, 1);
}

static void vec_dot_i2_s_i8_multi(int64_t n, int32_t * restrict s, const uint8_t * restrict x,
                                  const int8_t * restrict y, int64_t y_stride, int ny) {
    assert(ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: i2_s_multi(n, s, x, y, y_stride, 1); break;
        case 2: i2_s_multi(n, s, x, y, y_stride, 2); break;
        case 3: i2_s_multi(n, s, x, y, y_stride, 3); break;
        default: i2_s_multi(n, s, x, y, y_stride, 4); break;
    }
}

/* Two weight rows: the multi-row kernel once per row (exact int32 either way). */
static void vec_dot_i2_s_i8_2x(int64_t n, int32_t * restrict s, const uint8_t * restrict x, int64_t x_stride,
                               const int8_t * restrict y, int64_t y_stride, int ny) {
    for (int r = 0; r < 2; r++) {
        vec_dot_i2_s_i8_multi(n, s + r * ARIA_MULTI_MAX, x + r * x_stride, y, y_stride, ny);
    }
}

/* Rows (decode): the multi-row kernels' NY = 1 code once per weight row, so bit-identical to them. */
static void vec_dot_tq2_0_q8_K_rows(int64_t n, int64_t nr, float * restrict s, const block_tq2_0 * restrict x,
                                    int64_t x_stride, const block_q8_K * restrict y) {
    for (int64_t r = 0; r < nr; r++) {
        tq_multi(n, s + r, (const char *) x + r * x_stride, y, 0, 1, 0);
    }
}

static void vec_dot_tq1_0_q8_K_rows(int64_t n, int64_t nr, float * restrict s, const block_tq1_0 * restrict x,
                                    int64_t x_stride, const block_q8_K * restrict y) {
    for (int64_t r = 0; r < nr; r++) {
        tq_multi(n, s + r, (const char *) x + r * x_stride, y, 0, 1, 1);
    }
}

static void vec_dot_i2_s_i8_rows(int64_t n, int64_t nr, int32_t * restrict s, const uint8_t * restrict x,
                                 int64_t x_stride, const int8_t * restrict y) {
    for (int64_t r = 0; r < nr; r++) {
        i2_s_multi(n, s + r, x + r * x_stride, y, 0, 1);
    }
}

/* ---- the int4 head in the x16 layout (kernels.h: Q4_W) ----------------------------------------
 * A 64-byte chunk is 8 weights of 16 rows, 4 rows per 16 bytes, each row's 4 bytes holding 4
 * weights in the low nibbles and the next 4 in the high ones. row_dot multiplies the nibbles (q + 8,
 * 0..15) by 4 activation bytes repeated for every row, keeping row r in int32 lane r; 8 x the
 * block's activation sum is taken off, then the f32 steps of aria_vec_dot_q4_W_q8_K_ref lane by
 * lane (multiply, then add): bit-identical to it. */
static inline __attribute__((always_inline)) void q4_W_x16_group(int64_t nb, const uint8_t * restrict xg,
                                                                const block_q8_K * const * yj,
                                                                const int32_t * restrict tot32, float * restrict s,
                                                                int64_t s_stride, const int NY) {
    const uint8x16_t m15 = vdupq_n_u8(15);
    float32x4_t      accf[ARIA_X16_MAX_NY][4];
    for (int j = 0; j < NY; j++) {
        for (int v = 0; v < 4; v++) {
            accf[j][v] = vdupq_n_f32(0.0f);
        }
    }
    for (int64_t b = 0; b < nb * (QK_K / QK4_W); b++) {
        const uint8_t * sb = xg + (b / 2) * 576;  /* 8 chunks of codes, then 64 bytes of scales */
        const uint8_t * wb = sb + (b % 2) * 256;
        int32x4_t       acc[ARIA_X16_MAX_NY][4];
        for (int j = 0; j < NY; j++) {
            for (int v = 0; v < 4; v++) {
                acc[j][v] = vdupq_n_s32(0);
            }
        }
        for (int c = 0; c < 4; c++) {
            int8x16_t lo[4], hi[4];
            for (int v = 0; v < 4; v++) {
                const uint8x16_t w = vld1q_u8(wb + 64 * c + 16 * v);
                lo[v]              = vreinterpretq_s8_u8(vandq_u8(w, m15));
                hi[v]              = vreinterpretq_s8_u8(vshrq_n_u8(w, 4));
            }
            for (int j = 0; j < NY; j++) {
                const int8_t * q = yj[j][b / 8].qs + 32 * (b % 8) + 8 * c;
                int32_t        qa, qb;
                memcpy(&qa, q, 4);
                memcpy(&qb, q + 4, 4);
                const int8x16_t ya = vreinterpretq_s8_s32(vdupq_n_s32(qa));
                const int8x16_t yb = vreinterpretq_s8_s32(vdupq_n_s32(qb));
                for (int v = 0; v < 4; v++) {
                    acc[j][v] = row_dot(row_dot(acc[j][v], lo[v], ya), hi[v], yb);
                }
            }
        }
        float32x4_t dx[4];
        for (int v = 0; v < 4; v++) {
            dx[v] = vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(sb + 512 + (b % 2) * 32 + 8 * v)));
        }
        for (int j = 0; j < NY; j++) {
            const int32x4_t off = vdupq_n_s32(8 * tot32[j * nb * 8 + b]);
            const float     dy  = yj[j][b / 8].d;
            for (int v = 0; v < 4; v++) {
                const float32x4_t si = vcvtq_f32_s32(vsubq_s32(acc[j][v], off));
                accf[j][v]           = vaddq_f32(accf[j][v], vmulq_f32(si, vmulq_n_f32(dx[v], dy)));
            }
        }
    }
    for (int j = 0; j < NY; j++) {
        for (int v = 0; v < 4; v++) {
            vst1q_f32(s + j * s_stride + 4 * v, accf[j][v]);
        }
    }
}

#define Q4_W_X16_NEON(NY)                                                                                        \
    static void q4_W_x16_ny##NY(int64_t nb, int64_t ng, const uint8_t * x, int64_t x_stride,                    \
                                const block_q8_K * const * yj, const int32_t * tot32, float * s, int64_t s_stride) { \
        for (int64_t g = 0; g < ng; g++) {                                                                      \
            q4_W_x16_group(nb, x + g * x_stride, yj, tot32, s + 16 * g, s_stride, NY);                           \
        }                                                                                                       \
    }
Q4_W_X16_NEON(1)
Q4_W_X16_NEON(2)
Q4_W_X16_NEON(3)
Q4_W_X16_NEON(4)
Q4_W_X16_NEON(5)
Q4_W_X16_NEON(6)
Q4_W_X16_NEON(7)
Q4_W_X16_NEON(8)

static void gemm_q4_W_x16(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                          int64_t y_stride, int ny, float * s, int64_t s_stride) {
    static void (*const fns[ARIA_X16_MAX_NY])(int64_t, int64_t, const uint8_t *, int64_t, const block_q8_K * const *,
                                              const int32_t *, float *, int64_t) = {
        q4_W_x16_ny1, q4_W_x16_ny2, q4_W_x16_ny3, q4_W_x16_ny4, q4_W_x16_ny5, q4_W_x16_ny6, q4_W_x16_ny7, q4_W_x16_ny8,
    };
    assert(n % QK_K == 0 && n <= ARIA_X16_MAX_N && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    const block_q8_K * yj[ARIA_X16_MAX_NY];
    int32_t            tot32[ARIA_X16_MAX_NY * (ARIA_X16_MAX_N / QK4_W)];
    aria_x16_q4_W_act(n, y, y_stride, ny, yj, tot32);
    fns[ny - 1](n / QK_K, ng, x, x_stride, yj, tot32, s, s_stride);
}

#endif /* ARIA_KERNELS_NEON_TERNARY_H */
