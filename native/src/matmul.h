/* The matrix products of a forward pass (matmul.c): y (n, n_out) = x (n, n_in) W^T for one
 * matrix or a set of matrices that share their input (Q/K/V, gate/up), rows handed out to the
 * thread pool in chunks, the activations quantized once per set. Split out of forward.c (issue 17);
 * internal to libbitnet. Also the phase timers both files use (benchmarks/engine/phases.bench.ts). */
#ifndef ARIA_MATMUL_H
#define ARIA_MATMUL_H

#include "forward.h"

/* Phase timers for benchmarks/engine/phases.bench.ts: built only with -DARIA_PHASE_TIMES (a separate
 * build; the library proper has none of this). aria_phase_seconds[k] accumulates the wall time of
 * phase k on the calling thread, pool runs included; the driver reads and resets it. */
#ifdef ARIA_PHASE_TIMES
#    include <time.h>
static inline double phase_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
#    define PHASE(k, stmt)                                   \
        do {                                                 \
            const double phase_t0_ = phase_now();            \
            stmt;                                            \
            aria_phase_seconds[k] += phase_now() - phase_t0_; \
        } while (0)
#else
#    define PHASE(k, stmt) stmt
#endif

/* y = x W^T for `count` matrices that share the input x (n rows), each into its own output. */
void aria_matmul_many(struct aria_ctx * ctx, const float * x, int32_t n, int count, const aria_matrix * const * ws,
                 float * const * ys);
/* y = x W^T for one matrix. */
void aria_matmul(struct aria_ctx * ctx, float * y, const float * x, int32_t n, const aria_matrix * w);

#endif
