/*
 * kernels-avx512.c — AVX-512 F/BW/VL + VNNI kernels (chosen at run time by cpu.c when the CPU
 * and OS support them). Results as kernels-avx2.c describes: every kernel is bit-identical to _ref
 * (engine contract v2, numerics.h). The quantizers, float dots and SiLU are the AVX2 ones.
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

/* ---- f16 / f32 dots: the AVX2 table's (contract v2's 32 partial sums, numerics.h) ----------- */

/* ---- x16 layout (kernels.h): one output row per int32 lane ------------------------------------
 * A 64-byte chunk holds 16 rows x 4 consecutive weights per unpacked vector; vpdpbusd multiplies
 * each lane's 4 weight bytes (unsigned: codes 0..2, or q + 128 for Q8_W) by the same 4 activation
 * bytes, broadcast from memory, so no lane is ever summed with another. At the end of a 256-block
 * the lanes hold the exact integer block sums of 16 rows, and the f32 steps are the reference's,
 * lane by lane: sumf += (float) sumi * (d_x * d_y) with a multiply and an add (no FMA), so each
 * output equals vec_dot_*_ref bit for bit.
 *
 * The bodies are always_inline with the token count NY and the accumulators per token NA as
 * constants, so gcc keeps every accumulator in a register. NA > 1 splits a token's sum over
 * independent dependency chains (vpdpbusd has a latency of several cycles): a decode step (one
 * token) would otherwise wait on one chain. Integer sums, so the split changes nothing. */

#define X16_INLINE static inline __attribute__((always_inline))

static inline int32_t load_i32(const void * p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* sum of the 256 q of a Q8_K block, from its 16 bsums */
static inline int32_t q8_K_sum(const block_q8_K * b) {
    const __m256i p = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) b->bsums), _mm256_set1_epi16(1));
    __m128i       h = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    h               = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
    h               = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
    return _mm_cvtsi128_si32(h);
}

#ifndef ARIA_X16_PREFETCH
#    define ARIA_X16_PREFETCH 4096  /* bytes ahead of the weight stream; 0: none */
#endif

/* The 4 code vectors of a 64-byte ternary chunk: u[k] byte 4r + j = code of row r at k-offset 4k + j. */
static inline void x16_unpack(__m512i w, __m512i u[4]) {
    const __m512i m3 = _mm512_set1_epi8(3);
    u[0]             = _mm512_and_si512(w, m3);
    u[1]             = _mm512_and_si512(_mm512_srli_epi16(w, 2), m3);
    u[2]             = _mm512_and_si512(_mm512_srli_epi16(w, 4), m3);
    u[3]             = _mm512_and_si512(_mm512_srli_epi16(w, 6), m3);
}

/* always_inline: as a plain static function gcc's pure-const analysis finds it has no side effect
 * (a prefetch changes no memory) and deletes every call to it, so no prefetch was ever emitted */
X16_INLINE void x16_prefetch(const uint8_t * p) {
    if (ARIA_X16_PREFETCH > 0) {
        _mm_prefetch((const char *) ((uintptr_t) p + ARIA_X16_PREFETCH), _MM_HINT_T0);
    }
}

/* One group (16 rows) of TQ2_0 codes (INT8 = 0) or of the int8 head's q + 128 bytes (INT8 = 1)
 * against NY tokens of Q8_K. Either way, step c of a block gives 4 vectors u[k] of 16 rows x 4
 * weights at k-offsets 16c + 4k (TQ2_0: one chunk unpacked; Q8_W: 4 chunks), multiplied by the 4
 * activation bytes there. tot[j * nb + b]: sum q of token j's block b, which the unsigned weights
 * add once (TQ2_0 codes are value + 1) or 128 times (Q8_W bytes are value + 128). */
