/*
 * timing.h — the clock and the sort of the kernel benchmarks (bench-kernels.c, kernel-threads.c,
 * batch-kernels.c) and of benchmarks/engine/batch-time.c.
 * Define _POSIX_C_SOURCE >= 199309L before including (clock_gettime).
 */
#ifndef ARIA_BENCH_TIMING_H
#define ARIA_BENCH_TIMING_H

#include <time.h>

/* Monotonic wall time in seconds. */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* qsort order of doubles, for medians. */
static int cmp_double(const void * a, const void * b) {
    const double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

#endif /* ARIA_BENCH_TIMING_H */
