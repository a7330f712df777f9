/*
 * threadpool.c — see threadpool.h. Synchronisation: the caller publishes (fn, arg) and bumps
 * `generation`; workers that see a new generation run their share and decrement `pending`; the
 * caller runs share 0 and then waits until `pending` is 0. Waiting is spin-then-sleep on both
 * sides (a 2-core machine loses badly if a spinner keeps a preempted partner off the CPU).
 */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define ARIA_TP_SPIN 20000  /* spin iterations before sleeping: ~tens of microseconds */

struct aria_threadpool {
    int             n_threads;
    pthread_t *     threads;
    pthread_mutex_t mutex;
    pthread_cond_t  cond_work;   /* workers sleep here waiting for a new generation */
    pthread_cond_t  cond_done;   /* the caller sleeps here waiting for pending == 0 */
    atomic_uint     generation;
    atomic_int      pending;
    atomic_int      stop;
    aria_tp_fn      fn;
    void *          arg;
};

typedef struct {
    aria_threadpool * tp;
    int               ith;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void * worker_main(void * p) {
    worker_arg *      wa   = p;
    aria_threadpool * tp   = wa->tp;
    const int         ith  = wa->ith;
    unsigned          seen = 0;
    free(wa);
    for (;;) {
        unsigned gen = atomic_load_explicit(&tp->generation, memory_order_acquire);
        for (int i = 0; gen == seen && i < ARIA_TP_SPIN; i++) {
            cpu_relax();
            gen = atomic_load_explicit(&tp->generation, memory_order_acquire);
        }
        if (gen == seen) {
            pthread_mutex_lock(&tp->mutex);
            while ((gen = atomic_load_explicit(&tp->generation, memory_order_acquire)) == seen &&
                   !atomic_load(&tp->stop)) {
                pthread_cond_wait(&tp->cond_work, &tp->mutex);
            }
            pthread_mutex_unlock(&tp->mutex);
        }
        if (atomic_load(&tp->stop)) {
            return NULL;
        }
        seen = gen;
        tp->fn(tp->arg, ith, tp->n_threads);
        if (atomic_fetch_sub_explicit(&tp->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&tp->mutex);
            pthread_cond_signal(&tp->cond_done);
            pthread_mutex_unlock(&tp->mutex);
        }
    }
}

aria_threadpool * aria_tp_init(int n_threads) {
    if (n_threads < 1) {
        return NULL;
    }
    aria_threadpool * tp = calloc(1, sizeof *tp);
    if (!tp) {
        return NULL;
    }
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mutex, NULL);
    pthread_cond_init(&tp->cond_work, NULL);
    pthread_cond_init(&tp->cond_done, NULL);
    atomic_init(&tp->generation, 0);
    atomic_init(&tp->pending, 0);
    atomic_init(&tp->stop, 0);
    if (n_threads > 1) {
        tp->threads = calloc((size_t)n_threads - 1, sizeof(pthread_t));
        if (!tp->threads) {
            aria_tp_free(tp);
            return NULL;
        }
        for (int i = 1; i < n_threads; i++) {
            worker_arg * wa = malloc(sizeof *wa);
            if (wa) {
                wa->tp  = tp;
                wa->ith = i;
            }
            if (!wa || pthread_create(&tp->threads[i - 1], NULL, worker_main, wa) != 0) {
                free(wa);
                tp->n_threads = i; /* join only the ones that started */
                aria_tp_free(tp);
                return NULL;
            }
        }
    }
    return tp;
}

void aria_tp_free(aria_threadpool * tp) {
    if (!tp) {
        return;
    }
    pthread_mutex_lock(&tp->mutex);
    atomic_store(&tp->stop, 1);
    pthread_cond_broadcast(&tp->cond_work);
    pthread_mutex_unlock(&tp->mutex);
    for (int i = 1; i < tp->n_threads && tp->threads; i++) {
        pthread_join(tp->threads[i - 1], NULL);
    }
    free(tp->threads);
    pthread_mutex_destroy(&tp->mutex);
    pthread_cond_destroy(&tp->cond_work);
    pthread_cond_destroy(&tp->cond_done);
    free(tp);
}

int aria_tp_n_threads(const aria_threadpool * tp) {
    return tp->n_threads;
}

void aria_tp_run(aria_threadpool * tp, aria_tp_fn fn, void * arg) {
    if (tp->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    tp->fn  = fn;
    tp->arg = arg;
    atomic_store_explicit(&tp->pending, tp->n_threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&tp->mutex);
    atomic_fetch_add_explicit(&tp->generation, 1, memory_order_release);
    pthread_cond_broadcast(&tp->cond_work);
    pthread_mutex_unlock(&tp->mutex);

    fn(arg, 0, tp->n_threads);

    for (int i = 0; atomic_load_explicit(&tp->pending, memory_order_acquire) > 0 && i < ARIA_TP_SPIN; i++) {
        cpu_relax();
    }
    if (atomic_load_explicit(&tp->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&tp->mutex);
        while (atomic_load_explicit(&tp->pending, memory_order_acquire) > 0) {
            pthread_cond_wait(&tp->cond_done, &tp->mutex);
        }
        pthread_mutex_unlock(&tp->mutex);
    }
}
