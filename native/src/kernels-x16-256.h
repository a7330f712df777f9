/*
 * kernels-x16-256.h — the x16 kernels (kernels.h "x16 layout") on 256-bit registers, included by
 * kernels-avx2.c (X16_256_VNNI 0: vpmaddubsw + vpmaddwd) and kernels-avxvnni.c (X16_256_VNNI 1:
 * AVX-VNNI vpdpbusd on ymm, Intel Alder Lake and later, Zen 5). Private to native/src; the includer
 * defines X16_256_VNNI and X16_256_SUFFIX and is compiled with the matching -m flags.
 *
 * A 64-byte chunk of a group holds 4 consecutive weights of 16 rows: its first 32 bytes rows 0-7,
 * its second rows 8-15, 4 bytes per row. A 256-bit register takes one half, so a kernel runs each
 * half of a group in turn, row r of the half in 32-bit lane r: 4 activation bytes are broadcast to
 * every lane and multiplied by the 4 weights of every row; nothing is ever summed across lanes.
 *
 * Exactness (every output BIT-IDENTICAL to the reference row kernel, kernels.h):
 *  - VNNI: vpdpbusd adds 4 products u8 x s8 into each int32 lane; |lane| stays below 2^31 (at most
 *    255 * 128 per product, 32768 products per row: ARIA_X16_MAX_N).
 *  - AVX2: vpmaddubsw adds 2 products u8 x s8 into int16 without saturating as long as
 *    |u0 y0 + u1 y1| <= 32767. Ternary codes are 0..3 (3 is never written but is read as +2, as the
 *    reference does), so a pair is at most 2 * 3 * 128 = 768 and 8 chunks (4 pairs each) at most
 *    24576: the int16 lanes are widened (vpmaddwd with ones: row r's two int16 into int32 lane r)
 *    every 8 chunks. The int8 head's bytes q + 128 (up to 255) would overflow a pair, so they are
 *    split into nibbles, u = 16 hi + lo (pairs at most 2 * 15 * 128 = 3840, 8 chunks 30720), and
 *    the two int16 sums widened with multipliers 16 and 1.
 * Then, as in kernels-avx512.c: the TQ2_0 codes are value + 1 and the head's bytes value + 128, so
 * the block's activation sum (once, or 128 times) is taken off, and the f32 steps are the
 * reference's lane by lane: sumf += (float) sumi * (d_x * d_y), a multiply then an add.
 */
#ifndef ARIA_KERNELS_X16_256_H
#define ARIA_KERNELS_X16_256_H

#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels.h"

#if !defined(X16_256_VNNI) || !defined(X16_256_SUFFIX)
#    error "define X16_256_VNNI (0 or 1) and X16_256_SUFFIX before including kernels-x16-256.h"
#endif

#define X16_256_INLINE static inline __attribute__((always_inline))
#define X16_256_CAT2(a, b) a##b
#define X16_256_CAT(a, b)  X16_256_CAT2(a, b)
#define X16_256_NAME(base) X16_256_CAT(base, X16_256_SUFFIX)

#ifndef ARIA_X16_PREFETCH
#    define ARIA_X16_PREFETCH 4096  /* bytes ahead of the weight stream; 0: none (kernels-avx512.c) */
#endif

X16_256_INLINE int32_t x16_256_load_i32(const void * p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Prefetches the line ARIA_X16_PREFETCH bytes past p (integer arithmetic: a pointer past the
 * matrix would be undefined in C; a prefetch never faults). */
X16_256_INLINE void x16_256_prefetch(const uint8_t * p) {
    if (ARIA_X16_PREFETCH > 0) {
        _mm_prefetch((const char *) ((uintptr_t) p + ARIA_X16_PREFETCH), _MM_HINT_T0);
    }
}

/* The codes of weights 4s .. 4s + 3 of a chunk half (s = 0..3, a constant after unrolling). */
X16_256_INLINE __m256i x16_256_codes(__m256i w, const int s) {
    const __m256i m3 = _mm256_set1_epi8(3);
    return s == 0 ? _mm256_and_si256(w, m3) : _mm256_and_si256(_mm256_srli_epi16(w, 2 * s), m3);
}

#if X16_256_VNNI
/* acc (int32 lanes) += sum of 4 products u * y per lane */
#    define X16_256_MAC(acc, u, y) ((acc) = _mm256_dpbusd_avx_epi32((acc), (u), (y)))
#else
/* acc (int16 lanes) += sum of 2 products u * y per lane (exact within the bounds above). The empty
 * asm keeps each accumulator one register: without it gcc 12 reassociates the adds of the unrolled
 * loops into trees and spills the partial products to the stack (1.36 -> 1.58 G instructions for
 * the matmuls of a 16-token prefill of the large shape, callgrind). */
#    define X16_256_MAC(acc, u, y)                                                   \
        do {                                                                         \
            (acc) = _mm256_add_epi16((acc), _mm256_maddubs_epi16((u), (y)));         \
            __asm__("" : "+x"(acc));                                                 \
        } while (0)
#endif

/* Chunks between widenings of the int16 sums (AVX2; the bound in the header comment). */
#define X16_256_WIDEN 8

/* The exact integer sums of 2-bit codes times int8 activations over chunks c0 .. c0 + nc - 1 of one
 * half (h) of a group, for NY tokens (token j's activations at q[j] + 16 c for chunk c): sum[j] lane
 * r = sum over the chunks' elements of code(row 8h + r) * q. nc is a multiple of X16_256_WIDEN. */
X16_256_INLINE void x16_256_codes_sum(const uint8_t * restrict xg, int64_t c0, int64_t nc, const int h,
                                      const int8_t * const * q, __m256i * sum, const int NY) {
#if X16_256_VNNI
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        sum[j] = _mm256_setzero_si256();
    }
    for (int64_t c = c0; c < c0 + nc; c++) {
        if (h == 0) {
            x16_256_prefetch(xg + 64 * c);
        }
        const __m256i w = _mm256_loadu_si256((const __m256i *) (xg + 64 * c + 32 * h));
        _Pragma("GCC unroll 4")
        for (int s = 0; s < 4; s++) {
            const __m256i u = x16_256_codes(w, s);
            _Pragma("GCC unroll 8")
            for (int j = 0; j < NY; j++) {
                X16_256_MAC(sum[j], u, _mm256_set1_epi32(x16_256_load_i32(q[j] + 16 * c + 4 * s)));
            }
        }
    }
#else
    const __m256i ones = _mm256_set1_epi16(1);
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        sum[j] = _mm256_setzero_si256();
    }
    for (int64_t cw = c0; cw < c0 + nc; cw += X16_256_WIDEN) {
        __m256i acc[ARIA_X16_MAX_NY];
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            acc[j] = _mm256_setzero_si256();
        }
        _Pragma("GCC unroll 4")
        for (int64_t c = cw; c < cw + X16_256_WIDEN; c++) {
            if (h == 0) {
                x16_256_prefetch(xg + 64 * c);
            }
            const __m256i w = _mm256_loadu_si256((const __m256i *) (xg + 64 * c + 32 * h));
            _Pragma("GCC unroll 4")
            for (int s = 0; s < 4; s++) {
                const __m256i u = x16_256_codes(w, s);
                _Pragma("GCC unroll 8")
                for (int j = 0; j < NY; j++) {
                    X16_256_MAC(acc[j], u, _mm256_set1_epi32(x16_256_load_i32(q[j] + 16 * c + 4 * s)));
                }
            }
        }
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            sum[j] = _mm256_add_epi32(sum[j], _mm256_madd_epi16(acc[j], ones));
        }
    }
