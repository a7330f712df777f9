/*
 * kernels-neon.c — ARMv8.0-A NEON kernels (AdvSIMD is mandatory on AArch64, so this table runs on
 * every arm64 CPU; cpu.c picks kernels-neon-dotprod.c's table instead when the CPU has dotprod).
 * Same signatures and results as kernels-ref.c:
 *  - ternary dots (kernels-neon-ternary.h, int8 x int8 -> int16 multiply-accumulate here): exact
 *    integer block sums, f32 accumulation in _ref's order: bit-identical to _ref, multi-row too;
 *  - int8 head dot: exact int32 block sums, _ref's f32 order: bit-identical, multi-row too;
 *  - quantizers: byte-identical (same absmax search with NaN skipped, same 1.5*2^23 rounding
 *    trick, same truncation to int8);
 *  - axpy: a separate multiply and add per element: bit-identical;
 *  - f16 / f32 dots: numerics.h's 32 partial sums, one fused multiply-add each: bit-identical;
 *  - SiLU: the reference (numerics.h aria_expf, scalar).
 * Every kernel is thus bit-identical to _ref (engine contract v2). gcc must not contract mul + add
 * into FMA elsewhere: the library is built with -ffp-contract=off, and vfmaq_f32 appears only in
 * the float dots, where _ref uses fmaf.
 */
#include <arm_neon.h>
#include <assert.h>
#include <string.h>

#include "kernels-arm.h"

/* ---- int8 dot step for kernels-neon-ternary.h: SMLAL/SMLAL2 into 8 int16 lanes ------------- */

/* Each step adds two products per int16 lane. Ternary t in -1..2 (code 3 - 1 at worst) or a raw
 * I2_S code in 0..3, times q in -128..127: |product| <= 384, so 8 steps give <= 6144 per lane and
 * two accumulators summed <= 12288 < 32767: no overflow for any bytes. */
typedef int16x8_t dot_acc;

static inline dot_acc dot_zero(void) { return vdupq_n_s16(0); }

static inline dot_acc dot_mla(dot_acc acc, int8x16_t a, int8x16_t b) {
    acc = vmlal_s8(acc, vget_low_s8(a), vget_low_s8(b));
    return vmlal_high_s8(acc, a, b);
}

static inline int32_t dot_sum(dot_acc a, dot_acc b) { return vaddlvq_s16(vaddq_s16(a, b)); }

static inline int32x4_t dot_widen(int32x4_t v, dot_acc a, dot_acc b) { return vpadalq_s16(v, vaddq_s16(a, b)); }

/* Per 4-byte lane: SMULL/SMULL2 give each row's 4 products in int16 (|a| <= 15, |b| <= 128:
 * <= 1920), ADDP adds them in pairs (<= 3840, exact), SADALP adds each row's two pairs into its
 * int32 lane. */
static inline int32x4_t row_dot(int32x4_t v, int8x16_t a, int8x16_t b) {
    const int16x8_t p = vpaddq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)), vmull_high_s8(a, b));
    return vpadalq_s16(v, p);
}

#include "kernels-neon-ternary.h"

/* ---- int8 head x Q8_K ----------------------------------------------------------------------- */

/* One q8_W row x NY Q8_K rows (NY a constant after inlining). Per 16 bytes: two products per int16
 * lane, |x| <= 127 (quantize_row_q8_W) times |y| <= 128: <= 32512 < 32767, then widened pairwise
 * into int32 at once. Exact block sums, _ref's f32 order, for every row: bit-identical to _ref,
 * and each weight chunk is loaded once for all NY rows. */
