/*
 * bench-kernels.c — single-thread GB/s of each kernel, _ref vs every SIMD table this CPU runs, on
 * BitNet b1.58 2B-4T-shaped rows (K = 2560). Not a test: numbers only.
 *
 * What is timed: a GEMV over a weight matrix larger than L3 (about 60-85 MB), so the figure is
 * the weight stream the kernel sustains from memory; activations stay in L1/L2. GB/s = weight
 * bytes / time (for quantizers: input f32 bytes / time). Median of 5 runs after one warm-up.
 *
 * Build and run (from the repo root):
 *   make -C native && cc -std=c11 -O2 -Inative/include -Inative/src \
 *     benchmarks/kernels/bench-kernels.c native/build/libbitnet.a -lm -pthread -o /tmp/bench-kernels \
 *     && /tmp/bench-kernels
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aria.h"
#include "kernels.h"
#include "timing.h"

#define K      2560
#define REPS   5

static void * alloc_random(size_t n) {
    unsigned char * p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s    = s * 1664525u + 1013904223u;
        p[i] = (unsigned char) (s >> 24);
    }
    return p;
}

typedef struct {
    const aria_kernel_table * k;
    int                       which;  /* kernel id below */
    void *                    w;      /* weights */
    int64_t                   rows;
    size_t                    row_bytes;
    const void *              act;
    float *                   out;
} job;

enum { B_TQ2, B_TQ2M1, B_TQ2M4, B_TQ1, B_TQ1M4, B_I2S, B_I2SM4, B_Q8W, B_F16, B_F32, B_Q8K, B_I8, B_TQ2X1, B_TQ2X4,
       B_TQ2X8, B_I2SX1, B_I2SX8, B_Q8WX1, B_Q8WX4, B_Q4WX1, B_Q4WX4, B_COUNT };
static const char * bench_name[B_COUNT] = { "tq2_0 x q8_K", "tq2_0 multi x1", "tq2_0 multi x4", "tq1_0 x q8_K",
                                            "tq1_0 multi x4", "i2_s x i8", "i2_s multi x4", "q8_W x q8_K",
                                            "f16 x f32", "f32 x f32", "quantize q8_K", "quantize i8",
                                            "tq2_0 x16 x1", "tq2_0 x16 x4", "tq2_0 x16 x8", "i2_s x16 x1",
                                            "i2_s x16 x8", "q8_W x16 x1", "q8_W x16 x4", "q4_W x16 x1",
                                            "q4_W x16 x4" };

/* x16 entries (kernels.h): the whole matrix as groups of 16 rows, in chunks of 12 groups (what a
 * decode step hands a thread at a time); x4, x8: 4 or 8 activation rows, all the same row (GB/s of
 * weights, each used 4 or 8 times) */
static void run_x16(const job * j, uint64_t group) {
    static float   sf[8 * 16 * 12];
    static int32_t si[8 * 16 * 12];
    const int      ny = j->which == B_TQ2X8 || j->which == B_I2SX8                                 ? 8
                        : j->which == B_TQ2X4 || j->which == B_Q8WX4 || j->which == B_Q4WX4 ? 4
                                                                                             : 1;
    const int64_t  ng = j->rows / 16;
    for (int64_t g = 0; g < ng; g += 12) {
        const int64_t   n  = ng - g < 12 ? ng - g : 12;
        const uint8_t * x  = (const uint8_t *) j->w + (uint64_t) g * group;
        if (j->which == B_TQ2X1 || j->which == B_TQ2X4 || j->which == B_TQ2X8) {
            j->k->gemm_tq2_0_x16(K, n, x, (int64_t) group, j->act, 0, ny, sf, 16 * 12);
        } else if (j->which == B_Q8WX1 || j->which == B_Q8WX4) {
            j->k->gemm_q8_W_x16(K, n, x, (int64_t) group, j->act, 0, ny, sf, 16 * 12);
        } else if (j->which == B_Q4WX1 || j->which == B_Q4WX4) {
            j->k->gemm_q4_W_x16(K, n, x, (int64_t) group, j->act, 0, ny, sf, 16 * 12);
        } else {
            j->k->gemm_i2_s_x16(K, n, x, (int64_t) group, j->act, 0, ny, si, 16 * 12);
        }
    }
    j->out[0] = sf[0] + (float) si[0];
}

