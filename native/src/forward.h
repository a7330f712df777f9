/*
 * forward.h — the evaluation context and the forward pass (docs/engine.md is the math).
 */
#ifndef ARIA_FORWARD_H
#define ARIA_FORWARD_H

#include <stdatomic.h>
#include <stdint.h>

#include "kernels.h"
#include "model.h"
#include "threadpool.h"

struct aria_ctx {
    struct aria_model *       model;
    int32_t                   n_ctx;
    int32_t                   n_seq;
    int32_t                   n_batch;
    aria_threadpool *         tp;
    const aria_kernel_table * kt;          /* captured at the start of each evaluation */

    /* KV cache: (n_layer_loaded, n_seq, n_ctx, kv_dim), f32 or f16 (kv_f16) */
    void *                    k_cache;     /* aria_alloc_pages, written through at creation */
    void *                    v_cache;
    uint8_t *                 kv_raw[2];   /* what free() takes for k_cache, v_cache */
    int32_t                   kv_f16;      /* 1: cache rows are f16 (half the memory and bytes read) */
    int32_t *                 seq_len;     /* (n_seq) positions cached per sequence */
    int32_t *                 seq_next;    /* (n_seq) scratch for batch validation */
    int32_t *                 seq_start;   /* (n_seq) first position of each sequence in the batch */
    int32_t *                 keep;        /* (3, n_batch) the rows that want logits (aria_ctx_decode),
                                            * then their positions and sequences (aria_forward_layers) */

    /* run state for n_batch tokens, allocated once in aria_ctx_init */
    float *                   x;           /* (n_batch, n_embd) hidden state of aria_ctx_decode */
    float *                   xb;          /* (n_batch, max(n_embd, q_dim)) normed input of a matmul */
    float *                   xn;          /* (n_batch, n_embd) a per-projection input norm's output, or
                                            * NULL when the model has none (model.h q_norm_in) */
    float *                   q;           /* (n_batch, q_dim) */
    float *                   k;           /* (n_batch, kv_dim) */
    float *                   v;           /* (n_batch, kv_dim) */
    float *                   att;         /* (n_batch, q_dim) attention output */
    float *                   tmp;         /* (n_batch, n_embd) projection output before the residual */
    float *                   hb;          /* (n_batch, n_ff) gate, then act(gate) * up */
    float *                   hb2;         /* (n_batch, n_ff) up */
    uint8_t *                 act;         /* (n_batch, act_row_bytes) quantized activations */
    uint64_t                  act_row_bytes;
    float *                   act_scale;   /* (n_batch) I8 row scales */
    int32_t *                 act_sum;     /* (n_batch) I8 row sums */
    float *                   xq;          /* (n_batch, max_n_in) int8 activations held as floats, for
                                            * fallback projections (act_i8); NULL without them */
    float *                   scores;      /* (n_threads, n_ctx) attention scores */
    float *                   deq;         /* (n_threads, max_n_in) dequantized weight rows (generic path) */
    float *                   rope_cs;     /* (n_ctx, n_rot/2, 2) cos and sin of every position, made once */
    int64_t                   max_n_in;
    float *                   logits;      /* (logits_cap, n_vocab) */
    int32_t                   logits_cap;
    int32_t                   n_outputs;

    atomic_int                cancel;
    char                      err[256];
};

/* All of these assume validated arguments (aria.c validates). */
int32_t aria_forward_init(struct aria_ctx * ctx, struct aria_model * model, int32_t n_ctx, int32_t n_seq,
                          int32_t n_batch, int32_t n_threads, int32_t kv_f16);
void    aria_forward_free(struct aria_ctx * ctx);

/* Checks a batch: seq ids, positions (consecutive per sequence, starting at or below its length),
 * n_ctx. Fills ctx->seq_start. Returns a status and sets ctx->err. */
int32_t aria_forward_check_batch(struct aria_ctx * ctx, int32_t n, const int32_t * pos, const int32_t * seq);

void    aria_forward_embed(struct aria_ctx * ctx, int32_t n, const int32_t * tokens, float * hidden);
/* Layers il_begin .. il_end - 1 on n rows of hidden. keep NULL: every row comes out. Otherwise
 * keep[0 .. n_keep - 1] (ascending batch indices, n_keep >= 0): every token's key and value still
 * enter the cache in every layer, but the range's last layer finishes only the kept rows, which
 * come out at the front of hidden (rows 0 .. n_keep - 1) with the bits a full run gives them; the
 * other rows are left undefined. (llama.cpp does the same for the tokens that want no logits.) */
int32_t aria_forward_layers(struct aria_ctx * ctx, int32_t n, const int32_t * pos, const int32_t * seq,
                            int32_t il_begin, int32_t il_end, float * hidden, const int32_t * keep, int32_t n_keep);
/* final norm + head for n rows of hidden (compact), into logits (n, n_vocab) */
void    aria_forward_output(struct aria_ctx * ctx, int32_t n, const float * hidden, float * logits);

/* Phases timed by a -DARIA_PHASE_TIMES build (forward.c): matmuls of the blocks, the output head
 * (float or int8), activation quantization, RoPE + KV stores, attention, SiLU / ReLU² * up, norms. */
enum {
    ARIA_PHASE_MATMUL,
    ARIA_PHASE_HEAD,
    ARIA_PHASE_QUANTIZE,
    ARIA_PHASE_ROPE_KV,
    ARIA_PHASE_ATTENTION,
    ARIA_PHASE_FFN_ACT,
    ARIA_PHASE_NORM,
    ARIA_PHASE_COUNT
};
#ifdef ARIA_PHASE_TIMES
extern double aria_phase_seconds[ARIA_PHASE_COUNT];
#endif

#endif
