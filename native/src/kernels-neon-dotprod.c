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

/* ---- x16 layout (kernels.h): rows in SIMD lanes, SDOT by element ---------------------------------
 * A 16-element step of a group gives, for s = 0..3 and v = 0..3, the vector U[s][v]: bytes 4r'..4r'+3
 * hold row 4v + r' at elements k0 + 4s .. k0 + 4s + 3 (TQ2_0 / I2_S: the codes 0..2 of the 64-byte
 * chunk, shifted by 2s and masked; Q8_W: chunk k0/4 + s, q + 128 back to q by flipping the top bit).
 * SDOT by element (`sdot v.4s, U.16b, y.4b[s]`) then adds to int32 lane r' of row 4v + r' the 4
 * products with the token's activations k0 + 4s .. + 3: every lane ends a block with its row's exact
 * integer block sum, and the f32 steps are _ref's, lane by lane (multiply, multiply, add). With
 * i8mm (ARIA_NEON_I8MM), two tokens at a time go through SMMLA instead: zipping U[0] with U[1]
 * (and U[2] with U[3]) by 32-bit lanes gives 8 consecutive weights of two rows, the 2x8 operand;
 * the two tokens' 8 activations are the other, and one SMMLA adds 32 products (SDOT: 16) into the
 * 2x2 (row, token) sums, which are unzipped to rows in lanes at the end of a block. The same exact
 * integers, so the same floats. */

enum { X16_TQ2_0, X16_I2_S, X16_Q8_W };

static inline __attribute__((always_inline)) void x16_step(const uint8_t * restrict xg, int64_t k0, const int T,
                                                          int8x16_t U[4][4]) {
    if (T == X16_Q8_W) {
        const uint8x16_t top = vdupq_n_u8(0x80);
        #pragma GCC unroll 4
        for (int s = 0; s < 4; s++) {
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                U[s][v] = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(xg + 64 * (k0 / 4 + s) + 16 * v), top));
            }
        }
    } else {
        const uint8x16_t m3 = vdupq_n_u8(3);
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            const uint8x16_t w = vld1q_u8(xg + 4 * k0 + 16 * v);  /* chunk k0 / 16: 64 bytes */
            U[0][v]            = vreinterpretq_s8_u8(vandq_u8(w, m3));
            U[1][v]            = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(w, 2), m3));
            U[2][v]            = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(w, 4), m3));
            U[3][v]            = vreinterpretq_s8_u8(vshrq_n_u8(w, 6));
        }
    }
}

/* Tokens j < NY of one pass: acc[j][v] = the int32 sums of rows 4v..4v+3 over weight elements
 * k_begin .. k_begin + len - 1, with activations yq[j][0 .. len - 1]. */
