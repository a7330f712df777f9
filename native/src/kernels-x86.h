/*
 * kernels-x86.h — the AVX2 kernels by name, so that kernels-avx512.c can reuse the ones it does
 * not specialise. Private to native/src; signatures as in the kernel table (kernels.h).
 */
#ifndef ARIA_KERNELS_X86_H
#define ARIA_KERNELS_X86_H

#include "kernels.h"

#if defined(__x86_64__)
void  aria_vec_dot_tq2_0_q8_K_avx2(int64_t n, float * s, const block_tq2_0 * x, const block_q8_K * y);
void  aria_vec_dot_tq1_0_q8_K_avx2(int64_t n, float * s, const block_tq1_0 * x, const block_q8_K * y);
void  aria_vec_dot_i2_s_i8_avx2(int64_t n, int32_t * s, const uint8_t * x, const int8_t * y);
void  aria_vec_dot_tq2_0_q8_K_multi_avx2(int64_t n, float * s, const block_tq2_0 * x, const block_q8_K * y,
                                         int64_t y_stride, int ny);
void  aria_vec_dot_tq1_0_q8_K_multi_avx2(int64_t n, float * s, const block_tq1_0 * x, const block_q8_K * y,
                                         int64_t y_stride, int ny);
void  aria_vec_dot_i2_s_i8_multi_avx2(int64_t n, int32_t * s, const uint8_t * x, const int8_t * y, int64_t y_stride,
                                      int ny);
void  aria_vec_dot_tq2_0_q8_K_2x_avx2(int64_t n, float * s, const block_tq2_0 * x, int64_t x_stride,
                                      const block_q8_K * y, int64_t y_stride, int ny);
void  aria_vec_dot_i2_s_i8_2x_avx2(int64_t n, int32_t * s, const uint8_t * x, int64_t x_stride, const int8_t * y,
                                   int64_t y_stride, int ny);
void  aria_vec_dot_tq2_0_q8_K_rows_avx2(int64_t n, int64_t nr, float * s, const block_tq2_0 * x, int64_t x_stride,
                                        const block_q8_K * y);
void  aria_vec_dot_tq1_0_q8_K_rows_avx2(int64_t n, int64_t nr, float * s, const block_tq1_0 * x, int64_t x_stride,
                                        const block_q8_K * y);
void  aria_vec_dot_i2_s_i8_rows_avx2(int64_t n, int64_t nr, int32_t * s, const uint8_t * x, int64_t x_stride,
                                     const int8_t * y);
void  aria_vec_dot_q8_W_q8_K_avx2(int64_t n, float * s, const block_q8_W * x, const block_q8_K * y);
void  aria_vec_dot_q8_W_q8_K_multi_avx2(int64_t n, float * s, const block_q8_W * x, const block_q8_K * y,
                                       int64_t y_stride, int ny);
void  aria_vec_dot_f16_f32_multi_avx2(int64_t n, float * s, const aria_f16 * x, const float * y, int64_t y_stride,
                                      int ny);
void  aria_silu_mul_f32_avx2(int64_t n, float * h, const float * u);
void  aria_axpy_f32_avx2(int64_t n, float a, const float * x, float * y);
void  aria_axpy_f16_avx2(int64_t n, float a, const aria_f16 * x, float * y);
void  aria_vec_dot_f16_f32_avx2(int64_t n, float * s, const aria_f16 * x, const float * y);
void  aria_vec_dot_f32_avx2(int64_t n, float * s, const float * x, const float * y);
void  aria_attn_dots_f32_avx2(int64_t n, int64_t np, float * s, const float * k, int64_t stride, const float * q);
void  aria_attn_dots_f16_avx2(int64_t n, int64_t np, float * s, const aria_f16 * k, int64_t stride, const float * q);
void  aria_attn_axpys_f32_avx2(int64_t n, int64_t np, const float * p, const float * v, int64_t stride, float * y);
void  aria_attn_axpys_f16_avx2(int64_t n, int64_t np, const float * p, const aria_f16 * v, int64_t stride,
                               float * y);
void  aria_quantize_row_q8_K_avx2(int64_t n, block_q8_K * y, const float * x);
float aria_quantize_row_i8_avx2(int64_t n, int8_t * y, int32_t * sum, const float * x);
void  aria_gemm_q4_W_x16_avx2(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                              int64_t y_stride, int ny, float * s, int64_t s_stride);
void  aria_repack_tq1_0_tq2_0_avx2(const block_tq1_0 * x, block_tq2_0 * y, int64_t nb);
#endif

#endif /* ARIA_KERNELS_X86_H */
