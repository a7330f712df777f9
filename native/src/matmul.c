/* The matrix products of a forward pass: see matmul.h. Moved from forward.c unchanged (issue 17). */
#include "matmul.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"
#include "numerics.h"

#ifdef ARIA_PHASE_TIMES
double aria_phase_seconds[ARIA_PHASE_COUNT];
#endif

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}

/* ---- matmul: y (n, n_out) = x (n, n_in) W^T, rows of W split over threads -------------------- */

typedef struct {
    struct aria_ctx *   ctx;
    const aria_matrix * w;
    const float *       x;
    float *             y;
    int32_t             n;
    int64_t             chunk_rows;  /* rows per chunk handed out by matmul_set_worker (even) */
    int64_t             n_chunks;
} matmul_task;

/* The I2_S activation row (docs/engine.md: amax = max(max|x|, 1e-5), s = 127/amax,
 * q = clamp(round_half_even(x*s), -128, 127)) for a fallback projection, whose row length need not
 * be a multiple of 128; q is stored as floats so the generic f32 dot can read it. Returns s. */
static float quantize_row_i8_f32(int64_t n, float * q, const float * x) {
    float amax = 1e-5f;
    for (int64_t i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        amax           = ax > amax ? ax : amax;
    }
    const float s = 127.0f / amax;
    for (int64_t i = 0; i < n; i++) {
        float v = nearbyintf(x[i] * s); /* default rounding mode: half to even */
        q[i]    = v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v);
    }
    return s;
}

static void quantize_worker(void * arg, int ith, int nth) {
    matmul_task *       t   = arg;
    struct aria_ctx *   ctx = t->ctx;
    const aria_matrix * w   = t->w;
    int64_t             b, e;
    aria_tp_range(t->n, ith, nth, &b, &e);
    for (int64_t i = b; i < e; i++) {
        uint8_t *     dst = ctx->act + (uint64_t)i * ctx->act_row_bytes;
        const float * src = t->x + i * w->n_in;
        if (w->act_i8) {
            ctx->act_scale[i] = quantize_row_i8_f32(w->n_in, ctx->xq + i * w->n_in, src);
        } else if (w->type == ARIA_TYPE_I2_S) {
            ctx->act_scale[i] = ctx->kt->quantize_row_i8(w->n_in, (int8_t *)dst, &ctx->act_sum[i], src);
        } else {
            ctx->kt->quantize_row_q8_K(w->n_in, (block_q8_K *)dst, src);
        }
    }
}

static int is_ternary(const aria_matrix * w) {
    return w->type == ARIA_TYPE_TQ1_0 || w->type == ARIA_TYPE_TQ2_0 || w->type == ARIA_TYPE_I2_S;
}

/* Bytes of ternary weight rows in one cache tile of matmul_worker: half of a typical 512 KiB L2
 * (the rest holds the activations of a token group and the outputs). Tuned by
 * benchmarks/engine/suite.bench.ts (pp128); override with -DARIA_MATMUL_TILE_BYTES=... */
#ifndef ARIA_MATMUL_TILE_BYTES
#    define ARIA_MATMUL_TILE_BYTES (256 * 1024)
#endif
/* Bytes of weight rows per chunk of a one-token ternary matmul (decode): a few chunks per matrix
 * for the threads to even out, and few enough (~4000 per 2B-4T token) that taking one (an atomic
 * add on a shared line, well under a microsecond) costs well under 1% of the token. */
#ifndef ARIA_MATMUL_CHUNK_BYTES
#    define ARIA_MATMUL_CHUNK_BYTES (128 * 1024)
#endif

/* Ternary rows r .. r_end - 1 against activation rows i .. i + ny - 1, two weight rows at a time
 * through the 2-row micro-kernels (TQ2_0, I2_S). Each output equals the 1-row kernel's bit for
 * bit (kernels.h), so how rows pair up (it depends on the thread split and the tile) changes
 * nothing. Returns the first row not done: r_end - 1 for an odd count, r for TQ1_0 (no 2-row
 * kernel) and for a single token. */
