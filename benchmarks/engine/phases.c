/* Phase-time driver for benchmarks/engine/phases.bench.ts: linked against a libbitnet built with
 * -DARIA_PHASE_TIMES (forward.c's timers; the library proper has none). Loads a model as `aria
 * serve` does (repacked, the head HEAD: float, int8 as serve's default, or int4), decodes STEPS steps of SEQS sequences
 * (one token each, every token asking for logits) after 2 warm-up steps, and prints one JSON object:
 * tokens/s and the milliseconds per step of each phase, "other" being the rest of the step.
 *
 *   phases FILE THREADS SEQS STEPS HEAD [KERNELS]
 * KERNELS: auto (default), ref, avx2, avxvnni, avx512, neon (aria_kernels_set).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aria.h"
#include "forward.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char ** argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s FILE THREADS SEQS STEPS float|int8|int4 [KERNELS]\n", argv[0]);
        return 2;
    }
    static const char * kernel_names[] = { "auto", "ref", "avx2", "avx512", "neon", "avxvnni" };
    int32_t             kernels        = -1;
    for (int32_t k = 0; k < (int32_t)(sizeof kernel_names / sizeof kernel_names[0]); k++) {
        if (strcmp(argc > 6 ? argv[6] : "auto", kernel_names[k]) == 0) {
            kernels = k;
        }
    }
    if (kernels < 0 || aria_kernels_set(kernels) != 0) {
        fprintf(stderr, "unknown or unsupported kernels %s\n", argv[6]);
        return 2;
    }
    const int threads = atoi(argv[2]), seqs = atoi(argv[3]), steps = atoi(argv[4]);
    const char *  head = argv[5];
    const int32_t type = strcmp(head, "int8") == 0 ? ARIA_TYPE_Q8_W : strcmp(head, "int4") == 0 ? ARIA_TYPE_Q4_W : 0;
    if (threads < 1 || seqs < 1 || seqs > 64 || steps < 1 || (type == 0 && strcmp(head, "float") != 0)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    char                err[512];
    struct aria_model * m;
    if (aria_model_load(argv[1], 0, -1, err, sizeof err, &m) || aria_model_repack(m) ||
        (type != 0 && aria_model_requantize_output_to(m, type))) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], err);
        return 1;
    }
    struct aria_ctx * c;
    if (aria_ctx_init(m, steps + 8, seqs, seqs, threads, &c)) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    int32_t tok[64], pos[64], seq[64], want[64];
    double  total = 0.0;
    for (int step = 0; step < steps + 2; step++) {
        if (step == 2) {
            memset(aria_phase_seconds, 0, sizeof aria_phase_seconds);
        }
        for (int s = 0; s < seqs; s++) {
            tok[s]  = (step * 7919 + s * 13 + 1) % aria_model_n_vocab(m);
            pos[s]  = step;
            seq[s]  = s;
            want[s] = 1;
        }
        const double t0 = now_s();
        if (aria_ctx_decode(c, seqs, tok, pos, seq, want)) {
            fprintf(stderr, "decode failed\n");
            return 1;
        }
        if (step >= 2) {
            total += now_s() - t0;
        }
    }
    static const char * names[ARIA_PHASE_COUNT] = { "matmul", "head", "quantize", "rope_kv", "attention", "ffn_act",
                                                    "norm" };
    double other = total;
    printf("{\"threads\":%d,\"seqs\":%d,\"steps\":%d,\"head\":\"%s\",\"tps\":%.3f,\"ms_per_step\":{", threads, seqs, steps,
           type != 0 ? head : "float", seqs * steps / total);
    for (int k = 0; k < ARIA_PHASE_COUNT; k++) {
        other -= aria_phase_seconds[k];
        printf("\"%s\":%.4f,", names[k], 1e3 * aria_phase_seconds[k] / steps);
    }
    printf("\"other\":%.4f,\"total\":%.4f}}\n", 1e3 * other / steps, 1e3 * total / steps);
    aria_ctx_free(c);
    aria_model_free(m);
    return 0;
}