static void run(const job * j) {
    const unsigned char * w = j->w;
    if (j->which >= B_TQ2X1) {
        const int32_t type = j->which >= B_Q4WX1   ? ARIA_TYPE_Q4_W
                             : j->which >= B_Q8WX1 ? ARIA_TYPE_Q8_W
                             : j->which >= B_I2SX1 ? ARIA_TYPE_I2_S
                                                   : ARIA_TYPE_TQ2_0;
        run_x16(j, aria_x16_group_bytes(type, K));
        return;
    }
    for (int64_t r = 0; r < j->rows; r++) {
        const void * row = w + (size_t) r * j->row_bytes;
        switch (j->which) {
            case B_TQ2: j->k->vec_dot_tq2_0_q8_K(K, &j->out[r], row, j->act); break;
            /* multi: the same activation row 1 or 4 times (4 x the arithmetic per weight byte) */
            case B_TQ2M1: j->k->vec_dot_tq2_0_q8_K_multi(K, &j->out[r], row, j->act, 0, 1); break;
            case B_TQ2M4: {
                float s4[4];
                j->k->vec_dot_tq2_0_q8_K_multi(K, s4, row, j->act, 0, 4);
                j->out[r] = s4[0] + s4[3];
                break;
            }
            case B_TQ1M4: {
                float s4[4];
                j->k->vec_dot_tq1_0_q8_K_multi(K, s4, row, j->act, 0, 4);
                j->out[r] = s4[0] + s4[3];
                break;
            }
            case B_I2SM4: {
                int32_t s4[4];
                j->k->vec_dot_i2_s_i8_multi(K, s4, row, j->act, 0, 4);
                j->out[r] = (float) (s4[0] + s4[3]);
                break;
            }
            case B_Q8W: j->k->vec_dot_q8_W_q8_K(K, &j->out[r], row, j->act); break;
            case B_TQ1: j->k->vec_dot_tq1_0_q8_K(K, &j->out[r], row, j->act); break;
            case B_I2S: {
                int32_t s;
                j->k->vec_dot_i2_s_i8(K, &s, row, j->act);
                j->out[r] = (float) s;
                break;
            }
            case B_F16: j->k->vec_dot_f16_f32(K, &j->out[r], row, j->act); break;
            case B_F32: j->k->vec_dot_f32(K, &j->out[r], row, j->act); break;
            case B_Q8K: j->k->quantize_row_q8_K(K, (block_q8_K *) j->act, row); break;
            default: {
                int32_t s;
                j->out[r] = j->k->quantize_row_i8(K, (int8_t *) j->act, &s, row);
                break;
            }
        }
    }
}

