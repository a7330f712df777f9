/*
 * kernels.h — the kernel table: every hot loop libbitnet runs, as function pointers chosen once
 * (aria_kernels_select) from CPU feature probes. Each entry has a scalar `_ref` version in
 * kernels-ref.c (the oracle) and SIMD versions with the same signature in kernels-<isa>.c.
 *
 * Sizes: n counts elements. Preconditions (checked by callers, asserted in _ref):
 *   TQ1_0 / TQ2_0 / Q8_K: n % 256 == 0;  I2_S / I8: n % 128 == 0;  F32 / F16: any n >= 0.
 */
#ifndef ARIA_KERNELS_H
#define ARIA_KERNELS_H

#include <stdint.h>

#include "ternary.h"

/* Most activation rows one multi-row kernel call takes. */
#define ARIA_MULTI_MAX 4

typedef struct aria_kernel_table {
    const char * name;

    /* s = sum over blocks of (sum_i t_i * q_i) * d_x * d_y  (TQ2_0 weights x Q8_K activations) */
    void (*vec_dot_tq2_0_q8_K)(int64_t n, float * s, const block_tq2_0 * x, const block_q8_K * y);
    /* same for TQ1_0 */
    void (*vec_dot_tq1_0_q8_K)(int64_t n, float * s, const block_tq1_0 * x, const block_q8_K * y);
    /* I2_S: *s = sum_i c_i * q_i over raw codes c in 0..2 (bitnet.cpp layout, 128/32 interleave,
     * bits 7-6 first). The caller subtracts the activation sum and applies the scales (§3.2). */
    void (*vec_dot_i2_s_i8)(int64_t n, int32_t * s, const uint8_t * x, const int8_t * y);
    /* Several activation rows against one weight row (prefill, batched decode): for j < ny,
     * s[j] = vec_dot(x, y_j) with y_j at (const char *) y + j * y_stride bytes; the weight row is
     * unpacked once per block for all of them. ny in 1..ARIA_MULTI_MAX. I2_S: equal to the
     * single-row kernel. TQ: the same exact integer block sums, accumulated in f32 in an order of
     * the implementation's choosing (within |err| <= 2 nb 2^-24 sum_b |sum_b d_x d_y| of _ref). */
    void (*vec_dot_tq2_0_q8_K_multi)(int64_t n, float * s, const block_tq2_0 * x, const block_q8_K * y,
                                     int64_t y_stride, int ny);
    void (*vec_dot_tq1_0_q8_K_multi)(int64_t n, float * s, const block_tq1_0 * x, const block_q8_K * y,
                                     int64_t y_stride, int ny);
    void (*vec_dot_i2_s_i8_multi)(int64_t n, int32_t * s, const uint8_t * x, const int8_t * y, int64_t y_stride,
                                  int ny);
    /* Two TQ2_0 weight rows (row r at (const char *) x + r * x_stride bytes) against ny activation
     * rows: s[r * ARIA_MULTI_MAX + j] = vec_dot_tq2_0_q8_K_multi(row r, y_j), BIT-IDENTICAL to that
     * entry of the same table (same integer lane sums, same f32 operations in the same order), so
     * a matmul gives the same floats however it pairs rows. Register blocking: each unpacked weight
     * vector serves ny tokens and each activation load serves both rows. ny in 1..ARIA_MULTI_MAX. */
    void (*vec_dot_tq2_0_q8_K_2x)(int64_t n, float * s, const block_tq2_0 * x, int64_t x_stride,
                                  const block_q8_K * y, int64_t y_stride, int ny);
    /* The same for I2_S: s[r * ARIA_MULTI_MAX + j] = vec_dot_i2_s_i8_multi(row r, y_j) (exact int32). */
    void (*vec_dot_i2_s_i8_2x)(int64_t n, int32_t * s, const uint8_t * x, int64_t x_stride, const int8_t * y,
                               int64_t y_stride, int ny);
    /* Decode: one activation row y against nr weight rows (row r at (const char *) x + r * x_stride
     * bytes): s[r] = the same table's multi-row kernel on (row r, y, ny = 1), BIT-IDENTICAL. One
     * call per range of rows instead of one per row: the per-call set-up and the caller's row loop
     * were about 7% of a decoded token's instructions (callgrind, 2B-4T TQ2_0). */
    void (*vec_dot_tq2_0_q8_K_rows)(int64_t n, int64_t nr, float * s, const block_tq2_0 * x, int64_t x_stride,
                                    const block_q8_K * y);
    void (*vec_dot_tq1_0_q8_K_rows)(int64_t n, int64_t nr, float * s, const block_tq1_0 * x, int64_t x_stride,
                                    const block_q8_K * y);
    void (*vec_dot_i2_s_i8_rows)(int64_t n, int64_t nr, int32_t * s, const uint8_t * x, int64_t x_stride,
                                 const int8_t * y);
    /* int8 output head (block_q8_W) x Q8_K: s = sum over blocks of (sum_i qx_i qy_i) * d_x * d_y,
     * the integer block sums exact, accumulated in f32 in block order (sumf + (float) sumi *
     * (d_x * d_y)) in every table: bit-identical to _ref (contract v2, numerics.h).
     * Precondition: qy_i != -128 (quantize_row_q8_K writes -127..127 only; AVX2 multiplies |qx| by
     * qy with qx's sign, and -128 cannot be negated in int8). */
    void (*vec_dot_q8_W_q8_K)(int64_t n, float * s, const block_q8_W * x, const block_q8_K * y);
    /* One q8_W row against ny Q8_K rows (y_j at (const char *) y + j * y_stride BYTES), ny in
     * 1..ARIA_MULTI_MAX: s[j] is BIT-IDENTICAL to vec_dot_q8_W_q8_K(x, y_j) of the same table, so a
     * token's logits do not depend on the other tokens of its batch. Each weight chunk is loaded
     * (and its |qx| taken) once for all ny rows. */
    void (*vec_dot_q8_W_q8_K_multi)(int64_t n, float * s, const block_q8_W * x, const block_q8_K * y,
                                    int64_t y_stride, int ny);
    /* s = sum_i f16(x_i) * y_i in numerics.h's 32 partial sums (one fused multiply-add each, as
     * _ref's fmaf, then aria_dot_lanes_reduce): bit-identical in every table */
    void (*vec_dot_f16_f32)(int64_t n, float * s, const aria_f16 * x, const float * y);
    /* One f16 row against ny f32 rows (y_j at (const char *) y + j * y_stride BYTES), any n, ny in
     * 1..ARIA_MULTI_MAX: s[j] is BIT-IDENTICAL to vec_dot_f16_f32 on y_j (and so to _ref). Each
     * chunk of x is converted once for up to two rows. */
    void (*vec_dot_f16_f32_multi)(int64_t n, float * s, const aria_f16 * x, const float * y, int64_t y_stride,
                                  int ny);
    /* s = sum_i x_i * y_i in numerics.h's 32 partial sums: bit-identical in every table */
    void (*vec_dot_f32)(int64_t n, float * s, const float * x, const float * y);
    /* y_i += a * x_i, a multiply then an add per element (no FMA): identical in every table */
    void (*axpy_f32)(int64_t n, float a, const float * x, float * y);
    /* y_i += a * f32(x_i) for f16 x (the f16 KV cache), multiply then add: identical in every table */
    void (*axpy_f16)(int64_t n, float a, const aria_f16 * x, float * y);
    /* Attention over np cache rows of n elements, row j at k + j * stride (elements), in one call
     * (NULL: forward.c calls the single-row kernels above per row, with the same bits):
     * s[j] = vec_dot_f32(n, q, k_j) / vec_dot_f16_f32(n, k_j, q), and y += p[j] v_j for
     * j = 0 .. np - 1 in that order, each element a multiply then an add as axpy_f32 / axpy_f16. */
    void (*attn_dots_f32)(int64_t n, int64_t np, float * s, const float * k, int64_t stride, const float * q);
    void (*attn_dots_f16)(int64_t n, int64_t np, float * s, const aria_f16 * k, int64_t stride, const float * q);
    void (*attn_axpys_f32)(int64_t n, int64_t np, const float * p, const float * v, int64_t stride, float * y);
    void (*attn_axpys_f16)(int64_t n, int64_t np, const float * p, const aria_f16 * v, int64_t stride, float * y);

    /* h_i = (h_i / (1 + aria_expf(0 - h_i))) * u_i (the gated FFN's SiLU, numerics.h
     * aria_silu_mul), element by element: bit-identical in every table, whatever the split of a row. */
    void (*silu_mul_f32)(int64_t n, float * h, const float * u);
    /* llama.cpp's quantize_row_q8_K_ref: per 256 block, signed absmax m, iscale = -127/m,
     * q = round-half-even(iscale*x) clamped to <= 127, d = 1/iscale, bsums of 16. */
    void (*quantize_row_q8_K)(int64_t n, block_q8_K * y, const float * x);
    /* bitnet.cpp's per-row int8: amax = max(max|x|, 1e-5), s = 127/amax,
     * q = clamp(round-half-even(x*s), -128, 127); returns s, *sum = sum of q. */
    float (*quantize_row_i8)(int64_t n, int8_t * y, int32_t * sum, const float * x);

    /* ---- x16 layout (kernels.h "x16 layout" below): rows in groups of 16, one output row per
     * 32-bit SIMD lane. x16_preferred: this table's x16 kernels are faster than its row kernels,
     * so aria_model_repack converts the matrices it can (the other tables still run x16 matrices,
     * through the scalar kernels). For g < ng, r < 16, j < ny (ny in 1..ARIA_X16_MAX_NY):
     * s[j * s_stride + 16 g + r] = the dot of row 16 g + r of groups x, x + x_stride, ... with
     * activation row j at (const char *) y + j * y_stride bytes, BIT-IDENTICAL to the reference
     * row kernel (vec_dot_tq2_0_q8_K / vec_dot_q8_W_q8_K of aria_kernels_ref: the same exact
     * integer block sums, then sumf += (float) sumi * (d_x * d_y) block by block); I2_S: the raw
     * code sum of vec_dot_i2_s_i8, exact. n: TQ2_0 / Q8_W n % 256 == 0 and n <= ARIA_X16_MAX_N,
     * I2_S n % 128 == 0.
     * x16_head: the int8 output head is made in x16 groups too when the model is (model.c,
     * aria_model_requantize_output_impl), else in rows (vec_dot_q8_W_q8_K_multi). Chosen by
     * measurement per table (benchmarks/engine/ab.sh, docs/engine.md "Memory and layout"): on AVX2
     * without VNNI the row kernel is faster at every batch; with VNNI or AVX-512 the x16 kernel is
     * faster from 4 tokens on. Either layout gives the same bits (the x16 contract above). */
    int x16_preferred;
    int x16_head;
    void (*gemm_tq2_0_x16)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                           int64_t y_stride, int ny, float * s, int64_t s_stride);
    void (*gemm_i2_s_x16)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                          int64_t y_stride, int ny, int32_t * s, int64_t s_stride);
    void (*gemm_q8_W_x16)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                          int64_t y_stride, int ny, float * s, int64_t s_stride);
    /* The int4 head (Q4_W, x16 only): BIT-IDENTICAL to aria_vec_dot_q4_W_q8_K_ref row by row. */
    void (*gemm_q4_W_x16)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                          int64_t y_stride, int ny, float * s, int64_t s_stride);
    /* Lookup-table GEMM on the same x16 groups for 1..ARIA_X16_LUT_NY tokens at once (prefill
     * chunks, batched decode; matmul.c takes it from ARIA_X16_LUT_MIN tokens on): the same outputs,
     * BIT-IDENTICAL to gemm_tq2_0_x16 / gemm_i2_s_x16 (kernels.h "x16 lookup tables" below). NULL in
     * the tables without one. */
    void (*gemm_tq2_0_x16_lut)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                               int64_t y_stride, int ny, float * s, int64_t s_stride);
    void (*gemm_i2_s_x16_lut)(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                              int64_t y_stride, int ny, int32_t * s, int64_t s_stride);

    /* nb TQ1_0 blocks -> TQ2_0 blocks of the same codes and f16 scale (aria_model_repack); the
     * same bytes in every table, for every input byte (aria_repack_tq1_0_to_tq2_0 is the ref). */
    void (*repack_tq1_0_tq2_0)(const block_tq1_0 * x, block_tq2_0 * y, int64_t nb);
} aria_kernel_table;