static int64_t matmul_row_pairs(const matmul_task * t, int64_t r, int64_t r_end, int32_t i, int ny) {
    const struct aria_ctx *   ctx    = t->ctx;
    const aria_matrix *       w      = t->w;
    const aria_kernel_table * kt     = ctx->kt;
    const int64_t             stride = (int64_t)ctx->act_row_bytes;
    const uint8_t *           a      = ctx->act + (uint64_t)i * ctx->act_row_bytes;
    /* One token (decode) gains nothing from sharing its activation loads, and two rows read side
     * by side stream worse from DRAM than one (kernels-avx2.c prefetch_next_pair): 1-row kernels */
    if ((w->type != ARIA_TYPE_TQ2_0 && w->type != ARIA_TYPE_I2_S) || ny < 2) {
        return r;
    }
    for (; r + 1 < r_end; r += 2) {
        const uint8_t * row = w->data + (uint64_t)r * w->row_bytes;
        float           s[2 * ARIA_MULTI_MAX];  /* s[rr * ARIA_MULTI_MAX + j]: row r + rr, token i + j */
        if (w->type == ARIA_TYPE_TQ2_0) {
            kt->vec_dot_tq2_0_q8_K_2x(w->n_in, s, (const block_tq2_0 *)row, (int64_t)w->row_bytes,
                                      (const block_q8_K *)a, stride, ny);
        } else {
            int32_t d[2 * ARIA_MULTI_MAX];
            kt->vec_dot_i2_s_i8_2x(w->n_in, d, row, (int64_t)w->row_bytes, (const int8_t *)a, stride, ny);
            for (int rr = 0; rr < 2; rr++) {
                for (int j = 0; j < ny; j++) {  /* the 1-row path's expression, for the same floats */
                    const int e = rr * ARIA_MULTI_MAX + j;
                    s[e]        = (float)(d[e] - ctx->act_sum[i + j]) / ctx->act_scale[i + j] * w->i2s_scale;
                }
            }
        }
        for (int j = 0; j < ny; j++) {
            t->y[(int64_t)(i + j) * w->n_out + r]     = s[j] * w->out_scale;
            t->y[(int64_t)(i + j) * w->n_out + r + 1] = s[ARIA_MULTI_MAX + j] * w->out_scale;
        }
    }
    return r;
}

/* Ternary rows r .. r_end - 1 against the one activation row i (decode, or a batch's last token
 * group of one): one rows-kernel call for the whole range, each output equal to the multi-row
 * kernel's with ny = 1 (kernels.h), then the same scaling as the row loop in matmul_worker. */
static void matmul_rows_one_token(const matmul_task * t, int64_t r, int64_t r_end, int32_t i) {
    const struct aria_ctx *   ctx = t->ctx;
    const aria_matrix *       w   = t->w;
    const aria_kernel_table * kt  = ctx->kt;
    const uint8_t *           a   = ctx->act + (uint64_t)i * ctx->act_row_bytes;
    float *                   y   = t->y + (int64_t)i * w->n_out;
    const uint8_t *           row = w->data + (uint64_t)r * w->row_bytes;
    if (w->type == ARIA_TYPE_TQ2_0) {
        kt->vec_dot_tq2_0_q8_K_rows(w->n_in, r_end - r, y + r, (const block_tq2_0 *)row, (int64_t)w->row_bytes,
                                    (const block_q8_K *)a);
    } else if (w->type == ARIA_TYPE_TQ1_0) {
        kt->vec_dot_tq1_0_q8_K_rows(w->n_in, r_end - r, y + r, (const block_tq1_0 *)row, (int64_t)w->row_bytes,
                                    (const block_q8_K *)a);
    } else {
        for (int64_t r0 = r; r0 < r_end; r0 += 256) {  /* int32 sums in chunks of 256 rows */
            const int64_t nr = r_end - r0 < 256 ? r_end - r0 : 256;
            int32_t       d[256];
            kt->vec_dot_i2_s_i8_rows(w->n_in, nr, d, w->data + (uint64_t)r0 * w->row_bytes, (int64_t)w->row_bytes,
                                     (const int8_t *)a);
            for (int64_t k = 0; k < nr; k++) {  /* the multi-row path's expression, for the same floats */
                y[r0 + k] = (float)(d[k] - ctx->act_sum[i]) / ctx->act_scale[i] * w->i2s_scale;
            }
        }
    }
    for (int64_t k = r; k < r_end; k++) {
        y[k] = y[k] * w->out_scale;
    }
}