#endif
}

/* Both halves of a group at once (rows 0-7 and 8-15) for NY <= X16_256_BOTH tokens: the same exact
 * sums as x16_256_codes_sum for h = 0 and h = 1 (sum[2 j + h]), but each token's 4 activation bytes
 * are broadcast once for the 16 rows instead of once per half. With one token the broadcast is a
 * quarter of the instructions per weight byte (a broadcast, then for each half a multiply and an
 * add); with 4 tokens it is the same share: every token's part costs 5 instead of 6 instructions
 * per 8 bytes of codes. The registers hold 2 NY accumulators. */
#define X16_256_BOTH 4
/* Whether NY tokens go through x16_256_codes_sum_both, in sets of up to X16_256_BOTH: always with
 * VNNI; on AVX2 only up to X16_256_BOTH tokens, as more in sets of 4 unpack the codes once per set
 * and were no faster than one half at a time (benchmarks/kernels/batch-kernels.c, 8 tokens). */
#define X16_256_BOTH_FOR(NY) (X16_256_VNNI || (NY) <= X16_256_BOTH)
#if !X16_256_VNNI
/* AVX2, one token (decode; for 2 tokens it was 4-5% slower): x16_256_codes_sum_both's sums with
 * fewer instructions per chunk. Each half's codes take one shift instead of three: with t = w >> 4
 * (16-bit lanes, as x16_256_codes), w & 3 and t & 3 are the codes of s = 0 and 2, and w & 12 and
 * t & 12 four times those of s = 1 and 3. The plain codes go into one int16 sum, the quadrupled
 * ones into another, whose exact int32 widening is divided by 4 at the end (an exact shift: every
 * term is a multiple of 4). Bounds, codes up to 3 and |q| <= 128: the plain sum gains at most 2
 * pairs of 768 per chunk and the quadrupled one 2 pairs of 3072, so the latter is widened every 4
 * chunks (24576). Per chunk and half: 5 code instructions instead of 7; 26 instructions instead of
 * 30 in all. sum[h]: half h. */
#    define X16_256_SPLIT_WIDEN 4
X16_256_INLINE void x16_256_codes_sum_both_split(const uint8_t * restrict xg, int64_t c0, int64_t nc,
                                                 const int8_t * restrict q, __m256i * sum) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i m3   = _mm256_set1_epi8(3);
    const __m256i m12  = _mm256_set1_epi8(12);
    __m256i       sum4[2];
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        sum[h]  = _mm256_setzero_si256();
        sum4[h] = _mm256_setzero_si256();
    }
    for (int64_t cw = c0; cw < c0 + nc; cw += X16_256_SPLIT_WIDEN) {
        __m256i a1[2], a4[2]; /* [h] */
        _Pragma("GCC unroll 2")
        for (int h = 0; h < 2; h++) {
            a1[h] = _mm256_setzero_si256();
            a4[h] = _mm256_setzero_si256();
        }
        _Pragma("GCC unroll 4")
        for (int64_t c = cw; c < cw + X16_256_SPLIT_WIDEN; c++) {
            x16_256_prefetch(xg + 64 * c);
            const __m256i w[2] = { _mm256_loadu_si256((const __m256i *) (xg + 64 * c)),
                                   _mm256_loadu_si256((const __m256i *) (xg + 64 * c + 32)) };
            const __m256i t[2] = { _mm256_srli_epi16(w[0], 4), _mm256_srli_epi16(w[1], 4) };
            _Pragma("GCC unroll 4")
            for (int s = 0; s < 4; s++) {
                const __m256i * src = s < 2 ? w : t;
                const __m256i   m   = s & 1 ? m12 : m3;
                const __m256i   u0  = _mm256_and_si256(src[0], m);
                const __m256i   u1  = _mm256_and_si256(src[1], m);
                const __m256i   y   = _mm256_set1_epi32(x16_256_load_i32(q + 16 * c + 4 * s));
                __m256i *       acc = s & 1 ? a4 : a1;
                X16_256_MAC(acc[0], u0, y);
                X16_256_MAC(acc[1], u1, y);
            }
        }
        _Pragma("GCC unroll 2")
        for (int h = 0; h < 2; h++) {
            sum[h]  = _mm256_add_epi32(sum[h], _mm256_madd_epi16(a1[h], ones));
            sum4[h] = _mm256_add_epi32(sum4[h], _mm256_madd_epi16(a4[h], ones));
        }
    }
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        sum[h] = _mm256_add_epi32(sum[h], _mm256_srai_epi32(sum4[h], 2));
    }
}
#endif

