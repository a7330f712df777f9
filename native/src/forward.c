/*
 * forward.c — the forward pass of a BitNet b1.58 model, one readable step at a time
 * (docs/engine.md is the specification; llama2.c's forward() is the model for the shape).
 * No allocation happens here after aria_forward_init: every buffer is sized for n_batch tokens.
 * Heavy loops (matmuls, attention) run on the context's threadpool; each output element is
 * computed by exactly one thread with the same code, so results do not depend on n_threads.
 * Every float here follows engine numerics contract v2 (numerics.h, docs/engine.md): the kernels
 * give _ref's bits, exp is aria_expf, the RoPE table is our own, sums run in a fixed order.
 */
#include "forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"
#include "numerics.h"
#include "matmul.h"

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}

static int64_t q_dim(const struct aria_model * m) {
    return (int64_t)m->n_head * m->head_dim;
}

static int64_t kv_dim(const struct aria_model * m) {
    return (int64_t)m->n_head_kv * m->head_dim;
}

/* ---- context lifetime ------------------------------------------------------------------------ */

/* ---- qwen3 additions (docs/models.md "qwen3", "RoPE scaling"): kept apart from the shared steps */

/* cos / sin times the YaRN magnitude factor (model.c read_rope_scaling); mscale 1 leaves the
 * value as it is, so models without YaRN get exactly the table they had */
static float rope_scaled(float v, float mscale) {
    return mscale == 1.0f ? v : v * mscale;
}

static void rmsnorm(float * out, const float * x, const float * w, int64_t n, float eps);

/* qwen3: RMS norm of one query or key head (head_dim values, in place) with its weight, before
 * RoPE, as llama.cpp's build_qwen3 does (ggml_rms_norm then ggml_mul); no-op when w is NULL */
static void qk_head_norm(const struct aria_model * m, float * head, const float * w) {
    if (w) {
        rmsnorm(head, head, w, m->head_dim, m->norm_eps);
    }
}