/* ---- x16 layout ------------------------------------------------------------------------------
 * Rows in groups of ARIA_X16_ROWS (the last group padded with zero bytes: code 0 and scale 0, so a
 * padding row's dot is 0 for finite activations), each group aria_x16_group_bytes(type, n) bytes,
 * a multiple of 64. A kernel keeps row r of a group in 32-bit lane r and multiplies 4 consecutive
 * weights by 4 activation bytes broadcast to every lane (vpdpbusd), so it never sums across lanes.
 *   TQ2_0, I2_S (codes 0..2 = -1, 0, +1): chunk c (elements k = 16c .. 16c + 15) is 64 bytes; byte
 *     4r + j holds in bits 2s..2s+1 the code of row r at k = 16c + 4s + j. n / 16 chunks; TQ2_0
 *     then the f16 scale of row r for block b at index 16b + r, padded to 64 bytes.
 *   Q8_W: chunk c (k = 4c .. 4c + 3) is 64 bytes; byte 4r + j = q(row r, k = 4c + j) + 128 as u8.
 *     n / 4 chunks, then the f32 scale of row r for block b at index 16b + r, padded to 64 bytes.
 *   Q4_W: per 64 values (two 32-value blocks b = 2s, 2s + 1) 576 bytes: 8 chunks of 64 bytes, chunk
 *     c (k = 64s + 8c .. + 7) byte 4r + j = (q(r, k + j) + 8) in bits 0-3 and (q(r, k + 4 + j) + 8)
 *     in bits 4-7; then 64 bytes of f16 scales, row r of block 2s at index r, of block 2s + 1 at
 *     16 + r. The scales are in the stream (one sequential read): 9n bytes per group. */