#if X16_256_VNNI
/* AVX-VNNI, one token (decode): x16_256_codes_sum_both's sums with independent vpdpbusd chains and
 * fewer code instructions. One accumulator per half made every vpdpbusd wait for the previous one
 * (a latency of several cycles): one-token decode ran slower than on the AVX2 table (large TQ2_0,
 * matmul phase 9.1 against 7.1 ms; the AVX-512 table has 8 chains). Here each half has a chain per
 * 2-bit field s, 8 in flight, in named variables (an array indexed by s % K gave gcc 12 register
 * copies and a spill in the loop). The codes take one shift per half as in
 * x16_256_codes_sum_both_split: the fields s = 1 and 3 come four times too large, and their exact
 * sum is divided by 4 at the end (every term a multiple of 4; at most 16384 products of 12 * 128
 * per row: far inside int32). */
/* acc += u * y in place: the empty asm keeps each chain in its register (without it gcc 12 copied
 * the accumulators between registers and the stack every chunk) */
#    define X16_256_MAC_PINNED(acc, u, y)                       \
        do {                                                    \
            (acc) = _mm256_dpbusd_avx_epi32((acc), (u), (y));   \
            __asm__("" : "+x"(acc));                            \
        } while (0)
X16_256_INLINE void x16_256_codes_sum_both_chains(const uint8_t * restrict xg, int64_t c0, int64_t nc,
                                                  const int8_t * restrict q, __m256i * sum) {
    const __m256i m3  = _mm256_set1_epi8(3);
    const __m256i m12 = _mm256_set1_epi8(12);
    __m256i       a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00; /* half 0, s = 0..3 */
    __m256i       a10 = a00, a11 = a00, a12 = a00, a13 = a00;                     /* half 1 */
    for (int64_t c = c0; c < c0 + nc; c++) {
        x16_256_prefetch(xg + 64 * c);
        const __m256i w0 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c + 32));
        const __m256i t0 = _mm256_srli_epi16(w0, 4), t1 = _mm256_srli_epi16(w1, 4);
        const int8_t * y = q + 16 * c;
        const __m256i  y0 = _mm256_set1_epi32(x16_256_load_i32(y)), y1 = _mm256_set1_epi32(x16_256_load_i32(y + 4));
        const __m256i  y2 = _mm256_set1_epi32(x16_256_load_i32(y + 8)), y3 = _mm256_set1_epi32(x16_256_load_i32(y + 12));
        X16_256_MAC_PINNED(a00, _mm256_and_si256(w0, m3), y0);
        X16_256_MAC_PINNED(a10, _mm256_and_si256(w1, m3), y0);
        X16_256_MAC_PINNED(a01, _mm256_and_si256(w0, m12), y1);
        X16_256_MAC_PINNED(a11, _mm256_and_si256(w1, m12), y1);
        X16_256_MAC_PINNED(a02, _mm256_and_si256(t0, m3), y2);
        X16_256_MAC_PINNED(a12, _mm256_and_si256(t1, m3), y2);
        X16_256_MAC_PINNED(a03, _mm256_and_si256(t0, m12), y3);
        X16_256_MAC_PINNED(a13, _mm256_and_si256(t1, m12), y3);
    }
    sum[0] = _mm256_add_epi32(_mm256_add_epi32(a00, a02), _mm256_srai_epi32(_mm256_add_epi32(a01, a03), 2));
    sum[1] = _mm256_add_epi32(_mm256_add_epi32(a10, a12), _mm256_srai_epi32(_mm256_add_epi32(a11, a13), 2));
}
#endif

#if X16_256_VNNI
/* AVX-VNNI, two tokens: as x16_256_codes_sum_both_chains, a chain per token, half and parity of s
 * (the plain fields s = 0, 2 and the quadrupled s = 1, 3), 8 in flight; with one chain per token
 * and half, two-token decode was slower than on the AVX2 table (large TQ2_0 matmul 14.1 against
 * 12.5 ms). sum[2 j + h] as x16_256_codes_sum_both. */
