/*
 * kernels-avx512.c — AVX-512 F/BW/VL + VNNI kernels (chosen at run time by cpu.c when the CPU
 * and OS support them). Results as kernels-avx2.c describes: the ternary dots are bit-identical
 * to _ref, the f16/f32 dots differ by summation order only. The quantizers are the AVX2 ones.
 *
 * Ternary dots use vpdpbusd (u8 x s8 -> int32, formats.md §9.1): the codes 0..2 are the unsigned
 * operand, the activations the signed one, so sum c*q accumulates straight into int32 (no int16
 * stage, nothing to overflow); TQ blocks then subtract sum q (from the Q8_K bsums) to get
 * sum (c - 1) * q. A 32-byte group of packed codes is broadcast to both 256-bit halves of a
 * register and shifted by a different count per half (vpsrlvw), so one 64-byte activation load
 * matches two code fields.
 */
#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels-x86.h"

/* 16-bit shift counts: a in the low 256-bit half, b in the high half. */
static inline __m512i shifts2(short a, short b) {
    return _mm512_inserti64x4(_mm512_set1_epi16(a), _mm256_set1_epi16(b), 1);
}

/* 32 bytes at p in both 256-bit halves. */
static inline __m512i bcast256(const void * p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *) p));
}

/* ---- TQ2_0 x Q8_K ------------------------------------------------------------------------- */

static void vec_dot_tq2_0_q8_K_avx512(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                      const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    const __m512i m3   = _mm512_set1_epi8(3);
    const __m512i sh01 = shifts2(0, 2);
    const __m512i sh23 = shifts2(4, 6);
    float         sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m512i acc = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            /* byte m of half h: elements 128h + 32k + m in bits 2k..2k+1 */
            const __m512i  w = bcast256(x[i].qs + 32 * h);
            const int8_t * q = y[i].qs + 128 * h;
            const __m512i  c01 = _mm512_and_si512(_mm512_srlv_epi16(w, sh01), m3);  /* k = 0 | 1 */
            const __m512i  c23 = _mm512_and_si512(_mm512_srlv_epi16(w, sh23), m3);  /* k = 2 | 3 */
            acc = _mm512_dpbusd_epi32(acc, c01, _mm512_loadu_si512(q));
            acc = _mm512_dpbusd_epi32(acc, c23, _mm512_loadu_si512(q + 64));
        }
        const __m512i sum_q = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *) y[i].bsums));
        const int32_t sumi  = _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, sum_q));
        sumf += (float) sumi * (_cvtsh_ss(x[i].d) * y[i].d);
    }
    *s = sumf;
}

/* ---- TQ1_0 x Q8_K ------------------------------------------------------------------------- */

/* Bytewise x * k mod 256, k given per 16-bit lane (the same for both bytes of the lane). */
static inline __m512i mul_u8(__m512i x, __m512i k) {
    const __m512i hi_mask = _mm512_set1_epi16((short) 0xff00);
    const __m512i lo      = _mm512_mullo_epi16(x, k);                               /* low byte ok */
    const __m512i hi      = _mm512_mullo_epi16(_mm512_and_si512(x, hi_mask), k);    /* high byte ok */
    return _mm512_or_si512(hi, _mm512_andnot_si512(hi_mask, lo));
}

/* Multipliers per 128-bit lane: a (lowest) .. d (highest), each as two 16-bit copies. */
static inline __m512i mult4(int a, int b, int c, int d) {
    const int A = a * 0x10001, B = b * 0x10001, C = c * 0x10001, D = d * 0x10001;
    return _mm512_set_epi32(D, D, D, D, C, C, C, C, B, B, B, B, A, A, A, A);
}

/* Top trit of each fixed-point byte q: (q * 3) >> 8 = (q >= 86) + (q >= 171). */
static inline __m512i top_trit(__m512i q) {
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i ge1 = _mm512_min_epu8(_mm512_subs_epu8(q, _mm512_set1_epi8(85)), one);
    const __m512i ge2 = _mm512_min_epu8(_mm512_subs_epu8(q, _mm512_set1_epi8((char) 170)), one);
    return _mm512_add_epi8(ge1, ge2);
}

static void vec_dot_tq1_0_q8_K_avx512(int64_t n, float * restrict s, const block_tq1_0 * restrict x,
                                      const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    const __m512i k_a = mult4(1, 1, 3, 3);    /* qs[0..31] trits 0 | 1   -> elements   0..63  */
    const __m512i k_b = mult4(9, 9, 27, 27);  /* qs[0..31] trits 2 | 3   -> elements  64..127 */
    const __m512i k_c = mult4(81, 81, 1, 3);  /* qs[0..31] trit 4, qs[32..47] trits 0, 1 -> 128..191 */
    /* qs[32..47] trits 2, 3, 4, then qh: dword n of the top lane is qh[0..3] * 3^n -> 192..255 */
    const __m512i k_d = _mm512_set_epi32(27 * 0x10001, 9 * 0x10001, 3 * 0x10001, 1 * 0x10001,
                                         81 * 0x10001, 81 * 0x10001, 81 * 0x10001, 81 * 0x10001,
                                         27 * 0x10001, 27 * 0x10001, 27 * 0x10001, 27 * 0x10001,
                                         9 * 0x10001, 9 * 0x10001, 9 * 0x10001, 9 * 0x10001);
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t * q  = y[i].qs;
        const __m512i  x0 = bcast256(x[i].qs);                                    /* qs[0..31] x2 */
        const __m512i  x1 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) (x[i].qs + 32)));
        uint32_t       h4;
        memcpy(&h4, x[i].qh, sizeof h4);
        const __m512i src_c = _mm512_inserti64x4(x1, _mm512_castsi512_si256(x0), 0);
        const __m512i src_d = _mm512_mask_set1_epi32(x1, 0xf000, (int) h4);

        __m512i acc = _mm512_setzero_si512();
        acc = _mm512_dpbusd_epi32(acc, top_trit(mul_u8(x0, k_a)), _mm512_loadu_si512(q));
        acc = _mm512_dpbusd_epi32(acc, top_trit(mul_u8(x0, k_b)), _mm512_loadu_si512(q + 64));
        acc = _mm512_dpbusd_epi32(acc, top_trit(mul_u8(src_c, k_c)), _mm512_loadu_si512(q + 128));
        acc = _mm512_dpbusd_epi32(acc, top_trit(mul_u8(src_d, k_d)), _mm512_loadu_si512(q + 192));

        const __m512i sum_q = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *) y[i].bsums));
        const int32_t sumi  = _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, sum_q));
        sumf += (float) sumi * (_cvtsh_ss(x[i].d) * y[i].d);
    }
    *s = sumf;
}