int32_t aria_forward_init(struct aria_ctx * ctx, struct aria_model * m, int32_t n_ctx, int32_t n_seq, int32_t n_batch,
                          int32_t n_threads, int32_t kv_f16) {
    ctx->model   = m;
    ctx->kv_f16  = kv_f16 ? 1 : 0;
    ctx->n_ctx   = n_ctx;
    ctx->n_seq   = n_seq;
    ctx->n_batch = n_batch;
    atomic_init(&ctx->cancel, 0);
    ctx->tp = aria_tp_init(n_threads);
    if (!ctx->tp) {
        return ARIA_STATUS_NO_MEMORY;
    }
    const int64_t n_local  = m->layer_end - m->layer_begin;
    const int64_t qd       = q_dim(m);
    const int64_t kvd      = kv_dim(m);
    const int64_t wide     = max64(m->n_embd, qd);
    ctx->max_n_in          = max64(wide, m->n_ff);
    /* quantized activation row: Q8_K blocks (largest per element) or int8 rows, for the widest input */
    const int64_t max_in_k = (ctx->max_n_in + QK_K - 1) / QK_K * QK_K;
    ctx->act_row_bytes     = (uint64_t)(max_in_k / QK_K) * sizeof(block_q8_K);
    const size_t kv_elems  = (size_t)n_local * (size_t)n_seq * (size_t)n_ctx * (size_t)kvd;
    const size_t nb        = (size_t)n_batch;
    const size_t nt        = (size_t)n_threads;

    const size_t kv_esz = kv_f16 ? sizeof(aria_f16) : sizeof(float);
    /* The KV cache is touched here, once (as llama.cpp clears its cache buffer at creation), so
     * that decoding never takes the page faults: they cost a VM several microseconds each, and a
     * sequence growing into fresh pages took one every 8 positions of each layer and KV head
     * (2B-4T, 4 sequences: about 2.5 ms of a 40 ms step). Huge pages where the kernel grants them. */
    ctx->k_cache    = aria_alloc_pages(kv_esz * kv_elems, &ctx->kv_raw[0]);
    ctx->v_cache    = aria_alloc_pages(kv_esz * kv_elems, &ctx->kv_raw[1]);
    if (ctx->k_cache && ctx->v_cache) {
        memset(ctx->k_cache, 0, kv_esz * kv_elems);
        memset(ctx->v_cache, 0, kv_esz * kv_elems);
    }
    ctx->seq_len    = calloc((size_t)n_seq, sizeof(int32_t));
    ctx->seq_next   = calloc((size_t)n_seq, sizeof(int32_t));
    ctx->seq_start  = calloc((size_t)n_seq, sizeof(int32_t));
    ctx->keep       = malloc(sizeof(int32_t) * 3 * nb);
    ctx->x          = malloc(sizeof(float) * nb * (size_t)m->n_embd);
    ctx->xb         = malloc(sizeof(float) * nb * (size_t)wide);
    ctx->q          = malloc(sizeof(float) * nb * (size_t)qd);
    ctx->k          = malloc(sizeof(float) * nb * (size_t)kvd);
    ctx->v          = malloc(sizeof(float) * nb * (size_t)kvd);
    ctx->att        = malloc(sizeof(float) * nb * (size_t)qd);
    ctx->tmp        = malloc(sizeof(float) * nb * (size_t)m->n_embd);
    ctx->hb         = malloc(sizeof(float) * nb * (size_t)m->n_ff);
    ctx->hb2        = malloc(sizeof(float) * nb * (size_t)m->n_ff);
    ctx->act        = malloc(nb * ctx->act_row_bytes);
    ctx->act_scale  = malloc(sizeof(float) * nb);
    ctx->act_sum    = malloc(sizeof(int32_t) * nb);
    ctx->xn         = m->has_norm_in ? malloc(sizeof(float) * nb * (size_t)m->n_embd) : NULL;
    ctx->xq         = m->fallback_i8 ? malloc(sizeof(float) * nb * (size_t)ctx->max_n_in) : NULL;
    ctx->scores     = malloc(sizeof(float) * nt * (size_t)n_ctx);
    ctx->deq        = malloc(sizeof(float) * nt * (size_t)ctx->max_n_in);
    ctx->rope_cs    = malloc(sizeof(float) * (size_t)n_ctx * (size_t)(m->n_rot / 2 > 0 ? m->n_rot : 1));
    ctx->logits_cap = n_seq;
    ctx->logits     = malloc(sizeof(float) * (size_t)ctx->logits_cap * (size_t)m->n_vocab);
    if (!ctx->k_cache || !ctx->v_cache || !ctx->seq_len || !ctx->seq_next || !ctx->seq_start || !ctx->keep || !ctx->x || !ctx->xb ||
        !ctx->q || !ctx->k || !ctx->v || !ctx->att || !ctx->tmp || !ctx->hb || !ctx->hb2 || !ctx->act ||
        !ctx->act_scale || !ctx->act_sum || (m->fallback_i8 && !ctx->xq) || (m->has_norm_in && !ctx->xn) || !ctx->scores || !ctx->deq || !ctx->logits || !ctx->rope_cs) {
        return ARIA_STATUS_NO_MEMORY;
    }
    /* cos / sin of every position's angles, once (numerics.h: our own sin / cos, not libm's),
     * times YaRN's magnitude scale when the model has one */
    aria_rope_table(m->rope_inv_freq, m->n_rot / 2, n_ctx, ctx->rope_cs);
    if (m->rope_mscale != 1.0f) {
        for (int64_t i = 0; i < (int64_t)n_ctx * m->n_rot; i++) {
            ctx->rope_cs[i] = rope_scaled(ctx->rope_cs[i], m->rope_mscale);
        }
    }
    return ARIA_STATUS_OK;
}

void aria_forward_free(struct aria_ctx * ctx) {
    aria_tp_free(ctx->tp);
    free(ctx->kv_raw[0]);
    free(ctx->kv_raw[1]);
    free(ctx->seq_len);
    free(ctx->seq_next);
    free(ctx->seq_start);
    free(ctx->keep);
    free(ctx->x);
    free(ctx->xb);
    free(ctx->q);
    free(ctx->k);
    free(ctx->v);
    free(ctx->att);
    free(ctx->tmp);
    free(ctx->hb);
    free(ctx->hb2);
    free(ctx->act);
    free(ctx->act_scale);
    free(ctx->act_sum);
    free(ctx->xq);
    free(ctx->xn);
    free(ctx->scores);
    free(ctx->deq);
    free(ctx->logits);
    free(ctx->rope_cs);
}