X16_256_INLINE void x16_256_codes_sum_both_chains2(const uint8_t * restrict xg, int64_t c0, int64_t nc,
                                                   const int8_t * restrict q0, const int8_t * restrict q1,
                                                   __m256i * sum) {
    const __m256i m3  = _mm256_set1_epi8(3);
    const __m256i m12 = _mm256_set1_epi8(12);
    /* a<token><half><p: plain, q: quadrupled> */
    __m256i a00p = _mm256_setzero_si256(), a00q = a00p, a01p = a00p, a01q = a00p;
    __m256i a10p = a00p, a10q = a00p, a11p = a00p, a11q = a00p;
    for (int64_t c = c0; c < c0 + nc; c++) {
        x16_256_prefetch(xg + 64 * c);
        const __m256i w0 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c + 32));
        const __m256i t0 = _mm256_srli_epi16(w0, 4), t1 = _mm256_srli_epi16(w1, 4);
        _Pragma("GCC unroll 4")
        for (int s = 0; s < 4; s++) {
            const __m256i m  = s & 1 ? m12 : m3;
            const __m256i u0 = _mm256_and_si256(s < 2 ? w0 : t0, m);
            const __m256i u1 = _mm256_and_si256(s < 2 ? w1 : t1, m);
            const __m256i y0 = _mm256_set1_epi32(x16_256_load_i32(q0 + 16 * c + 4 * s));
            const __m256i y1 = _mm256_set1_epi32(x16_256_load_i32(q1 + 16 * c + 4 * s));
            if (s & 1) {
                X16_256_MAC_PINNED(a00q, u0, y0);
                X16_256_MAC_PINNED(a01q, u1, y0);
                X16_256_MAC_PINNED(a10q, u0, y1);
                X16_256_MAC_PINNED(a11q, u1, y1);
            } else {
                X16_256_MAC_PINNED(a00p, u0, y0);
                X16_256_MAC_PINNED(a01p, u1, y0);
                X16_256_MAC_PINNED(a10p, u0, y1);
                X16_256_MAC_PINNED(a11p, u1, y1);
            }
        }
    }
    sum[0] = _mm256_add_epi32(a00p, _mm256_srai_epi32(a00q, 2));
    sum[1] = _mm256_add_epi32(a01p, _mm256_srai_epi32(a01q, 2));
    sum[2] = _mm256_add_epi32(a10p, _mm256_srai_epi32(a10q, 2));
    sum[3] = _mm256_add_epi32(a11p, _mm256_srai_epi32(a11q, 2));
}
#endif

/* One token's sums over chunks c0 .. c0 + nc - 1, both halves (sum[0], sum[1]): the one-token kernels
 * above (TQ2_0 blocks on both tables; I2_S rows on AVX2 only: on AVX-VNNI its rows were 16-23%
 * slower with the chains than with x16_256_codes_sum_both, large I2_S decode, ab.sh). */
X16_256_INLINE void x16_256_codes_sum_one(const uint8_t * restrict xg, int64_t c0, int64_t nc, const int8_t * q,
                                          __m256i * sum) {
#if X16_256_VNNI
    x16_256_codes_sum_both_chains(xg, c0, nc, q, sum);
#else
    x16_256_codes_sum_both_split(xg, c0, nc, q, sum);
#endif
}

X16_256_INLINE void x16_256_codes_sum_both(const uint8_t * restrict xg, int64_t c0, int64_t nc,
                                           const int8_t * const * q, __m256i * sum, const int NY) {
#if X16_256_VNNI
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 2 * NY; j++) {
        sum[j] = _mm256_setzero_si256();
    }
    for (int64_t c = c0; c < c0 + nc; c++) {
        x16_256_prefetch(xg + 64 * c);
        const __m256i w0 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c + 32));
        _Pragma("GCC unroll 4")
        for (int s = 0; s < 4; s++) {
            const __m256i u0 = x16_256_codes(w0, s);
            const __m256i u1 = x16_256_codes(w1, s);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < NY; j++) {
                const __m256i y = _mm256_set1_epi32(x16_256_load_i32(q[j] + 16 * c + 4 * s));
                X16_256_MAC(sum[2 * j], u0, y);
                X16_256_MAC(sum[2 * j + 1], u1, y);
            }
        }
    }
#else
    const __m256i ones = _mm256_set1_epi16(1);
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 2 * NY; j++) {
        sum[j] = _mm256_setzero_si256();
    }
    for (int64_t cw = c0; cw < c0 + nc; cw += X16_256_WIDEN) {
        __m256i acc[2 * X16_256_BOTH];
        _Pragma("GCC unroll 8")
        for (int j = 0; j < 2 * NY; j++) {
            acc[j] = _mm256_setzero_si256();
        }
        _Pragma("GCC unroll 2")
        for (int64_t c = cw; c < cw + X16_256_WIDEN; c++) {
            x16_256_prefetch(xg + 64 * c);
            const __m256i w0 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c));
            const __m256i w1 = _mm256_loadu_si256((const __m256i *) (xg + 64 * c + 32));
            _Pragma("GCC unroll 4")
            for (int s = 0; s < 4; s++) {
                const __m256i u0 = x16_256_codes(w0, s);
                const __m256i u1 = x16_256_codes(w1, s);
                _Pragma("GCC unroll 4")
                for (int j = 0; j < NY; j++) {
                    const __m256i y = _mm256_set1_epi32(x16_256_load_i32(q[j] + 16 * c + 4 * s));
                    X16_256_MAC(acc[2 * j], u0, y);
                    X16_256_MAC(acc[2 * j + 1], u1, y);
                }
            }
        }
        _Pragma("GCC unroll 8")
        for (int j = 0; j < 2 * NY; j++) {
            sum[j] = _mm256_add_epi32(sum[j], _mm256_madd_epi16(acc[j], ones));
        }
    }
#endif
}

/* The exact integer sums of the int8 head's bytes (q + 128) times int8 activations over the 64
 * chunks of one block (at wb) for one half h, NY tokens (token j's block at q[j]). */
