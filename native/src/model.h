/*
 * model.h — a loaded model: hyper-parameters and weight views into the mapped GGUF file.
 * Architectures (formats.md §5): bitnet (1bitLLM), bitnet-b1.58 / bitnet-25 (2B-4T), llama with
 * ternary weights (Falcon3 / Llama3-1.58). Nothing is copied except small norm vectors (f32).
 */
#ifndef ARIA_MODEL_H
#define ARIA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

enum aria_arch {
    ARIA_ARCH_BITNET     = 0,  /* sub-norms, SiLU (or ReLU² by key), NEOX RoPE, tied embeddings */
    ARIA_ARCH_BITNET_B158 = 1, /* sub-norms, ReLU², NEOX RoPE, tied unless output.weight exists */
    ARIA_ARCH_LLAMA      = 2,  /* no sub-norms, SiLU, adjacent-pair RoPE, separate output */
    ARIA_ARCH_QWEN3      = 3,  /* no sub-norms, per-head q/k RMS norms, SiLU, NEOX RoPE, tied unless
                                * output.weight exists (docs/models.md "qwen3") */
};

enum aria_act {
    ARIA_ACT_SILU  = 0,
    ARIA_ACT_RELU2 = 1,
};

/* A weight matrix y = W x with W stored row by row (row r = n_in consecutive elements). */
typedef struct aria_matrix {
    const char *    name;       /* GGUF tensor name (borrowed from the gguf table) */
    int32_t         type;       /* enum aria_type */
    int64_t         n_in;       /* ne[0] */
    int64_t         n_out;      /* ne[1] */
    const uint8_t * data;       /* first row */
    uint64_t        row_bytes;  /* bytes per row */
    float           i2s_scale;  /* I2_S: the tensor's scale (read at n/4); 1 otherwise */
    float           out_scale;  /* bitnet `.scale` tensor, 1 if absent */
    int32_t         act_i8;     /* 1: a ternary-valued projection stored in a non-ternary type (the
                                 * converter's fallback, `aria.fallback_activation` = "i8"): its input
                                 * is quantized to one int8 row per token, as I2_S does */
    uint64_t        x16_group;  /* 0: rows as above; else the x16 layout (kernels.h, aria_model_repack):
                                 * groups of 16 rows of this many bytes each from data, row_bytes
                                 * still the row layout's size */
} aria_matrix;

typedef struct aria_layer {
    float *     attn_norm;      /* (n_embd) */
    aria_matrix wq;             /* (n_embd -> n_head * head_dim) */
    aria_matrix wk;             /* (n_embd -> n_head_kv * head_dim) */
    aria_matrix wv;             /* (n_embd -> n_head_kv * head_dim) */
    float *     attn_q_norm;    /* qwen3: (head_dim), on each query head before RoPE; else NULL */
    float *     attn_k_norm;    /* qwen3: (head_dim), on each key head before RoPE; else NULL */
    float *     attn_sub_norm;  /* (n_head * head_dim) or NULL; qwen3: attn_output_norm_in (the same
                                 * RMS norm of the attention output before Wo) */
    float *     q_norm_in;      /* qwen3 BitNet embeddings: (n_embd) RMS norm of the attn_norm output
                                 * before Wq only (docs/models.md "BitNet embedding models"); or NULL */
    float *     k_norm_in;      /* likewise before Wk */
    float *     v_norm_in;      /* likewise before Wv */
    aria_matrix wo;             /* (n_head * head_dim -> n_embd) */
    float *     ffn_norm;       /* (n_embd) */
    aria_matrix gate;           /* (n_embd -> n_ff) */
    aria_matrix up;             /* (n_embd -> n_ff) */
    float *     ffn_sub_norm;   /* (n_ff) or NULL; qwen3: ffn_down_norm_in (the same norm before Wdown) */
    float *     gate_norm_in;   /* qwen3 BitNet embeddings: (n_embd) RMS norm of the ffn_norm output
                                 * before Wgate only; or NULL */
    float *     up_norm_in;     /* likewise before Wup */
    aria_matrix down;           /* (n_ff -> n_embd) */
} aria_layer;

struct aria_model {
    /* the mapped file */
    void *          map;
    uint64_t        map_size;
    int             map_is_malloc;  /* 1 where mmap is unavailable and the file was read */
    gguf_file *     gguf;