int32_t aria_forward_check_batch(struct aria_ctx * ctx, int32_t n, const int32_t * pos, const int32_t * seq) {
    for (int32_t s = 0; s < ctx->n_seq; s++) {
        ctx->seq_next[s]  = -1;
        ctx->seq_start[s] = -1;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t s = seq[i];
        const int32_t p = pos[i];
        if (s < 0 || s >= ctx->n_seq) {
            snprintf(ctx->err, sizeof ctx->err, "entry %d: sequence %d is outside 0..%d", i, s, ctx->n_seq - 1);
            return ARIA_STATUS_INVALID_ARG;
        }
        if (p < 0) {
            snprintf(ctx->err, sizeof ctx->err, "entry %d: position %d is negative", i, p);
            return ARIA_STATUS_INVALID_ARG;
        }
        if (p >= ctx->n_ctx) {
            snprintf(ctx->err, sizeof ctx->err, "entry %d: position %d is past the context size %d", i, p, ctx->n_ctx);
            return ARIA_STATUS_CTX_FULL;
        }
        if (ctx->seq_next[s] < 0) {
            if (p > ctx->seq_len[s]) {
                snprintf(ctx->err, sizeof ctx->err,
                         "entry %d: position %d of sequence %d leaves a gap (the sequence has %d positions)", i, p, s,
                         ctx->seq_len[s]);
                return ARIA_STATUS_INVALID_ARG;
            }
            ctx->seq_start[s] = p;
        } else if (p != ctx->seq_next[s]) {
            snprintf(ctx->err, sizeof ctx->err, "entry %d: position %d of sequence %d should be %d", i, p, s,
                     ctx->seq_next[s]);
            return ARIA_STATUS_INVALID_ARG;
        }
        ctx->seq_next[s] = p + 1;
    }
    return ARIA_STATUS_OK;
}

/* ---- small f32 steps (caller thread) --------------------------------------------------------- */

static void rmsnorm(float * out, const float * x, const float * w, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) {
        ss += (double)x[i] * (double)x[i];
    }
    const float mean  = (float)(ss / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) {
        out[i] = (x[i] * scale) * w[i];
    }
}

/* rmsnorm of NR rows at once (row r: x + r * stride into out + r * stride), each exactly as
 * rmsnorm computes it (its own double sum in element order, then the same scaling), but the rows'
 * sums interleaved in one loop: one row's sum is a chain of dependent adds (latency-bound, about 4
 * cycles an element), and NR independent chains overlap. So a batch's norms cost about what one
 * row's did, and every float is the same. */
static inline __attribute__((always_inline)) void rmsnorm_nr(float * out, const float * x, const float * w,
                                                             int64_t n, int64_t stride, float eps, const int NR) {
    /* four named accumulators (not an array, which gcc kept in memory): registers */
    double         s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    const float *  x1 = x + (NR > 1 ? stride : 0), *x2 = x + (NR > 2 ? 2 * stride : 0);
    const float *  x3 = x + (NR > 3 ? 3 * stride : 0);
    for (int64_t i = 0; i < n; i++) {
        s0 += (double)x[i] * (double)x[i];
        if (NR > 1) {
            s1 += (double)x1[i] * (double)x1[i];
        }
        if (NR > 2) {
            s2 += (double)x2[i] * (double)x2[i];
        }
        if (NR > 3) {
            s3 += (double)x3[i] * (double)x3[i];
        }
    }
    const double ss[4] = { s0, s1, s2, s3 };
    for (int r = 0; r < NR; r++) {
        const float mean  = (float)(ss[r] / (double)n);
        const float scale = 1.0f / sqrtf(mean + eps);
        for (int64_t i = 0; i < n; i++) {
            out[r * stride + i] = (x[r * stride + i] * scale) * w[i];
        }
    }
}

/* rmsnorm of nr consecutive rows of `stride` floats (out may be x), four at a time */
static void rmsnorm_rows(float * out, const float * x, const float * w, int64_t n, int64_t stride, float eps,
                         int64_t nr) {
    int64_t r = 0;
    for (; r + 4 <= nr; r += 4) {
        rmsnorm_nr(out + r * stride, x + r * stride, w, n, stride, eps, 4);
    }
    switch (nr - r) {
        case 3:
            rmsnorm_nr(out + r * stride, x + r * stride, w, n, stride, eps, 3);
            break;
        case 2:
            rmsnorm_nr(out + r * stride, x + r * stride, w, n, stride, eps, 2);
            break;
        case 1:
            rmsnorm(out + r * stride, x + r * stride, w, n, eps);
            break;
        default:
            break;
    }
}

