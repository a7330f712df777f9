/* Two builds of libbitnet in one process, their steps interleaved: the A/B timing that survives a
 * noisy machine (another process, a neighbour VM, frequency changes hit A and B alike, because
 * they alternate every step of a few tens of milliseconds). Each library is dlopen'ed with
 * RTLD_LOCAL | RTLD_DEEPBIND so each keeps its own symbols; each loads the same FILE as `aria
 * serve` does (repacked, HEAD int8 / int4 / float), with its own context.
 *
 *   ab LIB_A LIB_B FILE THREADS KERNELS HEAD decode SEQS STEPS
 *   ab LIB_A LIB_B FILE THREADS KERNELS HEAD prefill TOKENS REPS
 *
 * KERNELS: aria.h's ARIA_KERNELS_* number (0 auto, 1 ref, 2 avx2, 3 avx512, 5 avxvnni).
 * decode: STEPS steps of SEQS sequences (one token each, logits for all) after 2 warm-up steps,
 * A then B at every step. prefill: TOKENS tokens of one sequence at positions 0.. in one call
 * (logits for the last), A then B at each of REPS repetitions after one warm-up.
 * Prints one JSON object: the median milliseconds per step (or prefill) of A and B, B/A, and
 * whether the last logits of A and B were bit-identical. When both libraries were built with
 * forward.c's phase timers and exported them (make -C native BUILD=build/phasesx
 * CFLAGS="-DARIA_PHASE_TIMES -fvisibility=default"), also each phase's median milliseconds per
 * step for A and B ("phases": {name: [a, b]}), in the order of forward.h's aria_phase.
 * Built and run by benchmarks/engine/ab.sh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aria.h" /* constants only: the functions come from each library by dlsym */

struct lib {
    void * h;
    int32_t (*kernels_set)(int32_t);
    int32_t (*model_load)(const char *, int32_t, int32_t, char *, size_t, void **);
    int32_t (*model_repack)(void *);
    int32_t (*requantize)(void *, int32_t);
    int32_t (*n_vocab)(const void *);
    int32_t (*ctx_init)(void *, int32_t, int32_t, int32_t, int32_t, void **);
    int32_t (*decode)(void *, int32_t, const int32_t *, const int32_t *, const int32_t *, const int32_t *);
    float * (*logits)(void *, int32_t);
    double * phase_seconds; /* forward.h's aria_phase_seconds in a timed build, else NULL */
    void * model;
    void * ctx;
};

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