#define ARIA_X16_ROWS   16
#define ARIA_X16_MAX_NY 8
#define ARIA_X16_MAX_N  32768  /* TQ2_0 / Q8_W / Q4_W: the kernels keep n / 256 block sums per token */

/* ---- x16 lookup tables (gemm_*_x16_lut) -----------------------------------------------------
 * A byte of a ternary x16 chunk holds the codes c0..c3 of one row at 4 elements k_s = 16c + 4s + j
 * (s = 0..3). For each such set of 4 elements (a "quad": chunk c, byte j) and each of the 81 code
 * patterns with c_s in 0..2, the table holds for every token t the exact integer
 *   T[quad][c0 + 3 c1 + 9 c2 + 27 c3][t] = sum_s (c_s - off) q_t[k_s]
 * (off = 1 for TQ2_0: ternary values; off = 0 for I2_S: raw codes, as gemm_i2_s_x16 sums them), so a
 * row's dot over the quad is one lookup, and one lookup adds 4 weights x ARIA_X16_LUT_NY tokens.
 * Tables are built per 128 elements (32 quads, 8 chunks) from the tokens' activations and reused for
 * every row of the call. The sums of 128 elements fit in int16 (|c - off| <= 2, |q| <= 128: at most
 * 32768 in magnitude, and -32768 is the only value reaching it), so a SIMD kernel adds lookups in
 * int16 and widens to int32 every 128 elements; a TQ2_0 row then takes the reference's f32 step per
 * 256-block (sumf += (float) sumi * (d_x * d_y)). A byte with a code 3 (never written; the reference
 * reads it as +2) has no table entry: such rows are computed by the multiply-add kernels instead. */