/* rotates the first n_rot dims of each of n_heads heads of vec, at position pos (cos / sin from
 * the context's table) */
static void rope(const struct aria_ctx * ctx, float * vec, int32_t n_heads, int32_t pos) {
    const struct aria_model * m    = ctx->model;
    const int32_t             half = m->n_rot / 2;
    const float *             cs   = ctx->rope_cs + (int64_t)pos * half * 2;
    for (int32_t h = 0; h < n_heads; h++) {
        float * v = vec + (int64_t)h * m->head_dim;
        for (int32_t i = 0; i < half; i++) {
            const float c     = cs[2 * i];
            const float s     = cs[2 * i + 1];
            /* NEOX: pairs (i, i + n_rot/2); NORM: pairs (2i, 2i + 1) */
            const int32_t a   = m->rope_neox ? i : 2 * i;
            const int32_t b   = m->rope_neox ? i + half : 2 * i + 1;
            const float   x0  = v[a];
            const float   x1  = v[b];
            v[a]              = x0 * c - x1 * s;
            v[b]              = x0 * s + x1 * c;
        }
    }
}

/* ---- attention --------------------------------------------------------------------------------- */

typedef struct {
    struct aria_ctx * ctx;
    int32_t           layer;  /* local layer index into the cache */
    int32_t           n;
    const int32_t *   pos;
    const int32_t *   seq;
} attn_task;

/* Element offset of (layer, s, kv head h, position p) in a cache; its address depends on the
 * element type. Head-major: the positions of one kv head are consecutive rows of head_dim, so the
 * attention of a head streams one contiguous run (the weights streamed in between evict the whole
 * cache from every level each token, and a sequential run is what the prefetchers follow). */
static int64_t kv_off(const struct aria_ctx * ctx, int32_t layer, int32_t s, int32_t h, int32_t p) {
    const struct aria_model * m = ctx->model;
    return ((((int64_t)layer * ctx->n_seq + s) * m->n_head_kv + h) * ctx->n_ctx + p) * m->head_dim;
}

/* writes kv head h of one position (head_dim floats at src) into a cache, converting to f16 if the
 * cache is f16 */
static void kv_store(struct aria_ctx * ctx, void * cache, int32_t layer, int32_t s, int32_t h, int32_t p,
                     const float * src) {
    const int64_t hd  = ctx->model->head_dim;
    const int64_t off = kv_off(ctx, layer, s, h, p);
    if (ctx->kv_f16) {
        aria_f16 * d = (aria_f16 *)cache + off;
        for (int64_t i = 0; i < hd; i++) {
            d[i] = aria_f32_to_f16(src[i]);
        }
    } else {
        memcpy((float *)cache + off, src, sizeof(float) * (size_t)hd);
    }
}

/* RoPE on every query and key head of the batch, and the keys and values into the cache: tasks
 * (token, head) over n_head query heads then n_head_kv kv heads, split over the threads (each
 * task's floats are the same whoever runs it). The attention that reads them is the next pool
 * run, after this one's barrier. */
static void rope_kv_worker(void * arg, int ith, int nth) {
    attn_task *               t   = arg;
    struct aria_ctx *         ctx = t->ctx;
    const struct aria_model * m   = ctx->model;
    const int32_t             per = m->n_head + m->n_head_kv;
    int64_t                   b, e;
    aria_tp_range((int64_t)t->n * per, ith, nth, &b, &e);
    const aria_layer *        l   = &m->layers[m->layer_begin + t->layer];
    for (int64_t task = b; task < e; task++) {
        const int32_t i = (int32_t)(task / per);
        const int32_t h = (int32_t)(task % per);
        if (h < m->n_head) {
            float * qh = ctx->q + (int64_t)i * q_dim(m) + (int64_t)h * m->head_dim;
            qk_head_norm(m, qh, l->attn_q_norm);
            rope(ctx, qh, 1, t->pos[i]);
            continue;
        }
        const int32_t kvh = h - m->n_head;
        const int64_t at  = (int64_t)i * kv_dim(m) + (int64_t)kvh * m->head_dim;
        qk_head_norm(m, ctx->k + at, l->attn_k_norm);
        rope(ctx, ctx->k + at, 1, t->pos[i]);
        kv_store(ctx, ctx->k_cache, t->layer, t->seq[i], kvh, t->pos[i], ctx->k + at);
        kv_store(ctx, ctx->v_cache, t->layer, t->seq[i], kvh, t->pos[i], ctx->v + at);
    }
}

