/*
 * neon-forward.c — a whole forward pass with the NEON kernels against the same pass with the
 * scalar reference kernels, through the public API, on generated tiny models. Built for aarch64
 * and run under qemu by tests/native/neon-qemu.test.ts (not named test-*.c: it needs model paths
 * and an aarch64 CPU, so c-tests.test.ts must not pick it up).
 * Usage: neon-forward [--repack] MODEL.gguf [MODEL.gguf ...]. Prints one line per check and
 * "N passed, M failed"; exits non-zero on any failure.
 *
 * Per model, with the float head and (if the model allows it) the int8 head: decode PROMPT as
 * one batch with every row's logits under REF, then under NEON as one batch (multi-row kernels)
 * and token by token (one-row kernels); every position's logits must be BIT-IDENTICAL (engine
 * contract v2, docs/engine.md). Each run also prints "logits fnv1a32 <head> <hex>" of the NEON
 * logits' bytes (N_PROMPT rows in order), which the test compares with the x86 build's: the same
 * bits on both architectures.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"

enum { N_PROMPT = 8 };
/* Token ids valid in both the Llama-2 (32000) and Llama-3 (128256) vocabularies. */
static const int32_t PROMPT[N_PROMPT] = { 1, 450, 7483, 310, 3444, 338, 263, 4086 };

static int n_pass, n_fail;

static void check(int ok, const char * what, const char * model, double rel) {
    printf("%s %s %s (max |diff| / range = %.2e)\n", ok ? "ok  " : "FAIL", what, model, rel);
    if (ok) {
        n_pass++;
    } else {
        n_fail++;
    }
}

/* Decodes PROMPT on model with the given kernels into logits (N_PROMPT x n_vocab): as one batch
 * with every row's logits, or token by token, in a new context. Returns 0 or an aria status. */
static int32_t run(struct aria_model * model, int32_t kernels, int batch, float * logits, int32_t n_vocab) {
    int32_t rc = aria_kernels_set(kernels);  /* no context evaluates now */
    if (rc != 0) {
        return rc;
    }
    struct aria_ctx * ctx = NULL;
    if ((rc = aria_ctx_init(model, 16, 1, N_PROMPT, 1, &ctx)) != 0) {
        return rc;
    }
    int32_t pos[N_PROMPT], seq[N_PROMPT], want[N_PROMPT];
    for (int i = 0; i < N_PROMPT; i++) {
        pos[i] = i, seq[i] = 0, want[i] = 1;
    }
    if (batch) {
        rc = aria_ctx_decode(ctx, N_PROMPT, PROMPT, pos, seq, want);
        for (int i = 0; rc == 0 && i < N_PROMPT; i++) {
            memcpy(logits + (size_t) i * n_vocab, aria_ctx_logits(ctx, i), (size_t) n_vocab * sizeof(float));
        }
    } else {
        for (int i = 0; rc == 0 && i < N_PROMPT; i++) {
            rc = aria_ctx_decode(ctx, 1, PROMPT + i, pos + i, seq, want);
            if (rc == 0) {
                memcpy(logits + (size_t) i * n_vocab, aria_ctx_logits(ctx, 0), (size_t) n_vocab * sizeof(float));
            }
        }
    }
    aria_ctx_free(ctx);
    return rc;
}

/* Largest |got - ref| over all positions relative to each position's REF range (reported);
 * *ok says whether every logit has REF's bits. */
static double compare(const float * ref, const float * got, int32_t n_vocab, int * ok) {
    double worst = 0.0;
    *ok          = memcmp(ref, got, (size_t) N_PROMPT * (size_t) n_vocab * sizeof(float)) == 0;
    for (int p = 0; p < N_PROMPT; p++) {
        const float * r = ref + (size_t) p * n_vocab;
        const float * g = got + (size_t) p * n_vocab;
        double        diff = 0.0, lo = r[0], hi = r[0];
        for (int32_t i = 0; i < n_vocab; i++) {
            diff = fmax(diff, fabs((double) g[i] - r[i]));
            lo   = fmin(lo, r[i]);
            hi   = fmax(hi, r[i]);
        }
        const double rel = hi > lo ? diff / (hi - lo) : diff;
        worst            = fmax(worst, rel);
    }
    return worst;
}