/* Outputs of an x16 call, 16 at a time (a group's rows; n a multiple of 16), with fixed trip
 * counts so that -O2's vectorizer takes them: the same IEEE operations per element as the scalar
 * loops they replace, lane by lane (a division stays a division), so the same floats. */

/* I2_S: the int32 sums written over the n float outputs at y, into floats in place with the row
 * kernels' expression (float)(d - sum) / scale * w_scale. The sums are copied out first (memcpy:
 * no type punning), so the loop reads and writes distinct arrays. */
static void x16_i2s_to_f32(float * y, int64_t n, int32_t sum, float scale, float w_scale) {
    for (int64_t k0 = 0; k0 < n; k0 += ARIA_X16_ROWS) {
        int32_t d[ARIA_X16_ROWS];
        float   o[ARIA_X16_ROWS];
        memcpy(d, y + k0, sizeof d);
        for (int k = 0; k < ARIA_X16_ROWS; k++) {
            o[k] = (float)(d[k] - sum) / scale * w_scale;
        }
        memcpy(y + k0, o, sizeof o);
    }
}

/* y[k] = y[k] * a for k < n */
static void x16_scale(float * y, int64_t n, float a) {
    for (int64_t k0 = 0; k0 < n; k0 += ARIA_X16_ROWS) {
        float o[ARIA_X16_ROWS];
        memcpy(o, y + k0, sizeof o);
        for (int k = 0; k < ARIA_X16_ROWS; k++) {
            o[k] = o[k] * a;
        }
        memcpy(y + k0, o, sizeof o);
    }
}

/* Rows of one call of an x16 lookup-table kernel (kernels.h "x16 lookup tables"): its tables (about
 * 180 instructions per 4 elements for 16 tokens) are shared by the rows of a call, so a call takes
 * many rows (at 1024 the tables cost about 7% of the lookups), more than a cache tile. */
#ifndef ARIA_MATMUL_LUT_ROWS
#    define ARIA_MATMUL_LUT_ROWS 1024
#endif

/* Whether the lookup-table kernels run w for a batch of n tokens: a ternary x16 matrix, a table that
 * has them, and at least ARIA_X16_LUT_MIN tokens. */
static int x16_lut(const aria_kernel_table * kt, const aria_matrix * w, int32_t n) {
    return w->x16_group && (w->type == ARIA_TYPE_TQ2_0 || w->type == ARIA_TYPE_I2_S) && kt->gemm_tq2_0_x16_lut &&
           kt->gemm_i2_s_x16_lut && n >= ARIA_X16_LUT_MIN;
}

/* Output rows r0 .. r1 - 1 (r0 a multiple of 16) of an x16 matrix (kernels.h) for all its tokens:
 * a tile of groups small enough to stay in L2 against each group of up to ARIA_X16_MAX_NY tokens
 * in turn (the cache blocking of matmul_rows), each call writing its tokens' outputs in place; a
 * last group with padding rows (n_out not a multiple of 16) goes through a local buffer. Every
 * output equals the reference row kernel's (kernels.h), so neither tiling, token grouping nor
 * the thread split changes a float. */