/* s[j] = q . key j for positions 0 .. np - 1 of one cache head (base: kv_off of its position 0;
 * positions hd apart): the table's rows kernel, or else its single-row kernel per position, with
 * the same bits (kernels.h) */
static void head_dots(const struct aria_ctx * ctx, int64_t hd, int64_t np, float * s, int64_t base, const float * q) {
    const aria_kernel_table * kt = ctx->kt;
    if (ctx->kv_f16) {
        const aria_f16 * k = (const aria_f16 *)ctx->k_cache + base;
        if (kt->attn_dots_f16) {
            kt->attn_dots_f16(hd, np, s, k, hd, q);
            return;
        }
        for (int64_t j = 0; j < np; j++) {
            kt->vec_dot_f16_f32(hd, &s[j], k + j * hd, q);
        }
    } else {
        const float * k = (const float *)ctx->k_cache + base;
        if (kt->attn_dots_f32) {
            kt->attn_dots_f32(hd, np, s, k, hd, q);
            return;
        }
        for (int64_t j = 0; j < np; j++) {
            kt->vec_dot_f32(hd, &s[j], q, k + j * hd);
        }
    }
}

/* out += p[j] value j for positions 0 .. np - 1 of one cache head, in position order (as head_dots:
 * the rows kernel or the single-row one per position) */
static void head_axpys(const struct aria_ctx * ctx, int64_t hd, int64_t np, const float * p, int64_t base,
                       float * out) {
    const aria_kernel_table * kt = ctx->kt;
    if (ctx->kv_f16) {
        const aria_f16 * v = (const aria_f16 *)ctx->v_cache + base;
        if (kt->attn_axpys_f16) {
            kt->attn_axpys_f16(hd, np, p, v, hd, out);
            return;
        }
        for (int64_t j = 0; j < np; j++) {
            kt->axpy_f16(hd, p[j], v + j * hd, out);
        }
    } else {
        const float * v = (const float *)ctx->v_cache + base;
        if (kt->attn_axpys_f32) {
            kt->attn_axpys_f32(hd, np, p, v, hd, out);
            return;
        }
        for (int64_t j = 0; j < np; j++) {
            kt->axpy_f32(hd, p[j], v + j * hd, out);
        }
    }
}

static void attn_worker(void * arg, int ith, int nth) {
    attn_task *               t      = arg;
    struct aria_ctx *         ctx    = t->ctx;
    const struct aria_model * m      = ctx->model;
    const int32_t             hd     = m->head_dim;
    const int32_t             group  = m->n_head / m->n_head_kv;
    const float               kscale = 1.0f / sqrtf((float)hd);
    float *                   sc     = ctx->scores + (int64_t)ith * ctx->n_ctx;
    /* Tasks (token, head) are dealt round-robin, not in contiguous ranges: in a causal prefill a
     * token's cost grows with its position, so contiguous ranges gave the last thread most of the
     * work (2B-4T pp128, 2 threads: 0.07 s against 0.21 s per 30 layers). Each task is still
     * computed whole by one thread with the same code, so the output does not depend on nth.
     * One token (decode): contiguous ranges of heads instead, so the query heads that share a KV
     * head mostly fall to one thread, which reads that head's cache once for all of them (the
     * cache comes from DRAM every token: the weights streamed in between evict it). */
    int64_t task0 = ith, task1 = (int64_t)t->n * m->n_head, step = nth;
    if (t->n == 1) {
        aria_tp_range(m->n_head, ith, nth, &task0, &task1);
        step = 1;
    }
    for (int64_t task = task0; task < task1; task += step) {
        const int32_t i   = (int32_t)(task / m->n_head);
        const int32_t h   = (int32_t)(task % m->n_head);
        const int32_t kvh = h / group;
        const int32_t p   = t->pos[i];
        const int32_t s   = t->seq[i];
        const float * q   = ctx->q + (int64_t)i * q_dim(m) + (int64_t)h * hd;
        float *       out = ctx->att + (int64_t)i * q_dim(m) + (int64_t)h * hd;
        float         mx  = -INFINITY;
        const int64_t base = kv_off(ctx, t->layer, s, kvh, 0);
        head_dots(ctx, hd, p + 1, sc, base, q);
        for (int32_t j = 0; j <= p; j++) {
            sc[j] = sc[j] * kscale;
            mx    = sc[j] > mx ? sc[j] : mx;
        }
        float sum = 0.0f;
        for (int32_t j = 0; j <= p; j++) {
            sc[j] = aria_expf(sc[j] - mx);  /* numerics.h: the one exp; the sum in position order */
            sum += sc[j];
        }
        const float inv = 1.0f / sum;
        for (int32_t j = 0; j <= p; j++) {
            sc[j] = sc[j] * inv;  /* p_j */
        }
        memset(out, 0, sizeof(float) * (size_t)hd);
        head_axpys(ctx, hd, p + 1, sc, base, out);
    }
}

