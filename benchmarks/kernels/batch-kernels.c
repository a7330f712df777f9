/*
 * batch-kernels.c — the arithmetic cost of one more token in a batched x16 kernel call: each x16
 * kernel of a table (TQ2_0, I2_S, the int8 head; the lookup-table GEMMs where the table has them)
 * over 192 KiB of 2B-4T-shaped weights (K = 2560) that stay in L2, called again and again with NY
 * tokens, one thread. Prints one JSON line per kernel and NY: picoseconds per weight (per row
 * element of one call, all NY tokens) and per weight and token. A decode step reads its weights
 * from memory once for all its tokens (the stream kernel-threads.c measures); when NY tokens cost
 * more per weight here than the stream costs per weight, a batch of NY is compute-bound.
 * The median and the fastest of 9 runs after one warm-up (on a shared machine the fastest is the
 * one least disturbed). Not a test: numbers only.
 *
 * Build and run (from the repo root; pin it to one core):
 *   make -C native && cc -std=c11 -O2 -Inative/include -Inative/src \
 *     benchmarks/kernels/batch-kernels.c native/build/libbitnet.a -lm -pthread -o /tmp/batch-kernels \
 *     && taskset -c 1 /tmp/batch-kernels avx2 1,2,3,4,6,8,12,16
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aria.h"
#include "kernels.h"
#include "timing.h"

#define K         2560
#define REPS      9
#define HOT_BYTES (192u << 10)
#define MAX_NY    32

enum { KER_TQ2_0, KER_TQ2_0_LUT, KER_I2_S, KER_I2_S_LUT, KER_Q8_W, KER_COUNT };
static const char * const ker_name[KER_COUNT] = { "tq2_0", "tq2_0 lut", "i2_s", "i2_s lut", "q8_W" };
static const int32_t      ker_type[KER_COUNT] = { ARIA_TYPE_TQ2_0, ARIA_TYPE_TQ2_0, ARIA_TYPE_I2_S, ARIA_TYPE_I2_S,
                                                  ARIA_TYPE_Q8_W };

static float g_sink;

/* Random code bytes (codes 0..2 only: the LUT kernels leave code 3 to the multiply-add ones), scales 0. */
static uint8_t * make_weights(int ker, uint64_t bytes) {
    uint8_t * w = aligned_alloc(64, bytes);
    if (!w) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    uint32_t s = 12345;
    for (uint64_t i = 0; i < bytes; i++) {
        s = s * 1664525u + 1013904223u;
        uint8_t b = 0;
        for (int k = 0; k < 4; k++) {
            b |= (uint8_t) (((s >> (8 + 5 * k)) % 3) << (2 * k));
        }
        w[i] = ker == KER_Q8_W ? (uint8_t) (s >> 24) : b;
    }
    const uint64_t group = aria_x16_group_bytes(ker_type[ker], K);
    const uint64_t codes = ker == KER_Q8_W ? K * 16 : K * 4;
    for (uint64_t g = 0; g + group <= bytes; g += group) {
        memset(w + g + codes, 0, group - codes);
    }
    return w;
}

int main(int argc, char ** argv) {
    static const char * names[] = { "auto", "ref", "avx2", "avx512", "neon", "avxvnni" };
    int32_t             kernels = -1;
    for (int32_t i = 0; i < 6; i++) {
        if (strcmp(argc > 1 ? argv[1] : "auto", names[i]) == 0) {
            kernels = i;
        }
    }
    if (kernels < 0 || aria_kernels_set(kernels) != 0) {
        fprintf(stderr, "usage: %s [auto|avx2|avxvnni|avx512] [NY,NY,...]\n", argv[0]);
        return 2;
    }
    const char *              nys = argc > 2 ? argv[2] : "1,2,3,4,6,8,12,16";
    const aria_kernel_table * k   = aria_kernels_current();
    float                     xf[K];
    for (int i = 0; i < K; i++) {
        xf[i] = (float) (i % 17) - 8.0f;
    }
    block_q8_K * q8 = malloc(MAX_NY * (K / 256) * sizeof(block_q8_K));
    int8_t *     i8 = malloc(MAX_NY * K);
    for (int j = 0; j < MAX_NY; j++) {
        int32_t sum;
        aria_kernels_ref.quantize_row_q8_K(K, q8 + j * (K / 256), xf);
        aria_kernels_ref.quantize_row_i8(K, i8 + j * K, &sum, xf);
    }
    static float out[MAX_NY * 16 * 1024];
    for (int ker = 0; ker < KER_COUNT; ker++) {
        const int lut = ker == KER_TQ2_0_LUT || ker == KER_I2_S_LUT;
        if (lut && (k->gemm_tq2_0_x16_lut == NULL || k->gemm_i2_s_x16_lut == NULL)) {
            continue;
        }
        const uint64_t group  = aria_x16_group_bytes(ker_type[ker], K);
        const int64_t  ng     = (int64_t) (HOT_BYTES / group);
        uint8_t *      w      = make_weights(ker, (uint64_t) ng * group);
        const double   weights = (double) ng * 16 * K;
        for (const char * p = nys; *p;) {
            const int ny = atoi(p);
            while (*p && *p != ',') {
                p++;
            }
            if (*p == ',') {
                p++;
            }
            if (ny < 1 || ny > (lut ? ARIA_X16_LUT_NY : ARIA_X16_MAX_NY)) {
                continue;
            }
            /* about 0.05 s per run whatever ny */
            const int passes = (int) (2e8 / (weights * (1 + ny))) + 1;
            double    times[REPS + 1];
            for (int r = 0; r <= REPS; r++) {
                const double t0 = now_s();
                for (int pass = 0; pass < passes; pass++) {
                    switch (ker) {
                        case KER_TQ2_0:
                            k->gemm_tq2_0_x16(K, ng, w, (int64_t) group, q8, (int64_t) (K / 256 * sizeof(block_q8_K)),
                                              ny, out, ng * 16);
                            break;
                        case KER_TQ2_0_LUT:
                            k->gemm_tq2_0_x16_lut(K, ng, w, (int64_t) group, q8,
                                                  (int64_t) (K / 256 * sizeof(block_q8_K)), ny, out, ng * 16);
                            break;
                        case KER_I2_S:
                            k->gemm_i2_s_x16(K, ng, w, (int64_t) group, i8, K, ny, (int32_t *) out, ng * 16);
                            break;
                        case KER_I2_S_LUT:
                            k->gemm_i2_s_x16_lut(K, ng, w, (int64_t) group, i8, K, ny, (int32_t *) out, ng * 16);
                            break;
                        default:
                            k->gemm_q8_W_x16(K, ng, w, (int64_t) group, q8, (int64_t) (K / 256 * sizeof(block_q8_K)),
                                             ny, out, ng * 16);
                            break;
                    }
                    g_sink += out[0];
                }
                times[r] = now_s() - t0;
            }
            qsort(times + 1, REPS, sizeof times[0], cmp_double);
            const double ps  = times[1 + REPS / 2] / passes / weights * 1e12;
            const double min = times[1] / passes / weights * 1e12;
            printf("{\"kernels\":\"%s\",\"kernel\":\"%s\",\"ny\":%d,\"ps_per_weight\":%.3f,"
                   "\"ps_per_weight_token\":%.3f,\"ps_per_weight_min\":%.3f}\n",
                   k->name, ker_name[ker], ny, ps, ps / ny, min);
            fflush(stdout);
        }
        free(w);
    }
    fprintf(stderr, "sink %g\n", (double) g_sink);
    return 0;
}
