/*
 * kernel-threads.c — does a decode kernel run out of compute or out of memory, on one core and on
 * both? For the x16 kernels that decode one token (TQ2_0 blocks, the int8 and the int4 head) and
 * the TQ2_0 one with 4 tokens (4 sequences decoding together), with this CPU's best table,
 * 2B-4T-shaped rows (K = 2560):
 *   hot:    each thread runs the kernel over its own 192 KiB of weights again and again (they
 *           stay in L2): the weight bytes per second the core's arithmetic sustains, with no
 *           memory traffic; 1 thread alone, then 2 threads at once (one per core).
 *   stream: one pass over 768 MiB of weights (far larger than L3), 1 thread, then 2 threads each
 *           taking half: what the kernel sustains from memory.
 *   pieces: the stream at 2 threads cut into 2.6 MB pieces (a decode step's average matmul), each
 *           split between the threads, a spin barrier after each: what stopping and restarting
 *           the stream at every matmul costs.
 *   probe:  the same passes summing the bytes with 256-bit loads into 4 accumulators and nothing
 *           else (bandwidth.c's loop): what memory gives a loop that does no work.
 * GB/s = weight bytes / wall time; the median of 5 runs after one warm-up. Not a test: numbers only.
 * If hot (2 threads) is well above stream (2 threads), the kernel has compute to spare and memory
 * is the limit; if hot is near stream, the arithmetic is.
 *
 * Build and run (from the repo root):
 *   make -C native && cc -std=c11 -O2 -mavx2 -Inative/include -Inative/src \
 *     benchmarks/kernels/kernel-threads.c native/build/libbitnet.a -lm -pthread -o /tmp/kernel-threads \
 *     && /tmp/kernel-threads
 */
#define _POSIX_C_SOURCE 199309L
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aria.h"
#include "kernels.h"
#include "timing.h"

#define K          2560
#define REPS       5
#define HOT_BYTES  (192u << 10)
#define HOT_PASSES 400
#define BIG_BYTES  (768ull << 20)

enum { KER_TQ2_0, KER_TQ2_0_X4, KER_Q8_W, KER_Q4_W, KER_PROBE, KER_COUNT };
static const char * const ker_name[KER_COUNT] = { "tq2_0 x16", "tq2_0 x16, 4 tokens", "q8_W x16", "q4_W x16",
                                                  "probe" };
static const int32_t      ker_type[KER_COUNT] = { ARIA_TYPE_TQ2_0, ARIA_TYPE_TQ2_0, ARIA_TYPE_Q8_W, ARIA_TYPE_Q4_W, 0 };

typedef struct {
    const aria_kernel_table * k;
    int                       ker;
    const uint8_t *           w;       /* whole groups (or bytes, for the probe) */
    uint64_t                  bytes;   /* bytes of w per pass */
    int                       passes;
    const block_q8_K *        act;
    float                     sink;
    /* pieces mode (piece > 0): the threads go through [base, base + total) in pieces of `piece`
     * bytes, thread tid of nth taking its share of each piece's groups, then all waiting for each
     * other (a spin barrier): a decode step's matmul after matmul */
    const uint8_t *           base;
    uint64_t                  total, piece;
    int                       tid, nth;
} job;

static atomic_int g_arrived, g_generation;

static void spin_barrier(int nth) {
    const int gen = atomic_load(&g_generation);
    if (atomic_fetch_add(&g_arrived, 1) == nth - 1) {
        atomic_store(&g_arrived, 0);
        atomic_fetch_add(&g_generation, 1);
        return;
    }
    while (atomic_load(&g_generation) == gen) {
        _mm_pause();
    }
}

static void run_groups(job * j, const uint8_t * w, int64_t ng, float * o);

/* The kernel over w in calls of 12 groups (what a decode step hands a thread at a time). */
static void *run(void * arg) {
    job * j = arg;
    float o[4 * 16 * 12];  /* each thread its own outputs */
    if (j->ker == KER_PROBE) {
        __m256i a[4] = { _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                         _mm256_setzero_si256() };
        for (int p = 0; p < j->passes; p++) {
            for (uint64_t i = 0; i + 128 <= j->bytes; i += 128) {
                for (int u = 0; u < 4; u++) {
                    a[u] = _mm256_add_epi64(a[u], _mm256_load_si256((const __m256i *) (j->w + i + 32 * u)));
                }
            }
        }
        j->sink = (float) _mm256_extract_epi64(_mm256_add_epi64(_mm256_add_epi64(a[0], a[1]), _mm256_add_epi64(a[2], a[3])), 0);
        return NULL;
    }
    const uint64_t group = aria_x16_group_bytes(ker_type[j->ker], K);
    if (j->piece > 0) {
        const int64_t per = (int64_t) (j->piece / group);  /* groups per piece */
        for (uint64_t off = 0; off + j->piece <= j->total; off += j->piece) {
            const int64_t g0 = per * j->tid / j->nth, g1 = per * (j->tid + 1) / j->nth;
            run_groups(j, j->base + off + (uint64_t) g0 * group, g1 - g0, o);
            spin_barrier(j->nth);
        }
        return NULL;
    }
    for (int p = 0; p < j->passes; p++) {
        run_groups(j, j->w, (int64_t) (j->bytes / group), o);
    }
    return NULL;
}