static int cmp(const void * a, const void * b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double * v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#define SYM(l, f, name)                                           \
    do {                                                          \
        *(void **)(&(l)->f) = dlsym((l)->h, name);                \
        if (!(l)->f) {                                            \
            fprintf(stderr, "%s: no symbol %s\n", path, name);    \
            return 1;                                             \
        }                                                         \
    } while (0)

static int open_lib(struct lib * l, const char * path) {
    l->h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!l->h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    SYM(l, kernels_set, "aria_kernels_set");
    SYM(l, model_load, "aria_model_load");
    SYM(l, model_repack, "aria_model_repack");
    SYM(l, requantize, "aria_model_requantize_output_to");
    SYM(l, n_vocab, "aria_model_n_vocab");
    SYM(l, ctx_init, "aria_ctx_init");
    SYM(l, decode, "aria_ctx_decode");
    SYM(l, logits, "aria_ctx_logits");
    l->phase_seconds = dlsym(l->h, "aria_phase_seconds");
    return 0;
}

int main(int argc, char ** argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: %s LIB_A LIB_B FILE THREADS KERNELS HEAD decode|prefill N M\n", argv[0]);
        return 2;
    }
    const int    threads = atoi(argv[4]), kernels = atoi(argv[5]);
    const char * head    = argv[6];
    const int    prefill = strcmp(argv[7], "prefill") == 0;
    const int    n = atoi(argv[8]), reps = atoi(argv[9]);
    const int32_t type = strcmp(head, "int8") == 0 ? ARIA_TYPE_Q8_W : strcmp(head, "int4") == 0 ? ARIA_TYPE_Q4_W : 0;
    if (threads < 1 || n < 1 || n > 512 || reps < 1 || (!prefill && strcmp(argv[7], "decode") != 0) ||
        (type == 0 && strcmp(head, "float") != 0)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct lib lib[2];
    memset(lib, 0, sizeof lib);
    for (int k = 0; k < 2; k++) {
        char err[512] = "";
        if (open_lib(&lib[k], argv[1 + k])) {
            return 1;
        }
        struct lib * l = &lib[k];
        if (l->kernels_set(kernels) != 0) {
            fprintf(stderr, "%s: kernel table %d not available\n", argv[1 + k], kernels);
            return 1;
        }
        if (l->model_load(argv[3], 0, -1, err, sizeof err, &l->model) || l->model_repack(l->model) ||
            (type != 0 && l->requantize(l->model, type)) ||
            l->ctx_init(l->model, prefill ? n + 8 : reps + 8, prefill ? 1 : n, n, threads, &l->ctx)) {
            fprintf(stderr, "%s: cannot load %s: %s\n", argv[1 + k], argv[3], err);
            return 1;
        }
    }
    const int32_t vocab = lib[0].n_vocab(lib[0].model);
    int32_t *     tok   = malloc(sizeof(int32_t) * (size_t)n * 4);
    int32_t *     pos = tok + n, *seq = tok + 2 * n, *want = tok + 3 * n;
    double *      ms[2] = { malloc(sizeof(double) * (size_t)reps), malloc(sizeof(double) * (size_t)reps) };
    /* forward.h: matmul, head, quantize, rope_kv, attention, ffn_act, norm (the same in every
     * commit that has the timers) */
    enum { N_PHASES = 7 };
    static const char * phase_names[N_PHASES] = { "matmul", "head", "quantize", "rope_kv", "attention", "ffn_act",
                                                  "norm" };
    const int timed = lib[0].phase_seconds && lib[1].phase_seconds;
    double *  ph[2][N_PHASES];
    for (int k = 0; k < 2; k++) {
        for (int p = 0; p < N_PHASES; p++) {
            ph[k][p] = malloc(sizeof(double) * (size_t)reps);
        }
    }
    for (int step = 0; step < reps + (prefill ? 1 : 2); step++) {
        for (int i = 0; i < n; i++) {
            tok[i]  = (int32_t)(((int64_t)(prefill ? i : step) * 7919 + i * 13 + 1) % vocab);
            pos[i]  = prefill ? i : step;
            seq[i]  = prefill ? 0 : i;
            want[i] = prefill ? i == n - 1 : 1;
        }
        for (int k = 0; k < 2; k++) {
            double before[N_PHASES];
            for (int p = 0; timed && p < N_PHASES; p++) {
                before[p] = lib[k].phase_seconds[p];
            }
            const double t0 = now_ms();
            if (lib[k].decode(lib[k].ctx, n, tok, pos, seq, want)) {
                fprintf(stderr, "%s: decode failed\n", argv[1 + k]);
                return 1;
            }
            const int warm = prefill ? 1 : 2;
            if (step >= warm) {
                ms[k][step - warm] = now_ms() - t0;
                for (int p = 0; timed && p < N_PHASES; p++) {
                    ph[k][p][step - warm] = 1e3 * (lib[k].phase_seconds[p] - before[p]);
                }
            }
        }
    }
    const float * la = lib[0].logits(lib[0].ctx, 0);
    const float * lb = lib[1].logits(lib[1].ctx, 0);
    const int     same = la && lb && memcmp(la, lb, sizeof(float) * (size_t)vocab) == 0;
    const double  a = median(ms[0], reps), b = median(ms[1], reps);
    printf("{\"mode\":\"%s\",\"n\":%d,\"reps\":%d,\"threads\":%d,\"kernels\":%d,\"head\":\"%s\",\"ms_a\":%.3f,"
           "\"ms_b\":%.3f,\"b_over_a\":%.4f,\"identical\":%s",
           argv[7], n, reps, threads, kernels, head, a, b, b / a, same ? "true" : "false");
    if (timed) {
        printf(",\"phases\":{");
        for (int p = 0; p < N_PHASES; p++) {
            printf("%s\"%s\":[%.3f,%.3f]", p ? "," : "", phase_names[p], median(ph[0][p], reps), median(ph[1][p], reps));
        }
        printf("}");
    }
    printf("}\n");
    return 0;
}