X16_256_INLINE void x16_256_q8_W_sum(const uint8_t * restrict wb, const int h, const int8_t * const * q,
                                     __m256i * sum, const int NY) {
#if X16_256_VNNI
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        sum[j] = _mm256_setzero_si256();
    }
    for (int c = 0; c < 64; c++) {
        if (h == 0) {
            x16_256_prefetch(wb + 64 * c);
        }
        const __m256i u = _mm256_loadu_si256((const __m256i *) (wb + 64 * c + 32 * h));
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            X16_256_MAC(sum[j], u, _mm256_set1_epi32(x16_256_load_i32(q[j] + 4 * c)));
        }
    }
#else
    const __m256i m15     = _mm256_set1_epi8(15);
    const __m256i ones    = _mm256_set1_epi16(1);
    const __m256i sixteen = _mm256_set1_epi16(16);
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        sum[j] = _mm256_setzero_si256();
    }
    for (int cw = 0; cw < 64; cw += X16_256_WIDEN) {
        __m256i lo[ARIA_X16_MAX_NY], hi[ARIA_X16_MAX_NY];
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            lo[j] = _mm256_setzero_si256();
            hi[j] = _mm256_setzero_si256();
        }
        for (int c = cw; c < cw + X16_256_WIDEN; c++) {
            if (h == 0) {
                x16_256_prefetch(wb + 64 * c);
            }
            const __m256i w  = _mm256_loadu_si256((const __m256i *) (wb + 64 * c + 32 * h));
            const __m256i ul = _mm256_and_si256(w, m15);
            const __m256i uh = _mm256_and_si256(_mm256_srli_epi16(w, 4), m15);
            _Pragma("GCC unroll 8")
            for (int j = 0; j < NY; j++) {
                const __m256i y = _mm256_set1_epi32(x16_256_load_i32(q[j] + 4 * c));
                X16_256_MAC(lo[j], ul, y);
                X16_256_MAC(hi[j], uh, y);
            }
        }
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            sum[j] = _mm256_add_epi32(sum[j], _mm256_add_epi32(_mm256_madd_epi16(hi[j], sixteen),
                                                               _mm256_madd_epi16(lo[j], ones)));
        }
    }
#endif
}

/* One group of TQ2_0 codes (INT8 0) or int8-head bytes (INT8 1) against NY Q8_K tokens: per 256
 * block and half, the exact sums, minus the activation sum (x1 or x128), then the reference's f32
 * steps lane by lane. tot[j * nb + b]: token j's sum of q over block b. */
X16_256_INLINE void x16_256_q8_K_group(int64_t nb, const uint8_t * restrict xg, const block_q8_K * const * yj,
                                       const int32_t * restrict tot, float * restrict s, int64_t s_stride,
                                       const int NY, const int INT8) {
    const int64_t   block_bytes = INT8 ? 4096 : 1024;
    const uint8_t * scales      = xg + nb * block_bytes;  /* f16 (TQ2_0) or f32 (Q8_W), [b][r] */
    __m256          accf[ARIA_X16_MAX_NY][2];              /* [j][h]: rows 8h .. 8h + 7 */
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        accf[j][0] = _mm256_setzero_ps();
        accf[j][1] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        const int8_t * q[ARIA_X16_MAX_NY];
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            q[j] = yj[j][b].qs;
        }
        if (!INT8 && X16_256_BOTH_FOR(NY)) {  /* ternary: both halves at once */
            const int NS = (NY + X16_256_BOTH - 1) / X16_256_BOTH, M = (NY + NS - 1) / NS;
            const __m256 dxv[2] = {
                _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) ((const aria_f16 *) scales + 16 * b))),
                _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) ((const aria_f16 *) scales + 16 * b + 8))),
            };
            _Pragma("GCC unroll 2")
            for (int t0 = 0; t0 < NY; t0 += M) {
                const int m = NY - t0 < M ? NY - t0 : M;
                __m256i   sum[2 * X16_256_BOTH];
                if (NY == 1) {
                    x16_256_codes_sum_one(xg + b * block_bytes, 0, 16, q[0], sum);
                } else if (NY == 2 && X16_256_VNNI) {
#if X16_256_VNNI
                    x16_256_codes_sum_both_chains2(xg + b * block_bytes, 0, 16, q[0], q[1], sum);
#endif
                } else {
                    x16_256_codes_sum_both(xg + b * block_bytes, 0, 16, q + t0, sum, m);
                }
                _Pragma("GCC unroll 4")
                for (int jj = 0; jj < m; jj++) {
                    const int j = t0 + jj;
                    _Pragma("GCC unroll 2")
                    for (int h = 0; h < 2; h++) {
                        const __m256i sumi = _mm256_sub_epi32(sum[2 * jj + h], _mm256_set1_epi32(tot[j * nb + b]));
                        const __m256  sc   = _mm256_mul_ps(dxv[h], _mm256_set1_ps(yj[j][b].d));
                        accf[j][h]         = _mm256_add_ps(accf[j][h], _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), sc));
                    }
                }
            }
            continue;
        }
        _Pragma("GCC unroll 2")
        for (int h = 0; h < 2; h++) {  /* the block's bytes are read from L1 for the second half */
            __m256i sum[ARIA_X16_MAX_NY];
            if (INT8) {
                x16_256_q8_W_sum(xg + b * block_bytes, h, q, sum, NY);
            } else {
                x16_256_codes_sum(xg + b * block_bytes, 0, 16, h, q, sum, NY);
            }
            const __m256 dxv = INT8 ? _mm256_loadu_ps((const float *) scales + 16 * b + 8 * h)
                                    : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) ((const aria_f16 *) scales + 16 * b + 8 * h)));
            _Pragma("GCC unroll 8")
            for (int j = 0; j < NY; j++) {
                const __m256i sumi = _mm256_sub_epi32(sum[j], _mm256_set1_epi32((INT8 ? 128 : 1) * tot[j * nb + b]));
                const __m256  sc   = _mm256_mul_ps(dxv, _mm256_set1_ps(yj[j][b].d));
                accf[j][h]         = _mm256_add_ps(accf[j][h], _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), sc));
            }
        }
    }
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        _mm256_storeu_ps(s + j * s_stride, accf[j][0]);
        _mm256_storeu_ps(s + j * s_stride + 8, accf[j][1]);
    }
}