int main(void) {
    const aria_kernel_table * tables[4];
    int                       n_tables = 0;
    tables[n_tables++]                 = &aria_kernels_ref;
#if defined(__x86_64__)
    if (aria_cpu_has_avx2()) tables[n_tables++] = &aria_kernels_avx2;
    if (aria_cpu_has_avxvnni()) tables[n_tables++] = &aria_kernels_avxvnni;
    if (aria_cpu_has_avx512()) tables[n_tables++] = &aria_kernels_avx512;
#endif
    printf("cpu: %s; K = %d, 1 thread, median of %d\n", aria_cpu_features_str(), K, REPS);

    /* rows per kernel: weight matrices of ~60-85 MB (multi x4: GB/s of weights, each used 4 times) (> L3); quantizers: 4096 rows of K f32 */
    const int64_t rows[B_COUNT]      = { 110592, 110592, 110592, 110592, 110592, 110592, 110592,
                                         32768,  16384,  8192,   4096,   4096, 110592, 110592, 110592, 110592, 110592,
                                         32768, 32768, 65536, 65536 };
    const size_t  tq2 = K / 256 * sizeof(block_tq2_0), tq1 = K / 256 * sizeof(block_tq1_0);
    const size_t  row_bytes[B_COUNT] = { tq2, tq2, tq2, tq1, tq1, K / 4, K / 4, K / 256 * sizeof(block_q8_W),
                                         K * 2, K * 4, K * 4, K * 4,
                                         aria_x16_group_bytes(ARIA_TYPE_TQ2_0, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_TQ2_0, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_TQ2_0, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_I2_S, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_I2_S, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_Q8_W, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_Q8_W, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_Q4_W, K) / 16,
                                         aria_x16_group_bytes(ARIA_TYPE_Q4_W, K) / 16 };
    float *       xf                 = alloc_random(K * sizeof(float));
    for (int i = 0; i < K; i++) xf[i] = (float) (i % 17) - 8.0f;
    block_q8_K * q8k = malloc(K / 256 * sizeof(block_q8_K));
    int8_t *     q8  = malloc(K);
    int32_t      sum;
    aria_kernels_ref.quantize_row_q8_K(K, q8k, xf);
    aria_kernels_ref.quantize_row_i8(K, q8, &sum, xf);
    float * out = malloc(110592 * sizeof(float));

    printf("%-15s", "kernel");
    for (int t = 0; t < n_tables; t++) printf(" %10s", tables[t]->name);
    printf("   (GB/s)\n");
    for (int b = 0; b < B_COUNT; b++) {
        void * w = alloc_random((size_t) rows[b] * row_bytes[b]);
        const int is_tq2 = b == B_TQ2 || b == B_TQ2M1 || b == B_TQ2M4, is_tq1 = b == B_TQ1 || b == B_TQ1M4;
        if (is_tq2 || is_tq1) {  /* sane f16 scales at the end of each block */
            const size_t bs = is_tq2 ? sizeof(block_tq2_0) : sizeof(block_tq1_0);
            for (size_t i = 0; i < (size_t) rows[b] * row_bytes[b] / bs; i++) {
                memcpy((unsigned char *) w + i * bs + bs - 2, &(aria_f16){ 0x2c00 }, 2);
            }
        }
        if (b == B_F16 || b == B_F32 || b >= B_Q8K) {  /* finite values */
            for (size_t i = 0; i < (size_t) rows[b] * row_bytes[b] / 2; i++) {
                ((uint16_t *) w)[i] &= b == B_F16 ? 0x3bff : 0xffff;
            }
            if (b != B_F16) {
                for (size_t i = 0; i < (size_t) rows[b] * row_bytes[b] / 4; i++) ((float *) w)[i] = (float) (i % 31) - 15.0f;
            }
        }
        if (b == B_Q8W) {  /* sane f32 scales at the start of each block */
            for (size_t i = 0; i < (size_t) rows[b] * row_bytes[b] / sizeof(block_q8_W); i++) {
                ((block_q8_W *) w)[i].d = 0.01f;
            }
        }
        const int x16_q8k = b == B_TQ2X1 || b == B_TQ2X4 || b == B_TQ2X8 || b == B_Q8WX1 || b == B_Q8WX4 ||
                            b == B_Q4WX1 || b == B_Q4WX4;
        if (x16_q8k) {  /* sane scales after the codes of each group */
            const int32_t  type  = b >= B_Q4WX1 ? ARIA_TYPE_Q4_W : b >= B_Q8WX1 ? ARIA_TYPE_Q8_W : ARIA_TYPE_TQ2_0;
            const uint64_t group = aria_x16_group_bytes(type, K);
            const uint64_t codes = type == ARIA_TYPE_Q8_W ? K * 16 : K * 4;
            for (int64_t g = 0; g < rows[b] / 16; g++) {
                if (type == ARIA_TYPE_Q4_W) {  /* the scales follow every 512 code bytes (kernels.h) */
                    for (uint64_t s = 0; s < group / 576; s++) {
                        memset((unsigned char *) w + (uint64_t) g * group + 576 * s + 512, 0, 64);
                    }
                    continue;
                }
                memset((unsigned char *) w + (uint64_t) g * group + codes, 0, group - codes);
            }
        }
        const void * act = is_tq2 || is_tq1 || b == B_Q8W || x16_q8k ? (const void *) q8k
                         : b == B_I2S || b == B_I2SM4 || b == B_I2SX1 || b == B_I2SX8 ? (const void *) q8
                         : b == B_F16 || b == B_F32 ? (const void *) xf
                         : b == B_Q8K               ? (const void *) q8k
                                                    : (const void *) q8;
        if (b == B_F16) {  /* f16 weights: the activations are f32 */
            act = xf;
        }
        printf("%-15s", bench_name[b]);
        for (int t = 0; t < n_tables; t++) {
            job    j = { tables[t], b, w, rows[b], row_bytes[b], act, out };
            double times[REPS];
            run(&j);  /* warm-up */
            for (int r = 0; r < REPS; r++) {
                const double t0 = now_s();
                run(&j);
                times[r] = now_s() - t0;
            }
            qsort(times, REPS, sizeof times[0], cmp_double);
            printf(" %10.2f", (double) rows[b] * (double) row_bytes[b] / times[REPS / 2] / 1e9);
            fflush(stdout);
        }
        printf("\n");
        free(w);
    }
    free(xf), free(q8k), free(q8), free(out);
    return 0;
}