static inline __attribute__((always_inline)) void q8_W_multi(int64_t n, float * restrict s,
                                                             const block_q8_W * restrict x,
                                                             const block_q8_K * restrict y, int64_t y_stride,
                                                             const int NY) {
    const block_q8_K * yr[ARIA_MULTI_MAX];
    float              sumf[ARIA_MULTI_MAX];
#pragma GCC unroll 4
    for (int j = 0; j < NY; j++) {
        yr[j]   = (const block_q8_K *) ((const char *) y + j * y_stride);
        sumf[j] = 0.0f;
    }
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32x4_t acc0[ARIA_MULTI_MAX], acc1[ARIA_MULTI_MAX];
#pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            acc0[j] = vdupq_n_s32(0);
            acc1[j] = vdupq_n_s32(0);
        }
        for (int k = 0; k < QK_K; k += 32) {
            const int8x16_t a0 = vld1q_s8(x[i].qs + k);
            const int8x16_t a1 = vld1q_s8(x[i].qs + k + 16);
#pragma GCC unroll 4
            for (int j = 0; j < NY; j++) {
                const int8x16_t b0 = vld1q_s8(yr[j][i].qs + k);
                const int8x16_t b1 = vld1q_s8(yr[j][i].qs + k + 16);
                acc0[j] = vpadalq_s16(acc0[j], vmlal_high_s8(vmull_s8(vget_low_s8(a0), vget_low_s8(b0)), a0, b0));
                acc1[j] = vpadalq_s16(acc1[j], vmlal_high_s8(vmull_s8(vget_low_s8(a1), vget_low_s8(b1)), a1, b1));
            }
        }
#pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            sumf[j] += (float) vaddvq_s32(vaddq_s32(acc0[j], acc1[j])) * (x[i].d * yr[j][i].d);
        }
    }
#pragma GCC unroll 4
    for (int j = 0; j < NY; j++) {
        s[j] = sumf[j];
    }
}

static void vec_dot_q8_W_q8_K_multi_neon(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                         const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: q8_W_multi(n, s, x, y, y_stride, 1); break;
        case 2: q8_W_multi(n, s, x, y, y_stride, 2); break;
        case 3: q8_W_multi(n, s, x, y, y_stride, 3); break;
        default: q8_W_multi(n, s, x, y, y_stride, 4); break;
    }
}

static void vec_dot_q8_W_q8_K_neon(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                   const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    q8_W_multi(n, s, x, y, 0, 1);
}

/* ---- axpy --------------------------------------------------------------------------------- */

/* y += a x with a separate multiply and add (as _ref, so bit-identical), 8 lanes at a time. */
void aria_axpy_f32_neon(int64_t n, float a, const float * restrict x, float * restrict y) {
    const float32x4_t va = vdupq_n_f32(a);
    int64_t           i  = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_f32(va, vld1q_f32(x + i))));
        vst1q_f32(y + i + 4, vaddq_f32(vld1q_f32(y + i + 4), vmulq_f32(va, vld1q_f32(x + i + 4))));
    }
    for (; i < n; i++) {
        y[i] += a * x[i];
    }
}

/* ---- f16 / f32 dots ------------------------------------------------------------------------- */

/* 8 halves at p to two f32 vectors (FCVTL/FCVTL2: exact). */
static inline void f16x8_to_f32(const aria_f16 * p, float32x4_t * lo, float32x4_t * hi) {
    const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
    *lo                 = vcvt_f32_f16(vget_low_f16(h));
    *hi                 = vcvt_high_f32_f16(h);
}

/* y += a f32(x) for f16 x: the conversion is exact, then a separate multiply and add: bit-identical. */
void aria_axpy_f16_neon(int64_t n, float a, const aria_f16 * restrict x, float * restrict y) {
    const float32x4_t va = vdupq_n_f32(a);
    int64_t           i  = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t x0, x1;
        f16x8_to_f32(x + i, &x0, &x1);
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(y + i), vmulq_f32(va, x0)));
        vst1q_f32(y + i + 4, vaddq_f32(vld1q_f32(y + i + 4), vmulq_f32(va, x1)));
    }
    for (; i < n; i++) {
        y[i] += a * aria_f16_to_f32(x[i]);
    }
}

/* The 32 partial sums of numerics.h in eight registers (v[k]: sums 4k .. 4k + 3) to one float in
 * aria_dot_lanes_reduce's order: h = 16 (v[k] + v[k + 4]), 8, 4, then lanes 2, 1. */