static void matmul_rows_x16(matmul_task * t, int64_t r0, int64_t r1) {
    struct aria_ctx *         ctx   = t->ctx;
    const aria_matrix *       w     = t->w;
    const aria_kernel_table * kt    = ctx->kt;
    const int64_t             K     = w->n_in;
    const int64_t             ys    = (int64_t)ctx->act_row_bytes;
    const int64_t             g_end = (r1 + ARIA_X16_ROWS - 1) / ARIA_X16_ROWS;  /* r1 <= n_out */
    int64_t                   tile  = (int64_t)(ARIA_MATMUL_TILE_BYTES / w->x16_group);
    tile                            = tile < 1 ? 1 : tile;
    if (x16_lut(kt, w, t->n)) {  /* one call per token group over the whole chunk: shared tables */
        tile = ARIA_MATMUL_LUT_ROWS / ARIA_X16_ROWS;
    }
    for (int64_t g0 = r0 / ARIA_X16_ROWS; g0 < g_end; g0 += tile) {
        const int64_t g1 = g0 + tile < g_end ? g0 + tile : g_end;
        /* groups [g0, g_whole) have 16 real rows; only the matrix's last group can be partial */
        const int64_t g_whole = g1 < w->n_out / ARIA_X16_ROWS ? g1 : w->n_out / ARIA_X16_ROWS;
        for (int32_t i = 0, ny = 0; i < t->n; i += ny) {
            /* tokens of this call: up to 32 through the lookup tables while at least
             * ARIA_X16_LUT_MIN are left (never by default, kernels.h), else up to 8 through the
             * multiply-add kernels (the same outputs either way) */
            const int       lut = x16_lut(kt, w, t->n - i);
            const int       max = lut ? ARIA_X16_LUT_NY : ARIA_X16_MAX_NY;
            ny                  = t->n - i < max ? t->n - i : max;
            const uint8_t * a   = ctx->act + (uint64_t)i * ctx->act_row_bytes;
            for (int part = 0; part < 2; part++) {
                const int64_t   ga = part == 0 ? g0 : g_whole;
                const int64_t   ng = part == 0 ? g_whole - g0 : g1 - g_whole;
                if (ng <= 0) {
                    continue;
                }
                const uint8_t * x  = w->data + (uint64_t)ga * w->x16_group;
                float           pad[ARIA_X16_LUT_NY * ARIA_X16_ROWS];
                /* whole groups: straight into y; the partial one: into pad, stride 16 */
                float *         out = part == 0 ? t->y + (int64_t)i * w->n_out + ga * ARIA_X16_ROWS : pad;
                const int64_t   os  = part == 0 ? w->n_out : ARIA_X16_ROWS;
                if (w->type == ARIA_TYPE_I2_S) {
                    /* int32 sums written over the float outputs, then turned into floats in place
                     * with the row kernels' expression */
                    (lut ? kt->gemm_i2_s_x16_lut : kt->gemm_i2_s_x16)(K, ng, x, (int64_t)w->x16_group, (const int8_t *)a,
                                                                      ys, ny, (int32_t *)out, os);
                    for (int j = 0; j < ny; j++) {
                        x16_i2s_to_f32(out + j * os, ng * ARIA_X16_ROWS, ctx->act_sum[i + j], ctx->act_scale[i + j],
                                       w->i2s_scale);
                    }
                } else if (w->type == ARIA_TYPE_Q8_W) {
                    kt->gemm_q8_W_x16(K, ng, x, (int64_t)w->x16_group, (const block_q8_K *)a, ys, ny, out, os);
                } else if (w->type == ARIA_TYPE_Q4_W) {
                    kt->gemm_q4_W_x16(K, ng, x, (int64_t)w->x16_group, (const block_q8_K *)a, ys, ny, out, os);
                } else {
                    (lut ? kt->gemm_tq2_0_x16_lut : kt->gemm_tq2_0_x16)(K, ng, x, (int64_t)w->x16_group,
                                                                        (const block_q8_K *)a, ys, ny, out, os);
                }
                const int64_t rb = ga * ARIA_X16_ROWS;
                const int64_t re = (ga + ng) * ARIA_X16_ROWS < w->n_out ? (ga + ng) * ARIA_X16_ROWS : w->n_out;
                for (int j = 0; j < ny; j++) {
                    float * y = t->y + (int64_t)(i + j) * w->n_out;
                    if (part == 0) {  /* whole groups: re - rb is a multiple of 16 */
                        x16_scale(y + rb, re - rb, w->out_scale);
                        continue;
                    }
                    for (int64_t r = rb; r < re; r++) {
                        y[r] = pad[j * ARIA_X16_ROWS + (r - rb)] * w->out_scale;
                    }
                }
            }
        }
    }
}