X16_INLINE void x16_q8_K_group(int64_t nb, const uint8_t * restrict xg, const block_q8_K * const * yj,
                               const int32_t * restrict tot, float * restrict s, int64_t s_stride, const int NY,
                               const int NA, const int INT8) {
    const int64_t block_bytes = INT8 ? 4096 : 1024;
    const uint8_t * scales    = xg + nb * block_bytes;  /* f16 (TQ2_0) or f32 (Q8_W), [b][r] */
    __m512          accf[ARIA_X16_MAX_NY];
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        accf[j] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        __m512i         acc[ARIA_X16_MAX_NY][4];
        const uint8_t * wb = xg + b * block_bytes;
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            _Pragma("GCC unroll 8")
            for (int a = 0; a < NA; a++) {
                acc[j][a] = _mm512_setzero_si512();
            }
        }
        for (int c = 0; c < 16; c++) {
            __m512i u[4];
            if (INT8) {
                _Pragma("GCC unroll 4")
                for (int k = 0; k < 4; k++) {
                    x16_prefetch(wb + 64 * (4 * c + k));
                    u[k] = _mm512_loadu_si512(wb + 64 * (4 * c + k));
                }
            } else {
                x16_prefetch(wb + 64 * c);
                x16_unpack(_mm512_loadu_si512(wb + 64 * c), u);
            }
            _Pragma("GCC unroll 8")
            for (int j = 0; j < NY; j++) {
                const int8_t * q = yj[j][b].qs + 16 * c;
                _Pragma("GCC unroll 8")
                for (int k = 0; k < 4; k++) {
                    acc[j][k % NA] = _mm512_dpbusd_epi32(acc[j][k % NA], u[k], _mm512_set1_epi32(load_i32(q + 4 * k)));
                }
            }
        }
        const __m512 dxv = INT8 ? _mm512_loadu_ps((const float *) scales + 16 * b)
                                : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) ((const aria_f16 *) scales + 16 * b)));
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            __m512i sum = acc[j][0];
            _Pragma("GCC unroll 8")
            for (int a = 1; a < NA; a++) {
                sum = _mm512_add_epi32(sum, acc[j][a]);
            }
            const __m512i sumi = _mm512_sub_epi32(sum, _mm512_set1_epi32((INT8 ? 128 : 1) * tot[j * nb + b]));
            const __m512  sc   = _mm512_mul_ps(dxv, _mm512_set1_ps(yj[j][b].d));
            accf[j]            = _mm512_add_ps(accf[j], _mm512_mul_ps(_mm512_cvtepi32_ps(sumi), sc));
        }
    }
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        _mm512_storeu_ps(s + j * s_stride, accf[j]);
    }
}

/* One I2_S group: raw codes times int8 activations, one int32 sum per row over the whole row. */
X16_INLINE void i2_s_x16_group(int64_t n, const uint8_t * restrict xg, const int8_t * const * yj,
                               int32_t * restrict s, int64_t s_stride, const int NY, const int NA) {
    __m512i acc[ARIA_X16_MAX_NY][4];
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        _Pragma("GCC unroll 8")
        for (int a = 0; a < NA; a++) {
            acc[j][a] = _mm512_setzero_si512();
        }
    }
    for (int64_t c = 0; c < n / 16; c++) {
        __m512i u[4];
        x16_prefetch(xg + 64 * c);
        x16_unpack(_mm512_loadu_si512(xg + 64 * c), u);
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            const int8_t * q = yj[j] + 16 * c;
            _Pragma("GCC unroll 8")
            for (int k = 0; k < 4; k++) {
                acc[j][k % NA] = _mm512_dpbusd_epi32(acc[j][k % NA], u[k], _mm512_set1_epi32(load_i32(q + 4 * k)));
            }
        }
    }
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        __m512i sum = acc[j][0];
        _Pragma("GCC unroll 8")
        for (int a = 1; a < NA; a++) {
            sum = _mm512_add_epi32(sum, acc[j][a]);
        }
        _mm512_storeu_si512(s + j * s_stride, sum);
    }
}

/* One group of the int4 head (Q4_W) against NY tokens of Q8_K. A 64-byte chunk holds 8 weights of
 * each row, 4 in the low nibbles and the next 4 in the high ones: two vpdpbusd per chunk, each with
 * 4 activation bytes broadcast. The scales sit in the stream after every 8 chunks (kernels.h), so
 * the group is one sequential read. Per 32-value block (4 chunks) the lanes hold sum (q + 8) * y; the
 * block's activation sum tot32 (two Q8_K bsums) times 8 is taken off, leaving the exact sum q * y,
 * then the f32 steps of aria_vec_dot_q4_W_q8_K_ref lane by lane (a multiply and an add, no FMA). */
