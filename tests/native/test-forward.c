/*
 * test-forward.c — libbitnet's public API end to end on real (generated) model files, meant to run
 * under AddressSanitizer / UBSan (tests/native/forward-asan.test.ts builds it with `make debug`).
 * Usage: test-forward MODEL.gguf [MODEL.gguf …]. Prints one line per check and
 * "N passed, M failed"; exits non-zero on any failure.
 *
 * Checks per model: load + info; batch decode with logits for every entry equals token-by-token
 * decode; two sequences in one batch; rewinding; bad arguments (token, sequence, gap, context
 * full) refused with the cache kept; pipeline stages (embed / eval_layers / output over two
 * partial models) equal the whole model; truncated files refused; everything freed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"

static int n_pass = 0;
static int n_fail = 0;

#define CHECK(cond, ...)                                 \
    do {                                                 \
        if (cond) {                                      \
            n_pass++;                                    \
        } else {                                         \
            n_fail++;                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                         \
            printf("\n");                                \
        }                                                \
    } while (0)

static float max_abs_diff(const float * a, const float * b, int64_t n) {
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        const float d = fabsf(a[i] - b[i]);
        m = d > m ? d : m;
    }
    return m;
}

enum { N_PROMPT = 8 };
static const int32_t PROMPT[N_PROMPT] = { 1, 450, 7483, 310, 3444, 338, 263, 4086 };

static int32_t decode_seq(struct aria_ctx * ctx, const int32_t * tokens, int32_t n, int32_t seq, int32_t pos0,
                          const int32_t * want) {
    int32_t pos[64], seqs[64];
    for (int32_t i = 0; i < n; i++) {
        pos[i]  = pos0 + i;
        seqs[i] = seq;
    }
    return aria_ctx_decode(ctx, n, tokens, pos, seqs, want);
}

static void test_decode(struct aria_model * model) {
    const int32_t       n_vocab = aria_model_n_vocab(model);
    struct aria_ctx *   ctx     = NULL;
    CHECK(aria_ctx_init(model, 32, 2, 16, 2, &ctx) == 0, "ctx_init");
    if (!ctx) {
        return;
    }
    int32_t want[N_PROMPT];
    for (int i = 0; i < N_PROMPT; i++) {
        want[i] = 1;
    }
    CHECK(decode_seq(ctx, PROMPT, N_PROMPT, 0, 0, want) == 0, "batch decode");
    CHECK(aria_ctx_n_outputs(ctx) == N_PROMPT, "n_outputs %d", aria_ctx_n_outputs(ctx));
    float * batch = malloc(sizeof(float) * (size_t)n_vocab * N_PROMPT);
    for (int i = 0; i < N_PROMPT; i++) {
        memcpy(batch + (int64_t)i * n_vocab, aria_ctx_logits(ctx, i), sizeof(float) * (size_t)n_vocab);
    }
    CHECK(aria_ctx_logits(ctx, N_PROMPT) == NULL, "logits past n_outputs is NULL");
    CHECK(aria_ctx_seq_truncate(ctx, 0, 0) == 0 && aria_ctx_seq_len(ctx, 0) == 0, "truncate");
    float worst = 0.0f;
    for (int i = 0; i < N_PROMPT; i++) {
        CHECK(decode_seq(ctx, PROMPT + i, 1, 0, i, NULL) == 0, "decode token %d", i);
        const float d = max_abs_diff(aria_ctx_logits(ctx, 0), batch + (int64_t)i * n_vocab, n_vocab);
        worst         = d > worst ? d : worst;
    }
    CHECK(worst < 1e-3f, "token by token equals batch (max diff %g)", (double)worst);

    /* sequence 1 gets a prefix of the prompt; its last logits must equal the batch's row */
    CHECK(decode_seq(ctx, PROMPT, 3, 1, 0, NULL) == 0, "seq 1 decode");
    CHECK(max_abs_diff(aria_ctx_logits(ctx, 0), batch + 2 * (int64_t)n_vocab, n_vocab) < 1e-3f, "seq 1 independent");
    CHECK(aria_ctx_seq_len(ctx, 0) == N_PROMPT && aria_ctx_seq_len(ctx, 1) == 3, "seq lengths");

    /* bad input: refused, cache unchanged */
    const int32_t bad_token = n_vocab;
    CHECK(decode_seq(ctx, &bad_token, 1, 0, N_PROMPT, NULL) == ARIA_STATUS_INVALID_ARG, "bad token");
    CHECK(decode_seq(ctx, PROMPT, 1, 2, 0, NULL) == ARIA_STATUS_INVALID_ARG, "bad sequence");
    CHECK(decode_seq(ctx, PROMPT, 1, 1, 5, NULL) == ARIA_STATUS_INVALID_ARG, "gap");
    CHECK(decode_seq(ctx, PROMPT, 1, 1, 32, NULL) == ARIA_STATUS_CTX_FULL, "context full");
    CHECK(aria_ctx_decode(ctx, 17, PROMPT, PROMPT, PROMPT, NULL) == ARIA_STATUS_INVALID_ARG, "batch too large");
    CHECK(aria_ctx_decode(ctx, 1, NULL, NULL, NULL, NULL) == ARIA_STATUS_INVALID_ARG, "null arrays");
    char    msg[256];
    int64_t len = aria_ctx_last_error(ctx, msg, sizeof msg);
    CHECK(len > 0 && strstr(msg, "must be given") != NULL, "last error: %s", msg);
    CHECK(aria_ctx_seq_len(ctx, 0) == N_PROMPT && aria_ctx_seq_len(ctx, 1) == 3, "cache kept after errors");

    /* rewind: drop the last position and decode it again */
    CHECK(aria_ctx_seq_truncate(ctx, 0, N_PROMPT - 1) == 0, "rewind");
    CHECK(decode_seq(ctx, PROMPT + N_PROMPT - 1, 1, 0, N_PROMPT - 1, NULL) == 0, "decode after rewind");
    CHECK(max_abs_diff(aria_ctx_logits(ctx, 0), batch + (int64_t)(N_PROMPT - 1) * n_vocab, n_vocab) < 1e-3f,
          "rewind reproduces logits");
    free(batch);
    aria_ctx_free(ctx);
}