/* ---- the story --------------------------------------------------------------------------------- */

void aria_forward_embed(struct aria_ctx * ctx, int32_t n, const int32_t * tokens, float * hidden) {
    const struct aria_model * m       = ctx->model;
    const int                 dropped = aria_model_embd_dropped(m);
    for (int32_t i = 0; i < n; i++) {
        aria_matrix_row_f32(&m->tok_embd, tokens[i], hidden + (int64_t)i * m->n_embd);
        /* the embedding is not held resident (model.h): the row's pages go again at once, not after
         * the batch (a fault maps up to a whole 2 MiB folio: 128 prompt tokens held up to 7 MiB) */
        if (dropped) {
            aria_model_embd_release_rows(m, 1, &tokens[i]);
        }
    }
}

static void norm_rows(struct aria_ctx * ctx, float * out, const float * in, const float * w, int64_t width,
                      int32_t n);

/* y[j] = W[j] a for the projections that share the input a (n rows of n_embd), on one quantized
 * copy of a; a projection j with an input norm (BitNet embeddings, model.h q_norm_in) instead gets
 * rmsnorm(a, norm_in[j]), as the fork of llama.cpp in microsoft/BitNet computes it */
static void projections(struct aria_ctx * ctx, const float * a, int32_t n, int32_t k, const aria_matrix * const * w,
                        const float * const * norm_in, float * const * y) {
    int any = 0;
    for (int32_t j = 0; j < k; j++) {
        any |= norm_in[j] != NULL;
    }
    if (!any) {
        aria_matmul_many(ctx, a, n, k, w, y);
        return;
    }
    for (int32_t j = 0; j < k; j++) {
        const float * in = a;
        if (norm_in[j]) {
            norm_rows(ctx, ctx->xn, a, norm_in[j], ctx->model->n_embd, n);
            in = ctx->xn;
        }
        aria_matmul(ctx, y[j], in, n, w[j]);
    }
}

/* Moves rows keep[0 .. n_keep - 1] (ascending) of a (rows of `width` floats) to rows 0 .. n_keep - 1. */
static void keep_rows(float * a, int64_t width, const int32_t * keep, int32_t n_keep) {
    for (int32_t j = 0; j < n_keep; j++) {
        if (keep[j] != j) {
            memmove(a + (int64_t)j * width, a + (int64_t)keep[j] * width, sizeof(float) * (size_t)width);
        }
    }
}

/* attention block of layer il for n tokens: x += Wo(subnorm(attn(rope(Wq a), rope(Wk a), Wv a))).
 * With keep (the model's last layer, aria_forward_layers): every token's key and value go into the
 * cache, then only the kept rows go on (attention, Wo, and the FFN after), moved to the front of x;
 * the others' outputs would only be thrown away. Returns the number of rows that went on. */