X16_INLINE void q4_W_x16_group(int64_t nb, const uint8_t * restrict xg, const block_q8_K * const * yj,
                               const int32_t * restrict tot32, float * restrict s, int64_t s_stride, const int NY,
                               const int NA) {
    const __m512i    m15    = _mm512_set1_epi8(15);
    __m512           accf[ARIA_X16_MAX_NY];
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        accf[j] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < nb * (QK_K / QK4_W); b++) {
        __m512i         acc[ARIA_X16_MAX_NY][4];
        const uint8_t * wb = xg + (b / 2) * 576 + (b % 2) * 256;  /* kernels.h: 512 code bytes, 64 scale bytes */
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            _Pragma("GCC unroll 8")
            for (int a = 0; a < NA; a++) {
                acc[j][a] = _mm512_setzero_si512();
            }
        }
        _Pragma("GCC unroll 4")
        for (int c = 0; c < 4; c++) {
            x16_prefetch(wb + 64 * c);
            const __m512i w  = _mm512_loadu_si512(wb + 64 * c);
            const __m512i lo = _mm512_and_si512(w, m15);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), m15);
            _Pragma("GCC unroll 8")
            for (int j = 0; j < NY; j++) {
                const int8_t * q = yj[j][b / 8].qs + 32 * (b % 8) + 8 * c;
                acc[j][(2 * c) % NA]     = _mm512_dpbusd_epi32(acc[j][(2 * c) % NA], lo, _mm512_set1_epi32(load_i32(q)));
                acc[j][(2 * c + 1) % NA] = _mm512_dpbusd_epi32(acc[j][(2 * c + 1) % NA], hi, _mm512_set1_epi32(load_i32(q + 4)));
            }
        }
        const __m512 dxv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (xg + (b / 2) * 576 + 512 + (b % 2) * 32)));
        _Pragma("GCC unroll 8")
        for (int j = 0; j < NY; j++) {
            __m512i sum = acc[j][0];
            _Pragma("GCC unroll 8")
            for (int a = 1; a < NA; a++) {
                sum = _mm512_add_epi32(sum, acc[j][a]);
            }
            const __m512i sumi = _mm512_sub_epi32(sum, _mm512_set1_epi32(8 * tot32[j * nb * 8 + b]));
            const __m512  sc   = _mm512_mul_ps(dxv, _mm512_set1_ps(yj[j][b / 8].d));
            accf[j]            = _mm512_add_ps(accf[j], _mm512_mul_ps(_mm512_cvtepi32_ps(sumi), sc));
        }
    }
    _Pragma("GCC unroll 8")
    for (int j = 0; j < NY; j++) {
        _mm512_storeu_ps(s + j * s_stride, accf[j]);
    }
}

/* Accumulators per token for NY tokens: enough independent vpdpbusd chains (8) in flight. */
#define X16_NA(NY) ((NY) <= 2 ? 4 : (NY) == 3 ? 3 : (NY) == 4 ? 2 : 1)

/* One function per token count, so that every loop over j and a has constant bounds. */
#define X16_TERNARY_VARIANTS(F) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8)

/* NAME_x16_nyNY: groups of TQ2_0 codes (INT8 0) or int8-head bytes (INT8 1) against NY tokens */
#define X16_Q8_K_FN(NAME, INT8, NY)                                                                             \
    static void NAME##_x16_ny##NY(int64_t nb, int64_t ng, const uint8_t * x, int64_t x_stride,                 \
                                  const block_q8_K * const * yj, const int32_t * tot, float * s, int64_t s_stride) { \
        for (int64_t g = 0; g < ng; g++) {                                                                      \
            x16_q8_K_group(nb, x + g * x_stride, yj, tot, s + 16 * g, s_stride, NY, X16_NA(NY), INT8);           \
        }                                                                                                       \
    }
#define X16_TQ2_0(NY) X16_Q8_K_FN(tq2_0, 0, NY)
#define X16_Q8_W(NY)  X16_Q8_K_FN(q8_W, 1, NY)
#define X16_I2_S(NY)                                                                                            \
    static void i2_s_x16_ny##NY(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,                     \
                                const int8_t * const * yj, int32_t * s, int64_t s_stride) {                     \
        for (int64_t g = 0; g < ng; g++) {                                                                      \
            i2_s_x16_group(n, x + g * x_stride, yj, s + 16 * g, s_stride, NY, X16_NA(NY));                       \
        }                                                                                                       \
    }
#define X16_Q4_W(NY)                                                                                            \
    static void q4_W_x16_ny##NY(int64_t nb, int64_t ng, const uint8_t * x, int64_t x_stride,                    \
                                const block_q8_K * const * yj, const int32_t * tot32, float * s, int64_t s_stride) { \
        for (int64_t g = 0; g < ng; g++) {                                                                      \
            q4_W_x16_group(nb, x + g * x_stride, yj, tot32, s + 16 * g, s_stride, NY, X16_NA(NY));              \
        }                                                                                                       \
    }
X16_TERNARY_VARIANTS(X16_TQ2_0)
X16_TERNARY_VARIANTS(X16_Q8_W)
X16_TERNARY_VARIANTS(X16_Q4_W)
X16_TERNARY_VARIANTS(X16_I2_S)

typedef void (*x16_q8_K_fn)(int64_t, int64_t, const uint8_t *, int64_t, const block_q8_K * const *,
                            const int32_t *, float *, int64_t);