/* FNV-1a (32 bits) of n bytes: what tests/native/neon-qemu.test.ts computes over the x86 logits. */
static uint32_t fnv1a32(const void * p, size_t n) {
    const uint8_t * b = p;
    uint32_t        h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

/* REF vs NEON (one batch, token by token) on one loaded model; head names the output head. */
static void compare_kernels(struct aria_model * model, const char * head, const char * path) {
    const int32_t n_vocab = aria_model_n_vocab(model);
    const size_t  n       = (size_t) N_PROMPT * n_vocab;
    float *       ref     = malloc(n * sizeof(float));
    float *       got     = malloc(n * sizeof(float));
    int32_t       rc      = ref && got ? run(model, ARIA_KERNELS_REF, 1, ref, n_vocab) : ARIA_STATUS_NO_MEMORY;
    if (rc != 0) {
        printf("FAIL ref decode, %s, %s: %s\n", head, path, aria_status_str(rc));
        n_fail++;
    }
    for (int batch = 1; rc == 0 && batch >= 0; batch--) {
        char what[96];
        snprintf(what, sizeof what, "neon = ref bit for bit, %s, %s", head,
                 batch ? "one batch (multi-row)" : "token by token");
        int          ok    = 0;
        const int32_t rn    = run(model, ARIA_KERNELS_NEON, batch, got, n_vocab);
        const double worst = rn == 0 ? compare(ref, got, n_vocab, &ok) : INFINITY;
        check(rn == 0 && ok, what, path, worst);
        if (rn == 0 && batch) {
            printf("logits fnv1a32 %s %08x\n", head, fnv1a32(got, n * sizeof(float)));
        }
    }
    free(ref), free(got);
}

/* The float head as loaded, then (on a second load) the int8 head if the model allows it; with
 * repack, each model is first repacked (aria_model_repack: the x16 groups where the NEON table
 * prefers them, dotprod / i8mm; the reference table runs its scalar x16 kernels on them). */
static void test_model(const char * path, int repack) {
    for (int int8_head = 0; int8_head < 2; int8_head++) {
        const int           mode  = 2 * repack + int8_head;
        struct aria_model * model = NULL;
        char                err[256];
        int32_t             rc = aria_model_load(path, 0, -1, err, sizeof err, &model);
        if (rc != 0) {
            printf("FAIL load %s: %s\n", path, err);
            n_fail++;
            return;
        }
        rc = repack ? aria_model_repack(model) : 0;
        if (rc != 0) {
            printf("FAIL repack %s: %s\n", path, aria_status_str(rc));
            n_fail++;
            aria_model_free(model);
            continue;
        }
        rc = int8_head ? aria_model_requantize_output(model) : 0;
        if (rc == ARIA_STATUS_UNSUPPORTED) {
            printf("skip int8 head %s: %s\n", path, aria_status_str(rc));
        } else if (rc != 0) {
            printf("FAIL requantize %s: %s\n", path, aria_status_str(rc));
            n_fail++;
        } else {
            static const char * heads[4] = { "float head", "int8 head", "float head repacked", "int8 head repacked" };
            compare_kernels(model, heads[mode], path);
        }
        aria_model_free(model);
    }
}

int main(int argc, char ** argv) {
    printf("cpu features: %s\n", aria_cpu_features());
    if (aria_kernels_set(ARIA_KERNELS_NEON) != 0) {
        printf("FAIL NEON kernels unavailable on this build / CPU\n");
        return 1;
    }
    const int repack = argc > 1 && strcmp(argv[1], "--repack") == 0;
    for (int i = 1 + repack; i < argc; i++) {
        test_model(argv[i], repack);
    }
    aria_kernels_set(ARIA_KERNELS_AUTO);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 && n_pass > 0 ? 0 : 1;
}