static inline __attribute__((always_inline)) void x16_sums(const uint8_t * restrict xg, const int8_t * const * yq,
                                                          int64_t k_begin, int64_t len, const int T, const int NY,
                                                          const int MMLA, int32x4_t acc[4][4]) {
#if defined(ARIA_NEON_I8MM)
    if (MMLA && NY >= 2) {
        enum { NP_MAX = 2 };
        const int NP = (NY + 1) / 2;
        int32x4_t m[NP_MAX][8];
        #pragma GCC unroll 4
        for (int p = 0; p < NP; p++) {
            #pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                m[p][i] = vdupq_n_s32(0);
            }
        }
        for (int64_t i = 0; i < len; i += 16) {
            int8x16_t U[4][4];
            x16_step(xg, k_begin + i, T, U);
            int8x16_t B[NP_MAX][2];
            #pragma GCC unroll 4
            for (int p = 0; p < NP; p++) {
                const int8_t * ya = yq[2 * p] + i;
                const int8_t * yb = yq[2 * p + 1 < NY ? 2 * p + 1 : 2 * p] + i;  /* an odd last token twice */
                B[p][0]           = vcombine_s8(vld1_s8(ya), vld1_s8(yb));
                B[p][1]           = vcombine_s8(vld1_s8(ya + 8), vld1_s8(yb + 8));
            }
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                const int8x16_t lo01 = vreinterpretq_s8_s32(vzip1q_s32(vreinterpretq_s32_s8(U[0][v]), vreinterpretq_s32_s8(U[1][v])));
                const int8x16_t lo23 = vreinterpretq_s8_s32(vzip2q_s32(vreinterpretq_s32_s8(U[0][v]), vreinterpretq_s32_s8(U[1][v])));
                const int8x16_t hi01 = vreinterpretq_s8_s32(vzip1q_s32(vreinterpretq_s32_s8(U[2][v]), vreinterpretq_s32_s8(U[3][v])));
                const int8x16_t hi23 = vreinterpretq_s8_s32(vzip2q_s32(vreinterpretq_s32_s8(U[2][v]), vreinterpretq_s32_s8(U[3][v])));
                #pragma GCC unroll 4
                for (int p = 0; p < NP; p++) {
                    m[p][2 * v]     = vmmlaq_s32(vmmlaq_s32(m[p][2 * v], lo01, B[p][0]), hi01, B[p][1]);
                    m[p][2 * v + 1] = vmmlaq_s32(vmmlaq_s32(m[p][2 * v + 1], lo23, B[p][0]), hi23, B[p][1]);
                }
            }
        }
        /* m[p][2v] = (row 4v, token a), (4v, b), (4v+1, a), (4v+1, b); m[p][2v+1] the same for rows 4v+2, 4v+3 */
        #pragma GCC unroll 4
        for (int p = 0; p < NP; p++) {
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                acc[2 * p][v] = vuzp1q_s32(m[p][2 * v], m[p][2 * v + 1]);
                if (2 * p + 1 < NY) {
                    acc[2 * p + 1][v] = vuzp2q_s32(m[p][2 * v], m[p][2 * v + 1]);
                }
            }
        }
        return;
    }
#endif
    (void) MMLA;
    #pragma GCC unroll 4
    for (int j = 0; j < NY; j++) {
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            acc[j][v] = vdupq_n_s32(0);
        }
    }
    for (int64_t i = 0; i < len; i += 16) {
        int8x16_t U[4][4];
        x16_step(xg, k_begin + i, T, U);
        #pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            const int8x16_t y = vld1q_s8(yq[j] + i);
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                acc[j][v] = vdotq_laneq_s32(acc[j][v], U[0][v], y, 0);
                acc[j][v] = vdotq_laneq_s32(acc[j][v], U[1][v], y, 1);
                acc[j][v] = vdotq_laneq_s32(acc[j][v], U[2][v], y, 2);
                acc[j][v] = vdotq_laneq_s32(acc[j][v], U[3][v], y, 3);
            }
        }
    }
}

/* One group, tokens j < NY (NY <= 4) of ys (Q8_K rows for TQ2_0 / Q8_W, int8 rows for I2_S). */
static inline __attribute__((always_inline)) void x16_group(int64_t n, const uint8_t * restrict xg,
                                                           const void * const * ys, const int T, const int NY,
                                                           const int MMLA, float * restrict sf, int32_t * restrict si,
                                                           int64_t s_stride) {
    if (T == X16_I2_S) {
        const int8_t * yq[4];
        #pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            yq[j] = (const int8_t *) ys[j];
        }
        int32x4_t acc[4][4];
        x16_sums(xg, yq, 0, n, T, NY, MMLA, acc);
        #pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                vst1q_s32(si + j * s_stride + 4 * v, acc[j][v]);
            }
        }
        return;
    }
    float32x4_t accf[4][4];
    #pragma GCC unroll 4
    for (int j = 0; j < NY; j++) {
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            accf[j][v] = vdupq_n_f32(0.0f);
        }
    }
    for (int64_t b = 0; b < n / QK_K; b++) {
        const int8_t * yq[4];
        #pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            yq[j] = ((const block_q8_K *) ys[j])[b].qs;
        }
        int32x4_t acc[4][4];
        x16_sums(xg, yq, b * QK_K, QK_K, T, NY, MMLA, acc);
        float32x4_t dx[4];
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            dx[v] = T == X16_TQ2_0 ? vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(xg + n * 4 + 2 * (16 * b + 4 * v))))
                                   : vld1q_f32((const float *) (xg + n * 16) + 16 * b + 4 * v);
        }
        #pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            const block_q8_K * yb  = &((const block_q8_K *) ys[j])[b];
            int32_t            off = 0;  /* TQ2_0: codes are t + 1, so sum (c - 1) q = sum c q - sum q */
            if (T == X16_TQ2_0) {
                #pragma GCC unroll 16
                for (int i = 0; i < QK_K / 16; i++) {
                    off += yb->bsums[i];
                }
            }
            #pragma GCC unroll 4
            for (int v = 0; v < 4; v++) {
                const float32x4_t sumi = vcvtq_f32_s32(vsubq_s32(acc[j][v], vdupq_n_s32(off)));
                accf[j][v]             = vaddq_f32(accf[j][v], vmulq_f32(sumi, vmulq_n_f32(dx[v], yb->d)));
            }
        }
    }
    #pragma GCC unroll 4
    for (int j = 0; j < NY; j++) {
        #pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            vst1q_f32(sf + j * s_stride + 4 * v, accf[j][v]);
        }
    }
}