static void test_pipeline(const char * path, struct aria_model * whole) {
    const int32_t n_layer = aria_model_n_layer(whole);
    const int32_t n_embd  = aria_model_n_embd(whole);
    const int32_t n_vocab = aria_model_n_vocab(whole);
    const int32_t split   = n_layer / 2;
    struct aria_model * a = NULL;
    struct aria_model * b = NULL;
    char                err[256];
    CHECK(aria_model_load(path, 0, split, err, sizeof err, &a) == 0, "load stage 1: %s", err);
    CHECK(aria_model_load(path, split, -1, err, sizeof err, &b) == 0, "load stage 2: %s", err);
    struct aria_model * bad = NULL;
    CHECK(aria_model_load(path, 1, 1, err, sizeof err, &bad) == ARIA_STATUS_INVALID_ARG && !bad, "empty range");
    CHECK(aria_model_load(path, 0, n_layer + 1, err, sizeof err, &bad) == ARIA_STATUS_INVALID_ARG && !bad,
          "range past the last block");
    struct aria_ctx * cw = NULL;
    struct aria_ctx * ca = NULL;
    struct aria_ctx * cb = NULL;
    aria_ctx_init(whole, 32, 1, 16, 2, &cw);
    aria_ctx_init(a, 32, 1, 16, 1, &ca);
    aria_ctx_init(b, 32, 1, 16, 3, &cb);
    CHECK(cw && ca && cb, "contexts");
    if (cw && ca && cb) {
        CHECK(decode_seq(cw, PROMPT, N_PROMPT, 0, 0, NULL) == 0, "whole decode");
        float * hidden = malloc(sizeof(float) * (size_t)n_embd * N_PROMPT);
        float * logits = malloc(sizeof(float) * (size_t)n_vocab);
        int32_t pos[N_PROMPT], seq[N_PROMPT];
        for (int i = 0; i < N_PROMPT; i++) {
            pos[i] = i;
            seq[i] = 0;
        }
        CHECK(aria_ctx_embed(ca, N_PROMPT, PROMPT, hidden) == 0, "embed");
        CHECK(aria_ctx_eval_layers(ca, N_PROMPT, pos, seq, 0, split, hidden) == 0, "stage 1");
        CHECK(aria_ctx_eval_layers(cb, N_PROMPT, pos, seq, split, n_layer, hidden) == 0, "stage 2");
        CHECK(aria_ctx_output(cb, 1, hidden + (int64_t)(N_PROMPT - 1) * n_embd, logits) == 0, "output");
        CHECK(max_abs_diff(logits, aria_ctx_logits(cw, 0), n_vocab) < 1e-3f, "two stages equal the whole model");
        CHECK(aria_ctx_output(ca, 1, hidden, logits) == ARIA_STATUS_INVALID_ARG, "no head on stage 1");
        CHECK(aria_ctx_eval_layers(ca, 1, pos, seq, split, n_layer, hidden) == ARIA_STATUS_INVALID_ARG,
              "layers outside the loaded range");
        CHECK(decode_seq(cb, PROMPT, 1, 0, 0, NULL) == ARIA_STATUS_INVALID_ARG, "decode on a partial model");
        free(hidden);
        free(logits);
    }
    aria_ctx_free(cw);
    aria_ctx_free(ca);
    aria_ctx_free(cb);
    aria_model_free(a);
    aria_model_free(b);
}