static int32_t attention_block(struct aria_ctx * ctx, int32_t il, int32_t n, const int32_t * pos, const int32_t * seq,
                               float * x, const int32_t * keep, int32_t n_keep) {
    const struct aria_model * m   = ctx->model;
    const aria_layer *        l   = &m->layers[il];
    const int64_t             E   = m->n_embd;
    const int64_t             qd  = q_dim(m);
    const int32_t             li  = il - m->layer_begin;

    norm_rows(ctx, ctx->xb, x, l->attn_norm, E, n);
    const aria_matrix * qkv[3]  = { &l->wq, &l->wk, &l->wv };
    float * const       qkv_y[3] = { ctx->q, ctx->k, ctx->v };
    const float * const qkv_in[3] = { l->q_norm_in, l->k_norm_in, l->v_norm_in };
    projections(ctx, ctx->xb, n, 3, qkv, qkv_in, qkv_y);
    attn_task at = { ctx, li, n, pos, seq };
    PHASE(ARIA_PHASE_ROPE_KV, aria_tp_run(ctx->tp, rope_kv_worker, &at));
    if (keep) {
        /* each row's attention reads only the cache and its own query, and each row's floats do
         * not depend on the batch (docs/engine.md), so the kept rows' bits are those of a full run */
        int32_t * kpos = ctx->keep + ctx->n_batch;
        int32_t * kseq = ctx->keep + 2 * (int64_t)ctx->n_batch;
        for (int32_t j = 0; j < n_keep; j++) {
            kpos[j] = pos[keep[j]];
            kseq[j] = seq[keep[j]];
        }
        keep_rows(ctx->q, qd, keep, n_keep);
        keep_rows(x, E, keep, n_keep);
        n  = n_keep;
        at = (attn_task){ ctx, li, n, kpos, kseq };
        if (n == 0) {
            return 0;
        }
    }
    PHASE(ARIA_PHASE_ATTENTION, aria_tp_run(ctx->tp, attn_worker, &at));
    const float * o_in = ctx->att;
    if (l->attn_sub_norm) {
        norm_rows(ctx, ctx->xb, ctx->att, l->attn_sub_norm, qd, n);
        o_in = ctx->xb;
    }
    aria_matmul(ctx, ctx->tmp, o_in, n, &l->wo);
    for (int64_t j = 0; j < (int64_t)n * E; j++) {
        x[j] += ctx->tmp[j];
    }
    return n;
}

/* feed-forward block of layer il: x += Wdown(subnorm(act(Wgate f) * Wup f)), f = norm(x) */
/* Per-token row work of a block, split over the threads for a batch (each row is computed by one
 * thread with the same code, so the output does not depend on the thread count). */
typedef struct {
    struct aria_ctx *  ctx;
    const aria_layer * l;
    int32_t            n;
    const float *      in;   /* ROWS_NORM: input rows */
    float *            out;  /* ROWS_NORM: output rows */
    const float *      w;    /* ROWS_NORM: norm weight */
    int64_t            width;
    int                kind;
} rows_task;

enum { ROWS_NORM, ROWS_FFN_ACT };

/* act(g) * u for elements j0 .. j1 - 1 of row i (each element on its own: any split of a row over
 * threads gives the same floats) */
static void ffn_act_span(struct aria_ctx * ctx, int32_t i, int64_t j0, int64_t j1) {
    const struct aria_model * m  = ctx->model;
    const int64_t             F  = m->n_ff;
    float *                   h  = ctx->hb + (int64_t)i * F;
    const float *             h2 = ctx->hb2 + (int64_t)i * F;
    if (m->act != ARIA_ACT_RELU2) {  /* SiLU: g / (1 + exp(-g)), each element on its own (kernels.h) */
        ctx->kt->silu_mul_f32(j1 - j0, h + j0, h2 + j0);
        return;
    }
    for (int64_t j = j0; j < j1; j++) {
        const float r = h[j] > 0.0f ? h[j] : 0.0f;
        h[j]          = r * r * h2[j];
    }
}

/* act(g) * u of rows b .. e - 1, then their ffn_sub_norm (rmsnorm_rows) */
static void ffn_act_rows(struct aria_ctx * ctx, const aria_layer * l, int64_t b, int64_t e) {
    const struct aria_model * m = ctx->model;
    for (int64_t i = b; i < e; i++) {
        ffn_act_span(ctx, (int32_t)i, 0, m->n_ff);
    }
    if (l->ffn_sub_norm) {
        float * h = ctx->hb + b * m->n_ff;
        rmsnorm_rows(h, h, l->ffn_sub_norm, m->n_ff, m->n_ff, m->norm_eps, e - b);
    }
}

/* A few tokens (decode): each row's activation split over the threads in equal spans (SiLU's expf
 * over n_ff elements is too long for one thread while the others wait); the sub-norm after it
 * needs the whole row and runs on the caller (ffn_block). */
static void ffn_act_split_worker(void * arg, int ith, int nth) {
    rows_task * t = arg;
    int64_t     b, e;
    aria_tp_range(t->ctx->model->n_ff, ith, nth, &b, &e);
    for (int32_t i = 0; i < t->n; i++) {
        ffn_act_span(t->ctx, i, b, e);
    }
}