static inline float reduce_lanes32(const float32x4_t v[8]) {
    const float32x4_t w0 = vaddq_f32(v[0], v[4]), w1 = vaddq_f32(v[1], v[5]);
    const float32x4_t w2 = vaddq_f32(v[2], v[6]), w3 = vaddq_f32(v[3], v[7]);
    const float32x4_t u  = vaddq_f32(vaddq_f32(w0, w2), vaddq_f32(w1, w3));
    const float32x2_t h  = vadd_f32(vget_low_f32(u), vget_high_f32(u));  /* lanes l + (l + 2) */
    return vget_lane_f32(h, 0) + vget_lane_f32(h, 1);
}

/* One f16 row x NY (1 or 2) f32 rows in contract v2's order (numerics.h): element i into partial
 * sum i % 32 as one fused multiply-add (vfmaq, as _ref's fmaf), the last n % 32 elements from
 * zero-padded copies (a padded product is +0, which leaves a sum unchanged). Bit-identical to
 * _ref whatever NY; each x chunk is converted once for both rows (16 sums + 8 converted vectors of
 * the 32 registers). */
static inline __attribute__((always_inline)) void f16_rows(int64_t n, float * restrict s, const aria_f16 * restrict x,
                                                           const float * restrict y0, const float * restrict y1,
                                                           const int NY) {
    float32x4_t a0[8], a1[8];
#pragma GCC unroll 8
    for (int l = 0; l < 8; l++) {
        a0[l] = vdupq_n_f32(0.0f);
        a1[l] = vdupq_n_f32(0.0f);
    }
    const int64_t n32 = n - n % 32;
    aria_f16      xt[32];
    float         yt0[32], yt1[32];
    for (int64_t i = 0; i < n; i += 32) {
        const aria_f16 * xp  = x + i;
        const float *    yp0 = y0 + i;
        const float *    yp1 = y1 + i;
        if (i == n32) {  /* the tail, zero-padded to 32 */
            const size_t left = (size_t) (n - i);
            memset(xt, 0, sizeof xt);
            memset(yt0, 0, sizeof yt0);
            memset(yt1, 0, sizeof yt1);
            memcpy(xt, xp, left * sizeof *xt);
            memcpy(yt0, yp0, left * sizeof *yt0);
            memcpy(yt1, yp1, left * sizeof *yt1);
            xp = xt, yp0 = yt0, yp1 = yt1;
        }
        float32x4_t xv[8];
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            f16x8_to_f32(xp + 8 * c, &xv[2 * c], &xv[2 * c + 1]);
        }
#pragma GCC unroll 8
        for (int l = 0; l < 8; l++) {
            a0[l] = vfmaq_f32(a0[l], xv[l], vld1q_f32(yp0 + 4 * l));
            if (NY == 2) {
                a1[l] = vfmaq_f32(a1[l], xv[l], vld1q_f32(yp1 + 4 * l));
            }
        }
    }
    s[0] = reduce_lanes32(a0);
    if (NY == 2) {
        s[1] = reduce_lanes32(a1);
    }
}

void aria_vec_dot_f16_f32_neon(int64_t n, float * restrict s, const aria_f16 * restrict x,
                               const float * restrict y) {
    f16_rows(n, s, x, y, y, 1);
}

/* Rows in pairs (a second pair reads the weight row again, from L1 / L2). */
void aria_vec_dot_f16_f32_multi_neon(int64_t n, float * restrict s, const aria_f16 * restrict x,
                                     const float * restrict y, int64_t y_stride, int ny) {
    assert(ny >= 1 && ny <= ARIA_MULTI_MAX);
#define ROW(j) ((const float *) ((const char *) y + (j) * y_stride))
    switch (ny) {
        case 1: f16_rows(n, s, x, ROW(0), ROW(0), 1); break;
        case 2: f16_rows(n, s, x, ROW(0), ROW(1), 2); break;
        case 3:
            f16_rows(n, s, x, ROW(0), ROW(1), 2);
            f16_rows(n, s + 2, x, ROW(2), ROW(2), 1);
            break;
        default:
            f16_rows(n, s, x, ROW(0), ROW(1), 2);
            f16_rows(n, s + 2, x, ROW(2), ROW(3), 2);
            break;
    }
#undef ROW
}