/* Output rows r0 .. r1 - 1 of a matmul for all its tokens, on thread ith (its scratch row). */
static void matmul_rows(matmul_task * t, int ith, int64_t r0, int64_t r1) {
    struct aria_ctx *         ctx = t->ctx;
    const aria_matrix *       w   = t->w;
    const aria_kernel_table * kt  = ctx->kt;
    const int64_t             K   = w->n_in;
    float *                   deq = ctx->deq + (int64_t)ith * ctx->max_n_in;
    if (w->x16_group) {
        matmul_rows_x16(t, r0, r1);
        return;
    }
    if (is_ternary(w)) {
        /* Cache blocking (a GEMM's loop order): a tile of weight rows small enough to stay in L2 is
         * run against each group of up to ARIA_MULTI_MAX tokens in turn, so a group's quantized
         * activations are fetched once per tile and reused from L1 for every row of it, instead of
         * streaming all the batch's activations from L2 again for every row. Each output is still
         * one kernel call over the same data: the result does not depend on the tiling. Within a
         * tile, rows go in pairs through the 2-row kernels (matmul_row_pairs), equal per row to the
         * 1-row ones. For one group (decode) this is the plain row loop. */
        const int64_t stride = (int64_t)ctx->act_row_bytes;
        int64_t       tile   = (int64_t)(ARIA_MATMUL_TILE_BYTES / w->row_bytes);
        tile                 = tile < 1 ? 1 : tile;
        for (int64_t r_tile = r0; r_tile < r1; r_tile += tile) {
            const int64_t r_end = r_tile + tile < r1 ? r_tile + tile : r1;
            for (int32_t i = 0; i < t->n; i += ARIA_MULTI_MAX) {
                const int       ny = t->n - i < ARIA_MULTI_MAX ? t->n - i : ARIA_MULTI_MAX;
                const uint8_t * a  = ctx->act + (uint64_t)i * ctx->act_row_bytes;
                int64_t r = matmul_row_pairs(t, r_tile, r_end, i, ny);
                if (ny == 1) {
                    matmul_rows_one_token(t, r, r_end, i);
                    r = r_end;
                }
                for (; r < r_end; r++) {  /* TQ1_0, and an odd last row */
                    const uint8_t * row = w->data + (uint64_t)r * w->row_bytes;
                    float           s[ARIA_MULTI_MAX];
                    if (w->type == ARIA_TYPE_TQ2_0) {
                        kt->vec_dot_tq2_0_q8_K_multi(K, s, (const block_tq2_0 *)row, (const block_q8_K *)a, stride,
                                                     ny);
                    } else if (w->type == ARIA_TYPE_TQ1_0) {
                        kt->vec_dot_tq1_0_q8_K_multi(K, s, (const block_tq1_0 *)row, (const block_q8_K *)a, stride,
                                                     ny);
                    } else {
                        int32_t d[ARIA_MULTI_MAX];
                        kt->vec_dot_i2_s_i8_multi(K, d, row, (const int8_t *)a, stride, ny);
                        for (int j = 0; j < ny; j++) {
                            s[j] = (float)(d[j] - ctx->act_sum[i + j]) / ctx->act_scale[i + j] * w->i2s_scale;
                        }
                    }
                    for (int j = 0; j < ny; j++) {
                        t->y[(int64_t)(i + j) * w->n_out + r] = s[j] * w->out_scale;
                    }
                }
            }
        }
        return;
    }
    if (!w->act_i8 && (w->type == ARIA_TYPE_Q8_W || w->type == ARIA_TYPE_F16)) {
        /* The output head (int8 or F16) and other F16 matrices: each row against the tokens in
         * groups of up to ARIA_MULTI_MAX through the multi-row kernels, so a row is read (and for
         * F16 converted) once per group instead of once per token. One token is a group of one:
         * each output equals the kernel's ny = 1 call for that token (kernels.h), so a token's
         * logits do not depend on how many other tokens share its batch. */
        const int64_t q_stride = (int64_t)ctx->act_row_bytes;
        const int64_t f_stride = K * (int64_t)sizeof(float);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t * row = w->data + (uint64_t)r * w->row_bytes;
            for (int32_t i = 0; i < t->n; i += ARIA_MULTI_MAX) {
                const int ny = t->n - i < ARIA_MULTI_MAX ? t->n - i : ARIA_MULTI_MAX;
                float     s[ARIA_MULTI_MAX];
                if (w->type == ARIA_TYPE_Q8_W) {
                    kt->vec_dot_q8_W_q8_K_multi(K, s, (const block_q8_W *)row,
                                                (const block_q8_K *)(ctx->act + (uint64_t)i * ctx->act_row_bytes),
                                                q_stride, ny);
                } else {
                    kt->vec_dot_f16_f32_multi(K, s, (const aria_f16 *)row, t->x + i * K, f_stride, ny);
                }
                for (int j = 0; j < ny; j++) {
                    t->y[(int64_t)(i + j) * w->n_out + r] = s[j] * w->out_scale;
                }
            }
        }
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t * row = w->data + (uint64_t)r * w->row_bytes;
        for (int32_t i = 0; i < t->n; i++) {
            float s = 0.0f;
            if (w->act_i8) { /* fallback projection: (Σ w_i q_i) / s over the dequantized row */
                if (i == 0) {
                    aria_matrix_row_f32(w, r, deq);
                }
                kt->vec_dot_f32(K, &s, deq, ctx->xq + i * K);
                t->y[(int64_t)i * w->n_out + r] = s / ctx->act_scale[i] * w->out_scale;
                continue;
            }
            switch (w->type) {  /* ternary, Q8_W and F16 matrices took the multi-row paths above */
                case ARIA_TYPE_F32:
                    kt->vec_dot_f32(K, &s, (const float *)row, t->x + i * K);
                    break;
                default: /* BF16, Q4_0, Q8_0, Q4_K, Q6_K: dequantize the row once, reuse it for every token */
                    if (i == 0) {
                        aria_matrix_row_f32(w, r, deq);
                    }
                    kt->vec_dot_f32(K, &s, deq, t->x + i * K);
                    break;
            }
            t->y[(int64_t)i * w->n_out + r] = s * w->out_scale;
        }
    }
}