#define ARIA_X16_LUT_NY  32  /* tokens of one call (16 int16 lanes per ymm, one or two ymm per entry) */
/* matmul.c: from this many tokens on, the LUT kernels (fewer: gemm_*_x16). Callgrind counted fewer
 * instructions from 10 tokens on (-31..-42% at 16-128), but wall clock on Zen 5 (AVX2 table, 1
 * thread, benchmarks/engine/batch-ab.sh lut) found the multiply-add kernels faster at every token
 * count from 10 to 128 (prefill 10-48% more tokens/s; 2 threads: even at 32 and 128): so never by
 * default. -DARIA_X16_LUT_MIN=10 turns them back on (batch-ab.sh builds with 1 and 1 << 30). */
#ifndef ARIA_X16_LUT_MIN
#    define ARIA_X16_LUT_MIN (1 << 30)
#endif
/* The scalar form of the algorithm above (kernels-ref.c), the oracle of the SIMD ones in tests. */
void aria_gemm_tq2_0_x16_lut_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                                 int64_t y_stride, int ny, float * s, int64_t s_stride);
void aria_gemm_i2_s_x16_lut_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                                int64_t y_stride, int ny, int32_t * s, int64_t s_stride);

/* Bytes of one group of a type (TQ2_0, I2_S, Q8_W, Q4_W) with n elements per row; 0 if the type has no
 * x16 form or n does not fit it. */