/* One I2_S group: raw codes times int8 activations, one exact int32 sum per row over the whole row,
 * in pieces of 128 elements (8 chunks) per half. */
X16_256_INLINE void x16_256_i2_s_group(int64_t n, const uint8_t * restrict xg, const int8_t * const * yj,
                                       int32_t * restrict s, int64_t s_stride, const int NY) {
    __m256i tot[ARIA_X16_MAX_NY][2];
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        tot[j][0] = _mm256_setzero_si256();
        tot[j][1] = _mm256_setzero_si256();
    }
    const int NS = (NY + X16_256_BOTH - 1) / X16_256_BOTH, M = (NY + NS - 1) / NS;
    if (NY == 1 && !X16_256_VNNI) { /* decode on AVX2: the whole row in one call */
        __m256i sum[2];
        x16_256_codes_sum_one(xg, 0, n / 16, yj[0], sum);
        _mm256_storeu_si256((__m256i *) s, sum[0]);
        _mm256_storeu_si256((__m256i *) (s + 8), sum[1]);
        return;
    }
    for (int64_t c0 = 0; c0 < n / 16; c0 += 8) {
        if (!X16_256_BOTH_FOR(NY)) {
            _Pragma("GCC unroll 2")
            for (int h = 0; h < 2; h++) {
                __m256i sum[ARIA_X16_MAX_NY];
                x16_256_codes_sum(xg, c0, 8, h, yj, sum, NY);
                _Pragma("GCC unroll 8")
                for (int j = 0; j < NY; j++) {
                    tot[j][h] = _mm256_add_epi32(tot[j][h], sum[j]);
                }
            }
            continue;
        }
        _Pragma("GCC unroll 2")
        for (int t0 = 0; t0 < NY; t0 += M) {  /* both halves at once, up to X16_256_BOTH tokens */
            const int m = NY - t0 < M ? NY - t0 : M;
            __m256i   sum[2 * X16_256_BOTH];
#if X16_256_VNNI
            if (NY == 1) {  /* AVX-VNNI: the chains in pieces of 8 chunks (unrolled) */
                x16_256_codes_sum_one(xg, c0, 8, yj[0], sum);
            } else if (NY == 2) {
                x16_256_codes_sum_both_chains2(xg, c0, 8, yj[0], yj[1], sum);
            } else
#endif
            {
                x16_256_codes_sum_both(xg, c0, 8, yj + t0, sum, m);
            }
            _Pragma("GCC unroll 4")
            for (int jj = 0; jj < m; jj++) {
                tot[t0 + jj][0] = _mm256_add_epi32(tot[t0 + jj][0], sum[2 * jj]);
                tot[t0 + jj][1] = _mm256_add_epi32(tot[t0 + jj][1], sum[2 * jj + 1]);
            }
        }
    }
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        _mm256_storeu_si256((__m256i *) (s + j * s_stride), tot[j][0]);
        _mm256_storeu_si256((__m256i *) (s + j * s_stride + 8), tot[j][1]);
    }
}

/* ---- pre-broadcast activations (X16_256_BC_FOR(NY): the AVX2 table, TQ2_0, 5-8 tokens) ---------
 * Every token's 4 activation bytes of a chunk's field s are written once per call, replicated over a
 * 32-byte row (x16_256_bc_build), and the multiplies take them straight from memory: per 32
 * products a multiply and an add instead of a broadcast, a multiply and an add. The broadcasts of a
 * 256-block (16 KiB for 8 tokens) are shared by every group of the call, so the loops run block by
 * block over all the groups (the block's broadcasts stay in L1) and each group's f32 accumulators
 * wait in the outputs between blocks; the f32 steps per block are the same, in the same order:
 * bit-identical as before. About a third fewer instructions (callgrind) but hardly less time: the
 * multiplies and adds, not the broadcasts (loads), bound the loop. I2_S keeps x16_256_i2_s_group:
 * the same scheme ran about 1% slower there (in-process A/B, 64-token prefill, Zen 5, AVX2 table). */
#define X16_256_BC_FOR(NY) (!X16_256_VNNI && (NY) > X16_256_BOTH)
#define X16_256_BC_CHUNKS  16  /* chunks of a 256-block */

/* bc[(4 c + s) NY + j] = token j's bytes q[j] + 16 c + 4 s in every 32-bit lane, for the chunks c of
 * a block. Unaligned stores and loads: nothing depends on the stack array's 32-byte alignment (not
 * always kept by gcc for Win64, GCC bug 54412); the loads fold into vpmaddubsw either way. */