static void test_truncated(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) {
        CHECK(0, "open %s", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * bytes = malloc((size_t)size);
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size, "read model");
    fclose(f);
    const long cuts[] = { 10, 100, 4000, size / 2, size - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char tmp[512];
#ifdef _WIN32
        /* Windows has no /tmp: the user's temp folder (wine maps it too) */
        const char * tmp_dir = getenv("TEMP") ? getenv("TEMP") : ".";
        snprintf(tmp, sizeof tmp, "%s\\aria-test-forward-XXXXXX", tmp_dir);
#else
        snprintf(tmp, sizeof tmp, "/tmp/aria-test-forward-XXXXXX");
#endif
        int  fd    = mkstemp(tmp);
        FILE * out = fdopen(fd, "wb");
        fwrite(bytes, 1, (size_t)cuts[i], out);
        fclose(out);
        struct aria_model * m = NULL;
        char                err[256] = "";
        const int32_t       s = aria_model_load(tmp, 0, -1, err, sizeof err, &m);
        CHECK(s == ARIA_STATUS_BAD_FORMAT && m == NULL && strlen(err) > 0, "truncated at %ld: %d %s", cuts[i], s, err);
        remove(tmp);
    }
    free(bytes);
}

/* aria_model_repack on the whole model (decoded through test_decode) and on a stage (only its
 * blocks): under ASan this checks the copies' bounds and that aria_model_free releases them. */
static void test_repack(const char * path) {
    struct aria_model * m = NULL;
    char                err[256];
    CHECK(aria_model_repack(NULL) == ARIA_STATUS_INVALID_ARG, "repack of no model");
    CHECK(aria_model_load(path, 0, -1, err, sizeof err, &m) == 0, "load for repack: %s", err);
    if (m) {
        CHECK(aria_model_repack(m) == 0 && aria_model_repack(m) == 0, "repack, twice");
        test_decode(m);
        aria_model_free(m);
    }
    m = NULL;
    CHECK(aria_model_load(path, 1, -1, err, sizeof err, &m) == 0, "load a stage for repack: %s", err);
    if (m) {
        char info[2048];
        CHECK(aria_model_repack(m) == 0 && aria_model_info_json(m, info, sizeof info) > 0, "repack a stage");
        aria_model_free(m);
    }
}

int main(int argc, char ** argv) {
    if (argc < 2) {
        printf("usage: test-forward MODEL.gguf [MODEL.gguf ...]\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct aria_model * model = NULL;
        char                err[256] = "";
        const int32_t       s = aria_model_load(argv[i], 0, -1, err, sizeof err, &model);
        CHECK(s == 0, "load %s: %s", argv[i], err);
        if (!model) {
            continue;
        }
        char info[2048];
        CHECK(aria_model_info_json(model, info, sizeof info) > 0, "info");
        CHECK(aria_model_info_json(model, info, 8) < -8, "info reports the size needed");
        test_decode(model);
        test_pipeline(argv[i], model);
        test_repack(argv[i]);
        test_truncated(argv[i]);
        aria_model_free(model);
        printf("ok %s\n", argv[i]);
    }
    struct aria_model * none = NULL;
    char                err[256] = "";
    CHECK(aria_model_load("/nonexistent.gguf", 0, -1, err, sizeof err, &none) == ARIA_STATUS_IO, "missing file");
    CHECK(aria_model_load(NULL, 0, -1, err, sizeof err, &none) == ARIA_STATUS_INVALID_ARG, "null path");
    CHECK(strcmp(aria_status_str(ARIA_STATUS_CTX_FULL), "context full") == 0, "status text");
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 ? 0 : 1;
}
