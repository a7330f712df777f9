/*
 * kernels-avxvnni.c — the AVX-VNNI table (vpdpbusd on 256-bit registers: Intel Alder Lake and later,
 * AMD Zen 5; built with -mavx2 -mfma -mf16c -mavxvnni, chosen at run time by cpu.c when cpuid leaf 7
 * subleaf 1 reports AVX-VNNI and the OS saves YMM state). Only the ternary GEMM of the x16 layout
 * (TQ2_0, I2_S) and the int8 head's x16 kernel are its own (kernels-x16-256.h with X16_256_VNNI 1:
 * 4 products per int32 lane per instruction, no int16 stage, the same exact block sums and f32 steps
 * as the AVX2 and AVX-512 x16 kernels, so bit-identical to the reference row kernels). Everything
 * else — row kernels for matrices left in the file's layout, the int4 head, quantizers, f16/f32 dots,
 * norms, SiLU — is the AVX2 table's, so its floats are the AVX2 table's.
 */
#include "kernels-x86.h"

#define X16_256_VNNI   1
#define X16_256_SUFFIX avxvnni
#include "kernels-x16-256.h"

const aria_kernel_table aria_kernels_avxvnni = {
    .name                     = "avxvnni",
    .vec_dot_tq2_0_q8_K       = aria_vec_dot_tq2_0_q8_K_avx2,
    .vec_dot_tq1_0_q8_K       = aria_vec_dot_tq1_0_q8_K_avx2,
    .vec_dot_i2_s_i8          = aria_vec_dot_i2_s_i8_avx2,
    .vec_dot_tq2_0_q8_K_multi = aria_vec_dot_tq2_0_q8_K_multi_avx2,
    .vec_dot_tq1_0_q8_K_multi = aria_vec_dot_tq1_0_q8_K_multi_avx2,
    .vec_dot_i2_s_i8_multi    = aria_vec_dot_i2_s_i8_multi_avx2,
    .vec_dot_tq2_0_q8_K_2x    = aria_vec_dot_tq2_0_q8_K_2x_avx2,
    .vec_dot_i2_s_i8_2x       = aria_vec_dot_i2_s_i8_2x_avx2,
    .vec_dot_tq2_0_q8_K_rows  = aria_vec_dot_tq2_0_q8_K_rows_avx2,
    .vec_dot_tq1_0_q8_K_rows  = aria_vec_dot_tq1_0_q8_K_rows_avx2,
    .vec_dot_i2_s_i8_rows     = aria_vec_dot_i2_s_i8_rows_avx2,
    .vec_dot_q8_W_q8_K        = aria_vec_dot_q8_W_q8_K_avx2,
    .vec_dot_q8_W_q8_K_multi  = aria_vec_dot_q8_W_q8_K_multi_avx2,
    .vec_dot_f16_f32          = aria_vec_dot_f16_f32_avx2,
    .vec_dot_f16_f32_multi    = aria_vec_dot_f16_f32_multi_avx2,
    .vec_dot_f32              = aria_vec_dot_f32_avx2,
    .attn_dots_f32            = aria_attn_dots_f32_avx2,
    .attn_dots_f16            = aria_attn_dots_f16_avx2,
    .attn_axpys_f32           = aria_attn_axpys_f32_avx2,
    .attn_axpys_f16           = aria_attn_axpys_f16_avx2,
    .axpy_f32                 = aria_axpy_f32_avx2,
    .axpy_f16                 = aria_axpy_f16_avx2,
    .silu_mul_f32             = aria_silu_mul_f32_avx2,
    .quantize_row_q8_K        = aria_quantize_row_q8_K_avx2,
    .quantize_row_i8          = aria_quantize_row_i8_avx2,
    .repack_tq1_0_tq2_0       = aria_repack_tq1_0_tq2_0_avx2,
    .x16_preferred            = 1,
    .x16_head                 = 1,
    .gemm_tq2_0_x16           = gemm_tq2_0_x16_avxvnni,
    .gemm_i2_s_x16            = gemm_i2_s_x16_avxvnni,
    .gemm_q8_W_x16            = gemm_q8_W_x16_avxvnni,
    .gemm_q4_W_x16            = aria_gemm_q4_W_x16_avx2,
};