uint64_t aria_x16_group_bytes(int32_t type, int64_t n);
/* Packs nr <= 16 rows of the type's row layout (row r at src + r * row_bytes) into one group at
 * dst (group_bytes bytes, rows nr..15 zero). scratch: n bytes (ternary types; unused for Q8_W and Q4_W). */
void     aria_x16_pack_group(int32_t type, int64_t n, const uint8_t * src, uint64_t row_bytes, int64_t nr,
                             uint8_t * dst, uint8_t * scratch);
/* Row r (< 16) of a group back to the type's row layout (row_bytes = aria_type_row_bytes; Q8_W:
 * n / 256 blocks; Q4_W: n / 32 blocks): the inverse of aria_x16_pack_group. */
void     aria_x16_unpack_row(int32_t type, int64_t n, const uint8_t * group, int r, uint8_t * dst);

/* Before a Q4_W x16 kernel call (every table's): yj[j] = activation row j at (const char *) y +
 * j * y_stride, and tot32[j * n / 32 + b] = the sum of its q over 32-value block b (two Q8_K
 * bsums), the same for every group of the call. n % 256 == 0, n <= ARIA_X16_MAX_N, ny in
 * 1..ARIA_X16_MAX_NY; tot32 holds ny * n / 32 entries. */
void aria_x16_q4_W_act(int64_t n, const block_q8_K * y, int64_t y_stride, int ny, const block_q8_K ** yj,
                       int32_t * tot32);

/* The reference SiLU (NEON tables use it) */
void aria_silu_mul_f32_ref(int64_t n, float * h, const float * u);
/* The reference x16 kernels (kernels-ref.c), shared by the tables without their own. */
void aria_gemm_tq2_0_x16_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                             int64_t y_stride, int ny, float * s, int64_t s_stride);
void aria_gemm_i2_s_x16_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                            int64_t y_stride, int ny, int32_t * s, int64_t s_stride);
void aria_gemm_q8_W_x16_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                            int64_t y_stride, int ny, float * s, int64_t s_stride);
void aria_gemm_q4_W_x16_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                            int64_t y_stride, int ny, float * s, int64_t s_stride);
/* The int4 head's row product, the definition the x16 kernels reproduce: per 32-value block,
 * sumi = sum (q_x * q_y) exactly, then sumf += (float) sumi * (d_x * d_y) in block order (d_y is the
 * Q8_K block's). n % 256 == 0. */
void aria_vec_dot_q4_W_q8_K_ref(int64_t n, float * s, const block_q4_W * x, const block_q8_K * y);

extern const aria_kernel_table aria_kernels_ref;
#if defined(__x86_64__) || defined(_M_X64)
extern const aria_kernel_table aria_kernels_avx2;
extern const aria_kernel_table aria_kernels_avx512;
extern const aria_kernel_table aria_kernels_avxvnni;  /* AVX2 + AVX-VNNI: its own x16 kernels */
#endif
#if defined(__aarch64__)
extern const aria_kernel_table aria_kernels_neon;          /* ARMv8.0 NEON */
extern const aria_kernel_table aria_kernels_neon_dotprod;  /* + SDOT; ARIA_KERNELS_NEON when available */
extern const aria_kernel_table aria_kernels_neon_i8mm;     /* + SMMLA in the x16 kernels; NEON when available */
#endif

