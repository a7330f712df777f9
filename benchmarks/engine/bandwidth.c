/*
 * bandwidth.c — a STREAM-like memory read-bandwidth probe, the denominator of the decode
 * roofline (benchmarks/METHODOLOGY.md): each of T threads sums its own slice of a buffer much
 * larger than the caches with 256-bit loads (4 independent accumulators), the buffer written
 * first so every page is resident. Prints one JSON line: the best of R passes, in GB/s (1e9 B/s),
 * for each thread count given.
 *
 * Build: cc -O2 -mavx2 -pthread bandwidth.c -o bandwidth
 * Usage: bandwidth [MiB=1024] [passes=5] [threads...=1 2]
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const uint8_t * p;
    size_t          n;
    long long       sink;
} slice;

static void * read_slice(void * arg) {
    slice * s  = arg;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 128 <= s->n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *) (s->p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *) (s->p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *) (s->p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *) (s->p + i + 96)));
    }
    __m256i a = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    long long out[4];
    _mm256_storeu_si256((__m256i *) out, a);
    s->sink = out[0] + out[1] + out[2] + out[3];
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

int main(int argc, char ** argv) {
    const size_t mib    = argc > 1 ? (size_t) atol(argv[1]) : 1024;
    const int    passes = argc > 2 ? atoi(argv[2]) : 5;
    const size_t n      = mib << 20;
    uint8_t *    buf    = aligned_alloc(64, n);
    if (!buf) {
        fprintf(stderr, "bandwidth: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        buf[i] = (uint8_t) i;
    }
    printf("{\"mib\":%zu,\"passes\":%d", mib, passes);
    int ntc = argc > 3 ? argc - 3 : 2;
    for (int k = 0; k < ntc; k++) {
        const int nt   = argc > 3 ? atoi(argv[3 + k]) : k + 1;
        double    best = 0.0;
        long long sink = 0;
        for (int p = 0; p < passes; p++) {
            pthread_t th[64];
            slice     sl[64];
            const double t0 = now();
            for (int t = 0; t < nt && t < 64; t++) {
                const size_t part = (n / (size_t) nt) & ~(size_t) 127;
                sl[t] = (slice) { buf + (size_t) t * part, part, 0 };
                pthread_create(&th[t], NULL, read_slice, &sl[t]);
            }
            for (int t = 0; t < nt && t < 64; t++) {
                pthread_join(th[t], NULL);
                sink += sl[t].sink;
            }
            const double gbs = (double) n / (now() - t0) / 1e9;
            best             = gbs > best ? gbs : best;
        }
        printf(",\"threads_%d_gbs\":%.2f", nt, best + (double) (sink == 42) * 0.0);
    }
    printf("}\n");
    free(buf);
    return 0;
}