/* f32 x f32 in contract v2's order, as f16_rows. */
void aria_vec_dot_f32_neon(int64_t n, float * restrict s, const float * restrict x, const float * restrict y) {
    float32x4_t a[8];
#pragma GCC unroll 8
    for (int l = 0; l < 8; l++) {
        a[l] = vdupq_n_f32(0.0f);
    }
    const int64_t n32 = n - n % 32;
    float         xt[32], yt[32];
    for (int64_t i = 0; i < n; i += 32) {
        const float * xp = x + i;
        const float * yp = y + i;
        if (i == n32) {
            memset(xt, 0, sizeof xt);
            memset(yt, 0, sizeof yt);
            memcpy(xt, xp, (size_t) (n - i) * sizeof *xt);
            memcpy(yt, yp, (size_t) (n - i) * sizeof *yt);
            xp = xt, yp = yt;
        }
#pragma GCC unroll 8
        for (int l = 0; l < 8; l++) {
            a[l] = vfmaq_f32(a[l], vld1q_f32(xp + 4 * l), vld1q_f32(yp + 4 * l));
        }
    }
    *s = reduce_lanes32(a);
}

/* ---- quantizers ----------------------------------------------------------------------------- */

/* llama.cpp's nearest_int on 4 lanes: the low 23 bits of (v + 1.5*2^23), minus 2^22. */
static inline int32x4_t nearest_int4(float32x4_t v) {
    const int32x4_t bits = vreinterpretq_s32_f32(vaddq_f32(v, vdupq_n_f32(12582912.0f)));
    return vsubq_s32(vandq_s32(bits, vdupq_n_s32(0x007fffff)), vdupq_n_s32(0x00400000));
}

/* Per lane: |v| if |v| > m, else m. A NaN compares false, so it is skipped as in _ref (FMAX would
 * propagate it; FMAXNM would not skip a signalling NaN). */
static inline float32x4_t abs_max_skip_nan(float32x4_t m, float32x4_t v) {
    const float32x4_t a = vabsq_f32(v);
    return vbslq_f32(vcgtq_f32(a, m), a, m);
}

/* Four int32 vectors to 16 bytes in order, keeping each value's low byte (XTN truncates). */
static inline int8x16_t narrow_low_bytes(const int32x4_t v[4]) {
    const int16x8_t lo = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
    const int16x8_t hi = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
    return vcombine_s8(vmovn_s16(lo), vmovn_s16(hi));
}

/* Index of the first element of the 256-block whose |x| equals amax (one exists). */
static int first_abs_equal(const float * xb, float amax) {
    const float32x4_t va = vdupq_n_f32(amax);
    for (int j = 0; j < QK_K; j += 4) {
        if (vmaxvq_u32(vceqq_f32(vabsq_f32(vld1q_f32(xb + j)), va)) != 0) {
            int l = 0;
            while (__builtin_fabsf(xb[j + l]) != amax) {
                l++;
            }
            return j + l;
        }
    }
    return 0;
}

void aria_quantize_row_q8_K_neon(int64_t n, block_q8_K * restrict y, const float * restrict x) {
    assert(n % QK_K == 0);
    const int32x4_t c127 = vdupq_n_s32(127);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float * xb   = x + QK_K * i;  /* (256) */
        float32x4_t   vmax = vdupq_n_f32(0.0f);
        for (int j = 0; j < QK_K; j += 4) {
            vmax = abs_max_skip_nan(vmax, vld1q_f32(xb + j));
        }
        const float amax = vmaxvq_f32(vmax);  /* lanes hold no NaN */
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float       max    = xb[first_abs_equal(xb, amax)];
        const float       iscale = -127.0f / max;
        const float32x4_t vs     = vdupq_n_f32(iscale);
        for (int j = 0; j < QK_K; j += 16) {
            int32x4_t v[4];
            for (int k = 0; k < 4; k++) {
                v[k] = vminq_s32(nearest_int4(vmulq_f32(vld1q_f32(xb + j + 4 * k), vs)), c127);
            }
            const int8x16_t q = narrow_low_bytes(v);
            vst1q_s8(y[i].qs + j, q);
            y[i].bsums[j / 16] = vaddlvq_s8(q);
        }
        y[i].d = 1.0f / iscale;
    }
}

