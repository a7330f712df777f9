/*
 * threadpool.h — a fixed pool of worker threads, created once per context.
 * aria_tp_run(tp, fn, arg) runs fn(arg, ith, nth) on every thread (the caller is ith 0) and returns
 * when all are done. Workers spin briefly on a generation counter, then sleep on a condition
 * variable, so back-to-back runs (one per matmul) don't pay a wake-up each time.
 * Work splitting is the callee's job: fixed ranges by ith/nth (aria_tp_range), or chunks taken
 * from a shared counter (matmul), as long as each output element is computed by exactly one thread
 * with the same code, whatever nth is — this is what makes results bitwise identical across thread
 * counts.
 */
#ifndef ARIA_THREADPOOL_H
#define ARIA_THREADPOOL_H

#include <stdint.h>

typedef struct aria_threadpool aria_threadpool;
typedef void (*aria_tp_fn)(void * arg, int ith, int nth);

/* Returns NULL if threads or memory cannot be had. n_threads >= 1 (1 = no workers). */
aria_threadpool * aria_tp_init(int n_threads);
void              aria_tp_free(aria_threadpool * tp);
int               aria_tp_n_threads(const aria_threadpool * tp);
void              aria_tp_run(aria_threadpool * tp, aria_tp_fn fn, void * arg);

/* [begin, end) of n items for thread ith of nth (contiguous, deterministic). */
static inline void aria_tp_range(int64_t n, int ith, int nth, int64_t * begin, int64_t * end) {
    const int64_t per = n / nth;
    const int64_t rem = n % nth;
    *begin = ith * per + (ith < rem ? ith : rem);
    *end   = *begin + per + (ith < rem ? 1 : 0);
}

#endif
