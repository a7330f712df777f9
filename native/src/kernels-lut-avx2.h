/*
 * kernels-lut-avx2.h — the lookup-table GEMM on x16 groups (kernels.h "x16 lookup tables") for
 * AVX2, included by kernels-avx2.c after kernels-x16-256.h (whose multiply-add kernels it falls
 * back to). Private to native/src.
 *
 * Why: the multiply-add kernel (vpmaddubsw) spends about 3 instructions (a broadcast, the multiply,
 * an add) per 32 weight x token products for every token. Here the 16 tokens are in the vector:
 * one table entry is 16 int16 sums (one ymm), the exact dot of 4 weights with each token, so one
 * `vpaddw ymm, ymm, [table + offset]` adds 64 products, and the offsets come from the weight bytes
 * 64 at a time (two vpshufb on nibbles, one per pair of codes). Tables cost about 180 instructions
 * per 4 elements and are shared by every row of a call, so the call should cover many rows
 * (matmul.c hands the LUT path chunks of ARIA_MATMUL_LUT_ROWS rows).
 *
 * Per 128 elements (8 chunks, 32 quads): the 16 tokens' activations are transposed to int16 lanes,
 * the 32 quads' 81-entry tables built (2.6 KB each, 83 KB in all), then for each group the 64 bytes
 * of every chunk become 64 table offsets (uint16, entry * 32), and each row is 32 lookups into two
 * int16 accumulators. Exactness: kernels.h bounds the 128-element sums within int16 (two partial
 * sums of 64 elements are at most 16384 in magnitude, the total at most 32768 and never +32768), then
 * they are widened to int32; TQ2_0 adds the two halves of a 256-block and takes the reference's f32
 * step lane by lane (sumf + (float) sumi * (d_x * d_y), a multiply then an add), I2_S adds the
 * int32 sums of the whole row. A group with any code 3 (no table entry; never written by a
 * quantizer) is computed again by the multiply-add kernel, which reads it as the reference does.
 */
#ifndef ARIA_KERNELS_LUT_AVX2_H
#define ARIA_KERNELS_LUT_AVX2_H

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

#define LUT_NT    ARIA_X16_LUT_NY  /* most tokens of a call: 32, two ymm of int16 per table entry */
#define LUT_QUADS 32               /* quads per 128 elements */
#define LUT_PASS  2                /* chunks per pass of the lookups over the rows (L1-sized tables) */
/* One quad's table: 81 entries of NT2 ymm (NT2 = 1 for up to 16 tokens, 2 for up to 32). */
#define LUT_QUAD_BYTES(NT2) (81 * 32 * (NT2))

#define LUT_INLINE static inline __attribute__((always_inline))

/* at[k][t0 + t] = q_{t0 + t}[k] for the 128 activations of a half-block and 16 tokens (token t's at
 * q[t0 + t]; t0 + t >= ny: 0). */
LUT_INLINE void lut_transpose(const int8_t * const * q, int ny, int t0, int16_t (*at)[LUT_NT]) {
    for (int c = 0; c < 8; c++) {  /* 16 elements x 16 tokens at a time: a byte transpose in registers */
        __m128i r[16];
        for (int t = 0; t < 16; t++) {
            r[t] = t0 + t < ny ? _mm_loadu_si128((const __m128i *) (q[t0 + t] + 16 * c)) : _mm_setzero_si128();
        }
        /* 4 rounds of interleaves: after them, u[k] holds element k of tokens 0..15 */
        __m128i a[16], b[16];
        for (int i = 0; i < 8; i++) {
            a[2 * i]     = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
            a[2 * i + 1] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
        }
        for (int i = 0; i < 4; i++) {
            for (int h = 0; h < 2; h++) {
                b[4 * i + 2 * h]     = _mm_unpacklo_epi16(a[4 * i + h], a[4 * i + 2 + h]);
                b[4 * i + 2 * h + 1] = _mm_unpackhi_epi16(a[4 * i + h], a[4 * i + 2 + h]);
            }
        }
        for (int i = 0; i < 2; i++) {
            for (int h = 0; h < 4; h++) {
                a[8 * i + 2 * h]     = _mm_unpacklo_epi32(b[8 * i + h], b[8 * i + 4 + h]);
                a[8 * i + 2 * h + 1] = _mm_unpackhi_epi32(b[8 * i + h], b[8 * i + 4 + h]);
            }
        }
        for (int h = 0; h < 8; h++) {
            b[2 * h]     = _mm_unpacklo_epi64(a[h], a[8 + h]);
            b[2 * h + 1] = _mm_unpackhi_epi64(a[h], a[8 + h]);
        }
        /* round by round: a[2i + h] holds in 16-bit unit e element 8h + e of tokens 2i, 2i + 1;
         * b[4i + 2h + l] in 32-bit unit e element 8h + 4l + e of tokens 4i..4i + 3; a[8i + m] in
         * 64-bit unit e element 2m + e of tokens 8i..8i + 7; so b[m] is element m of all 16 */
        for (int m = 0; m < 16; m++) {
            _mm256_storeu_si256((__m256i *) (at[16 * c + m] + t0), _mm256_cvtepi8_epi16(b[m]));
        }
    }
}

