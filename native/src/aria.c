/*
 * aria.c — the API boundary (aria.h). Every argument from the caller is validated here before it
 * reaches the model or the forward pass; every failure becomes a status plus a message
 * (aria_ctx_last_error / the load error buffer). Nothing here aborts or prints.
 */
#include "aria.h"
#include "numerics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "kernels.h"
#include "model.h"

#define ARIA_MAX_SEQ     256
#define ARIA_MAX_BATCH   4096
#define ARIA_MAX_THREADS 256

int32_t aria_abi_version(void) {
    return ARIA_ABI_VERSION;
}

const char * aria_status_str(int32_t status) {
    switch (status) {
        case ARIA_STATUS_OK:          return "ok";
        case ARIA_STATUS_CANCELLED:   return "cancelled";
        case ARIA_STATUS_INVALID_ARG: return "invalid argument";
        case ARIA_STATUS_NO_MEMORY:   return "out of memory";
        case ARIA_STATUS_IO:          return "input/output error";
        case ARIA_STATUS_BAD_FORMAT:  return "bad model file";
        case ARIA_STATUS_UNSUPPORTED: return "unsupported model";
        case ARIA_STATUS_CTX_FULL:    return "context full";
        case ARIA_STATUS_INTERNAL:    return "internal error";
        default:                      return "unknown status";
    }
}

int32_t aria_kernels_set(int32_t kernels) {
    return aria_kernels_select(kernels);
}

int32_t aria_kernels_get(void) {
    return aria_kernels_selected();
}

const char * aria_cpu_features(void) {
    return aria_cpu_features_str();
}

int32_t aria_numerics_contract(void) {
    return ARIA_NUMERICS_CONTRACT;
}

/* ---- model ------------------------------------------------------------------------------------- */

int32_t aria_model_load(const char * path, int32_t layer_begin, int32_t layer_end, char * err, int64_t err_cap,
                        struct aria_model ** out) {
    const size_t cap = err && err_cap > 0 ? (size_t)err_cap : 0;
    if (!out) {
        return ARIA_STATUS_INVALID_ARG;
    }
    *out = NULL;
    if (!path) {
        if (cap) {
            snprintf(err, cap, "Cannot load model: no path given");
        }
        return ARIA_STATUS_INVALID_ARG;
    }
    return aria_model_load_impl(path, layer_begin, layer_end, cap ? err : NULL, cap, out);
}

void aria_model_free(struct aria_model * model) {
    aria_model_free_impl(model);
}

int32_t aria_model_requantize_output(struct aria_model * m) {
    return m ? aria_model_requantize_output_impl(m, ARIA_TYPE_Q8_W) : ARIA_STATUS_INVALID_ARG;
}

int32_t aria_model_requantize_output_to(struct aria_model * m, int32_t type) {
    return m ? aria_model_requantize_output_impl(m, type) : ARIA_STATUS_INVALID_ARG;
}

int32_t aria_model_set_i2s_layout(struct aria_model * m, int32_t layout) {
    return m ? aria_model_set_i2s_layout_impl(m, layout) : ARIA_STATUS_INVALID_ARG;
}

int32_t aria_model_repack(struct aria_model * m) {
    return m ? aria_model_repack_impl(m) : ARIA_STATUS_INVALID_ARG;
}

int32_t aria_model_n_vocab(const struct aria_model * m) { return m ? m->n_vocab : 0; }
int32_t aria_model_n_embd(const struct aria_model * m) { return m ? m->n_embd : 0; }
int32_t aria_model_n_layer(const struct aria_model * m) { return m ? m->n_layer : 0; }
int32_t aria_model_n_ctx_train(const struct aria_model * m) { return m ? m->n_ctx_train : 0; }
int32_t aria_model_layer_begin(const struct aria_model * m) { return m ? m->layer_begin : 0; }
int32_t aria_model_layer_end(const struct aria_model * m) { return m ? m->layer_end : 0; }