    char            arch_name[32];
    int32_t         arch;           /* enum aria_arch */
    int32_t         act;            /* enum aria_act */
    int32_t         n_vocab;
    int32_t         n_embd;
    int32_t         n_ff;
    int32_t         n_layer;
    int32_t         n_head;
    int32_t         n_head_kv;
    int32_t         head_dim;
    int32_t         n_rot;
    int32_t         n_ctx_train;
    int32_t         fallback_i8;    /* `aria.fallback_activation` = "i8" (docs/engine.md) */
    int32_t         has_norm_in;    /* some loaded block has a per-projection input norm (q/k/v/gate/up) */
    int32_t         rope_neox;      /* 1: pairs (i, i + n_rot/2); 0: pairs (2i, 2i+1) */
    float           rope_base;
    float           norm_eps;
    float *         rope_inv_freq;  /* (n_rot/2) base^(-2i/n_rot), times the rope scaling of each
                                     * dimension (docs/models.md "RoPE scaling") */
    float           rope_mscale;    /* YaRN magnitude factor of cos / sin; 1 otherwise */

    int32_t         layer_begin;    /* loaded blocks [layer_begin, layer_end) */
    int32_t         layer_end;
    aria_layer *    layers;         /* n_layer entries; only the loaded range is filled */
    int32_t         has_embd;
    aria_matrix     tok_embd;       /* (n_embd x n_vocab): row t is token t's embedding */
    int32_t         has_output;
    float *         output_norm;    /* (n_embd) */
    aria_matrix     output;         /* (n_embd -> n_vocab); token_embd when tied */
    int32_t         output_tied;
    uint8_t *       output_q8;      /* owned int8 or int4 head (aria_model_requantize_output_to;
                                     * output.data is this rounded up to 2 MiB) or NULL */
    uint8_t *       repacked;       /* owned (malloc'd) buffer of the TQ2_0 copies of the TQ1_0 layer
                                     * matrices (aria_model_repack), or NULL */
    uint64_t        repacked_bytes; /* their size */
    uint8_t *       i2s_relaid;     /* owned (malloc'd, aria_alloc_pages) x86-layout copies of the I2_S layer matrices
                                     * of an ARM-layout file (aria_model_set_i2s_layout), or NULL */
    int32_t         n_repacked;     /* matrices converted TQ1_0 -> TQ2_0 */
    int32_t         x16;            /* aria_model_repack chose the x16 layout (the kernel table's
                                     * x16_preferred): the int8 head is made in it too where the
                                     * table's x16_head says so */
    int32_t         n_x16;          /* matrices in the x16 layout (the int8 head included) */

    uint64_t        weight_bytes;   /* bytes of the loaded tensors */
    int32_t         type_counts[64];/* loaded tensors per type id (< 64) */
};

/* Loads (see aria_model_load). Returns a status; writes a message into err on failure. */
int32_t aria_model_load_impl(const char * path, int32_t layer_begin, int32_t layer_end,
                             char * err, size_t err_cap, struct aria_model ** out);
void    aria_model_free_impl(struct aria_model * model);
int32_t aria_model_requantize_output_impl(struct aria_model * model, int32_t type);  /* Q8_W or Q4_W */
int32_t aria_model_repack_impl(struct aria_model * model);
int32_t aria_model_set_i2s_layout_impl(struct aria_model * model, int32_t layout);

/* A large owned buffer of `bytes` (malloc'd: freed by free(*raw)), returned rounded up to 2 MiB
 * and, on Linux, advised to be backed by transparent huge pages: a decoded token streams every
 * weight once, and with 4 KiB pages that is a TLB miss every 4 KiB (weights, the KV cache). Advice
 * only: where the kernel keeps 4 KiB pages the results are the same. NULL (and *raw NULL) when out
 * of memory. */
uint8_t * aria_alloc_pages(uint64_t bytes, uint8_t ** raw);

/* Whether token_embd's rows are read from the file mapping without keeping them resident: its pages
 * were dropped when the head was requantized (or no float head reads them), so each lookup drops
 * the pages it touched again (aria_model_embd_release_rows). 0 where the file was read into memory. */
int     aria_model_embd_dropped(const struct aria_model * model);
/* Drops the mapped pages the token_embd rows of tokens touch (valid token ids). */
void    aria_model_embd_release_rows(const struct aria_model * model, int32_t n, const int32_t * tokens);

/* Dequantizes row r of m into out (n_in floats). */
void    aria_matrix_row_f32(const aria_matrix * m, int64_t r, float * out);

#endif