static void rows_worker(void * arg, int ith, int nth) {
    rows_task * t = arg;
    int64_t     b, e;
    aria_tp_range(t->n, ith, nth, &b, &e);
    if (t->kind == ROWS_FFN_ACT) {
        ffn_act_rows(t->ctx, t->l, b, e);
    } else {
        rmsnorm_rows(t->out + b * t->width, t->in + b * t->width, t->w, t->width, t->width, t->ctx->model->norm_eps,
                     e - b);
    }
}

/* Runs a rows_task on the pool for a batch of 4 or more tokens, else on the calling thread. */
static void run_rows(struct aria_ctx * ctx, rows_task * t) {
    if (t->n >= 4) {
        aria_tp_run(ctx->tp, rows_worker, t);
    } else {
        rows_worker(t, 0, 1);
    }
}

/* out[i] = rmsnorm(in[i], w) for the n rows of `width` */
static void norm_rows(struct aria_ctx * ctx, float * out, const float * in, const float * w, int64_t width,
                      int32_t n) {
    rows_task t = { ctx, NULL, n, in, out, w, width, ROWS_NORM };
    PHASE(ARIA_PHASE_NORM, run_rows(ctx, &t));
}

static void ffn_block(struct aria_ctx * ctx, int32_t il, int32_t n, float * x) {
    const struct aria_model * m = ctx->model;
    const aria_layer *        l = &m->layers[il];
    const int64_t             E = m->n_embd;

    norm_rows(ctx, ctx->xb, x, l->ffn_norm, E, n);
    const aria_matrix * gu[2]    = { &l->gate, &l->up };
    float * const       gu_y[2]  = { ctx->hb, ctx->hb2 };
    const float * const gu_in[2] = { l->gate_norm_in, l->up_norm_in };
    projections(ctx, ctx->xb, n, 2, gu, gu_in, gu_y);
    rows_task act = { ctx, l, n, NULL, NULL, NULL, 0, ROWS_FFN_ACT };  /* act(g) * u, then ffn_sub_norm */
    if (n >= 4) {
        PHASE(ARIA_PHASE_FFN_ACT, aria_tp_run(ctx->tp, rows_worker, &act));
    } else {
        PHASE(ARIA_PHASE_FFN_ACT, aria_tp_run(ctx->tp, ffn_act_split_worker, &act));
        if (l->ffn_sub_norm) {
            PHASE(ARIA_PHASE_NORM, rmsnorm_rows(ctx->hb, ctx->hb, l->ffn_sub_norm, m->n_ff, m->n_ff, m->norm_eps, n));
        }
    }
    aria_matmul(ctx, ctx->tmp, ctx->hb, n, &l->down);
    for (int64_t j = 0; j < (int64_t)n * E; j++) {
        x[j] += ctx->tmp[j];
    }
}

int32_t aria_forward_layers(struct aria_ctx * ctx, int32_t n, const int32_t * pos, const int32_t * seq,
                            int32_t il_begin, int32_t il_end, float * hidden, const int32_t * keep, int32_t n_keep) {
    int32_t status = ARIA_STATUS_OK;
    for (int32_t il = il_begin; il < il_end; il++) {
        if (atomic_load_explicit(&ctx->cancel, memory_order_relaxed)) {
            status = ARIA_STATUS_CANCELLED;
            break;
        }
        const int last = il == il_end - 1;
        const int32_t n_on = attention_block(ctx, il, n, pos, seq, hidden, last ? keep : NULL, n_keep);
        if (n_on > 0) {
            ffn_block(ctx, il, n_on, hidden);
        }
    }
    /* sequences: a batch that started below a sequence's length truncated it; on success the
     * sequence now ends after the batch's last position (seq_next) */
    for (int32_t s = 0; s < ctx->n_seq; s++) {
        if (ctx->seq_start[s] < 0) {
            continue;
        }
        if (status == ARIA_STATUS_OK) {
            ctx->seq_len[s] = ctx->seq_next[s];
        } else if (ctx->seq_start[s] < ctx->seq_len[s]) {
            ctx->seq_len[s] = ctx->seq_start[s];
        }
    }
    return status;
}

void aria_forward_output(struct aria_ctx * ctx, int32_t n, const float * hidden, float * logits) {
    const struct aria_model * m = ctx->model;
    const int64_t             E = m->n_embd;
    rmsnorm_rows(ctx->xb, hidden, m->output_norm, E, E, m->norm_eps, n);
    aria_matmul(ctx, logits, ctx->xb, n, &m->output);
}