/* ng groups at w in calls of 12 groups */
static void run_groups(job * j, const uint8_t * w, int64_t ng, float * o) {
    const uint64_t group = aria_x16_group_bytes(ker_type[j->ker], K);
    {
        for (int64_t g = 0; g < ng; g += 12) {
            const int64_t   n = ng - g < 12 ? ng - g : 12;
            const uint8_t * x = w + (uint64_t) g * group;
            if (j->ker == KER_TQ2_0 || j->ker == KER_TQ2_0_X4) {  /* x4: the same token 4 times */
                j->k->gemm_tq2_0_x16(K, n, x, (int64_t) group, j->act, 0, j->ker == KER_TQ2_0_X4 ? 4 : 1, o, 16 * 12);
            } else if (j->ker == KER_Q8_W) {
                j->k->gemm_q8_W_x16(K, n, x, (int64_t) group, j->act, 0, 1, o, 16 * 12);
            } else {
                j->k->gemm_q4_W_x16(K, n, x, (int64_t) group, j->act, 0, 1, o, 16 * 12);
            }
            j->sink += o[0];
        }
    }
}

/* Weights whose scales are all 0 (finite arithmetic) and whose codes are random bytes. */
static uint8_t * make_weights(int ker, uint64_t bytes) {
    uint8_t * w = aligned_alloc(64, bytes);
    if (!w) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    uint32_t s = 12345;
    for (uint64_t i = 0; i < bytes; i++) {
        s    = s * 1664525u + 1013904223u;
        w[i] = (uint8_t) (s >> 24);
    }
    if (ker == KER_PROBE) {
        return w;
    }
    const uint64_t group = aria_x16_group_bytes(ker_type[ker], K);
    for (uint64_t g = 0; g + group <= bytes; g += group) {
        if (ker == KER_Q4_W) {  /* the scales follow every 512 code bytes (kernels.h) */
            for (uint64_t b = 0; b < group / 576; b++) {
                memset(w + g + 576 * b + 512, 0, 64);
            }
        } else {
            const uint64_t codes = ker == KER_Q8_W ? K * 16 : K * 4;  /* TQ2_0: 2-bit codes */
            memset(w + g + codes, 0, group - codes);
        }
    }
    return w;
}

/* Median GB/s of `threads` threads at once, thread t running over its own part. */
static double measure(job * jobs, int threads) {
    double times[REPS + 1];
    for (int r = 0; r <= REPS; r++) {
        pthread_t th[2];
        double    t0 = now_s();
        for (int t = 0; t < threads; t++) {
            pthread_create(&th[t], NULL, run, &jobs[t]);
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
        }
        times[r] = now_s() - t0;
    }
    qsort(times + 1, REPS, sizeof times[0], cmp_double);  /* times[0]: the warm-up */
    double bytes = 0;
    for (int t = 0; t < threads; t++) {
        bytes += (double) jobs[t].bytes * jobs[t].passes;
    }
    return bytes / times[1 + REPS / 2] / 1e9;
}

int main(void) {
    const aria_kernel_table * k = aria_kernels_current();
    float                     xf[K];
    for (int i = 0; i < K; i++) {
        xf[i] = (float) (i % 17) - 8.0f;
    }
    block_q8_K * act = malloc(K / 256 * sizeof(block_q8_K));
    aria_kernels_ref.quantize_row_q8_K(K, act, xf);
    printf("{\"cpu\":\"%s\",\"kernels\":\"%s\",\"K\":%d,\"reps\":%d,\"rows\":[", aria_cpu_features_str(), k->name, K, REPS);
    for (int ker = 0; ker < KER_COUNT; ker++) {
        const uint64_t group = ker == KER_PROBE ? 4096 : aria_x16_group_bytes(ker_type[ker], K);
        const uint64_t hot   = HOT_BYTES / group * group;
        const uint64_t big   = BIG_BYTES / (2 * group) * (2 * group);
        uint8_t *      h0    = make_weights(ker, hot);
        uint8_t *      h1    = make_weights(ker, hot);
        uint8_t *      w     = make_weights(ker, big);
        job            hot1[2] = { { .k = k, .ker = ker, .w = h0, .bytes = hot, .passes = HOT_PASSES, .act = act },
                                   { .k = k, .ker = ker, .w = h1, .bytes = hot, .passes = HOT_PASSES, .act = act } };
        job            all[1]  = { { .k = k, .ker = ker, .w = w, .bytes = big, .passes = 1, .act = act } };
        job            half[2] = { { .k = k, .ker = ker, .w = w, .bytes = big / 2, .passes = 1, .act = act },
                                   { .k = k, .ker = ker, .w = w + big / 2, .bytes = big / 2, .passes = 1, .act = act } };
        const double   h_1 = measure(hot1, 1), h_2 = measure(hot1, 2);
        const double   s_1 = measure(all, 1), s_2 = measure(half, 2);
        double         p_2 = 0.0;
        if (ker != KER_PROBE) {
            /* decode-sized pieces: 2B-4T's 537 MB of block weights are 210 matmuls, 2.6 MB each */
            const uint64_t piece = (2600000 / group) * group;
            const uint64_t total = big / piece * piece;
            job            pc[2] = { { .k = k, .ker = ker, .bytes = total / 2, .passes = 1, .act = act, .base = w,
                                       .total = total, .piece = piece, .tid = 0, .nth = 2 },
                                     { .k = k, .ker = ker, .bytes = total / 2, .passes = 1, .act = act, .base = w,
                                       .total = total, .piece = piece, .tid = 1, .nth = 2 } };
            p_2 = measure(pc, 2);
        }
        printf("%s{\"kernel\":\"%s\",\"hot_1t_gbs\":%.2f,\"hot_2t_gbs\":%.2f,\"stream_1t_gbs\":%.2f,"
               "\"stream_2t_gbs\":%.2f,\"pieces_2t_gbs\":%.2f}",
               ker ? "," : "", ker_name[ker], h_1, h_2, s_1, s_2, p_2);
        fflush(stdout);
        free(h0), free(h1), free(w);
    }
    printf("]}\n");
    free(act);
    return 0;
}