/* CPU feature probe (cpuid / getauxval), cached after the first call. */
int                aria_cpu_has_avx2(void);    /* AVX2 + FMA + F16C, OS saves YMM state */
int                aria_cpu_has_avx512(void);  /* AVX-512 F, BW, VL, VNNI, OS saves ZMM state */
int                aria_cpu_has_avxvnni(void); /* AVX2 (as above) + AVX-VNNI (cpuid 7.1 EAX bit 4) */
int                aria_cpu_has_neon(void);
int                aria_cpu_has_dotprod(void); /* aarch64 SDOT/UDOT (HWCAP_ASIMDDP) */
int                aria_cpu_has_i8mm(void);    /* aarch64 SMMLA (HWCAP2_I8MM), with dotprod */
const char *       aria_cpu_features_str(void);

/* The table in use (set by aria_kernels_set; defaults to the best available). */
const aria_kernel_table * aria_kernels_current(void);

/* Dequantize one row of n elements of any supported non-I2_S type (F32, F16, BF16, Q4_0, Q8_0,
 * Q4_K, Q6_K, TQ1_0, TQ2_0) to f32. Returns 0, or -1 for an unsupported type. Scalar; used for
 * embedding lookups and as the generic path for matrices of non-ternary types. */
int aria_dequantize_row(int32_t type, const void * x, float * y, int64_t n);
/* I2_S row: codes at x (n/4 bytes), w = (c - 1) * scale */
void aria_dequantize_row_i2_s(const uint8_t * x, float scale, float * y, int64_t n);

/* TQ1_0 blocks -> TQ2_0 blocks with the same codes and the same f16 scale (aria_model_repack):
 * dequantizing, and every dot kernel, give the same numbers for both. nb blocks; scalar. */
void aria_repack_tq1_0_to_tq2_0(const block_tq1_0 * x, block_tq2_0 * y, int64_t nb);

/* The int8 head format (block_q8_W): quantize at load, dequantize for tests. n % 256 == 0. */
void aria_quantize_row_q8_W(const float * x, block_q8_W * y, int64_t n);
void aria_dequantize_row_q8_W(const block_q8_W * x, float * y, int64_t n);
/* The int4 head format (block_q4_W): quantize at load, dequantize for tests. n % 32 == 0. */
void aria_quantize_row_q4_W(const float * x, block_q4_W * y, int64_t n);
void aria_dequantize_row_q4_W(const block_q4_W * x, float * y, int64_t n);

/* Bytes taken by n elements of a type (n a multiple of its block size); 0 for an unknown type.
 * For I2_S this is n/4 (the per-tensor scale is added by the GGUF reader). */
uint64_t aria_type_row_bytes(int32_t type, int64_t n);
/* Elements per block (1 for F32/F16/BF16, 32, 256, 128 for I2_S); 0 for an unknown type. */
int64_t  aria_type_block_elems(int32_t type);
/* Type name ("TQ2_0", ...), or NULL for an id libbitnet does not know. */
const char * aria_type_name(int32_t type);

/* Kernel-set selection behind aria_kernels_set / aria_kernels_get (aria.c). select takes an
 * enum aria_kernels value (AUTO = best available) and returns 0, ARIA_STATUS_UNSUPPORTED (this CPU
 * or build lacks that set) or ARIA_STATUS_INVALID_ARG (unknown value). Call it only while nothing
 * evaluates. selected returns the set in use (never AUTO); any thread. */
int      aria_kernels_select(int32_t kernels);
int32_t  aria_kernels_selected(void);

/* Like aria_type_name, but also names ids libbitnet knows of and does not run (Q4_1, Q5_K, IQ*,
 * 38 "TL1 (bitnet.cpp)", 39 "TL2 (bitnet.cpp) or MXFP4", ...) for error messages; NULL otherwise. */
const char * aria_type_name_any(int32_t type);

#endif /* ARIA_KERNELS_H */