X16_256_INLINE void x16_256_bc_build(const int8_t * const * q, __m256i * restrict bc, const int NY) {
    for (int c = 0; c < X16_256_BC_CHUNKS; c++) {
        _Pragma("GCC unroll 4")
        for (int s = 0; s < 4; s++) {
            _Pragma("GCC unroll 8")
            for (int j = 0; j < NY; j++) {
                _mm256_storeu_si256(bc + (4 * c + s) * NY + j,
                                    _mm256_set1_epi32(x16_256_load_i32(q[j] + 16 * c + 4 * s)));
            }
        }
    }
}

/* acc[j] (int16 lanes) += chunk c of xc's half h times the activations of bc (the products of
 * x16_256_codes_sum), or = when FIRST (the window's first chunk: no zeroing); when PF, prefetches
 * pf + 64 c, an address held as an integer (past the call's last group a pointer would be undefined
 * in C; a prefetch never faults). */
X16_256_INLINE void x16_256_bc_chunk(const uint8_t * restrict xc, uintptr_t pf, int64_t c, const int h,
                                     const int PF, const int FIRST, const __m256i * restrict bc, __m256i * acc,
                                     const int NY) {
    if (PF && ARIA_X16_PREFETCH > 0) {
        _mm_prefetch((const char *) (pf + (uintptr_t) (64 * c)), _MM_HINT_T0);
    }
    const __m256i w = _mm256_loadu_si256((const __m256i *) (xc + 64 * c + 32 * h));
    _Pragma("GCC unroll 4")
    for (int s = 0; s < 4; s++) {
        const __m256i u = x16_256_codes(w, s);
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            const __m256i y = _mm256_loadu_si256(bc + (4 * c + s) * NY + j);
            if (FIRST && s == 0) {
                acc[j] = _mm256_maddubs_epi16(u, y);
                __asm__("" : "+x"(acc[j]));
            } else {
                X16_256_MAC(acc[j], u, y);
            }
        }
    }
}

/* sum[j] lane r = init[j] + the exact sum over chunks 0 .. nc - 1 of xc (nc a multiple of
 * X16_256_WIDEN) of code(row 8h + r) * q, the activations from bc (x16_256_bc_build of the same
 * block); PF: prefetch pf + 64 c beside chunk c (the same chunk of the next group). */
X16_256_INLINE void x16_256_bc_sum(const uint8_t * restrict xc, uintptr_t pf, int64_t nc, const int h,
                                   const int PF, const __m256i * restrict bc, const __m256i * init, __m256i * sum,
                                   const int NY) {
    const __m256i ones = _mm256_set1_epi16(1);
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        sum[j] = init[j];
    }
    for (int64_t cw = 0; cw < nc; cw += X16_256_WIDEN) {
        __m256i acc[ARIA_X16_MAX_NY];
        x16_256_bc_chunk(xc, pf, cw, h, PF, 1, bc, acc, NY);
        x16_256_bc_chunk(xc, pf, cw + 1, h, PF, 0, bc, acc, NY);
        x16_256_bc_chunk(xc, pf, cw + 2, h, PF, 0, bc, acc, NY);
        x16_256_bc_chunk(xc, pf, cw + 3, h, PF, 0, bc, acc, NY);
        x16_256_bc_chunk(xc, pf, cw + 4, h, PF, 0, bc, acc, NY);
        x16_256_bc_chunk(xc, pf, cw + 5, h, PF, 0, bc, acc, NY);
        x16_256_bc_chunk(xc, pf, cw + 6, h, PF, 0, bc, acc, NY);
        x16_256_bc_chunk(xc, pf, cw + 7, h, PF, 0, bc, acc, NY);
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            sum[j] = _mm256_add_epi32(sum[j], _mm256_madd_epi16(acc[j], ones));
        }
    }
}

/* x16_256_q8_K_group for all ng groups of a call, TQ2_0, block by block (the groups' f32 sums kept in
 * s between blocks; block 0 adds to +0.0f as the accumulators did). */
X16_256_INLINE void x16_256_tq2_0_bc(int64_t nb, int64_t ng, const uint8_t * x, int64_t x_stride,
                                     const block_q8_K * const * yj, const int32_t * restrict tot, float * s,
                                     int64_t s_stride, const int NY) {
    __m256i bc[4 * X16_256_BC_CHUNKS * ARIA_X16_MAX_NY];
    for (int64_t b = 0; b < nb; b++) {
        const int8_t * q[ARIA_X16_MAX_NY];
        __m256i        init[ARIA_X16_MAX_NY];  /* minus the block's activation sum: codes are value + 1 */
        __m256         dy[ARIA_X16_MAX_NY];
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            q[j]    = yj[j][b].qs;
            init[j] = _mm256_set1_epi32(-tot[j * nb + b]);
            dy[j]   = _mm256_set1_ps(yj[j][b].d);
        }
        x16_256_bc_build(q, bc, NY);
        for (int64_t g = 0; g < ng; g++) {
            const uint8_t *  xg     = x + g * x_stride;
            const uint8_t *  xb     = xg + b * 1024;  /* a block: 16 chunks of 64 bytes */
            const aria_f16 * scales = (const aria_f16 *) (xg + nb * 1024) + 16 * b;
            _Pragma("GCC unroll 2")
            for (int h = 0; h < 2; h++) {
                __m256i sum[ARIA_X16_MAX_NY];
                x16_256_bc_sum(xb, (uintptr_t) xb + (uintptr_t) x_stride, X16_256_BC_CHUNKS, h, h == 0, bc, init,
                               sum, NY);
                const __m256 dxv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (scales + 8 * h)));
                _Pragma("GCC unroll 8")
                for (int j = 0; j < NY; j++) {
                    float *      o    = s + j * s_stride + 16 * g + 8 * h;
                    const __m256 prev = b == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(o);
                    const __m256 sc   = _mm256_mul_ps(dxv, dy[j]);
                    _mm256_storeu_ps(o, _mm256_add_ps(prev, _mm256_mul_ps(_mm256_cvtepi32_ps(sum[j]), sc)));
                }
            }
        }
    }
}

