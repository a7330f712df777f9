/*
 * kernels-avx2.c — AVX2 + FMA + F16C kernels (built with -mavx2 -mfma -mf16c, chosen at run time
 * by cpu.c). Same signatures and results as kernels-ref.c:
 * bit-identical to them on every input (engine contract v2, numerics.h):
 *  - ternary dots (TQ2_0, TQ1_0 x Q8_K; I2_S x int8), single, multi-row and 2-row: the integer
 *    block sums are exact and accumulated in f32 in block order exactly like _ref;
 *  - quantizers: byte-identical output (same absmax search, same 1.5*2^23 rounding trick, same
 *    truncation to int8);
 *  - int8 head dot (q8_W x Q8_K), single and multi-row: exact integer block sums, block order;
 *  - f16 / f32 dots: numerics.h's 32 partial sums (four 8-lane registers), one FMA per element
 *    (as _ref's fmaf), the tail zero-padded, reduced in aria_dot_lanes_reduce's order;
 *  - exp / SiLU: numerics.h aria_expf lane by lane (no FMA).
 * FMA is used only in the float dots, where _ref uses fmaf; the library is built with
 * -ffp-contract=off, so gcc does not contract a multiply and an add anywhere else.
 * The TQ block sums rely on bsums being the sums of qs, as quantize_row_q8_K writes them.
 * gcc must not contract mul + add into FMA in the quantizers: -std=c11 sets -ffp-contract=off.
 */
#include <assert.h>
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels-x86.h"
#include "numerics.h"

static inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s         = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s         = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* The sums of two int32 vectors (exact, so the order of the adds does not matter). */
static inline void hsum2_i32(__m256i a, __m256i b, int32_t * sa, int32_t * sb) {
    const __m256i h = _mm256_hadd_epi32(a, b);  /* a01 a23 b01 b23 | a45 a67 b45 b67 */
    __m128i       t = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    t               = _mm_hadd_epi32(t, t);     /* a b a b */
    *sa             = _mm_cvtsi128_si32(t);
    *sb             = _mm_extract_epi32(t, 1);
}

static inline float hsum_f32(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s        = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s        = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float hmax_f32(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s        = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s        = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Sum over a Q8_K block of q, from its 16 bsums. */
static inline __m256i q8_K_sum(const block_q8_K * y) {
    return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) y->bsums), _mm256_set1_epi16(1));
}

/* ---- TQ2_0 x Q8_K ------------------------------------------------------------------------- */

/* How far ahead of the block being read the weight stream is prefetched. Decode reads each weight
 * once; the hardware prefetcher alone leaves one core's compute and memory time adding up instead
 * of overlapping. Override with -DARIA_PREFETCH_BYTES=...; 0 disables. */
#ifndef ARIA_PREFETCH_BYTES
#    define ARIA_PREFETCH_BYTES 8192
#endif
/* Prefetches `lines` cache lines ARIA_PREFETCH_BYTES past p. Integer address arithmetic: a
 * pointer past the end of the matrix would be undefined in C (a prefetch there never faults). */
static inline __attribute__((always_inline)) void prefetch_ahead(const void * p, int lines) {
    if (ARIA_PREFETCH_BYTES > 0) {
        const uintptr_t a = (uintptr_t) p + (uintptr_t) ARIA_PREFETCH_BYTES;
        for (int l = 0; l < lines; l++) {
            _mm_prefetch((const char *) (a + (uintptr_t) (64 * l)), _MM_HINT_T0);
        }
    }
}

void aria_vec_dot_tq2_0_q8_K_avx2(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                  const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    const __m256i m3   = _mm256_set1_epi8(3);
    float         sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        /* two int16 accumulators (independent chains): |lane| <= 4 * 2 * 3 * 128 = 3072 each */
        __m256i acc0 = _mm256_setzero_si256();
        __m256i acc1 = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            /* byte m of half h: elements 128h + 32k + m in bits 2k..2k+1 */
            const __m256i  b  = _mm256_loadu_si256((const __m256i *) (x[i].qs + 32 * h));
            const int8_t * q  = y[i].qs + 128 * h;
            const __m256i  c0 = _mm256_and_si256(b, m3);
            const __m256i  c1 = _mm256_and_si256(_mm256_srli_epi16(b, 2), m3);
            const __m256i  c2 = _mm256_and_si256(_mm256_srli_epi16(b, 4), m3);
            const __m256i  c3 = _mm256_and_si256(_mm256_srli_epi16(b, 6), m3);
            acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *) q)));
            acc1 = _mm256_add_epi16(acc1, _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *) (q + 32))));
            acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *) (q + 64))));
            acc1 = _mm256_add_epi16(acc1, _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *) (q + 96))));
        }
        const __m256i acc = _mm256_add_epi16(acc0, acc1);  /* <= 6144: still no overflow */
        /* sum (c - 1) q = sum c q - sum q */
        const __m256i sum_cq = _mm256_madd_epi16(acc, _mm256_set1_epi16(1));
        const int32_t sumi   = hsum_i32(_mm256_sub_epi32(sum_cq, q8_K_sum(&y[i])));
        sumf += (float) sumi * (_cvtsh_ss(x[i].d) * y[i].d);
    }
    *s = sumf;
}

/* One TQ2_0 block against one Q8_K block: 8 int32 lanes whose total is the exact block sum of
 * (c - 1) q (two int16 accumulators, |lane| <= 6144, then pairs widened, minus the bsums). */
static inline __attribute__((always_inline)) __m256i tq2_0_block8(const block_tq2_0 * xb, const block_q8_K * yb,
                                                                  __m256i m3, __m256i ones) {
    __m256i acc0 = _mm256_setzero_si256();
    __m256i acc1 = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        const __m256i  b = _mm256_loadu_si256((const __m256i *) (xb->qs + 32 * h));
        const int8_t * q = yb->qs + 128 * h;
        acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(_mm256_and_si256(b, m3), _mm256_loadu_si256((const __m256i *) q)));
        acc1 = _mm256_add_epi16(acc1, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(b, 2), m3),
                                                           _mm256_loadu_si256((const __m256i *) (q + 32))));
        acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(b, 4), m3),
                                                           _mm256_loadu_si256((const __m256i *) (q + 64))));
        acc1 = _mm256_add_epi16(acc1, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(b, 6), m3),
                                                           _mm256_loadu_si256((const __m256i *) (q + 96))));
    }
    return _mm256_sub_epi32(_mm256_madd_epi16(_mm256_add_epi16(acc0, acc1), ones), q8_K_sum(yb));
}

/* One TQ2_0 row x one Q8_K row (decode), _ref's floats: the exact block sums are reduced four
 * blocks at a time (three vphaddd and one add give the four totals: about 1.5 instructions per
 * block instead of 7 for a horizontal sum each), converted and scaled by d_x d_y as four lanes
 * (the same IEEE operations as _ref's scalar ones), then added to sumf one by one in block order.
 * Callgrind, 2B-4T decode on the AVX2 path: the per-block horizontal sum had cost +13% of the
 * ternary kernel's instructions against v1's f32 lanes. */
static inline __attribute__((always_inline)) void tq2_0_one(int64_t n, float * restrict s,
                                                            const block_tq2_0 * restrict x,
                                                            const block_q8_K * restrict y) {
    const __m256i m3   = _mm256_set1_epi8(3);
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb   = n / QK_K;
    float         sumf = 0.0f;
    int64_t       i    = 0;
    for (; i + 4 <= nb; i += 4) {
        prefetch_ahead(x + i, 2);
        const __m256i v0 = tq2_0_block8(&x[i], &y[i], m3, ones);
        prefetch_ahead(x + i + 1, 2);
        const __m256i v1 = tq2_0_block8(&x[i + 1], &y[i + 1], m3, ones);
        prefetch_ahead(x + i + 2, 2);
        const __m256i v2 = tq2_0_block8(&x[i + 2], &y[i + 2], m3, ones);
        prefetch_ahead(x + i + 3, 2);
        const __m256i v3 = tq2_0_block8(&x[i + 3], &y[i + 3], m3, ones);
        /* low half: lanes 0-3 of v0..v3 summed per block, high half: lanes 4-7 */
        const __m256i h  = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
        const __m128i t  = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        const __m128  d  = _mm_setr_ps(_cvtsh_ss(x[i].d) * y[i].d, _cvtsh_ss(x[i + 1].d) * y[i + 1].d,
                                       _cvtsh_ss(x[i + 2].d) * y[i + 2].d, _cvtsh_ss(x[i + 3].d) * y[i + 3].d);
        float p[4];
        _mm_storeu_ps(p, _mm_mul_ps(_mm_cvtepi32_ps(t), d));
        sumf = sumf + p[0];
        sumf = sumf + p[1];
        sumf = sumf + p[2];
        sumf = sumf + p[3];
    }
    for (; i < nb; i++) {
        prefetch_ahead(x + i, 2);
        sumf = sumf + (float) hsum_i32(tq2_0_block8(&x[i], &y[i], m3, ones)) * (_cvtsh_ss(x[i].d) * y[i].d);
    }
    *s = sumf;
}

