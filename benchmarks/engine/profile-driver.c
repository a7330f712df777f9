/* Instruction-count driver for benchmarks/engine/profile.bench.ts (run under valgrind's
 * callgrind with --instr-atstart=no): loads a model, warms up, and turns instrumentation on only
 * around the measured work, so model loading and the first touch of the mapped file are not
 * counted.
 *
 *   profile-driver decode FILE STEPS SEQS HEAD [ALL]  STEPS decode steps of SEQS sequences;
 *                                                  ALL = 1: logits for every sequence (batched
 *                                                  decode as the API runs it), else the last only
 *   profile-driver prefill FILE TOKENS HEAD           one batch of TOKENS prompt tokens
 * HEAD: 0 the file's head, 1 requantized to int8, 4 to int4.
 * ARIA_REPACK=1 in the environment: aria_model_repack first, as `aria serve` does (TQ1_0 -> TQ2_0,
 * and the x16 layout where the table prefers it; the head is then made in it too).
 *
 * valgrind runs no AVX-512 and no AVX-VNNI: under it libbitnet picks the AVX2 table, so these
 * counts are the AVX2 path's (its x16 kernels with ARIA_REPACK=1).
 *
 * One thread: callgrind serialises threads anyway, and instruction counts do not depend on the
 * thread count (the work is split, not changed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <valgrind/callgrind.h>
#include "aria.h"

static int32_t token_at(const struct aria_model * m, int i) {
    return (int32_t)((i * 7919 + 13) % aria_model_n_vocab(m));
}

int main(int argc, char ** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s decode FILE STEPS SEQS HEAD [ALL] | prefill FILE TOKENS HEAD\n"
                        "  HEAD: 0 the file's, 1 int8, 4 int4\n", argv[0]);
        return 2;
    }
    const int decode = strcmp(argv[1], "decode") == 0;
    const int n      = atoi(argv[3]);
    const int seqs   = decode ? atoi(argv[4]) : 1;
    const int head   = atoi(argv[decode ? 5 : 4]);
    const int all    = decode && argc > 6 && atoi(argv[6]) != 0;
    struct aria_model * m;
    char                err[256];
    if (aria_model_load(argv[2], 0, -1, err, sizeof err, &m)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char * repack = getenv("ARIA_REPACK");
    if (repack != NULL && strcmp(repack, "1") == 0 && aria_model_repack(m) != 0) {
        fprintf(stderr, "cannot repack\n");
        return 1;
    }
    if (head != 0 && aria_model_requantize_output_to(m, head == 4 ? ARIA_TYPE_Q4_W : ARIA_TYPE_Q8_W)) {
        fprintf(stderr, "cannot requantize the output head\n");
        return 1;
    }
    const int           batch = decode ? seqs : n;
    struct aria_ctx *   c;
    if (aria_ctx_init(m, (decode ? n + 1 : n) + 1, seqs, batch, 1, &c)) {
        return 1;
    }
    int32_t * tok = malloc(sizeof(int32_t) * (size_t)batch);
    int32_t * pos = malloc(sizeof(int32_t) * (size_t)batch);
    int32_t * seq = malloc(sizeof(int32_t) * (size_t)batch);
    int32_t * want = malloc(sizeof(int32_t) * (size_t)batch);
    for (int s = 0; s < batch; s++) {
        want[s] = 1;
    }
    /* warm-up: one step (decode) or one token (prefill) touches every weight once */
    for (int s = 0; s < batch; s++) {
        tok[s] = token_at(m, s);
        pos[s] = 0;
        seq[s] = decode ? s : 0;
    }
    if (aria_ctx_decode(c, decode ? seqs : 1, tok, pos, seq, NULL)) {
        return 1;
    }
    if (!decode) {
        aria_ctx_seq_truncate(c, 0, 0);
    }
    CALLGRIND_START_INSTRUMENTATION;
    if (decode) {
        for (int step = 1; step <= n; step++) {
            for (int s = 0; s < seqs; s++) {
                tok[s] = token_at(m, step * seqs + s);
                pos[s] = step;
            }
            if (aria_ctx_decode(c, seqs, tok, pos, seq, all ? want : NULL)) {
                return 1;
            }
        }
    } else {
        for (int i = 0; i < n; i++) {
            tok[i] = token_at(m, i);
            pos[i] = i;
        }
        if (aria_ctx_decode(c, n, tok, pos, seq, NULL)) {
            return 1;
        }
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    free(tok);
    free(pos);
    free(seq);
    free(want);
    aria_ctx_free(c);
    aria_model_free(m);
    return 0;
}