int64_t aria_model_info_json(const struct aria_model * m, char * buf, int64_t cap) {
    if (!m) {
        return ARIA_STATUS_INVALID_ARG;
    }
    char types[1024] = "";
    size_t used = 0;
    for (int t = 0; t < 64; t++) {
        if (m->type_counts[t] > 0 && used < sizeof types) {
            const char * name = aria_type_name(t);
            int w = snprintf(types + used, sizeof types - used, "%s\"%s\":%d", used ? "," : "", name ? name : "?",
                             m->type_counts[t]);
            used += w > 0 ? (size_t)w : 0;
        }
    }
    /* the run-time types of the loaded blocks' projections (after aria_model_repack) */
    int32_t mat_counts[64] = { 0 };
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        const aria_layer *  l    = &m->layers[il];
        const aria_matrix * ws[] = { &l->wq, &l->wk, &l->wv, &l->wo, &l->gate, &l->up, &l->down };
        for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
            if (ws[k]->type >= 0 && ws[k]->type < 64) {
                mat_counts[ws[k]->type]++;
            }
        }
    }
    char   mtypes[512] = "";
    size_t mused       = 0;
    for (int t = 0; t < 64; t++) {
        if (mat_counts[t] > 0 && mused < sizeof mtypes) {
            const char * name = aria_type_name(t);
            int w = snprintf(mtypes + mused, sizeof mtypes - mused, "%s\"%s\":%d", mused ? "," : "", name ? name : "?",
                             mat_counts[t]);
            mused += w > 0 ? (size_t)w : 0;
        }
    }
    const char * fmt =
        "{\"arch\":\"%s\",\"n_vocab\":%d,\"n_embd\":%d,\"n_ff\":%d,\"n_layer\":%d,\"n_head\":%d,"
        "\"n_head_kv\":%d,\"head_dim\":%d,\"n_rot\":%d,\"n_ctx_train\":%d,\"rope_base\":%.9g,"
        "\"rope_neox\":%s,\"norm_eps\":%.9g,\"activation\":\"%s\",\"layer_begin\":%d,\"layer_end\":%d,"
        "\"output_tied\":%s,\"embd_type\":\"%s\",\"output_type\":\"%s\",\"tensor_types\":{%s},"
        "\"weight_bytes\":%llu,\"file_bytes\":%llu,\"matrix_types\":{%s},\"repacked\":%d,"
        "\"repacked_bytes\":%llu,\"x16\":%d}";
    const char * embd_type = m->has_embd ? aria_type_name(m->tok_embd.type) : "";
    const char * out_type  = !m->has_output                    ? ""
                             : m->output.type == ARIA_TYPE_Q8_W ? "Q8_W"  /* requantized at load, not file types */
                             : m->output.type == ARIA_TYPE_Q4_W ? "Q4_W"
                                                                : aria_type_name(m->output.type);
    int n = snprintf(buf, cap > 0 ? (size_t)cap : 0, fmt, m->arch_name, m->n_vocab, m->n_embd, m->n_ff, m->n_layer,
                     m->n_head, m->n_head_kv, m->head_dim, m->n_rot, m->n_ctx_train, (double)m->rope_base,
                     m->rope_neox ? "true" : "false", (double)m->norm_eps, m->act == ARIA_ACT_RELU2 ? "relu2" : "silu",
                     m->layer_begin, m->layer_end, m->output_tied ? "true" : "false", embd_type ? embd_type : "",
                     out_type ? out_type : "", types, (unsigned long long)m->weight_bytes,
                     (unsigned long long)m->map_size, mtypes, m->n_repacked,
                     (unsigned long long)m->repacked_bytes, m->n_x16);
    if (n < 0) {
        return ARIA_STATUS_INTERNAL;
    }
    if (!buf || n >= cap) {
        return -(int64_t)(n + 1);
    }
    return n;
}

/* ---- context ----------------------------------------------------------------------------------- */

int32_t aria_ctx_init(struct aria_model * m, int32_t n_ctx, int32_t n_seq, int32_t n_batch, int32_t n_threads,
                      struct aria_ctx ** out) {
    return aria_ctx_init_kv(m, n_ctx, n_seq, n_batch, n_threads, ARIA_TYPE_F32, out);
}

int32_t aria_ctx_init_kv(struct aria_model * m, int32_t n_ctx, int32_t n_seq, int32_t n_batch, int32_t n_threads,
                         int32_t kv_type, struct aria_ctx ** out) {
    if (!out) {
        return ARIA_STATUS_INVALID_ARG;
    }
    *out = NULL;
    if (!m) {
        return ARIA_STATUS_INVALID_ARG;
    }
    if (n_ctx == 0) {
        n_ctx = m->n_ctx_train;
    }
    if (n_ctx < 1 || n_ctx > m->n_ctx_train || n_seq < 1 || n_seq > ARIA_MAX_SEQ || n_batch < 1 ||
        n_batch > ARIA_MAX_BATCH || n_threads < 1 || n_threads > ARIA_MAX_THREADS ||
        (kv_type != ARIA_TYPE_F32 && kv_type != ARIA_TYPE_F16)) {
        return ARIA_STATUS_INVALID_ARG;
    }
    struct aria_ctx * ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        return ARIA_STATUS_NO_MEMORY;
    }
    int32_t s = aria_forward_init(ctx, m, n_ctx, n_seq, n_batch, n_threads, kv_type == ARIA_TYPE_F16);
    if (s) {
        aria_ctx_free(ctx);
        return s;
    }
    *out = ctx;
    return ARIA_STATUS_OK;
}