/* One function per token count, so that every loop over j has constant bounds. */
#define X16_256_VARIANTS(F) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)

#define X16_256_Q8_K_FN(NAME, INT8, NY)                                                                         \
    static void X16_256_NAME(NAME##_x16_ny##NY##_)(int64_t nb, int64_t ng, const uint8_t * x, int64_t x_stride, \
                                                   const block_q8_K * const * yj, const int32_t * tot, float * s, \
                                                   int64_t s_stride) {                                          \
        if (!(INT8) && X16_256_BC_FOR(NY)) {                                                                    \
            x16_256_tq2_0_bc(nb, ng, x, x_stride, yj, tot, s, s_stride, NY);                                    \
            return;                                                                                             \
        }                                                                                                       \
        for (int64_t g = 0; g < ng; g++) {                                                                      \
            x16_256_q8_K_group(nb, x + g * x_stride, yj, tot, s + 16 * g, s_stride, NY, INT8);                   \
        }                                                                                                       \
    }
#define X16_256_TQ2_0(NY) X16_256_Q8_K_FN(tq2_0, 0, NY)
#define X16_256_Q8_W(NY)  X16_256_Q8_K_FN(q8_W, 1, NY)
#define X16_256_I2_S(NY)                                                                                        \
    static void X16_256_NAME(i2_s_x16_ny##NY##_)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,    \
                                                 const int8_t * const * yj, int32_t * s, int64_t s_stride) {    \
        for (int64_t g = 0; g < ng; g++) {                                                                      \
            x16_256_i2_s_group(n, x + g * x_stride, yj, s + 16 * g, s_stride, NY);                              \
        }                                                                                                       \
    }
X16_256_VARIANTS(X16_256_TQ2_0)
X16_256_VARIANTS(X16_256_Q8_W)
X16_256_VARIANTS(X16_256_I2_S)

typedef void (*x16_256_q8_K_fn)(int64_t, int64_t, const uint8_t *, int64_t, const block_q8_K * const *,
                                const int32_t *, float *, int64_t);
#define X16_256_NAME_TQ(NY) X16_256_NAME(tq2_0_x16_ny##NY##_),
#define X16_256_NAME_W(NY)  X16_256_NAME(q8_W_x16_ny##NY##_),
#define X16_256_NAME_I(NY)  X16_256_NAME(i2_s_x16_ny##NY##_),

/* The activation rows and their per-block sums (the same for every group of the call), then the
 * entry point for ny tokens. */
X16_256_INLINE void x16_256_q8_K_call(const x16_256_q8_K_fn * fns, int64_t n, int64_t ng, const uint8_t * x,
                                      int64_t x_stride, const block_q8_K * y, int64_t y_stride, int ny, float * s,
                                      int64_t s_stride) {
    assert(n % QK_K == 0 && n <= ARIA_X16_MAX_N && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    const int64_t      nb = n / QK_K;
    const block_q8_K * yj[ARIA_X16_MAX_NY];
    int32_t            tot[ARIA_X16_MAX_NY * (ARIA_X16_MAX_N / QK_K)];
    for (int j = 0; j < ny; j++) {
        yj[j] = (const block_q8_K *) ((const char *) y + j * y_stride);
        for (int64_t b = 0; b < nb; b++) {
            int32_t t = 0;
            for (int k = 0; k < QK_K / 16; k++) {
                t += yj[j][b].bsums[k];
            }
            tot[j * nb + b] = t;
        }
    }
    fns[ny - 1](nb, ng, x, x_stride, yj, tot, s, s_stride);
}

static void X16_256_NAME(gemm_tq2_0_x16_)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,
                                          const block_q8_K * y, int64_t y_stride, int ny, float * s,
                                          int64_t s_stride) {
    static const x16_256_q8_K_fn fns[ARIA_X16_MAX_NY] = { X16_256_VARIANTS(X16_256_NAME_TQ) };
    x16_256_q8_K_call(fns, n, ng, x, x_stride, y, y_stride, ny, s, s_stride);
}

static void X16_256_NAME(gemm_q8_W_x16_)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,
                                         const block_q8_K * y, int64_t y_stride, int ny, float * s,
                                         int64_t s_stride) {
    static const x16_256_q8_K_fn fns[ARIA_X16_MAX_NY] = { X16_256_VARIANTS(X16_256_NAME_W) };
    x16_256_q8_K_call(fns, n, ng, x, x_stride, y, y_stride, ny, s, s_stride);
}

static void X16_256_NAME(gemm_i2_s_x16_)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,
                                         const int8_t * y, int64_t y_stride, int ny, int32_t * s,
                                         int64_t s_stride) {
    static void (*const fns[ARIA_X16_MAX_NY])(int64_t, int64_t, const uint8_t *, int64_t, const int8_t * const *,
                                              int32_t *, int64_t) = { X16_256_VARIANTS(X16_256_NAME_I) };
    assert(n % QK_I2S == 0 && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    const int8_t * yj[ARIA_X16_MAX_NY];
    for (int j = 0; j < ny; j++) {
        yj[j] = (const int8_t *) ((const char *) y + j * y_stride);
    }
    fns[ny - 1](n, ng, x, x_stride, yj, s, s_stride);
}

#endif /* ARIA_KERNELS_X16_256_H */