/* Several Q8_K rows against one TQ2_0 row (what matmul uses, also for one row): the 8 code
 * vectors of a block are unpacked once and used for every row. The integer block sums are exact
 * and accumulated in f32 in block order, as _ref: bit-identical to _ref (contract v2). (Until
 * contract v2 they went into 8 f32 lanes with one FMA per block, as llama.cpp's kernel does, which
 * saved the horizontal sum per block but gave other floats than _ref.) NY is a compile-time
 * constant at each call below. */
static inline __attribute__((always_inline)) void tq2_0_multi(int64_t n, float * restrict s,
                                                              const block_tq2_0 * restrict x,
                                                              const block_q8_K * restrict y, int64_t y_stride,
                                                              const int NY) {
    if (NY == 1) {
        tq2_0_one(n, s, x, y);
        return;
    }
    const __m256i m3   = _mm256_set1_epi8(3);
    const __m256i ones = _mm256_set1_epi16(1);
    float         sumf[ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        sumf[j] = 0.0f;
    }
    for (int64_t i = 0; i < n / QK_K; i++) {
        prefetch_ahead(x + i, 2); /* a block spans at most two lines */
        __m256i c[8];
        for (int h = 0; h < 2; h++) {
            const __m256i b = _mm256_loadu_si256((const __m256i *) (x[i].qs + 32 * h));
            c[4 * h + 0]    = _mm256_and_si256(b, m3);
            c[4 * h + 1]    = _mm256_and_si256(_mm256_srli_epi16(b, 2), m3);
            c[4 * h + 2]    = _mm256_and_si256(_mm256_srli_epi16(b, 4), m3);
            c[4 * h + 3]    = _mm256_and_si256(_mm256_srli_epi16(b, 6), m3);
        }
        const float dx = _cvtsh_ss(x[i].d);
        for (int j = 0; j < NY; j++) {
            const block_q8_K * yj   = (const block_q8_K *) ((const char *) y + j * y_stride) + i;
            __m256i            acc0 = _mm256_setzero_si256();
            __m256i            acc1 = _mm256_setzero_si256();
            for (int h = 0; h < 2; h++) {
                const int8_t * q = yj->qs + 128 * h;
                acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(c[4 * h + 0], _mm256_loadu_si256((const __m256i *) q)));
                acc1 = _mm256_add_epi16(acc1,
                                        _mm256_maddubs_epi16(c[4 * h + 1], _mm256_loadu_si256((const __m256i *) (q + 32))));
                acc0 = _mm256_add_epi16(acc0,
                                        _mm256_maddubs_epi16(c[4 * h + 2], _mm256_loadu_si256((const __m256i *) (q + 64))));
                acc1 = _mm256_add_epi16(acc1,
                                        _mm256_maddubs_epi16(c[4 * h + 3], _mm256_loadu_si256((const __m256i *) (q + 96))));
            }
            /* the exact block sum of (c - 1) q, then _ref's block-order f32 step (contract v2) */
            const __m256i sum = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_add_epi16(acc0, acc1), ones), q8_K_sum(yj));
            sumf[j]           = sumf[j] + (float) hsum_i32(sum) * (dx * yj->d);
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j] = sumf[j];
    }
}

void aria_vec_dot_tq2_0_q8_K_multi_avx2(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                        const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: tq2_0_multi(n, s, x, y, y_stride, 1); break;
        case 2: tq2_0_multi(n, s, x, y, y_stride, 2); break;
        case 3: tq2_0_multi(n, s, x, y, y_stride, 3); break;
        default: tq2_0_multi(n, s, x, y, y_stride, 4); break;
    }
}

/* The 2-row kernels read two rows side by side: two short streams that start afresh at every
 * pair, which the hardware prefetchers follow worse than the 1-row kernels' single sequential
 * stream through the matrix (1-thread decode, weights from DRAM, was ~35% slower). So each block
 * step also prefetches the same bytes of the next pair's two rows (2 x_stride further; a
 * prefetch past the matrix is harmless: it never faults). */
static inline __attribute__((always_inline)) void prefetch_next_pair(const char * x0, int64_t x_stride, int64_t off,
                                                                    int64_t bytes) {
    /* integer address arithmetic: a pointer past the end of the matrix would be undefined in C */
    const uintptr_t p = (uintptr_t) x0 + (uintptr_t) (2 * x_stride + off);
    for (int64_t b = 0; b < bytes; b += 64) {
        _mm_prefetch((const char *) (p + (uintptr_t) b), _MM_HINT_T0);
        _mm_prefetch((const char *) (p + (uintptr_t) (x_stride + b)), _MM_HINT_T0);
    }
}

/* Codes of elements 32k .. 32k + 31 of a TQ2_0 block (k = 0..7; k is a constant after inlining):
 * half k / 4, bits 2 (k % 4) .. 2 (k % 4) + 1 of each byte. */
static inline __attribute__((always_inline)) __m256i tq2_0_codes(const uint8_t * qs, const int k, __m256i m3) {
    const __m256i b = _mm256_loadu_si256((const __m256i *) (qs + 32 * (k / 4)));
    switch (k % 4) {
        case 0: return _mm256_and_si256(b, m3);
        case 1: return _mm256_and_si256(_mm256_srli_epi16(b, 2), m3);
        case 2: return _mm256_and_si256(_mm256_srli_epi16(b, 4), m3);
        default: return _mm256_and_si256(_mm256_srli_epi16(b, 6), m3);
    }
}

/* Two TQ2_0 rows x NY Q8_K rows, one block at a time, in chunk order: for each of the 8 code
 * chunks, each row's codes are unpacked once and each activation chunk is loaded once and used
 * for both rows (2 x NY int16 accumulators; 16 ymm registers hold 8 of them plus the operands).
 * Bit-identical to tq2_0_multi for each row: every int16 lane ends with the same exact sum (only
 * the order of exact integer adds differs: |lane| <= 8 * 2 * 3 * 128 = 6144, no overflow), and the
 * widening, the bsums subtraction, the exact block sum and _ref's block-order f32 step are the
 * same operations in the same order. */
static inline __attribute__((always_inline)) void tq2_0_2x(int64_t n, float * restrict s,
                                                           const block_tq2_0 * restrict x0, int64_t x_stride,
                                                           const block_q8_K * restrict y, int64_t y_stride,
                                                           const int NY) {
    const block_tq2_0 * x1 = (const block_tq2_0 *) ((const char *) x0 + x_stride);
    const __m256i      m3   = _mm256_set1_epi8(3);
    const __m256i      ones = _mm256_set1_epi16(1);
    const block_q8_K * yr[ARIA_MULTI_MAX];
    float              sumf[2][ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        yr[j]      = (const block_q8_K *) ((const char *) y + j * y_stride);
        sumf[0][j] = 0.0f;
        sumf[1][j] = 0.0f;
    }
    for (int64_t i = 0; i < n / QK_K; i++) {
        /* block i spans bytes [66 i, 66 i + 66): its (at most) two cache lines */
        prefetch_next_pair((const char *) x0, x_stride, (int64_t) sizeof(block_tq2_0) * i, (int64_t) sizeof(block_tq2_0));
        __m256i acc[2][ARIA_MULTI_MAX];
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const __m256i c0 = tq2_0_codes(x0[i].qs, k, m3);
            const __m256i c1 = tq2_0_codes(x1[i].qs, k, m3);
#pragma GCC unroll 4
            for (int j = 0; j < NY; j++) {
                const __m256i q  = _mm256_loadu_si256((const __m256i *) (yr[j][i].qs + 32 * k));
                const __m256i p0 = _mm256_maddubs_epi16(c0, q);
                const __m256i p1 = _mm256_maddubs_epi16(c1, q);
                acc[0][j]        = k == 0 ? p0 : _mm256_add_epi16(acc[0][j], p0);
                acc[1][j]        = k == 0 ? p1 : _mm256_add_epi16(acc[1][j], p1);
                /* keep each accumulator one register: without this gcc 12 reassociates the adds
                 * into trees and spills the partial products to the stack */
                __asm__("" : "+x"(acc[0][j]), "+x"(acc[1][j]));
            }
        }
        const float dx0 = _cvtsh_ss(x0[i].d);
        const float dx1 = _cvtsh_ss(x1[i].d);
#pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {
            const __m256i qsum = q8_K_sum(&yr[j][i]);
            const float   dy   = yr[j][i].d;
            const __m256i sum0 = _mm256_sub_epi32(_mm256_madd_epi16(acc[0][j], ones), qsum);
            const __m256i sum1 = _mm256_sub_epi32(_mm256_madd_epi16(acc[1][j], ones), qsum);
            int32_t       b0, b1;
            hsum2_i32(sum0, sum1, &b0, &b1);
            sumf[0][j] = sumf[0][j] + (float) b0 * (dx0 * dy);
            sumf[1][j] = sumf[1][j] + (float) b1 * (dx1 * dy);
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j]                  = sumf[0][j];
        s[ARIA_MULTI_MAX + j] = sumf[1][j];
    }
}