void aria_ctx_free(struct aria_ctx * ctx) {
    if (!ctx) {
        return;
    }
    aria_forward_free(ctx);
    free(ctx);
}

static int32_t ctx_fail(struct aria_ctx * ctx, int32_t status, const char * msg) {
    snprintf(ctx->err, sizeof ctx->err, "%s", msg);
    return status;
}

/* common checks of a batch; prepares the evaluation (kernels, cancel flag) */
static int32_t begin_eval(struct aria_ctx * ctx, int32_t n, const int32_t * pos, const int32_t * seq) {
    ctx->err[0] = '\0';
    if (n < 1 || n > ctx->n_batch) {
        snprintf(ctx->err, sizeof ctx->err, "batch of %d tokens: expected 1..%d", n, ctx->n_batch);
        return ARIA_STATUS_INVALID_ARG;
    }
    if ((pos || seq) && !(pos && seq)) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "positions and sequences must both be given");
    }
    ctx->kt = aria_kernels_current();
    atomic_store(&ctx->cancel, 0);
    return pos ? aria_forward_check_batch(ctx, n, pos, seq) : ARIA_STATUS_OK;
}

static int32_t check_tokens(struct aria_ctx * ctx, int32_t n, const int32_t * tokens) {
    if (!tokens) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "no tokens given");
    }
    for (int32_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= ctx->model->n_vocab) {
            snprintf(ctx->err, sizeof ctx->err, "entry %d: token %d is outside the vocabulary (0..%d)", i, tokens[i],
                     ctx->model->n_vocab - 1);
            return ARIA_STATUS_INVALID_ARG;
        }
    }
    return ARIA_STATUS_OK;
}

int32_t aria_ctx_decode(struct aria_ctx * ctx, int32_t n, const int32_t * tokens, const int32_t * pos,
                        const int32_t * seq, const int32_t * want_logits) {
    if (!ctx) {
        return ARIA_STATUS_INVALID_ARG;
    }
    const struct aria_model * m = ctx->model;
    if (!m->has_embd || !m->has_output) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG,
                        "the model was loaded with a partial layer range: use aria_ctx_embed / eval_layers / output");
    }
    if (!pos || !seq) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "positions and sequences must be given");
    }
    int32_t s = begin_eval(ctx, n, pos, seq);
    if (!s) {
        s = check_tokens(ctx, n, tokens);
    }
    if (s) {
        return s;
    }
    int32_t n_out = 0;
    for (int32_t i = 0; i < n; i++) {
        n_out += want_logits ? (want_logits[i] != 0) : (i == n - 1);
    }
    if (n_out > ctx->logits_cap) { /* grow the logits buffer before evaluating: nothing to undo */
        float * grown = realloc(ctx->logits, sizeof(float) * (size_t)n_out * (size_t)m->n_vocab);
        if (!grown) {
            return ctx_fail(ctx, ARIA_STATUS_NO_MEMORY, "cannot allocate the logits buffer");
        }
        ctx->logits     = grown;
        ctx->logits_cap = n_out;
    }
    ctx->n_outputs = 0;
    /* the rows that want logits, in batch order: the last layer finishes only those, and leaves
     * them at the front of x (aria_forward_layers) for the head */
    int32_t * keep = ctx->keep;
    int32_t   j    = 0;
    for (int32_t i = 0; i < n; i++) {
        if (want_logits ? want_logits[i] != 0 : i == n - 1) {
            keep[j++] = i;
        }
    }
    aria_forward_embed(ctx, n, tokens, ctx->x);
    s = aria_forward_layers(ctx, n, pos, seq, 0, m->n_layer, ctx->x, keep, n_out);
    if (s) {
        return s == ARIA_STATUS_CANCELLED ? ctx_fail(ctx, s, "cancelled") : s;
    }
    if (n_out > 0) {
        aria_forward_output(ctx, n_out, ctx->x, ctx->logits);
    }
    ctx->n_outputs = n_out;
    return ARIA_STATUS_OK;
}