/* Up to three matmuls of one input (Q, K, V; gate, up) run as one set: their row chunks are handed
 * out together, so the pool starts and waits once for all of them (a decode step of 2B-4T runs 210
 * ternary matmuls of 7-110 microseconds each) and a thread that finishes one matrix goes on with
 * the next.
 *
 * Rows are handed out in chunks rather than split in fixed halves: a thread that is descheduled
 * (a busy machine, a noisy VM) or slower leaves its remaining chunks to the others instead of
 * making them wait at the barrier (take_chunk). Every output row is still computed by one thread with the same
 * code, and chunks start at rows fixed by the matrix and the batch (even; x16: whole groups), so
 * row pairs (matmul_row_pairs) and the floats do not depend on the thread count or on timing. */
typedef struct {
    matmul_task *    t[3];
    int              count;
    int64_t          first[4];  /* chunk number where matrix k starts; first[count]: the total */
    _Atomic uint64_t ends;      /* the chunks not yet taken: [low 32 bits, high 32 bits) */
} matmul_set;

/* Takes the next chunk from the front (even threads) or the back (odd threads) of the chunks not
 * yet taken, or returns -1 when none is left. Two threads thus each stream one run of chunks in
 * order, one from each end (a long sequential read that the prefetchers follow), and meet
 * wherever their speeds put the boundary, one small chunk apart at most. */
static int64_t take_chunk(matmul_set * g, int from_back) {
    uint64_t e = atomic_load_explicit(&g->ends, memory_order_relaxed);
    for (;;) {
        const uint64_t lo = e & 0xffffffffu, hi = e >> 32;
        if (lo >= hi) {
            return -1;
        }
        const uint64_t next = from_back ? lo | (hi - 1) << 32 : (lo + 1) | hi << 32;
        if (atomic_compare_exchange_weak_explicit(&g->ends, &e, next, memory_order_relaxed, memory_order_relaxed)) {
            return (int64_t)(from_back ? hi - 1 : lo);
        }
    }
}

static void matmul_set_worker(void * arg, int ith, int nth) {
    matmul_set * g = arg;
    (void)nth;
    for (;;) {
        const int64_t c = take_chunk(g, ith & 1);
        if (c < 0) {
            break;
        }
        int k = 0;
        while (c >= g->first[k + 1]) {
            k++;
        }
        matmul_task * t  = g->t[k];
        const int64_t r0 = (c - g->first[k]) * t->chunk_rows;
        matmul_rows(t, ith, r0, r0 + t->chunk_rows < t->w->n_out ? r0 + t->chunk_rows : t->w->n_out);
    }
}

/* Whether a quantized activation made for `a` also serves `b`: the same input width and the same
 * activation format (Q8_K for TQ1_0/TQ2_0, per-row int8 for I2_S). */
