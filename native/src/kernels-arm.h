/*
 * kernels-arm.h — the ARMv8.0 NEON kernels by name, so that kernels-neon-dotprod.c can reuse the
 * ones it does not specialise (float dots, axpy, quantizers). Private to native/src; signatures
 * as in the kernel table (kernels.h).
 */
#ifndef ARIA_KERNELS_ARM_H
#define ARIA_KERNELS_ARM_H

#include "kernels.h"

#if defined(__aarch64__)
void  aria_axpy_f32_neon(int64_t n, float a, const float * x, float * y);
void  aria_axpy_f16_neon(int64_t n, float a, const aria_f16 * x, float * y);
void  aria_vec_dot_f16_f32_neon(int64_t n, float * s, const aria_f16 * x, const float * y);
void  aria_vec_dot_f16_f32_multi_neon(int64_t n, float * s, const aria_f16 * x, const float * y, int64_t y_stride,
                                      int ny);
void  aria_vec_dot_f32_neon(int64_t n, float * s, const float * x, const float * y);
void  aria_quantize_row_q8_K_neon(int64_t n, block_q8_K * y, const float * x);
float aria_quantize_row_i8_neon(int64_t n, int8_t * y, int32_t * sum, const float * x);
#endif

#endif /* ARIA_KERNELS_ARM_H */
