/*
 * kernels-neon-dotprod.c — NEON kernels using the ARMv8.2 dot-product instructions (SDOT: four
 * int8 x int8 products summed into each int32 lane). Built with -march=armv8.2-a+dotprod and
 * chosen at run time by cpu.c only when the kernel reports dotprod (HWCAP_ASIMDDP); otherwise the
 * ARMv8.0 table of kernels-neon.c runs. (Dotprod is optional from Armv8.2 only, so a CPU that has
 * it also has every other Armv8.2 instruction gcc may emit in this file.)
 *
 * Ternary dots (kernels-neon-ternary.h) and the int8 head dot accumulate straight into int32, so
 * nothing can overflow; results are bit-identical to _ref exactly as kernels-neon.c describes. The
 * float dots, axpy and quantizers are kernels-neon.c's (no dotprod use there).
 */
#include <arm_neon.h>
#include <assert.h>

#include "kernels-arm.h"

/* ---- int8 dot step for kernels-neon-ternary.h: SDOT into 4 int32 lanes --------------------- */

typedef int32x4_t dot_acc;

static inline dot_acc dot_zero(void) { return vdupq_n_s32(0); }

static inline dot_acc dot_mla(dot_acc acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }

static inline int32_t dot_sum(dot_acc a, dot_acc b) { return vaddvq_s32(vaddq_s32(a, b)); }

static inline int32x4_t dot_widen(int32x4_t v, dot_acc a, dot_acc b) { return vaddq_s32(v, vaddq_s32(a, b)); }

/* SDOT adds each 4-byte lane's 4 products into that int32 lane: the row dot as it is. */
static inline int32x4_t row_dot(int32x4_t v, int8x16_t a, int8x16_t b) { return vdotq_s32(v, a, b); }

#include "kernels-neon-ternary.h"

/* int8 head, one q8_W row x NY Q8_K rows: SDOT block sums (exact in int32), _ref's f32 order for
 * every row (bit-identical to _ref); each weight chunk is loaded once for all NY rows. */
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
#pragma GCC unroll 8
        for (int k = 0; k < QK_K; k += 32) {
            const int8x16_t a0 = vld1q_s8(x[i].qs + k);
            const int8x16_t a1 = vld1q_s8(x[i].qs + k + 16);
#pragma GCC unroll 4
            for (int j = 0; j < NY; j++) {
                acc0[j] = vdotq_s32(acc0[j], a0, vld1q_s8(yr[j][i].qs + k));
                acc1[j] = vdotq_s32(acc1[j], a1, vld1q_s8(yr[j][i].qs + k + 16));
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

static void vec_dot_q8_W_q8_K_multi_dotprod(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                            const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: q8_W_multi(n, s, x, y, y_stride, 1); break;
        case 2: q8_W_multi(n, s, x, y, y_stride, 2); break;
        case 3: q8_W_multi(n, s, x, y, y_stride, 3); break;
        default: q8_W_multi(n, s, x, y, y_stride, 4); break;
    }
}

static void vec_dot_q8_W_q8_K_dotprod(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                      const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    q8_W_multi(n, s, x, y, 0, 1);
}

const aria_kernel_table aria_kernels_neon_dotprod = {
    .name                     = "neon-dotprod",
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
    .vec_dot_q8_W_q8_K        = vec_dot_q8_W_q8_K_dotprod,
    .vec_dot_q8_W_q8_K_multi  = vec_dot_q8_W_q8_K_multi_dotprod,
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