/* The 81 entries of quad qd (chunk qd / 4, byte qd % 4: elements 16 (qd / 4) + 4 s + qd % 4): entry
 * c0 + 3 c1 + 9 c2 + 27 c3 = sum_s (c_s - off) a_s, tokens 16h..16h + 15 in ymm h of the entry. */
LUT_INLINE void lut_build_quad(const int16_t (*at)[LUT_NT], int qd, const int off, __m256i * tab, const int NT2) {
    for (int h = 0; h < NT2; h++) {
        __m256i w[4][3];
        for (int s = 0; s < 4; s++) {
            const __m256i a = _mm256_loadu_si256((const __m256i *) (at[16 * (qd / 4) + 4 * s + qd % 4] + 16 * h));
            w[s][0]         = off ? _mm256_sub_epi16(_mm256_setzero_si256(), a) : _mm256_setzero_si256();
            w[s][1]         = off ? _mm256_setzero_si256() : a;
            w[s][2]         = off ? a : _mm256_add_epi16(a, a);
        }
        __m256i p01[9];
        _Pragma("GCC unroll 9")
        for (int i = 0; i < 9; i++) {
            p01[i] = _mm256_add_epi16(w[0][i % 3], w[1][i / 3]);
        }
        /* fully unrolled: 81 adds and stores, the pair sums in registers */
        _Pragma("GCC unroll 9")
        for (int i23 = 0; i23 < 9; i23++) {
            const __m256i p23 = _mm256_add_epi16(w[2][i23 % 3], w[3][i23 / 3]);
            _Pragma("GCC unroll 9")
            for (int i = 0; i < 9; i++) {
                _mm256_store_si256(tab + (i + 9 * i23) * NT2 + h, _mm256_add_epi16(p01[i], p23));
            }
        }
    }
}

/* The table offsets of NC chunks of one group (at xg): ix[64 c + 4 r + j] = 32 NT2 x
 * the entry of row r's byte j of chunk c. Returns nonzero if any byte holds a code 3. */