/* Every group, the tokens 4 at a time (a group's bytes are read again for tokens 5..8, from cache). */
static inline __attribute__((always_inline)) void x16_gemm(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,
                                                          const void * y, int64_t y_stride, int ny, const int T,
                                                          const int MMLA, float * sf, int32_t * si, int64_t s_stride) {
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t * xg = x + g * x_stride;
        for (int j0 = 0; j0 < ny; j0 += 4) {
            const void * ys[4];
            const int    nt = ny - j0 < 4 ? ny - j0 : 4;
            #pragma GCC unroll 4
            for (int j = 0; j < nt; j++) {
                ys[j] = (const char *) y + (j0 + j) * y_stride;
            }
            float *   f = sf ? sf + j0 * s_stride + 16 * g : NULL;
            int32_t * i = si ? si + j0 * s_stride + 16 * g : NULL;
            switch (nt) {
                case 1: x16_group(n, xg, ys, T, 1, MMLA, f, i, s_stride); break;
                case 2: x16_group(n, xg, ys, T, 2, MMLA, f, i, s_stride); break;
                case 3: x16_group(n, xg, ys, T, 3, MMLA, f, i, s_stride); break;
                default: x16_group(n, xg, ys, T, 4, MMLA, f, i, s_stride); break;
            }
        }
    }
}

#if defined(ARIA_NEON_I8MM)
#    define X16_MMLA 1
#else
#    define X16_MMLA 0
#endif

static void gemm_tq2_0_x16_neon(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                                int64_t y_stride, int ny, float * s, int64_t s_stride) {
    assert(n % QK_K == 0 && n <= ARIA_X16_MAX_N && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    x16_gemm(n, ng, x, x_stride, y, y_stride, ny, X16_TQ2_0, X16_MMLA, s, NULL, s_stride);
}

static void gemm_i2_s_x16_neon(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                               int64_t y_stride, int ny, int32_t * s, int64_t s_stride) {
    assert(n % QK_I2S == 0 && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    x16_gemm(n, ng, x, x_stride, y, y_stride, ny, X16_I2_S, X16_MMLA, NULL, s, s_stride);
}

static void gemm_q8_W_x16_neon(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                               int64_t y_stride, int ny, float * s, int64_t s_stride) {
    assert(n % QK_K == 0 && n <= ARIA_X16_MAX_N && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    x16_gemm(n, ng, x, x_stride, y, y_stride, ny, X16_Q8_W, X16_MMLA, s, NULL, s_stride);
}

#if defined(ARIA_NEON_I8MM)
const aria_kernel_table aria_kernels_neon_i8mm = {
    .name                     = "neon-i8mm",
#else
const aria_kernel_table aria_kernels_neon_dotprod = {
    .name                     = "neon-dotprod",
#endif
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
    .x16_preferred            = 1,
    .x16_head                 = 1,  /* rows in lanes, SDOT by element (SMMLA with i8mm): no sums across lanes */
    .gemm_tq2_0_x16           = gemm_tq2_0_x16_neon,
    .gemm_i2_s_x16            = gemm_i2_s_x16_neon,
    .gemm_q8_W_x16            = gemm_q8_W_x16_neon,
    .gemm_q4_W_x16            = gemm_q4_W_x16,
    .silu_mul_f32             = aria_silu_mul_f32_ref,
};