int32_t aria_ctx_n_outputs(const struct aria_ctx * ctx) {
    return ctx ? ctx->n_outputs : 0;
}

float * aria_ctx_logits(struct aria_ctx * ctx, int32_t i) {
    if (!ctx || i < 0 || i >= ctx->n_outputs) {
        return NULL;
    }
    return ctx->logits + (int64_t)i * ctx->model->n_vocab;
}

int32_t aria_ctx_embed(struct aria_ctx * ctx, int32_t n, const int32_t * tokens, float * hidden) {
    if (!ctx) {
        return ARIA_STATUS_INVALID_ARG;
    }
    if (!ctx->model->has_embd) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "the model was loaded without token_embd (layer range does not start at 0)");
    }
    int32_t s = begin_eval(ctx, n, NULL, NULL);
    if (!s) {
        s = check_tokens(ctx, n, tokens);
    }
    if (!s && !hidden) {
        s = ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "no hidden-state buffer given");
    }
    if (s) {
        return s;
    }
    aria_forward_embed(ctx, n, tokens, hidden);
    return ARIA_STATUS_OK;
}

int32_t aria_ctx_eval_layers(struct aria_ctx * ctx, int32_t n, const int32_t * pos, const int32_t * seq,
                             int32_t il_begin, int32_t il_end, float * hidden) {
    if (!ctx) {
        return ARIA_STATUS_INVALID_ARG;
    }
    const struct aria_model * m = ctx->model;
    if (!pos || !seq || !hidden) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "positions, sequences and the hidden state must be given");
    }
    if (il_begin < m->layer_begin || il_end > m->layer_end || il_begin >= il_end) {
        snprintf(ctx->err, sizeof ctx->err, "layers %d-%d are outside the loaded range %d-%d", il_begin, il_end,
                 m->layer_begin, m->layer_end);
        return ARIA_STATUS_INVALID_ARG;
    }
    int32_t s = begin_eval(ctx, n, pos, seq);
    if (s) {
        return s;
    }
    s = aria_forward_layers(ctx, n, pos, seq, il_begin, il_end, hidden, NULL, 0);
    return s == ARIA_STATUS_CANCELLED ? ctx_fail(ctx, s, "cancelled") : s;
}

int32_t aria_ctx_output(struct aria_ctx * ctx, int32_t n, const float * hidden, float * logits) {
    if (!ctx) {
        return ARIA_STATUS_INVALID_ARG;
    }
    if (!ctx->model->has_output) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "the model was loaded without the output head (layer range does not end at the last block)");
    }
    if (!hidden || !logits) {
        return ctx_fail(ctx, ARIA_STATUS_INVALID_ARG, "the hidden state and the logits buffer must be given");
    }
    int32_t s = begin_eval(ctx, n, NULL, NULL);
    if (s) {
        return s;
    }
    aria_forward_output(ctx, n, hidden, logits);
    return ARIA_STATUS_OK;
}

int32_t aria_ctx_seq_len(const struct aria_ctx * ctx, int32_t seq) {
    if (!ctx || seq < 0 || seq >= ctx->n_seq) {
        return ARIA_STATUS_INVALID_ARG;
    }
    return ctx->seq_len[seq];
}

int32_t aria_ctx_seq_truncate(struct aria_ctx * ctx, int32_t seq, int32_t n_keep) {
    if (!ctx || seq < 0 || seq >= ctx->n_seq || n_keep < 0) {
        return ARIA_STATUS_INVALID_ARG;
    }
    if (n_keep < ctx->seq_len[seq]) {
        ctx->seq_len[seq] = n_keep;
    }
    return ARIA_STATUS_OK;
}

void aria_ctx_cancel(struct aria_ctx * ctx) {
    if (ctx) {
        atomic_store(&ctx->cancel, 1);
    }
}

int64_t aria_ctx_last_error(const struct aria_ctx * ctx, char * buf, int64_t cap) {
    if (!ctx) {
        return ARIA_STATUS_INVALID_ARG;
    }
    const size_t len = strlen(ctx->err);
    if (buf && cap > 0) {
        snprintf(buf, (size_t)cap, "%s", ctx->err);
    }
    return (int64_t)len;
}