void aria_vec_dot_tq2_0_q8_K_2x_avx2(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                     int64_t x_stride, const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: tq2_0_2x(n, s, x, x_stride, y, y_stride, 1); break;
        case 2: tq2_0_2x(n, s, x, x_stride, y, y_stride, 2); break;
        case 3: tq2_0_2x(n, s, x, x_stride, y, y_stride, 3); break;
        default: tq2_0_2x(n, s, x, x_stride, y, y_stride, 4); break;
    }
}

/* ---- TQ1_0 x Q8_K ------------------------------------------------------------------------- */

/* Bytewise q * 3 mod 256. */
static inline __m256i mul3_u8(__m256i q) {
    return _mm256_add_epi8(_mm256_add_epi8(q, q), q);
}

static inline __m128i mul3_u8_128(__m128i q) {
    return _mm_add_epi8(_mm_add_epi8(q, q), q);
}

/* Top trit of each fixed-point byte q: (q * 3) >> 8 = (q >= 86) + (q >= 171), as 0, 1, 2. */
static inline __m256i top_trit(__m256i q) {
    const __m256i one = _mm256_set1_epi8(1);
    const __m256i ge1 = _mm256_min_epu8(_mm256_subs_epu8(q, _mm256_set1_epi8(85)), one);
    const __m256i ge2 = _mm256_min_epu8(_mm256_subs_epu8(q, _mm256_set1_epi8((char) 170)), one);
    return _mm256_add_epi8(ge1, ge2);
}

/* Bytes of the last 32 elements' source, pre-multiplied: elements 224..239 are trit 4 of
 * qs[32..47] (x 81), elements 240 + 4n + j are trit n of qh[j] (x 3^n). */
static inline __m256i tq1_0_tail(__m128i x81, const uint8_t * qh) {
    uint32_t h4;
    memcpy(&h4, qh, sizeof h4);
    const __m128i h0 = _mm_set1_epi32((int32_t) h4);  /* every dword = qh[0..3] */
    const __m128i h1 = mul3_u8_128(h0);
    const __m128i h2 = mul3_u8_128(h1);
    const __m128i h3 = mul3_u8_128(h2);
    __m128i       hv = _mm_blend_epi32(h0, h1, 0x2);   /* dword n = qh * 3^n */
    hv               = _mm_blend_epi32(hv, h2, 0x4);
    hv               = _mm_blend_epi32(hv, h3, 0x8);
    return _mm256_set_m128i(hv, x81);
}

void aria_vec_dot_tq1_0_q8_K_avx2(int64_t n, float * restrict s, const block_tq1_0 * restrict x,
                                  const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t * q   = y[i].qs;
        __m256i        acc = _mm256_setzero_si256();  /* int16: |lane| <= 8 * 2 * 2 * 128 */
        /* qs[0..31]: trit n of byte m is element 32n + m (elements 0..159) */
        __m256i p = _mm256_loadu_si256((const __m256i *) x[i].qs);
#pragma GCC unroll 5
        for (int t = 0; t < 5; t++) {
            const __m256i qv = _mm256_loadu_si256((const __m256i *) (q + 32 * t));
            acc              = _mm256_add_epi16(acc, _mm256_maddubs_epi16(top_trit(p), qv));
            p                = mul3_u8(p);
        }
        /* qs[32..47]: trit n of byte m is element 160 + 16n + m; two trits per 32-byte vector */
        const __m128i x1 = _mm_loadu_si128((const __m128i *) (x[i].qs + 32));
        p                = _mm256_set_m128i(mul3_u8_128(x1), x1);            /* x1 * (1 | 3) */
        acc = _mm256_add_epi16(acc, _mm256_maddubs_epi16(top_trit(p),
                                                         _mm256_loadu_si256((const __m256i *) (q + 160))));
        p   = mul3_u8(mul3_u8(p));                                           /* x1 * (9 | 27) */
        acc = _mm256_add_epi16(acc, _mm256_maddubs_epi16(top_trit(p),
                                                         _mm256_loadu_si256((const __m256i *) (q + 192))));
        p   = mul3_u8(mul3_u8(p));                                           /* x1 * (81 | 243) */
        p   = tq1_0_tail(_mm256_castsi256_si128(p), x[i].qh);
        acc = _mm256_add_epi16(acc, _mm256_maddubs_epi16(top_trit(p),
                                                         _mm256_loadu_si256((const __m256i *) (q + 224))));

        const __m256i sum_cq = _mm256_madd_epi16(acc, _mm256_set1_epi16(1));
        const int32_t sumi   = hsum_i32(_mm256_sub_epi32(sum_cq, q8_K_sum(&y[i])));
        sumf += (float) sumi * (_cvtsh_ss(x[i].d) * y[i].d);
    }
    *s = sumf;
}

/* ---- I2_S x int8 -------------------------------------------------------------------------- */

void aria_vec_dot_i2_s_i8_avx2(int64_t n, int32_t * restrict s, const uint8_t * restrict x,
                               const int8_t * restrict y) {
    assert(n % QK_I2S == 0);
    const __m256i m3    = _mm256_set1_epi8(3);
    const int64_t nb    = n / QK_I2S;
    __m256i       acc32 = _mm256_setzero_si256();
    for (int64_t i = 0; i < nb;) {
        /* Two int16 accumulators, each gaining at most 2 * 2 * 3 * 128 = 1536 per block (codes
         * <= 3, |q| <= 128): widen to int32 every 16 blocks (<= 24576 < 32767), whatever the data. */
        const int64_t end  = nb - i > 16 ? i + 16 : nb;
        __m256i       acc0 = _mm256_setzero_si256();
        __m256i       acc1 = _mm256_setzero_si256();
        for (; i < end; i++) {
            /* byte b: element b in bits 7-6, b + 32 in 5-4, b + 64 in 3-2, b + 96 in 1-0 */
            const __m256i  b  = _mm256_loadu_si256((const __m256i *) (x + 32 * i));
            const int8_t * q  = y + QK_I2S * i;
            const __m256i  c0 = _mm256_and_si256(_mm256_srli_epi16(b, 6), m3);
            const __m256i  c1 = _mm256_and_si256(_mm256_srli_epi16(b, 4), m3);
            const __m256i  c2 = _mm256_and_si256(_mm256_srli_epi16(b, 2), m3);
            const __m256i  c3 = _mm256_and_si256(b, m3);
            acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *) q)));
            acc1 = _mm256_add_epi16(acc1, _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *) (q + 32))));
            acc0 = _mm256_add_epi16(acc0, _mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *) (q + 64))));
            acc1 = _mm256_add_epi16(acc1, _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *) (q + 96))));
        }
        const __m256i ones = _mm256_set1_epi16(1);
        acc32 = _mm256_add_epi32(acc32, _mm256_madd_epi16(acc0, ones));
        acc32 = _mm256_add_epi32(acc32, _mm256_madd_epi16(acc1, ones));
    }
    *s = hsum_i32(acc32);
}

/* The codes of one TQ1_0 block, c[k] = elements 32k .. 32k + 31 (0, 1, 2), as tq1_0_multi decodes them. */
static inline __attribute__((always_inline)) void tq1_0_codes(const block_tq1_0 * x, __m256i c[8]) {
    __m256i p = _mm256_loadu_si256((const __m256i *) x->qs);
    for (int t = 0; t < 5; t++) {
        c[t] = top_trit(p);
        p    = mul3_u8(p);
    }
    const __m128i x1 = _mm_loadu_si128((const __m128i *) (x->qs + 32));
    p                = _mm256_set_m128i(mul3_u8_128(x1), x1);
    c[5]             = top_trit(p);
    p                = mul3_u8(mul3_u8(p));
    c[6]             = top_trit(p);
    p                = mul3_u8(mul3_u8(p));
    c[7]             = top_trit(tq1_0_tail(_mm256_castsi256_si128(p), x->qh));
}

/* TQ1_0 -> TQ2_0: byte m of half h = c[4h][m] | c[4h+1][m] << 2 | c[4h+2][m] << 4 | c[4h+3][m] << 6
 * (codes <= 2, so the 16-bit shifts never carry into the next byte). Same bytes as the ref. */