float aria_quantize_row_i8_neon(int64_t n, int8_t * restrict y, int32_t * restrict sum, const float * restrict x) {
    assert(n % QK_I2S == 0);
    float32x4_t vmax = vdupq_n_f32(1e-5f);  /* the floor of _ref */
    for (int64_t i = 0; i < n; i += 4) {
        vmax = abs_max_skip_nan(vmax, vld1q_f32(x + i));
    }
    const float       s    = 127.0f / vmaxvq_f32(vmax);
    const float32x4_t vs   = vdupq_n_f32(s);
    const int32x4_t   lo   = vdupq_n_s32(-128);
    const int32x4_t   hi   = vdupq_n_s32(127);
    int32x4_t         vsum = vdupq_n_s32(0);
    for (int64_t i = 0; i < n; i += 16) {
        int32x4_t v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = vmaxq_s32(vminq_s32(nearest_int4(vmulq_f32(vld1q_f32(x + i + 4 * k), vs)), hi), lo);
            vsum = vaddq_s32(vsum, v[k]);
        }
        vst1q_s8(y + i, narrow_low_bytes(v));  /* already in -128..127: exact */
    }
    *sum = vaddvq_s32(vsum);
    return s;
}

const aria_kernel_table aria_kernels_neon = {
    .name                     = "neon",
    .vec_dot_tq2_0_q8_K       = vec_dot_tq2_0_q8_K,
    .vec_dot_tq1_0_q8_K       = vec_dot_tq1_0_q8_K,
    .vec_dot_i2_s_i8          = vec_dot_i2_s_i8,
    .vec_dot_tq2_0_q8_K_multi = vec_dot_tq2_0_q8_K_multi,
    .vec_dot_tq1_0_q8_K_multi = vec_dot_tq1_0_q8_K_multi,
    .vec_dot_i2_s_i8_multi    = vec_dot_i2_s_i8_multi,
    .vec_dot_tq2_0_q8_K_2x    = vec_dot_tq2_0_q8_K_2x,
    .vec_dot_i2_s_i8_2x       = vec_dot_i2_s_i8_2x,
    .vec_dot_tq2_0_q8_K_rows  = vec_dot_tq2_0_q8_K_rows,
    .vec_dot_tq1_0_q8_K_rows  = vec_dot_tq1_0_q8_K_rows,
    .vec_dot_i2_s_i8_rows     = vec_dot_i2_s_i8_rows,
    .vec_dot_q8_W_q8_K        = vec_dot_q8_W_q8_K_neon,
    .vec_dot_q8_W_q8_K_multi  = vec_dot_q8_W_q8_K_multi_neon,
    .vec_dot_f16_f32_multi    = aria_vec_dot_f16_f32_multi_neon,
    .axpy_f32                 = aria_axpy_f32_neon,
    .axpy_f16                 = aria_axpy_f16_neon,
    .vec_dot_f16_f32          = aria_vec_dot_f16_f32_neon,
    .vec_dot_f32              = aria_vec_dot_f32_neon,
    .quantize_row_q8_K        = aria_quantize_row_q8_K_neon,
    .quantize_row_i8          = aria_quantize_row_i8_neon,
    .repack_tq1_0_tq2_0       = aria_repack_tq1_0_to_tq2_0,  /* scalar tables: load time only */
    .x16_preferred            = 0,  /* the scalar x16 kernels: only for a model repacked under another table */
    .gemm_tq2_0_x16           = aria_gemm_tq2_0_x16_ref,
    .gemm_i2_s_x16            = aria_gemm_i2_s_x16_ref,
    .gemm_q8_W_x16            = aria_gemm_q8_W_x16_ref,
    .gemm_q4_W_x16            = gemm_q4_W_x16,
    .silu_mul_f32             = aria_silu_mul_f32_ref,
};