/* ---- I2_S x int8 -------------------------------------------------------------------------- */

static void vec_dot_i2_s_i8_avx512(int64_t n, int32_t * restrict s, const uint8_t * restrict x,
                                   const int8_t * restrict y) {
    assert(n % QK_I2S == 0);
    const __m512i m3   = _mm512_set1_epi8(3);
    const __m512i sh01 = shifts2(6, 4);  /* byte b: element b in bits 7-6 | b + 32 in bits 5-4 */
    const __m512i sh23 = shifts2(2, 0);  /*         element b + 64 in 3-2 | b + 96 in 1-0      */
    __m512i       acc0 = _mm512_setzero_si512();  /* int32 lanes gain <= 4 * 3 * 128 per block */
    __m512i       acc1 = _mm512_setzero_si512();
    for (int64_t i = 0; i < n / QK_I2S; i++) {
        const __m512i  w = bcast256(x + 32 * i);
        const int8_t * q = y + QK_I2S * i;
        acc0 = _mm512_dpbusd_epi32(acc0, _mm512_and_si512(_mm512_srlv_epi16(w, sh01), m3),
                                   _mm512_loadu_si512(q));
        acc1 = _mm512_dpbusd_epi32(acc1, _mm512_and_si512(_mm512_srlv_epi16(w, sh23), m3),
                                   _mm512_loadu_si512(q + 64));
    }
    *s = _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
}

/* ---- f16 / f32 dots (masked tails: any n) ------------------------------------------------ */

static inline __mmask16 tail_mask(int64_t left) {
    return (__mmask16) ((1u << left) - 1);  /* left in 0..15 */
}

static void vec_dot_f16_f32_avx512(int64_t n, float * restrict s, const aria_f16 * restrict x,
                                   const float * restrict y) {
    __m512  a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512  a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t i  = 0;
#define F16X16(off) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (x + i + (off))))
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(F16X16(0), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(F16X16(16), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(F16X16(32), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(F16X16(48), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16) {
        a0 = _mm512_fmadd_ps(F16X16(0), _mm512_loadu_ps(y + i), a0);
    }
#undef F16X16
    if (i < n) {
        const __mmask16 m  = tail_mask(n - i);
        const __m512    xv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i));
        a1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, y + i), a1);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

static void vec_dot_f32_avx512(int64_t n, float * restrict s, const float * restrict x,
                               const float * restrict y) {
    __m512  a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512  a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t i  = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i + 16 <= n; i += 16) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), a1);
    }
    *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

const aria_kernel_table aria_kernels_avx512 = {
    .name               = "avx512",
    .vec_dot_tq2_0_q8_K = vec_dot_tq2_0_q8_K_avx512,
    .vec_dot_tq1_0_q8_K = vec_dot_tq1_0_q8_K_avx512,
    .vec_dot_i2_s_i8    = vec_dot_i2_s_i8_avx512,
    .vec_dot_tq2_0_q8_K_multi = aria_vec_dot_tq2_0_q8_K_multi_avx2,
    .vec_dot_tq1_0_q8_K_multi = aria_vec_dot_tq1_0_q8_K_multi_avx2,
    .vec_dot_i2_s_i8_multi    = aria_vec_dot_i2_s_i8_multi_avx2,
    .vec_dot_tq2_0_q8_K_2x    = aria_vec_dot_tq2_0_q8_K_2x_avx2,  /* matches the AVX2 multi kernel above */
    .vec_dot_i2_s_i8_2x       = aria_vec_dot_i2_s_i8_2x_avx2,
    .vec_dot_tq2_0_q8_K_rows  = aria_vec_dot_tq2_0_q8_K_rows_avx2,
    .vec_dot_tq1_0_q8_K_rows  = aria_vec_dot_tq1_0_q8_K_rows_avx2,
    .vec_dot_i2_s_i8_rows     = aria_vec_dot_i2_s_i8_rows_avx2,
    .vec_dot_q8_W_q8_K        = aria_vec_dot_q8_W_q8_K_avx2,
    .vec_dot_q8_W_q8_K_multi  = aria_vec_dot_q8_W_q8_K_multi_avx2,
    .vec_dot_f16_f32_multi    = aria_vec_dot_f16_f32_multi_avx2,  /* AVX2's: rows equal its ny = 1 */
    .axpy_f32                 = aria_axpy_f32_avx2,
    .axpy_f16                 = aria_axpy_f16_avx2,
    .vec_dot_f16_f32    = vec_dot_f16_f32_avx512,
    .vec_dot_f32        = vec_dot_f32_avx512,
    .quantize_row_q8_K  = aria_quantize_row_q8_K_avx2,
    .quantize_row_i8    = aria_quantize_row_i8_avx2,
    .repack_tq1_0_tq2_0 = aria_repack_tq1_0_tq2_0_avx2,
};