void aria_repack_tq1_0_tq2_0_avx2(const block_tq1_0 * restrict x, block_tq2_0 * restrict y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        __m256i c[8];
        tq1_0_codes(&x[i], c);
        for (int h = 0; h < 2; h++) {
            const __m256i b = _mm256_or_si256(
                _mm256_or_si256(c[4 * h], _mm256_slli_epi16(c[4 * h + 1], 2)),
                _mm256_or_si256(_mm256_slli_epi16(c[4 * h + 2], 4), _mm256_slli_epi16(c[4 * h + 3], 6)));
            _mm256_storeu_si256((__m256i *) (y[i].qs + 32 * h), b);
        }
        y[i].d = x[i].d;
    }
}

/* Several Q8_K rows against one TQ1_0 row: the base-3 decode of a block (8 vectors of 32 codes,
 * for elements 0..255 in order) is done once and used for every row; exact integer block sums,
 * block-order f32 accumulation as in tq2_0_multi (bit-identical to _ref). */
static inline __attribute__((always_inline)) void tq1_0_multi(int64_t n, float * restrict s,
                                                              const block_tq1_0 * restrict x,
                                                              const block_q8_K * restrict y, int64_t y_stride,
                                                              const int NY) {
    float sumf[ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        sumf[j] = 0.0f;
    }
    for (int64_t i = 0; i < n / QK_K; i++) {
        prefetch_ahead(x + i, 2); /* a block spans at most two lines */
        __m256i c[8];  /* c[k]: codes of elements 32k .. 32k + 31 */
        tq1_0_codes(&x[i], c);
        const float dx = _cvtsh_ss(x[i].d);
        for (int j = 0; j < NY; j++) {
            const block_q8_K * yj  = (const block_q8_K *) ((const char *) y + j * y_stride) + i;
            __m256i            acc = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                acc = _mm256_add_epi16(acc, _mm256_maddubs_epi16(c[k], _mm256_loadu_si256((const __m256i *) (yj->qs + 32 * k))));
            }
            const __m256i sum = _mm256_sub_epi32(_mm256_madd_epi16(acc, _mm256_set1_epi16(1)), q8_K_sum(yj));
            sumf[j]           = sumf[j] + (float) hsum_i32(sum) * (dx * yj->d);
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j] = sumf[j];
    }
}

void aria_vec_dot_tq1_0_q8_K_multi_avx2(int64_t n, float * restrict s, const block_tq1_0 * restrict x,
                                        const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: tq1_0_multi(n, s, x, y, y_stride, 1); break;
        case 2: tq1_0_multi(n, s, x, y, y_stride, 2); break;
        case 3: tq1_0_multi(n, s, x, y, y_stride, 3); break;
        default: tq1_0_multi(n, s, x, y, y_stride, 4); break;
    }
}

/* Several int8 rows against one I2_S row: codes unpacked once per block; int32 sums are exact,
 * so the result equals the single-row kernel's. */
static inline __attribute__((always_inline)) void i2_s_multi(int64_t n, int32_t * restrict s,
                                                             const uint8_t * restrict x, const int8_t * restrict y,
                                                             int64_t y_stride, const int NY) {
    const __m256i m3   = _mm256_set1_epi8(3);
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb   = n / QK_I2S;
    __m256i       acc32[ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        acc32[j] = _mm256_setzero_si256();
    }
    for (int64_t i = 0; i < nb; i++) {
        prefetch_ahead(x + 32 * i, 1); /* one 64-byte line per two 32-byte blocks */
        const __m256i b  = _mm256_loadu_si256((const __m256i *) (x + 32 * i));
        const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(b, 6), m3);
        const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(b, 4), m3);
        const __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(b, 2), m3);
        const __m256i c3 = _mm256_and_si256(b, m3);
        for (int j = 0; j < NY; j++) {
            const int8_t * q = y + j * y_stride + QK_I2S * i;
            /* 4 maddubs lanes of |c q + c q| <= 2 * 3 * 128 = 768 each: <= 3072, no int16 overflow;
             * widened to int32 once per block */
            __m256i a = _mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *) q));
            a = _mm256_add_epi16(a, _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *) (q + 32))));
            a = _mm256_add_epi16(a, _mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *) (q + 64))));
            a = _mm256_add_epi16(a, _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *) (q + 96))));
            acc32[j] = _mm256_add_epi32(acc32[j], _mm256_madd_epi16(a, ones));
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j] = hsum_i32(acc32[j]);
    }
}

void aria_vec_dot_i2_s_i8_multi_avx2(int64_t n, int32_t * restrict s, const uint8_t * restrict x,
                                     const int8_t * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_I2S == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: i2_s_multi(n, s, x, y, y_stride, 1); break;
        case 2: i2_s_multi(n, s, x, y, y_stride, 2); break;
        case 3: i2_s_multi(n, s, x, y, y_stride, 3); break;
        default: i2_s_multi(n, s, x, y, y_stride, 4); break;
    }
}

/* Codes of elements 32k .. 32k + 31 of an I2_S block (k = 0..3, a constant after inlining): bits
 * 7-6 first. */
static inline __attribute__((always_inline)) __m256i i2_s_codes(const uint8_t * x, const int k, __m256i m3) {
    const __m256i b = _mm256_loadu_si256((const __m256i *) x);
    switch (k) {
        case 0: return _mm256_and_si256(_mm256_srli_epi16(b, 6), m3);
        case 1: return _mm256_and_si256(_mm256_srli_epi16(b, 4), m3);
        case 2: return _mm256_and_si256(_mm256_srli_epi16(b, 2), m3);
        default: return _mm256_and_si256(b, m3);
    }
}

/* Blocks whose int16 sums one accumulator lane holds before it is widened: each block adds 4
 * maddubs lanes of |c q + c q| <= 2 * 3 * 128 = 768, so 8 blocks stay <= 24576 < 32767. */
#define I2S_BLOCKS_PER_WIDEN 8

/* Two I2_S rows x NY int8 rows: per 32-element chunk, each row's codes are unpacked once and each
 * activation chunk is loaded once for both rows (2 x NY int16 accumulators), widened to int32
 * every I2S_BLOCKS_PER_WIDEN blocks. Integer sums are exact, so every output equals i2_s_multi's. */
static inline __attribute__((always_inline)) void i2_s_2x(int64_t n, int32_t * restrict s,
                                                          const uint8_t * restrict x0, int64_t x_stride,
                                                          const int8_t * restrict y, int64_t y_stride, const int NY) {
    const uint8_t * x1 = x0 + x_stride;
    const __m256i m3   = _mm256_set1_epi8(3);
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t nb   = n / QK_I2S;
    __m256i       acc32[2][ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        acc32[0][j] = _mm256_setzero_si256();
        acc32[1][j] = _mm256_setzero_si256();
    }
    for (int64_t i0 = 0; i0 < nb; i0 += I2S_BLOCKS_PER_WIDEN) {
        const int64_t i1 = i0 + I2S_BLOCKS_PER_WIDEN < nb ? i0 + I2S_BLOCKS_PER_WIDEN : nb;
        __m256i       acc[2][ARIA_MULTI_MAX];
        for (int j = 0; j < NY; j++) {
            acc[0][j] = _mm256_setzero_si256();
            acc[1][j] = _mm256_setzero_si256();
        }
        for (int64_t i = i0; i < i1; i++) {
            /* the line holding block i (2 blocks per line: each line asked for twice, which is
             * cheaper than a test per block or a prefetch loop per group; callgrind) */
            prefetch_next_pair((const char *) x0, x_stride, 32 * i, 1);
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const __m256i c0 = i2_s_codes(x0 + 32 * i, k, m3);
                const __m256i c1 = i2_s_codes(x1 + 32 * i, k, m3);
#pragma GCC unroll 4
                for (int j = 0; j < NY; j++) {
                    const __m256i q = _mm256_loadu_si256((const __m256i *) (y + j * y_stride + QK_I2S * i + 32 * k));
                    acc[0][j]       = _mm256_add_epi16(acc[0][j], _mm256_maddubs_epi16(c0, q));
                    acc[1][j]       = _mm256_add_epi16(acc[1][j], _mm256_maddubs_epi16(c1, q));
                    __asm__("" : "+x"(acc[0][j]), "+x"(acc[1][j]));  /* see tq2_0_2x */
                }
            }
        }
        for (int j = 0; j < NY; j++) {
            acc32[0][j] = _mm256_add_epi32(acc32[0][j], _mm256_madd_epi16(acc[0][j], ones));
            acc32[1][j] = _mm256_add_epi32(acc32[1][j], _mm256_madd_epi16(acc[1][j], ones));
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j]                  = hsum_i32(acc32[0][j]);
        s[ARIA_MULTI_MAX + j] = hsum_i32(acc32[1][j]);
    }
}