LUT_INLINE int lut_offsets(const uint8_t * restrict xg, uint16_t * restrict ix, const int NT2, const int NC) {
    /* nibble (two codes c_lo + 4 c_hi) -> c_lo + 3 c_hi, and 9 x that for the high nibble; a code 3
     * maps to 0 (a valid entry; the group is redone, below) */
    const __m256i map_lo = _mm256_setr_epi8(0, 1, 2, 0, 3, 4, 5, 3, 6, 7, 8, 6, 0, 1, 2, 0,  //
                                            0, 1, 2, 0, 3, 4, 5, 3, 6, 7, 8, 6, 0, 1, 2, 0);
    const __m256i map_hi = _mm256_setr_epi8(0, 9, 18, 0, 27, 36, 45, 27, 54, 63, 72, 54, 0, 9, 18, 0,  //
                                            0, 9, 18, 0, 27, 36, 45, 27, 54, 63, 72, 54, 0, 9, 18, 0);
    const __m256i m15 = _mm256_set1_epi8(15), m55 = _mm256_set1_epi8(0x55);
    __m256i       bad = _mm256_setzero_si256();
    for (int c = 0; c < 2 * NC; c++) {  /* NC chunks of two halves */
        const __m256i w   = _mm256_loadu_si256((const __m256i *) (xg + 32 * c));
        const __m256i lo  = _mm256_and_si256(w, m15);
        const __m256i hi  = _mm256_and_si256(_mm256_srli_epi16(w, 4), m15);
        const __m256i e   = _mm256_add_epi8(_mm256_shuffle_epi8(map_lo, lo), _mm256_shuffle_epi8(map_hi, hi));
        bad               = _mm256_or_si256(bad, _mm256_and_si256(_mm256_and_si256(w, _mm256_srli_epi16(w, 1)), m55));
        const __m256i e0  = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm256_castsi256_si128(e)), 4 + NT2);
        const __m256i e1  = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm256_extracti128_si256(e, 1)), 4 + NT2);
        _mm256_store_si256((__m256i *) (ix + 32 * c), e0);
        _mm256_store_si256((__m256i *) (ix + 32 * c + 16), e1);
    }
    return !_mm256_testz_si256(bad, bad);
}

/* One row's exact sums over NC chunks, tokens 16h..16h + 15 in acc[h]: 4 NC lookups (row r's offsets
 * at ix + 4 r), two accumulators per ymm for the adds' latency. */
LUT_INLINE void lut_row(const uint8_t * restrict tab, const uint16_t * restrict ix, __m256i * acc, const int NT2,
                        const int NC) {
    __m256i a[2][2] = { { _mm256_setzero_si256(), _mm256_setzero_si256() },
                        { _mm256_setzero_si256(), _mm256_setzero_si256() } };
    _Pragma("GCC unroll 8")
    for (int c = 0; c < NC; c++) {
        _Pragma("GCC unroll 4")
        for (int j = 0; j < 4; j++) {
            const uint8_t * e = tab + (4 * c + j) * LUT_QUAD_BYTES(NT2) + ix[64 * c + j];
            for (int h = 0; h < NT2; h++) {
                a[h][j & 1] = _mm256_add_epi16(a[h][j & 1], _mm256_load_si256((const __m256i *) (e + 32 * h)));
            }
        }
    }
    for (int h = 0; h < NT2; h++) {
        acc[h] = _mm256_add_epi16(a[h][0], a[h][1]);
    }
}

/* The multiply-add kernels, 8 tokens at a time, on ng groups from x (the same outputs, written from
 * column o of sf / si on): where the tables cannot serve (no memory for them, a group with a code 3). */
static void lut_fallback_avx2(const int off, int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,
                              const void * y, int64_t y_stride, int ny, float * sf, int32_t * si, int64_t s_stride,
                              int64_t o) {
    for (int t0 = 0; t0 < ny; t0 += ARIA_X16_MAX_NY) {
        const int nt = ny - t0 < ARIA_X16_MAX_NY ? ny - t0 : ARIA_X16_MAX_NY;
        if (off) {
            gemm_tq2_0_x16_avx2(n, ng, x, x_stride, (const block_q8_K *) ((const char *) y + t0 * y_stride), y_stride,
                                nt, sf + t0 * s_stride + o, s_stride);
        } else {
            gemm_i2_s_x16_avx2(n, ng, x, x_stride, (const int8_t *) y + t0 * y_stride, y_stride, nt,
                               si + t0 * s_stride + o, s_stride);
        }
    }
}

/* off = 1: TQ2_0 (Q8_K rows y, float outputs sf); off = 0: I2_S (int8 rows y, int32 outputs si).
 * NT2 ymm per table entry: up to 16 * NT2 tokens. */
