/* Wall-clock driver for benchmarks/engine/batch-ab.sh: one libbitnet build (linked statically, so
 * two builds of different commits or flags are two binaries run one after the other), one model
 * loaded as `aria serve` loads it (repacked, int8 head), one kernel set, one measurement:
 *
 *   batch-time FILE KERNELS THREADS decode SEQS STEPS   SEQS sequences decoding together (one token
 *                                                        each per step, logits for all) for STEPS
 *                                                        steps after 2 warm-up steps
 *   batch-time FILE KERNELS THREADS prefill TOKENS REPS  one batch of TOKENS prompt tokens, REPS
 *                                                        times (the sequence emptied in between)
 *                                                        after one warm-up
 * KERNELS: auto, ref, avx2, avxvnni, avx512 (aria_kernels_set). Prints one JSON object: tokens/s
 * (decode: the aggregate over the steps; prefill: the median over the repetitions) and tps_best, from
 * the fastest step or repetition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"
#include "../kernels/timing.h"  /* now_s, cmp_double */

int main(int argc, char ** argv) {
    static const char * names[] = { "auto", "ref", "avx2", "avx512", "neon", "avxvnni" };
    int32_t             kernels = -1;
    for (int32_t k = 0; argc > 2 && k < 6; k++) {
        if (strcmp(argv[2], names[k]) == 0) {
            kernels = k;
        }
    }
    const int threads = argc > 3 ? atoi(argv[3]) : 0;
    const int decode  = argc > 4 && strcmp(argv[4], "decode") == 0;
    const int n       = argc > 5 ? atoi(argv[5]) : 0;
    const int reps    = argc > 6 ? atoi(argv[6]) : 0;
    if (argc != 7 || kernels < 0 || threads < 1 || (!decode && strcmp(argv[4], "prefill") != 0) || n < 1 ||
        n > (decode ? 64 : 4096) || reps < 1 || reps > 4096) {
        fprintf(stderr, "usage: %s FILE KERNELS THREADS decode SEQS STEPS | prefill TOKENS REPS\n", argv[0]);
        return 2;
    }
    if (aria_kernels_set(kernels) != 0) {
        fprintf(stderr, "kernels %s: not on this CPU\n", argv[2]);
        return 2;
    }
    char                err[512];
    struct aria_model * m;
    if (aria_model_load(argv[1], 0, -1, err, sizeof err, &m) || aria_model_repack(m) ||
        aria_model_requantize_output_to(m, ARIA_TYPE_Q8_W)) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], err);
        return 1;
    }
    const int         seqs = decode ? n : 1;
    struct aria_ctx * c;
    if (aria_ctx_init(m, decode ? reps + 8 : n + 8, seqs, decode ? seqs : n, threads, &c)) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    int32_t * tok  = malloc(sizeof(int32_t) * (size_t)n);
    int32_t * pos  = malloc(sizeof(int32_t) * (size_t)n);
    int32_t * seq  = malloc(sizeof(int32_t) * (size_t)n);
    int32_t * want = malloc(sizeof(int32_t) * (size_t)n);
    double *  t    = malloc(sizeof(double) * (size_t)(reps + 2));
    for (int r = 0; r < reps + (decode ? 2 : 1); r++) {
        for (int i = 0; i < n; i++) {
            tok[i]  = (int32_t)(((r + 1) * 7919 + i * 13 + 1) % aria_model_n_vocab(m));
            pos[i]  = decode ? r : i;
            seq[i]  = decode ? i : 0;
            want[i] = decode || i == n - 1;
        }
        if (!decode) {
            aria_ctx_seq_truncate(c, 0, 0);
        }
        const double t0 = now_s();
        if (aria_ctx_decode(c, n, tok, pos, seq, want)) {
            fprintf(stderr, "decode failed\n");
            return 1;
        }
        t[r] = now_s() - t0;
    }
    double tps;
    const int first = decode ? 2 : 1;  /* after the warm-up */
    if (decode) {
        double total = 0.0;
        for (int r = first; r < reps + first; r++) {
            total += t[r];
        }
        tps = n * reps / total;
    } else {
        qsort(t + 1, (size_t)reps, sizeof t[0], cmp_double);
        tps = n / t[1 + reps / 2];
    }
    qsort(t + first, (size_t)reps, sizeof t[0], cmp_double);
    /* tps_best: from the fastest step (decode) or repetition (prefill), the one least disturbed by
     * other processes on a shared machine */
    printf("{\"mode\":\"%s\",\"n\":%d,\"kernels\":\"%s\",\"threads\":%d,\"tps\":%.3f,\"tps_best\":%.3f}\n",
           argv[4], n, argv[2], threads, tps, n / t[first]);
    aria_ctx_free(c);
    aria_model_free(m);
    free(tok), free(pos), free(seq), free(want), free(t);
    return 0;
}