void aria_vec_dot_i2_s_i8_2x_avx2(int64_t n, int32_t * restrict s, const uint8_t * restrict x, int64_t x_stride,
                                  const int8_t * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_I2S == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    switch (ny) {
        case 1: i2_s_2x(n, s, x, x_stride, y, y_stride, 1); break;
        case 2: i2_s_2x(n, s, x, x_stride, y, y_stride, 2); break;
        case 3: i2_s_2x(n, s, x, x_stride, y, y_stride, 3); break;
        default: i2_s_2x(n, s, x, x_stride, y, y_stride, 4); break;
    }
}

/* ---- rows: one activation row against a range of weight rows (decode) ---------------------- */

/* The multi-row kernels' NY = 1 code inlined in a loop over rows (so the same operations, and the
 * constants set up once per call instead of once per row). */
void aria_vec_dot_tq2_0_q8_K_rows_avx2(int64_t n, int64_t nr, float * restrict s, const block_tq2_0 * restrict x,
                                       int64_t x_stride, const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    for (int64_t r = 0; r < nr; r++) {
        tq2_0_multi(n, s + r, (const block_tq2_0 *) ((const char *) x + r * x_stride), y, 0, 1);
    }
}

void aria_vec_dot_tq1_0_q8_K_rows_avx2(int64_t n, int64_t nr, float * restrict s, const block_tq1_0 * restrict x,
                                       int64_t x_stride, const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    for (int64_t r = 0; r < nr; r++) {
        tq1_0_multi(n, s + r, (const block_tq1_0 *) ((const char *) x + r * x_stride), y, 0, 1);
    }
}

void aria_vec_dot_i2_s_i8_rows_avx2(int64_t n, int64_t nr, int32_t * restrict s, const uint8_t * restrict x,
                                    int64_t x_stride, const int8_t * restrict y) {
    assert(n % QK_I2S == 0);
    for (int64_t r = 0; r < nr; r++) {
        i2_s_multi(n, s + r, x + r * x_stride, y, 0, 1);
    }
}

/* ---- int8 head x Q8_K --------------------------------------------------------------------- */

/* One q8_W row x NY Q8_K rows (NY a compile-time constant at each call below). maddubs needs an
 * unsigned operand: |x| (per weight chunk, so shared by the NY rows) times y with x's sign moved
 * onto y (one vpsignb per row). Pair sums stay within int16: |x| <= 127 (quantize_row_q8_W) and
 * |y| <= 127 (quantize_row_q8_K never writes -128, the precondition in kernels.h; -128 with a
 * negative x would come out as -128 instead of 128), so |x0 y0 + x1 y1| <= 32258 < 32767. The 8
 * chunks of a block are summed exactly in 8 int32 lanes, reduced to the block's exact sum, and
 * accumulated in f32 in block order as _ref does (sumf + (float) sumi * (d_x d_y)): bit-identical
 * to _ref (contract v2). Every row goes through the same operations whatever NY is. (Until contract
 * v2 the block sums went into 8 f32 lanes with one FMA each, 82 M instead of 178 M instructions per
 * token on 2B-4T's head by callgrind, but different floats from _ref.) */
static inline __attribute__((always_inline)) void q8_W_multi(int64_t n, float * restrict s,
                                                             const block_q8_W * restrict x,
                                                             const block_q8_K * restrict y, int64_t y_stride,
                                                             const int NY) {
    const __m256i      ones = _mm256_set1_epi16(1);
    const block_q8_K * yr[ARIA_MULTI_MAX];
    float              sumf[ARIA_MULTI_MAX];
    for (int j = 0; j < NY; j++) {
        yr[j]   = (const block_q8_K *) ((const char *) y + j * y_stride);
        sumf[j] = 0.0f;
    }
    for (int64_t i = 0; i < n / QK_K; i++) {
        prefetch_ahead(x[i].qs, 4); /* the block's 260 bytes: the lines of qs + 0, 64, 128, 192 */
        __m256i acc[ARIA_MULTI_MAX];
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            const __m256i xv = _mm256_loadu_si256((const __m256i *) (x[i].qs + 32 * k));
            const __m256i ax = _mm256_abs_epi8(xv);
#pragma GCC unroll 4
            for (int j = 0; j < NY; j++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *) (yr[j][i].qs + 32 * k));
                const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(q, xv)), ones);
                acc[j]          = k == 0 ? p : _mm256_add_epi32(acc[j], p);
                __asm__("" : "+x"(acc[j]));  /* one register per row, as in tq2_0_2x (else spills) */
            }
        }
        const float dx = x[i].d;
#pragma GCC unroll 4
        for (int j = 0; j < NY; j++) {  /* _ref's block order: the exact block sum, then mul, add */
            sumf[j] = sumf[j] + (float) hsum_i32(acc[j]) * (dx * yr[j][i].d);
        }
    }
    for (int j = 0; j < NY; j++) {
        s[j] = sumf[j];
    }
}

void aria_vec_dot_q8_W_q8_K_avx2(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                 const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    q8_W_multi(n, s, x, y, 0, 1);
}

static __attribute__((noinline)) void vec_dot_q8_W_q8_K_multi_2_4(int64_t n, float * restrict s,
                                                                  const block_q8_W * restrict x,
                                                                  const block_q8_K * restrict y, int64_t y_stride,
                                                                  int ny) {
    switch (ny) {
        case 2: q8_W_multi(n, s, x, y, y_stride, 2); break;
        case 3: q8_W_multi(n, s, x, y, y_stride, 3); break;
        default: q8_W_multi(n, s, x, y, y_stride, 4); break;
    }
}

/* ny = 1 is the single-row function (the same code; a tail call, as for the f16 dot below) */
void aria_vec_dot_q8_W_q8_K_multi_avx2(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                       const block_q8_K * restrict y, int64_t y_stride, int ny) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_MULTI_MAX);
    if (ny == 1) {
        aria_vec_dot_q8_W_q8_K_avx2(n, s, x, y);
    } else {
        vec_dot_q8_W_q8_K_multi_2_4(n, s, x, y, y_stride, ny);
    }
}

/* ---- axpy --------------------------------------------------------------------------------- */

/* y += a x with a separate multiply and add (as _ref, so bit-identical), 8 lanes at a time. */
/* exp(x) for 8 floats: numerics.h aria_expf lane by lane, the same operations in the same order
 * (a separate multiply and add at every step, never an FMA), so bit-identical to it: x clamped to
 * [LO, HI] so that 2^k stays a normal float; below LO the result is 0, above INF it is +inf. */
static inline __m256 exp8(__m256 x) {
    const __m256 hi  = _mm256_set1_ps(ARIA_EXP_HI);
    const __m256 lo  = _mm256_set1_ps(ARIA_EXP_LO);
    const __m256 xc  = _mm256_max_ps(_mm256_min_ps(x, hi), lo);
    const __m256 k   = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(ARIA_EXP_LOG2E)),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256       r   = _mm256_sub_ps(xc, _mm256_mul_ps(k, _mm256_set1_ps(ARIA_EXP_C1)));
    r                = _mm256_sub_ps(r, _mm256_mul_ps(k, _mm256_set1_ps(ARIA_EXP_C2)));
#define MULADD(a, b, c) _mm256_add_ps(_mm256_mul_ps((a), (b)), (c))
    __m256       p   = _mm256_set1_ps(ARIA_EXP_P0);
    p                = MULADD(p, r, _mm256_set1_ps(ARIA_EXP_P1));
    p                = MULADD(p, r, _mm256_set1_ps(ARIA_EXP_P2));
    p                = MULADD(p, r, _mm256_set1_ps(ARIA_EXP_P3));
    p                = MULADD(p, r, _mm256_set1_ps(ARIA_EXP_P4));
    p                = MULADD(p, r, _mm256_set1_ps(ARIA_EXP_P5));
    p                = MULADD(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
#undef MULADD
    const __m256i e  = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    __m256       y   = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    y                = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    y                = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, _mm256_set1_ps(ARIA_EXP_INF), _CMP_GT_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  /* NaN stays NaN */
}

/* numerics.h aria_silu_mul: (g / (1 + exp(0 - g))) * u */
static inline __m256 silu_mul8(__m256 g, __m256 u) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

void aria_silu_mul_f32_avx2(int64_t n, float * restrict h, const float * restrict u) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(h + i, silu_mul8(_mm256_loadu_ps(h + i), _mm256_loadu_ps(u + i)));
    }
    if (i < n) {  /* the tail through the same vector code (padded with zeros) */
        float hb[8] = { 0 }, ub[8] = { 0 };
        memcpy(hb, h + i, sizeof(float) * (size_t) (n - i));
        memcpy(ub, u + i, sizeof(float) * (size_t) (n - i));
        _mm256_storeu_ps(hb, silu_mul8(_mm256_loadu_ps(hb), _mm256_loadu_ps(ub)));
        memcpy(h + i, hb, sizeof(float) * (size_t) (n - i));
    }
}