#define X16_NAME_TQ(NY) tq2_0_x16_ny##NY,
#define X16_NAME_W(NY)  q8_W_x16_ny##NY,
#define X16_NAME_I(NY)  i2_s_x16_ny##NY,
#define X16_NAME_4(NY)  q4_W_x16_ny##NY,
static const x16_q8_K_fn k_tq2_0_x16[ARIA_X16_MAX_NY] = { X16_TERNARY_VARIANTS(X16_NAME_TQ) };
static const x16_q8_K_fn k_q8_W_x16[ARIA_X16_MAX_NY]  = { X16_TERNARY_VARIANTS(X16_NAME_W) };
static const x16_q8_K_fn k_q4_W_x16[ARIA_X16_MAX_NY]  = { X16_TERNARY_VARIANTS(X16_NAME_4) };
static void (*const k_i2_s_x16[ARIA_X16_MAX_NY])(int64_t, int64_t, const uint8_t *, int64_t, const int8_t * const *,
                                                  int32_t *, int64_t) = { X16_TERNARY_VARIANTS(X16_NAME_I) };

/* The activation rows and their block sums (the same for every group of the call). */
static void x16_q8_K_call(const x16_q8_K_fn * fns, int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride,
                          const block_q8_K * y, int64_t y_stride, int ny, float * s, int64_t s_stride) {
    assert(n % QK_K == 0 && n <= ARIA_X16_MAX_N && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    const int64_t      nb = n / QK_K;
    const block_q8_K * yj[ARIA_X16_MAX_NY];
    int32_t            tot[ARIA_X16_MAX_NY * (ARIA_X16_MAX_N / QK_K)];
    for (int j = 0; j < ny; j++) {
        yj[j] = (const block_q8_K *) ((const char *) y + j * y_stride);
        for (int64_t b = 0; b < nb; b++) {
            tot[j * nb + b] = q8_K_sum(&yj[j][b]);
        }
    }
    fns[ny - 1](nb, ng, x, x_stride, yj, tot, s, s_stride);
}

static void gemm_tq2_0_x16_avx512(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                                  int64_t y_stride, int ny, float * s, int64_t s_stride) {
    x16_q8_K_call(k_tq2_0_x16, n, ng, x, x_stride, y, y_stride, ny, s, s_stride);
}

static void gemm_q8_W_x16_avx512(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                                 int64_t y_stride, int ny, float * s, int64_t s_stride) {
    x16_q8_K_call(k_q8_W_x16, n, ng, x, x_stride, y, y_stride, ny, s, s_stride);
}

/* The int4 head: the activation rows and their 32-value block sums (aria_x16_q4_W_act), then the
 * entry point for ny tokens. */
static void gemm_q4_W_x16_avx512(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                                 int64_t y_stride, int ny, float * s, int64_t s_stride) {
    assert(n % QK_K == 0 && n <= ARIA_X16_MAX_N && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    const block_q8_K * yj[ARIA_X16_MAX_NY];
    int32_t            tot32[ARIA_X16_MAX_NY * (ARIA_X16_MAX_N / QK4_W)];
    aria_x16_q4_W_act(n, y, y_stride, ny, yj, tot32);
    k_q4_W_x16[ny - 1](n / QK_K, ng, x, x_stride, yj, tot32, s, s_stride);
}

static void gemm_i2_s_x16_avx512(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                                 int64_t y_stride, int ny, int32_t * s, int64_t s_stride) {
    assert(n % QK_I2S == 0 && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    const int8_t * yj[ARIA_X16_MAX_NY];
    for (int j = 0; j < ny; j++) {
        yj[j] = (const int8_t *) ((const char *) y + j * y_stride);
    }
    k_i2_s_x16[ny - 1](n, ng, x, x_stride, yj, s, s_stride);
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
    .vec_dot_f16_f32_multi    = aria_vec_dot_f16_f32_multi_avx2,
    .axpy_f32                 = aria_axpy_f32_avx2,
    .axpy_f16                 = aria_axpy_f16_avx2,
    .vec_dot_f16_f32    = aria_vec_dot_f16_f32_avx2,
    .vec_dot_f32        = aria_vec_dot_f32_avx2,
    .attn_dots_f32            = aria_attn_dots_f32_avx2,
    .attn_dots_f16            = aria_attn_dots_f16_avx2,
    .attn_axpys_f32           = aria_attn_axpys_f32_avx2,
    .attn_axpys_f16           = aria_attn_axpys_f16_avx2,
    .quantize_row_q8_K  = aria_quantize_row_q8_K_avx2,
    .quantize_row_i8    = aria_quantize_row_i8_avx2,
    .repack_tq1_0_tq2_0 = aria_repack_tq1_0_tq2_0_avx2,
    .x16_preferred      = 1,
    .x16_head           = 1,
    .gemm_tq2_0_x16     = gemm_tq2_0_x16_avx512,
    .gemm_i2_s_x16      = gemm_i2_s_x16_avx512,
    .gemm_q8_W_x16      = gemm_q8_W_x16_avx512,
    .gemm_q4_W_x16      = gemm_q4_W_x16_avx512,
    .silu_mul_f32       = aria_silu_mul_f32_avx2,
};