static int same_activation(const aria_matrix * a, const aria_matrix * b) {
    const int a_i8 = a->type == ARIA_TYPE_I2_S;
    const int b_i8 = b->type == ARIA_TYPE_I2_S;
    return is_ternary(a) && is_ternary(b) && a_i8 == b_i8 && a->n_in == b->n_in;
}

/* The chunking of one matmul (matmul_set): one cache tile of rows (matmul_rows' blocking for a
 * batch; the output head), smaller pieces for one token's ternary matrices so the threads can even
 * out; even row counts, whole groups of 16 for x16 matrices. */
static void matmul_prepare(matmul_task * t, struct aria_ctx * ctx, float * y, const float * x, int32_t n,
                           const aria_matrix * w) {
    t->ctx                 = ctx;
    t->w                   = w;
    t->x                   = x;
    t->y                   = y;
    t->n                   = n;
    const int64_t bytes = (is_ternary(w) || w->x16_group) && n == 1 ? ARIA_MATMUL_CHUNK_BYTES : ARIA_MATMUL_TILE_BYTES;
    int64_t       rows  = bytes / (int64_t)w->row_bytes;
    rows                = rows < 2 ? 2 : rows & ~(int64_t)1;
    if (w->x16_group) {
        rows = (int64_t)(bytes / w->x16_group) * ARIA_X16_ROWS;
        rows = rows < ARIA_X16_ROWS ? ARIA_X16_ROWS : rows;
    }
    if (x16_lut(ctx->kt, w, n)) {  /* the lookup tables are built once per chunk: large chunks */
        rows = ARIA_MATMUL_LUT_ROWS;
    }
    t->chunk_rows = rows;
    t->n_chunks   = (w->n_out + rows - 1) / rows;
}

/* Quantizes x into ctx->act in w's activation format, when w reads one. */
static void matmul_quantize(struct aria_ctx * ctx, matmul_task * t) {
    const aria_matrix * w = t->w;
    if (is_ternary(w) || w->type == ARIA_TYPE_Q8_W || w->type == ARIA_TYPE_Q4_W || w->act_i8) {
        if (t->n >= 4) {
            aria_tp_run(ctx->tp, quantize_worker, t);
        } else {
            quantize_worker(t, 0, 1);
        }
    }
}

/* Runs count (1..3) prepared matmuls, whose activations are already quantized, as one set. */
static void run_set(struct aria_ctx * ctx, matmul_task * ts, int count) {
    matmul_set g = { .count = count };
    for (int k = 0; k < count; k++) {
        g.t[k]         = &ts[k];
        g.first[k + 1] = g.first[k] + ts[k].n_chunks;
    }
    atomic_init(&g.ends, (uint64_t)g.first[count] << 32);
    PHASE(ts[0].w == &ctx->model->output ? ARIA_PHASE_HEAD : ARIA_PHASE_MATMUL, aria_tp_run(ctx->tp, matmul_set_worker, &g));
}

/* ys[k] = x ws[k]^T for count (1..3) matrices of one input x. When they all read the same quantized
 * activation (same_activation), x is quantized once and they run as one set; otherwise one by one,
 * each quantizing x in its own format unless the previous one had the same. */
void aria_matmul_many(struct aria_ctx * ctx, const float * x, int32_t n, int count, const aria_matrix * const * ws,
                        float * const * ys) {
    matmul_task ts[3];
    int         shared = 1;
    for (int k = 0; k < count; k++) {
        matmul_prepare(&ts[k], ctx, ys[k], x, n, ws[k]);
        shared &= k == 0 || same_activation(ws[0], ws[k]);
    }
    if (shared) {
        PHASE(ARIA_PHASE_QUANTIZE, matmul_quantize(ctx, &ts[0]));
        run_set(ctx, ts, count);
        return;
    }
    for (int k = 0; k < count; k++) {
        if (k == 0 || !same_activation(ws[k - 1], ws[k])) {
            PHASE(ARIA_PHASE_QUANTIZE, matmul_quantize(ctx, &ts[k]));
        }
        run_set(ctx, &ts[k], 1);
    }
}

void aria_matmul(struct aria_ctx * ctx, float * y, const float * x, int32_t n, const aria_matrix * w) {
    aria_matmul_many(ctx, x, n, 1, &w, &y);
}