void aria_axpy_f32_avx2(int64_t n, float a, const float * restrict x, float * restrict y) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t      i  = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, _mm256_loadu_ps(x + i))));
    }
    for (; i < n; i++) {
        y[i] += a * x[i];
    }
}

/* y += a f32(x) for f16 x, multiply then add (F16C conversion is exact: bit-identical to _ref). */
void aria_axpy_f16_avx2(int64_t n, float a, const aria_f16 * restrict x, float * restrict y) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t      i  = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 xv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (x + i)));
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, xv)));
    }
    for (; i < n; i++) {
        y[i] += a * _cvtsh_ss(x[i]);
    }
}

/* ---- f16 / f32 dots ----------------------------------------------------------------------- */

/* The 32 partial sums of numerics.h in four registers (lanes 0-7, 8-15, 16-23, 24-31) to one
 * float in aria_dot_lanes_reduce's order: h = 16, 8 as (a0 + a2) + (a1 + a3), then 4, 2, 1. */
static inline float reduce_lanes32(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    return hsum_f32(_mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3)));
}

/* One f16 row x NY (1 or 2) f32 rows in contract v2's order (numerics.h): element i goes to partial
 * sum i % 32 as one FMA (as _ref's fmaf); register k of a row holds sums 8k .. 8k + 7. The last
 * n % 32 elements go through the same step from zero-padded copies (a padded product is +0, which
 * leaves a sum unchanged: no sum is ever -0). So each output is bit-identical to _ref, whatever
 * NY. Each x chunk is converted once for both rows. Two rows at most: 4 sums each plus the 4
 * converted vectors fill 12 of the 16 ymm registers. `prefetch` is 0 on a second pass over a row
 * that the first pass already brought in. */
static inline __attribute__((always_inline)) void f16_rows(int64_t n, float * restrict s, const aria_f16 * restrict x,
                                                           const float * restrict y0, const float * restrict y1,
                                                           const int NY, const int prefetch) {
    /* accumulators a[row][k] as named registers: gcc keeps an indexed array of them on the stack */
    __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps(), a02 = _mm256_setzero_ps(), a03 = _mm256_setzero_ps();
    __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps(), a12 = _mm256_setzero_ps(), a13 = _mm256_setzero_ps();
    const int64_t n32 = n - n % 32;
#define F16X8(off) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (xp + (off))))
#define MULADD(acc, a, b) acc = _mm256_fmadd_ps((a), (b), acc)
#define STEP32()                                                                \
    do {                                                                        \
        const __m256 x0 = F16X8(0), x1 = F16X8(8), x2 = F16X8(16), x3 = F16X8(24); \
        MULADD(a00, x0, _mm256_loadu_ps(yp0));                                  \
        MULADD(a01, x1, _mm256_loadu_ps(yp0 + 8));                              \
        MULADD(a02, x2, _mm256_loadu_ps(yp0 + 16));                             \
        MULADD(a03, x3, _mm256_loadu_ps(yp0 + 24));                             \
        if (NY == 2) {                                                          \
            MULADD(a10, x0, _mm256_loadu_ps(yp1));                              \
            MULADD(a11, x1, _mm256_loadu_ps(yp1 + 8));                          \
            MULADD(a12, x2, _mm256_loadu_ps(yp1 + 16));                         \
            MULADD(a13, x3, _mm256_loadu_ps(yp1 + 24));                         \
        }                                                                       \
    } while (0)
    for (int64_t i = 0; i < n32; i += 32) {
        const aria_f16 * xp  = x + i;
        const float *    yp0 = y0 + i;
        const float *    yp1 = y1 + i;
        if (prefetch) {
            prefetch_ahead(xp, 1);
        }
        STEP32();
    }
    if (n32 < n) {  /* the tail, zero-padded to 32 */
        aria_f16     xt[32] = { 0 };
        float        yt0[32] = { 0 }, yt1[32] = { 0 };
        const size_t left = (size_t) (n - n32);
        memcpy(xt, x + n32, left * sizeof *xt);
        memcpy(yt0, y0 + n32, left * sizeof *yt0);
        memcpy(yt1, y1 + n32, left * sizeof *yt1);
        const aria_f16 * xp  = xt;
        const float *    yp0 = yt0;
        const float *    yp1 = yt1;
        STEP32();
    }
#undef STEP32
#undef MULADD
#undef F16X8
    s[0] = reduce_lanes32(a00, a01, a02, a03);
    if (NY == 2) {
        s[1] = reduce_lanes32(a10, a11, a12, a13);
    }
}

void aria_vec_dot_f16_f32_avx2(int64_t n, float * restrict s, const aria_f16 * restrict x,
                               const float * restrict y) {
    f16_rows(n, s, x, y, y, 1, 1);
}

/* Rows in pairs: the first pair streams the weight row from memory (with prefetches), a second
 * pair (ny 3, 4) reads it again from L1/L2. */
static __attribute__((noinline)) void vec_dot_f16_f32_multi_2_4(int64_t n, float * restrict s,
                                                                const aria_f16 * restrict x, const float * restrict y,
                                                                int64_t y_stride, int ny) {
#define ROW(j) ((const float *) ((const char *) y + (j) * y_stride))
    switch (ny) {
        case 2: f16_rows(n, s, x, ROW(0), ROW(1), 2, 1); break;
        case 3:
            f16_rows(n, s, x, ROW(0), ROW(1), 2, 1);
            f16_rows(n, s + 2, x, ROW(2), ROW(2), 1, 0);
            break;
        default:
            f16_rows(n, s, x, ROW(0), ROW(1), 2, 1);
            f16_rows(n, s + 2, x, ROW(2), ROW(3), 2, 0);
            break;
    }
#undef ROW
}

/* ny = 1 is the single-row function itself (tail calls: this function saves no registers, so a
 * decoded token's head pays nothing for the dispatch). */
void aria_vec_dot_f16_f32_multi_avx2(int64_t n, float * restrict s, const aria_f16 * restrict x,
                                     const float * restrict y, int64_t y_stride, int ny) {
    assert(ny >= 1 && ny <= ARIA_MULTI_MAX);
    if (ny == 1) {
        aria_vec_dot_f16_f32_avx2(n, s, x, y);
    } else {
        vec_dot_f16_f32_multi_2_4(n, s, x, y, y_stride, ny);
    }
}

/* f32 x f32 in contract v2's order (one FMA per element), as f16_rows (zero-padded tail). */
static inline __attribute__((always_inline)) void dot_f32(int64_t n, float * restrict s, const float * restrict x,
                                                          const float * restrict y) {
    __m256        a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256        a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    const int64_t n32 = n - n % 32;
#define STEP32(xp, yp)                                                                              \
    do {                                                                                            \
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp), _mm256_loadu_ps(yp), a0);                         \
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps((xp) + 8), _mm256_loadu_ps((yp) + 8), a1);             \
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps((xp) + 16), _mm256_loadu_ps((yp) + 16), a2);           \
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps((xp) + 24), _mm256_loadu_ps((yp) + 24), a3);           \
    } while (0)
    for (int64_t i = 0; i < n32; i += 32) {
        STEP32(x + i, y + i);
    }
    if (n32 < n) {  /* the tail, zero-padded to 32 */
        float xt[32] = { 0 }, yt[32] = { 0 };
        memcpy(xt, x + n32, (size_t) (n - n32) * sizeof *xt);
        memcpy(yt, y + n32, (size_t) (n - n32) * sizeof *yt);
        STEP32(xt, yt);
    }
#undef STEP32
    *s = reduce_lanes32(a0, a1, a2, a3);
}

void aria_vec_dot_f32_avx2(int64_t n, float * restrict s, const float * restrict x,
                           const float * restrict y) {
    dot_f32(n, s, x, y);
}

/* ---- attention rows (kernels.h attn_*): the single-row kernels above in one loop ------------- */

void aria_attn_dots_f32_avx2(int64_t n, int64_t np, float * restrict s, const float * restrict k, int64_t stride,
                             const float * restrict q) {
    for (int64_t j = 0; j < np; j++) {
        dot_f32(n, s + j, q, k + j * stride);
    }
}

void aria_attn_dots_f16_avx2(int64_t n, int64_t np, float * restrict s, const aria_f16 * restrict k, int64_t stride,
                             const float * restrict q) {
    for (int64_t j = 0; j < np; j++) {
        f16_rows(n, s + j, k + j * stride, q, q, 1, 1);
    }
}