LUT_INLINE void lut_gemm_avx2(const int off, int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,
                              const void * y, int64_t y_stride, int ny, float * sf, int32_t * si, int64_t s_stride,
                              const int NT2) {
    const int NL = 16 * NT2;  /* token lanes of a row's sums */
    assert(ny >= 1 && ny <= NL && n % (off ? QK_K : QK_I2S) == 0 && (!off || n <= ARIA_X16_MAX_N));
    /* one allocation: tables, transposed activations, offsets, per row NL int32, NL float and NL
     * int16 sums, per group a code-3 flag */
    const size_t tab_b = (size_t) LUT_QUADS * LUT_QUAD_BYTES(NT2), at_b = 128 * LUT_NT * 2, ix_b = 8 * 64 * 2;
    const size_t row_b = (size_t) ng * 16 * (size_t) NL * 4;
    /* malloc and align by hand: aligned_alloc is C11 but Windows' C runtime (mingw) has none */
    uint8_t *    raw   = malloc(tab_b + at_b + ix_b + 2 * row_b + row_b / 2 + (size_t) ng + 64);
    uint8_t *    buf   = raw ? (uint8_t *) (((uintptr_t) raw + 63) & ~(uintptr_t) 63) : NULL;
    if (!buf) {
        lut_fallback_avx2(off, n, ng, x, x_stride, y, y_stride, ny, sf, si, s_stride, 0);
        return;
    }
    uint8_t *  tab        = buf;
    int16_t (*at)[LUT_NT] = (int16_t (*)[LUT_NT]) (buf + tab_b);
    uint16_t * ix         = (uint16_t *) (buf + tab_b + at_b);
    int32_t *  isum       = (int32_t *) (buf + tab_b + at_b + ix_b);
    float *    fsum       = (float *) (buf + tab_b + at_b + ix_b + row_b);
    int16_t *  acc16      = (int16_t *) (buf + tab_b + at_b + ix_b + 2 * row_b);
    uint8_t *  bad        = buf + tab_b + at_b + ix_b + 2 * row_b + row_b / 2;
    memset(bad, 0, (size_t) ng);
    for (int64_t hb = 0; hb < n / 128; hb++) {
        const int8_t * q[LUT_NT];
        float          dyf[LUT_NT];
        for (int t = 0; t < NL; t++) {
            dyf[t] = 0.0f;
            q[t]   = NULL;
            if (t < ny && off) {
                const block_q8_K * b = (const block_q8_K *) ((const char *) y + t * y_stride) + hb / 2;
                q[t]                 = b->qs + 128 * (hb % 2);
                dyf[t]               = b->d;
            } else if (t < ny) {
                q[t] = (const int8_t *) y + t * y_stride + 128 * hb;
            }
        }
        for (int h = 0; h < NT2; h++) {
            lut_transpose(q, ny, 16 * h, at);
        }
        for (int qd = 0; qd < LUT_QUADS; qd++) {
            lut_build_quad((const int16_t (*)[LUT_NT]) at, qd, off, (__m256i *) (tab + qd * LUT_QUAD_BYTES(NT2)), NT2);
        }
        /* the lookups, LUT_PASS chunks at a time over every row of the call, so that the tables of
         * those chunks (8 quads: 21 KB for 16 tokens) stay in L1 while every row reads them; each
         * row's int16 sums so far in acc16 (partial sums of 128 elements fit int16 as the total) */
        for (int p = 0; p < 8; p += LUT_PASS) {
            const uint8_t * tp = tab + 4 * p * LUT_QUAD_BYTES(NT2);
            for (int64_t g = 0; g < ng; g++) {
                bad[g] |= (uint8_t) lut_offsets(x + g * x_stride + 512 * hb + 64 * p, ix, NT2, LUT_PASS);
                __m256i * a16 = (__m256i *) (acc16 + g * 16 * NL);
                if (p == 0) {  /* the first pass stores, the others add */
                    _Pragma("GCC unroll 4")
                    for (int r = 0; r < 16; r++) {
                        lut_row(tp, ix + 4 * r, a16 + r * NT2, NT2, LUT_PASS);
                    }
                    continue;
                }
                _Pragma("GCC unroll 4")
                for (int r = 0; r < 16; r++) {
                    __m256i acc[2];
                    lut_row(tp, ix + 4 * r, acc, NT2, LUT_PASS);
                    for (int h = 0; h < NT2; h++) {
                        a16[r * NT2 + h] = _mm256_add_epi16(a16[r * NT2 + h], acc[h]);
                    }
                }
            }
        }
        for (int64_t g = 0; g < ng; g++) {
            const uint8_t *  xg = x + g * x_stride;
            const aria_f16 * dx = off ? (const aria_f16 *) (xg + n * 4) + 16 * (hb / 2) : NULL;  /* TQ2_0 scales */
            for (int r = 0; r < 16; r++) {
                const __m256i * acc = (const __m256i *) (acc16 + (g * 16 + r) * NL);
                int32_t *       is  = isum + (g * 16 + r) * NL;
                float *         fs  = fsum + (g * 16 + r) * NL;
                const __m256    d   = _mm256_set1_ps(off ? _cvtsh_ss(dx[r]) : 0.0f);
                for (int h = 0; h < NT2; h++) {
                    for (int u = 0; u < 2; u++) {  /* lanes 16h + 8u .. + 7 */
                        const int     l  = 16 * h + 8 * u;
                        const __m256i wi = _mm256_cvtepi16_epi32(u ? _mm256_extracti128_si256(acc[h], 1)
                                                                   : _mm256_castsi256_si128(acc[h]));
                        if (off && hb % 2 == 0) {  /* first half of a 256-block */
                            _mm256_storeu_si256((__m256i *) (is + l), wi);
                            continue;
                        }
                        /* I2_S's first 128 elements, else the sums so far */
                        const __m256i sum = !off && hb == 0 ? wi
                                            : _mm256_add_epi32(_mm256_loadu_si256((const __m256i *) (is + l)), wi);
                        if (!off) {
                            _mm256_storeu_si256((__m256i *) (is + l), sum);
                            continue;
                        }
                        /* the 256-block's f32 step, lane by lane: sumf + (float) sumi * (d_x * d_y),
                         * sumf starting at +0 */
                        const __m256 f0 = hb == 1 ? _mm256_setzero_ps() : _mm256_loadu_ps(fs + l);
                        const __m256 sc = _mm256_mul_ps(d, _mm256_loadu_ps(dyf + l));
                        _mm256_storeu_ps(fs + l, _mm256_add_ps(f0, _mm256_mul_ps(_mm256_cvtepi32_ps(sum), sc)));
                    }
                }
            }
        }
    }
    for (int64_t g = 0; g < ng; g++) {
        for (int t = 0; t < ny; t++) {
            for (int r = 0; r < 16; r++) {
                if (off) {
                    sf[t * s_stride + 16 * g + r] = fsum[(g * 16 + r) * NL + t];
                } else {
                    si[t * s_stride + 16 * g + r] = isum[(g * 16 + r) * NL + t];
                }
            }
        }
        if (bad[g]) {  /* a code 3 somewhere: this group again by the multiply-add kernel */
            lut_fallback_avx2(off, n, 1, x + g * x_stride, x_stride, y, y_stride, ny, sf, si, s_stride, 16 * g);
        }
    }
    free(raw);
}

static void gemm_tq2_0_x16_lut_avx2(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                                    int64_t y_stride, int ny, float * s, int64_t s_stride) {
    if (ny > 16) {
        lut_gemm_avx2(1, n, ng, x, x_stride, y, y_stride, ny, s, NULL, s_stride, 2);
    } else {
        lut_gemm_avx2(1, n, ng, x, x_stride, y, y_stride, ny, s, NULL, s_stride, 1);
    }
}

static void gemm_i2_s_x16_lut_avx2(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                                   int64_t y_stride, int ny, int32_t * s, int64_t s_stride) {
    if (ny > 16) {
        lut_gemm_avx2(0, n, ng, x, x_stride, y, y_stride, ny, NULL, s, s_stride, 2);
    } else {
        lut_gemm_avx2(0, n, ng, x, x_stride, y, y_stride, ny, NULL, s, s_stride, 1);
    }
}

#endif /* ARIA_KERNELS_LUT_AVX2_H */