/* y += p[j] v_j for j in order, 32 elements of y held in registers across all the rows (axpy_f32's
 * multiply then add per element, so the same floats as np calls of it) */
#define ATTN_AXPYS(LOAD8)                                                                          \
    int64_t i = 0;                                                                                 \
    for (; i + 32 <= n; i += 32) {                                                                 \
        __m256 y0 = _mm256_loadu_ps(y + i), y1 = _mm256_loadu_ps(y + i + 8);                       \
        __m256 y2 = _mm256_loadu_ps(y + i + 16), y3 = _mm256_loadu_ps(y + i + 24);                 \
        for (int64_t j = 0; j < np; j++) {                                                         \
            const __m256 a  = _mm256_set1_ps(p[j]);                                                \
            const int64_t o = j * stride + i;                                                      \
            y0 = _mm256_add_ps(y0, _mm256_mul_ps(a, LOAD8(o)));                                    \
            y1 = _mm256_add_ps(y1, _mm256_mul_ps(a, LOAD8(o + 8)));                                \
            y2 = _mm256_add_ps(y2, _mm256_mul_ps(a, LOAD8(o + 16)));                               \
            y3 = _mm256_add_ps(y3, _mm256_mul_ps(a, LOAD8(o + 24)));                               \
        }                                                                                          \
        _mm256_storeu_ps(y + i, y0), _mm256_storeu_ps(y + i + 8, y1);                              \
        _mm256_storeu_ps(y + i + 16, y2), _mm256_storeu_ps(y + i + 24, y3);                        \
    }                                                                                              \
    for (; i + 8 <= n; i += 8) {                                                                   \
        __m256 y0 = _mm256_loadu_ps(y + i);                                                        \
        for (int64_t j = 0; j < np; j++) {                                                         \
            y0 = _mm256_add_ps(y0, _mm256_mul_ps(_mm256_set1_ps(p[j]), LOAD8(j * stride + i)));    \
        }                                                                                          \
        _mm256_storeu_ps(y + i, y0);                                                               \
    }

void aria_attn_axpys_f32_avx2(int64_t n, int64_t np, const float * restrict p, const float * restrict v,
                              int64_t stride, float * restrict y) {
#define LOAD_F32(o) _mm256_loadu_ps(v + (o))
    ATTN_AXPYS(LOAD_F32)
#undef LOAD_F32
    for (; i < n; i++) {
        float acc = y[i];
        for (int64_t j = 0; j < np; j++) {
            acc += p[j] * v[j * stride + i];
        }
        y[i] = acc;
    }
}

void aria_attn_axpys_f16_avx2(int64_t n, int64_t np, const float * restrict p, const aria_f16 * restrict v,
                              int64_t stride, float * restrict y) {
#define LOAD_F16(o) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (v + (o))))
    ATTN_AXPYS(LOAD_F16)
#undef LOAD_F16
    for (; i < n; i++) {
        float acc = y[i];
        for (int64_t j = 0; j < np; j++) {
            acc += p[j] * _cvtsh_ss(v[j * stride + i]);
        }
        y[i] = acc;
    }
}
#undef ATTN_AXPYS

/* ---- quantizers ----------------------------------------------------------------------------- */

/* llama.cpp's nearest_int on 8 lanes: the low 23 bits of (v + 1.5*2^23), minus 2^22. */
static inline __m256i nearest_int8(__m256 v) {
    const __m256  magic = _mm256_set1_ps(12582912.0f);
    const __m256i bits  = _mm256_castps_si256(_mm256_add_ps(v, magic));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                            _mm256_set1_epi32(0x00400000));
}

static inline __m256 abs_ps(__m256 v) {
    return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
}

/* Four vectors of 8 int32, each already in 0..255 (or -128..127 reinterpreted), to 32 bytes in
 * element order (the packs interleave 128-bit lanes; the permute undoes it). */
static inline __m256i pack_u8(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
    const __m256i p = _mm256_packus_epi16(_mm256_packus_epi32(v0, v1), _mm256_packus_epi32(v2, v3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Index of the first element of the 256-block whose |x| equals amax (one exists). */
static int first_abs_equal(const float * xb, float amax) {
    const __m256 va = _mm256_set1_ps(amax);
    for (int j = 0; j < QK_K; j += 8) {
        const int mask = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(xb + j)), va, _CMP_EQ_OQ));
        if (mask != 0) {
            return j + __builtin_ctz((unsigned) mask);
        }
    }
    return 0;
}

void aria_quantize_row_q8_K_avx2(int64_t n, block_q8_K * restrict y, const float * restrict x) {
    assert(n % QK_K == 0);
    const __m256i lo8 = _mm256_set1_epi32(0xff);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float * xb   = x + QK_K * i;  /* (256) */
        __m256        vmax = _mm256_setzero_ps();
        for (int j = 0; j < QK_K; j += 8) {
            /* max_ps returns its second operand when either is NaN: NaN elements are skipped */
            vmax = _mm256_max_ps(abs_ps(_mm256_loadu_ps(xb + j)), vmax);
        }
        const float amax = hmax_f32(vmax);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float  max    = xb[first_abs_equal(xb, amax)];
        const float  iscale = -127.0f / max;
        const __m256 vs     = _mm256_set1_ps(iscale);
        const __m256i c127  = _mm256_set1_epi32(127);
        for (int j = 0; j < QK_K; j += 32) {
            __m256i v[4];
            for (int k = 0; k < 4; k++) {
                const __m256i r = nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(xb + j + 8 * k), vs));
                v[k]            = _mm256_and_si256(_mm256_min_epi32(r, c127), lo8);  /* low byte */
            }
            const __m256i q = pack_u8(v[0], v[1], v[2], v[3]);
            _mm256_storeu_si256((__m256i *) (y[i].qs + j), q);
            /* bsums of the two 16-byte groups: sad of (q + 128) per 8 bytes, minus 8 * 128 each */
            const __m256i sad = _mm256_sad_epu8(_mm256_xor_si256(q, _mm256_set1_epi8((char) 0x80)),
                                                _mm256_setzero_si256());
            const int64_t s0 = _mm256_extract_epi64(sad, 0) + _mm256_extract_epi64(sad, 1) - 2048;
            const int64_t s1 = _mm256_extract_epi64(sad, 2) + _mm256_extract_epi64(sad, 3) - 2048;
            y[i].bsums[j / 16]     = (int16_t) s0;
            y[i].bsums[j / 16 + 1] = (int16_t) s1;
        }
        y[i].d = 1.0f / iscale;
    }
}

float aria_quantize_row_i8_avx2(int64_t n, int8_t * restrict y, int32_t * restrict sum,
                                const float * restrict x) {
    assert(n % QK_I2S == 0);
    __m256 vmax = _mm256_set1_ps(1e-5f);  /* the floor of _ref */
    for (int64_t i = 0; i < n; i += 8) {
        vmax = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + i)), vmax);  /* NaN skipped, as in _ref */
    }
    const float   s    = 127.0f / hmax_f32(vmax);
    const __m256  vs   = _mm256_set1_ps(s);
    const __m256i lo   = _mm256_set1_epi32(-128);
    const __m256i hi   = _mm256_set1_epi32(127);
    __m256i       vsum = _mm256_setzero_si256();
    for (int64_t i = 0; i < n; i += 32) {
        __m256i v[4];
        for (int k = 0; k < 4; k++) {
            const __m256i r = nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), vs));
            v[k]            = _mm256_max_epi32(_mm256_min_epi32(r, hi), lo);
            vsum            = _mm256_add_epi32(vsum, v[k]);
        }
        /* signed saturating packs: values are already in -128..127, so they are exact */
        const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
        _mm256_storeu_si256((__m256i *) (y + i),
                            _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
    *sum = hsum_i32(vsum);
    return s;
}

/* ---- the int4 head in the x16 layout (kernels.h: Q4_W) ---------------------------------------
 * A 64-byte chunk is 8 weights of 16 rows: rows 0-7 in its first 32 bytes, 8-15 in the second,
 * each row's 4 bytes holding 4 weights in the low nibbles and the next 4 in the high ones. vpmaddubsw
 * multiplies the nibbles (0..15, unsigned) by 4 activation bytes broadcast to every row and adds
 * pairs into int16: at most 2 * 15 * 128 = 3840 in magnitude, and the 8 such sums of a 32-value
 * block stay within 30720, so int16 holds them exactly; vpmaddwd with ones then adds each row's
 * two int16 into its int32 lane. 8 x the block's activation sum is taken off (the nibbles are
 * q + 8), and the f32 steps are aria_vec_dot_q4_W_q8_K_ref's lane by lane (multiply, then add):
 * bit-identical to it. */
static inline __attribute__((always_inline)) void q4_W_x16_group_avx2(int64_t nb, const uint8_t * restrict xg,
                                                                     const block_q8_K * const * yj,
                                                                     const int32_t * restrict tot32,
                                                                     float * restrict s, int64_t s_stride,
                                                                     const int NY) {
    const __m256i m15  = _mm256_set1_epi8(15);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256        accf[ARIA_X16_MAX_NY][2];
    for (int j = 0; j < NY; j++) {
        accf[j][0] = _mm256_setzero_ps();
        accf[j][1] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb * (QK_K / QK4_W); b++) {
        const uint8_t * wb = xg + (b / 2) * 576 + (b % 2) * 256;
        __m256i         acc[ARIA_X16_MAX_NY][2];
        for (int j = 0; j < NY; j++) {
            acc[j][0] = _mm256_setzero_si256();
            acc[j][1] = _mm256_setzero_si256();
        }
        prefetch_ahead(wb, 4);
        for (int c = 0; c < 4; c++) {
            const __m256i w0 = _mm256_loadu_si256((const __m256i *) (wb + 64 * c));
            const __m256i w1 = _mm256_loadu_si256((const __m256i *) (wb + 64 * c + 32));
            const __m256i l0 = _mm256_and_si256(w0, m15), h0 = _mm256_and_si256(_mm256_srli_epi16(w0, 4), m15);
            const __m256i l1 = _mm256_and_si256(w1, m15), h1 = _mm256_and_si256(_mm256_srli_epi16(w1, 4), m15);
            for (int j = 0; j < NY; j++) {
                const int8_t * q = yj[j][b / 8].qs + 32 * (b % 8) + 8 * c;
                int32_t        qa, qb;
                memcpy(&qa, q, 4);
                memcpy(&qb, q + 4, 4);
                const __m256i ya = _mm256_set1_epi32(qa), yb = _mm256_set1_epi32(qb);
                acc[j][0] = _mm256_add_epi16(acc[j][0], _mm256_add_epi16(_mm256_maddubs_epi16(l0, ya), _mm256_maddubs_epi16(h0, yb)));
                acc[j][1] = _mm256_add_epi16(acc[j][1], _mm256_add_epi16(_mm256_maddubs_epi16(l1, ya), _mm256_maddubs_epi16(h1, yb)));
            }
        }
        const __m128i sc  = _mm_loadu_si128((const __m128i *) (xg + (b / 2) * 576 + 512 + (b % 2) * 32));
        const __m128i sc1 = _mm_loadu_si128((const __m128i *) (xg + (b / 2) * 576 + 512 + (b % 2) * 32 + 16));
        const __m256  dx0 = _mm256_cvtph_ps(sc), dx1 = _mm256_cvtph_ps(sc1);
        for (int j = 0; j < NY; j++) {
            const __m256i off = _mm256_set1_epi32(8 * tot32[j * nb * 8 + b]);
            const __m256  dy  = _mm256_set1_ps(yj[j][b / 8].d);
            const __m256i s0  = _mm256_sub_epi32(_mm256_madd_epi16(acc[j][0], ones), off);
            const __m256i s1  = _mm256_sub_epi32(_mm256_madd_epi16(acc[j][1], ones), off);
            accf[j][0] = _mm256_add_ps(accf[j][0], _mm256_mul_ps(_mm256_cvtepi32_ps(s0), _mm256_mul_ps(dx0, dy)));
            accf[j][1] = _mm256_add_ps(accf[j][1], _mm256_mul_ps(_mm256_cvtepi32_ps(s1), _mm256_mul_ps(dx1, dy)));
        }
    }
    for (int j = 0; j < NY; j++) {
        _mm256_storeu_ps(s + j * s_stride, accf[j][0]);
        _mm256_storeu_ps(s + j * s_stride + 8, accf[j][1]);
    }
}

/* One function per token count (the loops over j unrolled with constant bounds). */
#define Q4_W_X16_AVX2(NY)                                                                                        \
    static void q4_W_x16_avx2_ny##NY(int64_t nb, int64_t ng, const uint8_t * x, int64_t x_stride,                \
                                     const block_q8_K * const * yj, const int32_t * tot32, float * s,           \
                                     int64_t s_stride) {                                                        \
        for (int64_t g = 0; g < ng; g++) {                                                                      \
            q4_W_x16_group_avx2(nb, x + g * x_stride, yj, tot32, s + 16 * g, s_stride, NY);                      \
        }                                                                                                       \
    }
Q4_W_X16_AVX2(1)
Q4_W_X16_AVX2(2)
Q4_W_X16_AVX2(3)
Q4_W_X16_AVX2(4)
Q4_W_X16_AVX2(5)
Q4_W_X16_AVX2(6)
Q4_W_X16_AVX2(7)
Q4_W_X16_AVX2(8)

static void gemm_q4_W_x16_avx2(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                               int64_t y_stride, int ny, float * s, int64_t s_stride) {
    static void (*const fns[ARIA_X16_MAX_NY])(int64_t, int64_t, const uint8_t *, int64_t, const block_q8_K * const *,
                                              const int32_t *, float *, int64_t) = {
        q4_W_x16_avx2_ny1, q4_W_x16_avx2_ny2, q4_W_x16_avx2_ny3, q4_W_x16_avx2_ny4,
        q4_W_x16_avx2_ny5, q4_W_x16_avx2_ny6, q4_W_x16_avx2_ny7, q4_W_x16_avx2_ny8,
    };
    assert(n % QK_K == 0 && n <= ARIA_X16_MAX_N && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    const block_q8_K * yj[ARIA_X16_MAX_NY];
    int32_t            tot32[ARIA_X16_MAX_NY * (ARIA_X16_MAX_N / QK4_W)];
    aria_x16_q4_W_act(n, y, y_stride, ny, yj, tot32);
    fns[ny - 1](n / QK_K, ng, x, x_stride, yj, tot32, s, s_stride);
}

/* ---- x16 layout: TQ2_0, I2_S and the int8 head (kernels-x16-256.h: vpmaddubsw, vpmaddwd) ------- */

#define X16_256_VNNI   0
#define X16_256_SUFFIX avx2
#include "kernels-x16-256.h"

/* ---- x16 lookup tables: TQ2_0 and I2_S for 9..16 tokens (prefill, batched decode) ---------------- */
#include "kernels-lut-avx2.h"

/* For the AVX-VNNI table (kernels-avxvnni.c), which takes the int4 head from here. */
void aria_gemm_q4_W_x16_avx2(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                             int64_t y_stride, int ny, float * s, int64_t s_stride) {
    gemm_q4_W_x16_avx2(n, ng, x, x_stride, y, y_stride, ny, s, s_stride);
}

const aria_kernel_table aria_kernels_avx2 = {
    .name               = "avx2",
    .vec_dot_tq2_0_q8_K = aria_vec_dot_tq2_0_q8_K_avx2,
    .vec_dot_tq1_0_q8_K = aria_vec_dot_tq1_0_q8_K_avx2,
    .vec_dot_i2_s_i8    = aria_vec_dot_i2_s_i8_avx2,
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
    .vec_dot_f16_f32_multi    = aria_vec_dot_f16_f32_multi_avx2,
    .axpy_f32                 = aria_axpy_f32_avx2,
    .axpy_f16                 = aria_axpy_f16_avx2,
    .vec_dot_f16_f32    = aria_vec_dot_f16_f32_avx2,
    .vec_dot_f32        = aria_vec_dot_f32_avx2,
    .attn_dots_f32      = aria_attn_dots_f32_avx2,
    .attn_dots_f16      = aria_attn_dots_f16_avx2,
    .attn_axpys_f32     = aria_attn_axpys_f32_avx2,
    .attn_axpys_f16     = aria_attn_axpys_f16_avx2,
    .quantize_row_q8_K  = aria_quantize_row_q8_K_avx2,
    .quantize_row_i8    = aria_quantize_row_i8_avx2,
    .repack_tq1_0_tq2_0 = aria_repack_tq1_0_tq2_0_avx2,
    .x16_preferred            = 1,
    .x16_head                 = 0,  /* vpmaddubsw needs the head's bytes split in nibbles: rows are faster */
    .gemm_tq2_0_x16           = gemm_tq2_0_x16_avx2,
    .gemm_i2_s_x16            = gemm_i2_s_x16_avx2,
    .gemm_q8_W_x16            = gemm_q8_W_x16_avx2,
    .gemm_q4_W_x16            = gemm_q4_W_x16_avx2,  /* the int4 head is x16 on every table */
    .gemm_tq2_0_x16_lut       = gemm_tq2_0_x16_lut_avx2,
    .gemm_i2_s_x16_lut        = gemm_i2_s_x16_lut_avx2,
    .silu_mul_f32             = aria_silu_mul_f32_avx2,
};
