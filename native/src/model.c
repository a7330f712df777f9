/*
 * model.c — open a GGUF file, read the hyper-parameters of its architecture and bind every tensor
 * the forward pass needs, checking names, types and shapes. Every problem a file can cause ends
 * here as a status and a message naming the key or tensor (never an abort): this is where bad model
 * files are handled, after gguf.c has checked the container itself.
 */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "numerics.h"

#if defined(_WIN32)
#    include <io.h>
#else
#    include <sys/mman.h>
#    include <unistd.h>
#endif

#include "aria.h"
#include "kernels.h"

#define ARIA_MAX_DIM    (1 << 20)   /* sanity bound on any dimension read from a file */
#define ARIA_MAX_LAYERS 4096

static int32_t fail(char * err, size_t cap, int32_t status, const char * fmt, ...) {
    if (err && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- mapping the file ------------------------------------------------------------------------ */

static int32_t map_file(struct aria_model * m, const char * path, char * err, size_t cap) {
#if defined(_WIN32)
    int fd = open(path, O_RDONLY | O_BINARY); /* text mode would translate CR LF and stop at 0x1A */
#else
    int fd = open(path, O_RDONLY);
#endif
    if (fd < 0) {
        return fail(err, cap, ARIA_STATUS_IO, "Cannot open model file \"%s\": %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, cap, ARIA_STATUS_IO, "Cannot open model file \"%s\": not a regular file", path);
    }
    m->map_size = (uint64_t)st.st_size;
    if (m->map_size < 24) {
        close(fd);
        return fail(err, cap, ARIA_STATUS_BAD_FORMAT,
                    "Cannot parse GGUF: file is truncated (%llu bytes, the header alone needs 24)",
                    (unsigned long long)m->map_size);
    }
#if defined(_WIN32)
    m->map = malloc(m->map_size);
    m->map_is_malloc = 1;
    uint64_t got = 0;
    while (m->map && got < m->map_size) {
        int n = read(fd, (char *)m->map + got, (unsigned)(m->map_size - got > (1u << 30) ? (1u << 30) : m->map_size - got));
        if (n <= 0) {
            break;
        }
        got += (uint64_t)n;
    }
    close(fd);
    if (!m->map || got != m->map_size) {
        return fail(err, cap, ARIA_STATUS_IO, "Cannot read model file \"%s\"", path);
    }
#else
    void * p = mmap(NULL, m->map_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        m->map = NULL;
        return fail(err, cap, ARIA_STATUS_IO, "Cannot map model file \"%s\": %s", path, strerror(errno));
    }
    m->map = p;
#endif
    return ARIA_STATUS_OK;
}

static void unmap_file(struct aria_model * m) {
    if (!m->map) {
        return;
    }
#if defined(_WIN32)
    free(m->map);
#else
    if (m->map_is_malloc) {
        free(m->map);
    } else {
        munmap(m->map, m->map_size);
    }
#endif
    m->map = NULL;
}

/* ---- hyper-parameters ------------------------------------------------------------------------ */

typedef struct {
    struct aria_model * m;
    char *              err;
    size_t              cap;
} loader;

/* Reads `<arch>.<suffix>` as a positive integer within [lo, hi]; def < 0 means required. */
static int32_t read_dim(loader * L, const char * suffix, int64_t def, int64_t lo, int64_t hi, int32_t * out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->m->arch_name, suffix);
    int64_t v  = 0;
    int     rc = gguf_get_int(L->m->gguf, key, &v);
    if (rc < 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: key \"%s\" is not an integer", key);
    }
    if (rc == 0) {
        if (def < 0) {
            return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: required key \"%s\" is missing", key);
        }
        v = def;
    }
    if (v < lo || v > hi) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT,
                    "Cannot load model: key \"%s\" is %lld, expected %lld..%lld", key, (long long)v,
                    (long long)lo, (long long)hi);
    }
    *out = (int32_t)v;
    return ARIA_STATUS_OK;
}

static int32_t read_real(loader * L, const char * suffix, double def, double lo, double hi, float * out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->m->arch_name, suffix);
    double v  = 0;
    int    rc = gguf_get_float(L->m->gguf, key, &v);
    if (rc < 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: key \"%s\" is not a number", key);
    }
    if (rc == 0) {
        v = def;
    }
    if (!(v >= lo && v <= hi)) { /* also rejects NaN */
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: key \"%s\" is %g, expected %g..%g",
                    key, v, lo, hi);
    }
    *out = (float)v;
    return ARIA_STATUS_OK;
}

/*
 * The FFN activation (formats.md §5a/§5b, docs/models.md "Activation"):
 * 1. `<arch>.hidden_activation` when present: "silu", or "relu2" / "relu_sqr" (ReLU²); any other
 *    value is refused.
 * 2. Absent, `bitnet` and `llama`: SiLU (llama.cpp's default).
 * 3. Absent, `bitnet-b1.58` / `bitnet-25`: bitnet.cpp's converter writes this arch for both
 *    BitNetForCausalLM (2B-4T lineage, ReLU², Llama-3 byte-level BPE vocabulary) and, since mid
 *    2026, BitnetForCausalLM (1bitLLM lineage, SiLU, Llama-2 SentencePiece vocabulary) with no
 *    activation key. Sub-norms, tied embeddings and RoPE are the same in both, so the vocabulary
 *    type is the signal: `tokenizer.ggml.model` "llama" (SentencePiece) → SiLU, anything else
 *    (gpt2, or no tokenizer) → ReLU², the arch's own graph in bitnet.cpp.
 */
static int32_t read_activation(loader * L, int32_t def) {
    struct aria_model * m = L->m;
    char                key[64];
    char                act[32] = "";
    snprintf(key, sizeof key, "%s.hidden_activation", m->arch_name);
    const int rc = gguf_get_str(m->gguf, key, act, sizeof act);
    if (rc < 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: key \"%s\" is not a string", key);
    }
    if (rc == 0) {
        m->act = def;
        return ARIA_STATUS_OK;
    }
    if (strcmp(act, "relu2") == 0 || strcmp(act, "relu_sqr") == 0) {
        m->act = ARIA_ACT_RELU2;
    } else if (strcmp(act, "silu") == 0) {
        m->act = ARIA_ACT_SILU;
    } else {
        return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED,
                    "Cannot load model: %s \"%s\" is not supported (silu, relu2)", key, act);
    }
    return ARIA_STATUS_OK;
}

/* Rule 3 of read_activation: the default activation of a `bitnet-b1.58` file without the key. */
static int32_t b158_default_activation(const struct aria_model * m) {
    char model[16] = "";
    if (gguf_get_str(m->gguf, "tokenizer.ggml.model", model, sizeof model) > 0 && strcmp(model, "llama") == 0) {
        return ARIA_ACT_SILU;
    }
    return ARIA_ACT_RELU2;
}

static int32_t read_arch(loader * L) {
    struct aria_model * m  = L->m;
    int                 rc = gguf_get_str(m->gguf, "general.architecture", m->arch_name, sizeof m->arch_name);
    if (rc <= 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT,
                    "Cannot load model: key \"general.architecture\" is %s", rc == 0 ? "missing" : "not a string");
    }
    int32_t def_act;
    if (strcmp(m->arch_name, "bitnet") == 0) {
        m->arch      = ARIA_ARCH_BITNET;
        def_act      = ARIA_ACT_SILU;
        m->rope_neox = 1;
    } else if (strcmp(m->arch_name, "bitnet-b1.58") == 0 || strcmp(m->arch_name, "bitnet-25") == 0) {
        m->arch      = ARIA_ARCH_BITNET_B158;
        def_act      = b158_default_activation(m);
        m->rope_neox = 1;
    } else if (strcmp(m->arch_name, "llama") == 0) {
        m->arch      = ARIA_ARCH_LLAMA;
        def_act      = ARIA_ACT_SILU;
        m->rope_neox = 0;
    } else if (strcmp(m->arch_name, "qwen3") == 0) {
        m->arch      = ARIA_ARCH_QWEN3;  /* llama.cpp: LLM_ARCH_QWEN3 is in the NEOX rope group */
        def_act      = ARIA_ACT_SILU;
        m->rope_neox = 1;
    } else if (strcmp(m->arch_name, "gemma3") == 0) {
        /* microsoft/bitnet-embedding-270m (docs/models.md "BitNet embedding models"): its converter
         * writes no sliding-window size, no local RoPE base and no query_pre_attn_scalar, and the
         * fork's build_gemma3 that decides them is not published with the docs, so how the file is
         * meant to run cannot be pinned down */
        return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED,
                    "Cannot load model: architecture \"gemma3\" (BitNet embedding 270M) is not supported: the file "
                    "does not say which layers use sliding-window attention, their window and RoPE base, or the "
                    "attention scale, and no public source pins them down for this model");
    } else {
        return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED,
                    "Cannot load model: architecture \"%s\" is not supported (bitnet, bitnet-b1.58, bitnet-25, llama, qwen3)",
                    m->arch_name);
    }
    /* llama.cpp's `<arch>.attention.causal` (false in bidirectional embedding models): ARIA's
     * attention is causal only */
    char causal_key[64];
    int  causal = 1;
    snprintf(causal_key, sizeof causal_key, "%s.attention.causal", m->arch_name);
    if (gguf_get_bool(m->gguf, causal_key, &causal) > 0 && !causal) {
        return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED,
                    "Cannot load model: %s is false (bidirectional attention is not supported)", causal_key);
    }
    const int32_t s = read_activation(L, def_act);
    if (s) {
        return s;
    }
    /* written by `aria model convert` when a projection fell back to a non-ternary type
     * (docs/engine.md, "Fallback projections"); an unknown value is refused here */
    char fa[16] = "";
    if (gguf_get_str(m->gguf, "aria.fallback_activation", fa, sizeof fa) > 0) {
        if (strcmp(fa, "i8") != 0) {
            return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED,
                        "Cannot load model: aria.fallback_activation \"%s\" is not supported (i8)", fa);
        }
        m->fallback_i8 = 1;
    }
    return ARIA_STATUS_OK;
}

/*
 * RoPE scaling (docs/models.md "RoPE scaling"), as llama.cpp's ggml_rope_ext computes it with
 * freq_scale = 1 / `<arch>.rope.scaling.factor`:
 * - absent or "none": nothing.
 * - "linear": theta = freq_scale * pos * base^(-2i/n_rot), i.e. each inverse frequency times
 *   freq_scale.
 * - "yarn": ext_factor 1, beta_fast 32, beta_slow 1, n_ctx_orig =
 *   `<arch>.rope.scaling.original_context_length` (else context_length); for dimension pair i,
 *   ramp = 1 - clamp((i - low) / max(0.001, high - low), 0, 1) with low / high =
 *   floor / ceil of n_rot·ln(n_ctx_orig / (beta·2π)) / (2 ln base) (clamped to 0 .. n_rot - 1),
 *   theta = pos·inv_freq·(freq_scale·(1 - ramp) + ramp), and cos / sin are multiplied by
 *   mscale = 1 + 0.1·ln(1 / freq_scale) (`<arch>.rope.scaling.attn_factor` multiplies it when
 *   present).
 * Any other type is refused.
 */
static int32_t read_rope_scaling(loader * L) {
    struct aria_model * m = L->m;
    char                key[128];
    char                type[32] = "";
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch_name);
    const int rc = gguf_get_str(m->gguf, key, type, sizeof type);
    if (rc < 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: key \"%s\" is not a string", key);
    }
    if (rc == 0 || strcmp(type, "none") == 0) {
        return ARIA_STATUS_OK;
    }
    const int linear = strcmp(type, "linear") == 0;
    const int yarn   = strcmp(type, "yarn") == 0;
    if (!linear && !yarn) {
        return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED,
                    "Cannot load model: rope scaling \"%s\" is not supported (none, linear, yarn)", type);
    }
    float   factor = 1.0f, attn_factor = 1.0f;
    int32_t n_ctx_orig = m->n_ctx_train;
    int32_t s;
    if ((s = read_real(L, "rope.scaling.factor", 1.0, 1e-3, 1e6, &factor)) ||
        (s = read_real(L, "rope.scaling.attn_factor", 1.0, 1e-3, 1e3, &attn_factor)) ||
        (s = read_dim(L, "rope.scaling.original_context_length", m->n_ctx_train, 1, 1 << 24, &n_ctx_orig))) {
        return s;
    }
    const float freq_scale = 1.0f / factor;
    const int   half       = m->n_rot / 2;
    if (linear) {
        for (int i = 0; i < half; i++) {
            m->rope_inv_freq[i] *= freq_scale;
        }
        return ARIA_STATUS_OK;
    }
    const float pi   = 3.14159265358979323846f;
    const float nd   = (float)m->n_rot;
    const float lo_f = nd * (float)aria_log_f64((double)((float)n_ctx_orig / (32.0f * 2.0f * pi))) / (2.0f * (float)aria_log_f64((double)m->rope_base));
    const float hi_f = nd * (float)aria_log_f64((double)((float)n_ctx_orig / (1.0f * 2.0f * pi))) / (2.0f * (float)aria_log_f64((double)m->rope_base));
    const float low  = fmaxf(0.0f, floorf(lo_f));
    const float high = fminf(nd - 1.0f, ceilf(hi_f));
    for (int i = 0; i < half; i++) {
        const float y    = ((float)i - low) / fmaxf(0.001f, high - low);
        const float ramp = 1.0f - fminf(1.0f, fmaxf(0.0f, y));
        m->rope_inv_freq[i] *= freq_scale * (1.0f - ramp) + ramp;
    }
    m->rope_mscale = attn_factor * (1.0f + 0.1f * (float)aria_log_f64((double)(1.0f / freq_scale)));
    return ARIA_STATUS_OK;
}

static int32_t read_hparams(loader * L) {
    struct aria_model * m = L->m;
    int32_t             s;
    if ((s = read_dim(L, "embedding_length", -1, 1, ARIA_MAX_DIM, &m->n_embd)) ||
        (s = read_dim(L, "feed_forward_length", -1, 1, ARIA_MAX_DIM, &m->n_ff)) ||
        (s = read_dim(L, "block_count", -1, 1, ARIA_MAX_LAYERS, &m->n_layer)) ||
        (s = read_dim(L, "attention.head_count", -1, 1, 4096, &m->n_head)) ||
        (s = read_dim(L, "attention.head_count_kv", m->n_head, 1, m->n_head, &m->n_head_kv)) ||
        (s = read_dim(L, "context_length", 2048, 1, 1 << 24, &m->n_ctx_train))) {
        return s;
    }
    if (m->n_head % m->n_head_kv != 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT,
                    "Cannot load model: head_count %d is not a multiple of head_count_kv %d", m->n_head, m->n_head_kv);
    }
    if (m->n_embd % m->n_head != 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT,
                    "Cannot load model: embedding_length %d is not a multiple of head_count %d", m->n_embd, m->n_head);
    }
    int32_t head_dim = m->n_embd / m->n_head;
    if ((s = read_dim(L, "attention.key_length", head_dim, 2, 4096, &m->head_dim)) ||
        (s = read_dim(L, "rope.dimension_count", m->head_dim, 2, m->head_dim, &m->n_rot)) ||
        (s = read_real(L, "rope.freq_base", 10000.0, 1.0, 1e12, &m->rope_base)) ||
        (s = read_real(L, "attention.layer_norm_rms_epsilon", 1e-5, 1e-12, 1.0, &m->norm_eps))) {
        return s;
    }
    if (m->n_rot % 2 != 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: rope.dimension_count %d is odd", m->n_rot);
    }
    m->rope_inv_freq = malloc(sizeof(float) * (size_t)(m->n_rot / 2));
    if (!m->rope_inv_freq) {
        return fail(L->err, L->cap, ARIA_STATUS_NO_MEMORY, "Cannot load model: out of memory");
    }
    aria_rope_inv_freq(m->rope_base, m->n_rot, m->rope_inv_freq);  /* numerics.h: not libm's powf */
    m->rope_mscale = 1.0f;
    return read_rope_scaling(L);
}

/* ---- tensors --------------------------------------------------------------------------------- */

static int32_t bad_shape(loader * L, const gguf_tensor * t, int64_t ne0, int64_t ne1) {
    return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT,
                "Cannot load model: tensor \"%s\" has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", t->name,
                (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], (long long)ne0,
                (long long)ne1);
}

static void count_tensor(struct aria_model * m, const gguf_tensor * t) {
    m->weight_bytes += t->n_bytes;
    if (t->type >= 0 && t->type < 64) {
        m->type_counts[t->type]++;
    }
}

/* Finds a tensor by name; a missing required tensor is an error. */
static int32_t find(loader * L, const char * name, int required, const gguf_tensor ** out) {
    *out = gguf_find_tensor(L->m->gguf, name);
    if (!*out && required) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: tensor \"%s\" is missing", name);
    }
    return ARIA_STATUS_OK;
}

/* A norm vector of n elements, converted to f32 (any float type). */
static int32_t bind_vector(loader * L, const char * name, int64_t n, int required, float ** out) {
    const gguf_tensor * t;
    int32_t             s = find(L, name, required, &t);
    *out                  = NULL;
    if (s || !t) {
        return s;
    }
    if (t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1) {
        return bad_shape(L, t, n, 1);
    }
    if (t->type != ARIA_TYPE_F32 && t->type != ARIA_TYPE_F16 && t->type != ARIA_TYPE_BF16) {
        return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED, "Cannot load model: norm tensor \"%s\" has type %s, expected F32",
                    name, aria_type_name_any(t->type));
    }
    *out = malloc(sizeof(float) * (size_t)n);
    if (!*out) {
        return fail(L->err, L->cap, ARIA_STATUS_NO_MEMORY, "Cannot load model: out of memory");
    }
    aria_dequantize_row(t->type, t->data, *out, n);
    count_tensor(L->m, t);
    return ARIA_STATUS_OK;
}

/* A matrix mapping n_in -> n_out (GGUF ne = [n_in, n_out]). */
static int32_t bind_matrix(loader * L, const char * name, int64_t n_in, int64_t n_out, aria_matrix * w) {
    const gguf_tensor * t;
    int32_t             s = find(L, name, 1, &t);
    if (s) {
        return s;
    }
    if (t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != 1 || t->ne[3] != 1) {
        return bad_shape(L, t, n_in, n_out);
    }
    if (!aria_type_name(t->type) || t->type == ARIA_TYPE_Q8_K) {
        return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED, "Cannot load model: tensor \"%s\" has type %d (%s), which libbitnet does not support",
                    name, t->type, aria_type_name_any(t->type));
    }
    const int64_t blk = aria_type_block_elems(t->type);
    if (blk <= 0 || n_in % blk != 0) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT,
                    "Cannot load model: tensor \"%s\" of type %s has rows of %lld, not a multiple of %lld", name,
                    aria_type_name(t->type), (long long)n_in, (long long)blk);
    }
    w->name      = t->name;
    w->type      = t->type;
    w->n_in      = n_in;
    w->n_out     = n_out;
    w->data      = t->data;
    w->row_bytes = aria_type_row_bytes(t->type, n_in);
    w->i2s_scale = 1.0f;
    w->out_scale = 1.0f;
    w->act_i8    = 0; /* set by bind_layer for fallback projections */
    if (t->type == ARIA_TYPE_I2_S) {
        /* the scale is the f32 right after the n/4 bytes of codes (formats.md §3.1); gguf.c checked
         * that these 4 bytes are inside the file */
        memcpy(&w->i2s_scale, t->data + (uint64_t)(n_in * n_out / 4), sizeof(float));
        if (!isfinite(w->i2s_scale)) {
            return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: I2_S tensor \"%s\" has a non-finite scale", name);
        }
    }
    count_tensor(L->m, t);
    /* optional bitnet per-matrix scale: "<base>.scale" next to "<base>.weight" */
    char   sname[GGUF_MAX_NAME + 8];
    size_t len = strlen(name);
    if (len > 7 && strcmp(name + len - 7, ".weight") == 0) {
        snprintf(sname, sizeof sname, "%.*s.scale", (int)(len - 7), name);
        const gguf_tensor * st = gguf_find_tensor(L->m->gguf, sname);
        if (st) {
            if (st->type != ARIA_TYPE_F32 || st->ne[0] * st->ne[1] * st->ne[2] * st->ne[3] != 1) {
                return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT,
                            "Cannot load model: tensor \"%s\" must be a single F32 value", sname);
            }
            memcpy(&w->out_scale, st->data, sizeof(float));
            count_tensor(L->m, st);
        }
    }
    return ARIA_STATUS_OK;
}

static int32_t bind_layer(loader * L, int il) {
    struct aria_model * m      = L->m;
    aria_layer *        l      = &m->layers[il];
    const int64_t       q_dim  = (int64_t)m->n_head * m->head_dim;
    const int64_t       kv_dim = (int64_t)m->n_head_kv * m->head_dim;
    const int           subln  = m->arch != ARIA_ARCH_LLAMA && m->arch != ARIA_ARCH_QWEN3;
    const int           qknorm = m->arch == ARIA_ARCH_QWEN3;
    char                name[GGUF_MAX_NAME];
    int32_t             s;
#define N(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, il), name)
    if ((s = bind_vector(L, N("attn_norm.weight"), m->n_embd, 1, &l->attn_norm)) ||
        (s = bind_matrix(L, N("attn_q.weight"), m->n_embd, q_dim, &l->wq)) ||
        (s = bind_matrix(L, N("attn_k.weight"), m->n_embd, kv_dim, &l->wk)) ||
        (s = bind_matrix(L, N("attn_v.weight"), m->n_embd, kv_dim, &l->wv)) ||
        (qknorm && (s = bind_vector(L, N("attn_q_norm.weight"), m->head_dim, 1, &l->attn_q_norm))) ||
        (qknorm && (s = bind_vector(L, N("attn_k_norm.weight"), m->head_dim, 1, &l->attn_k_norm))) ||
        /* qwen3 BitNet embeddings (docs/models.md): optional per-projection input norms, as the
         * fork of llama.cpp in microsoft/BitNet loads them (TENSOR_NOT_REQUIRED); the one before Wo
         * and the one before Wdown sit where bitnet's sub-norms do and are run as them */
        (qknorm && (s = bind_vector(L, N("attn_q_norm_in.weight"), m->n_embd, 0, &l->q_norm_in))) ||
        (qknorm && (s = bind_vector(L, N("attn_k_norm_in.weight"), m->n_embd, 0, &l->k_norm_in))) ||
        (qknorm && (s = bind_vector(L, N("attn_v_norm_in.weight"), m->n_embd, 0, &l->v_norm_in))) ||
        (qknorm && (s = bind_vector(L, N("ffn_gate_norm_in.weight"), m->n_embd, 0, &l->gate_norm_in))) ||
        (qknorm && (s = bind_vector(L, N("ffn_up_norm_in.weight"), m->n_embd, 0, &l->up_norm_in))) ||
        (s = bind_vector(L, qknorm ? N("attn_output_norm_in.weight") : N("attn_sub_norm.weight"), q_dim, subln,
                         &l->attn_sub_norm)) ||
        (s = bind_matrix(L, N("attn_output.weight"), q_dim, m->n_embd, &l->wo)) ||
        (s = bind_vector(L, N("ffn_norm.weight"), m->n_embd, 1, &l->ffn_norm)) ||
        (s = bind_matrix(L, N("ffn_gate.weight"), m->n_embd, m->n_ff, &l->gate)) ||
        (s = bind_matrix(L, N("ffn_up.weight"), m->n_embd, m->n_ff, &l->up)) ||
        (s = bind_vector(L, qknorm ? N("ffn_down_norm_in.weight") : N("ffn_sub_norm.weight"), m->n_ff, subln,
                         &l->ffn_sub_norm)) ||
        (s = bind_matrix(L, N("ffn_down.weight"), m->n_ff, m->n_embd, &l->down))) {
        return s;
    }
#undef N
    if (l->q_norm_in || l->k_norm_in || l->v_norm_in || l->gate_norm_in || l->up_norm_in) {
        m->has_norm_in = 1;
    }
    if (m->fallback_i8) {
        aria_matrix * ws[] = { &l->wq, &l->wk, &l->wv, &l->wo, &l->gate, &l->up, &l->down };
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++) {
            const int32_t t = ws[i]->type;
            ws[i]->act_i8   = t != ARIA_TYPE_TQ1_0 && t != ARIA_TYPE_TQ2_0 && t != ARIA_TYPE_I2_S;
        }
    }
    return ARIA_STATUS_OK;
}

static int32_t bind_tensors(loader * L) {
    struct aria_model * m = L->m;
    int32_t             s;
    /* the vocabulary size comes from token_embd (or output), as llama.cpp does */
    const gguf_tensor * te = gguf_find_tensor(m->gguf, "token_embd.weight");
    const gguf_tensor * to = gguf_find_tensor(m->gguf, "output.weight");
    const gguf_tensor * tv = te ? te : to;
    if (!tv) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: tensor \"token_embd.weight\" is missing");
    }
    if (tv->ne[1] < 1 || tv->ne[1] > (1 << 24)) {
        return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: tensor \"%s\" has %lld rows", tv->name,
                    (long long)tv->ne[1]);
    }
    m->n_vocab = (int32_t)tv->ne[1];
    m->layers  = calloc((size_t)m->n_layer, sizeof(aria_layer));
    if (!m->layers) {
        return fail(L->err, L->cap, ARIA_STATUS_NO_MEMORY, "Cannot load model: out of memory");
    }
    m->has_embd   = m->layer_begin == 0;
    m->has_output = m->layer_end == m->n_layer;
    if (m->has_embd && (s = bind_matrix(L, "token_embd.weight", m->n_embd, m->n_vocab, &m->tok_embd))) {
        return s;
    }
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        if ((s = bind_layer(L, il))) {
            return s;
        }
    }
    if (m->has_output) {
        if ((s = bind_vector(L, "output_norm.weight", m->n_embd, 1, &m->output_norm))) {
            return s;
        }
        /* bitnet is always tied in llama.cpp (output.weight is not loaded); others use output.weight if present */
        const int use_output = to && m->arch != ARIA_ARCH_BITNET;
        if (!use_output && m->arch == ARIA_ARCH_LLAMA && !te) {
            return fail(L->err, L->cap, ARIA_STATUS_BAD_FORMAT, "Cannot load model: tensor \"output.weight\" is missing");
        }
        m->output_tied = !use_output;
        if ((s = bind_matrix(L, use_output ? "output.weight" : "token_embd.weight", m->n_embd, m->n_vocab, &m->output))) {
            return s;
        }
    }
    return ARIA_STATUS_OK;
}

/*
 * Every tensor of the file must be one this architecture reads (docs/models.md, "Tensors ARIA
 * refuses"): a tensor it would skip changes what the model computes (a bias, llama-3.1's
 * `rope_freqs` frequency factors, a sub-norm in a `llama` file), so skipping it silently would give
 * wrong logits. Checked by name for the whole file, whatever layer range is loaded. Accepted:
 * token_embd / output_norm / output (.weight), blk.N.{attn_norm, attn_q, attn_k, attn_v,
 * attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}.weight, the two sub-norms (not for llama)
 * and blk.N.<projection>.scale. `bitnet` files may hold an output.weight that llama.cpp does not
 * read either (the arch is tied by definition).
 */
static int32_t check_tensor_names(loader * L) {
    static const char * const block[] = { "attn_norm.weight", "attn_q.weight",   "attn_k.weight",
                                          "attn_v.weight",    "attn_output.weight", "ffn_norm.weight",
                                          "ffn_gate.weight",  "ffn_up.weight",   "ffn_down.weight",
                                          "attn_q.scale",     "attn_k.scale",    "attn_v.scale",
                                          "attn_output.scale", "ffn_gate.scale", "ffn_up.scale",
                                          "ffn_down.scale" };
    static const char * const subln[] = { "attn_sub_norm.weight", "ffn_sub_norm.weight" };
    const struct aria_model * m       = L->m;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) {
        const char * name = m->gguf->tensors[i].name;
        int          ok   = strcmp(name, "token_embd.weight") == 0 || strcmp(name, "output_norm.weight") == 0 ||
                 strcmp(name, "output.weight") == 0;
        int il = -1, at = 0;
        if (!ok && sscanf(name, "blk.%d.%n", &il, &at) == 1 && at > 0 && il >= 0 && il < m->n_layer) {
            const char * rest = name + at;
            for (size_t k = 0; k < sizeof block / sizeof block[0] && !ok; k++) {
                ok = strcmp(rest, block[k]) == 0;
            }
            for (size_t k = 0; k < 2 && !ok && m->arch != ARIA_ARCH_LLAMA && m->arch != ARIA_ARCH_QWEN3; k++) {
                ok = strcmp(rest, subln[k]) == 0;
            }
            static const char * const qwen3[] = { "attn_q_norm.weight",      "attn_k_norm.weight",
                                                  "attn_q_norm_in.weight",   "attn_k_norm_in.weight",
                                                  "attn_v_norm_in.weight",   "attn_output_norm_in.weight",
                                                  "ffn_gate_norm_in.weight", "ffn_up_norm_in.weight",
                                                  "ffn_down_norm_in.weight" };
            for (size_t k = 0; k < sizeof qwen3 / sizeof qwen3[0] && !ok && m->arch == ARIA_ARCH_QWEN3; k++) {
                ok = strcmp(rest, qwen3[k]) == 0;
            }
        }
        if (!ok) {
            return fail(L->err, L->cap, ARIA_STATUS_UNSUPPORTED,
                        "Cannot load model: tensor \"%s\" is not part of architecture \"%s\" as libbitnet runs it "
                        "(biases, rope_freqs and other extra tensors would change the results, so the file is refused)",
                        name, m->arch_name);
        }
    }
    return ARIA_STATUS_OK;
}

static void release_unused_mapping(const struct aria_model * m);

int32_t aria_model_load_impl(const char * path, int32_t layer_begin, int32_t layer_end, char * err, size_t err_cap,
                             struct aria_model ** out) {
    *out = NULL;
    if (err && err_cap) {
        err[0] = '\0';
    }
    struct aria_model * m = calloc(1, sizeof *m);
    if (!m) {
        return fail(err, err_cap, ARIA_STATUS_NO_MEMORY, "Cannot load model: out of memory");
    }
    loader  L = { m, err, err_cap };
    int32_t s = map_file(m, path, err, err_cap);
    if (!s) {
        s = gguf_parse(m->map, m->map_size, &m->gguf, err, err_cap);
    }
    if (!s) {
        s = read_arch(&L);
    }
    if (!s) {
        s = read_hparams(&L);
    }
    if (!s) {
        if (layer_end < 0) {
            layer_end = m->n_layer;
        }
        if (layer_begin < 0 || layer_begin >= layer_end || layer_end > m->n_layer) {
            s = fail(err, err_cap, ARIA_STATUS_INVALID_ARG, "Cannot load model: layer range %d-%d is outside 0-%d",
                     layer_begin, layer_end, m->n_layer);
        }
        m->layer_begin = layer_begin;
        m->layer_end   = layer_end;
    }
    if (!s) {
        s = bind_tensors(&L);
    }
    if (!s) { /* after binding, so a renamed tensor is reported as the one that is missing */
        s = check_tensor_names(&L);
    }
    if (s) {
        aria_model_free_impl(m);
        return s;
    }
    release_unused_mapping(m);  /* the header and the norms were read; only matrices are read again */
    *out = m;
    return ARIA_STATUS_OK;
}

#define ARIA_WEIGHT_ALIGN ((uint64_t)2 << 20)
uint8_t * aria_alloc_pages(uint64_t bytes, uint8_t ** raw) {
    *raw = NULL;
    if (bytes > (uint64_t)SIZE_MAX - ARIA_WEIGHT_ALIGN) {
        return NULL;
    }
    *raw = malloc((size_t)(bytes + ARIA_WEIGHT_ALIGN));
    if (!*raw) {
        return NULL;
    }
    uint8_t * p = *raw + (ARIA_WEIGHT_ALIGN - (uintptr_t)*raw % ARIA_WEIGHT_ALIGN) % ARIA_WEIGHT_ALIGN;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    (void)madvise(p, (size_t)((bytes + ARIA_WEIGHT_ALIGN - 1) / ARIA_WEIGHT_ALIGN * ARIA_WEIGHT_ALIGN), MADV_HUGEPAGE);
#endif
    return p;
}

/* Page size of the file mapping's pages, or 0 where they cannot be released (the file was read into
 * malloc'd memory: Windows). */
static uint64_t mapped_page(const struct aria_model * m) {
#if !defined(_WIN32)
    const long page = sysconf(_SC_PAGESIZE);
    return m->map_is_malloc || page <= 0 ? 0 : (uint64_t)page;
#else
    (void)m;
    return 0;
#endif
}

/* Whether p lies in the file mapping (not in a copy this process owns). */
static int in_mapping(const struct aria_model * m, const uint8_t * p) {
    return m->map && p >= (const uint8_t *)m->map && p < (const uint8_t *)m->map + m->map_size;
}

/* Drops the mapped pages in [lo, hi) (page-aligned) from this process: MADV_DONTNEED on the
 * read-only shared file mapping; the page cache keeps them and a later read faults the same bytes
 * back in, so results never depend on it. Advice only: a failure costs memory, not results. */
static void drop_pages(uintptr_t lo, uintptr_t hi) {
#if !defined(_WIN32)
    if (hi > lo) {
        (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
    }
#else
    (void)lo, (void)hi;
#endif
}

static void layer_matrices(aria_layer * l, aria_matrix * ws[7]);

/* Start and end of a matrix still read from the file mapping (its rows). */
typedef struct {
    uintptr_t lo, hi;
} live_range;

static int cmp_live(const void * a, const void * b) {
    const uintptr_t x = ((const live_range *)a)->lo, y = ((const live_range *)b)->lo;
    return x < y ? -1 : x > y;
}

/* Drops every page of the file mapping that no matrix still read from it lies on (docs/engine.md,
 * "Memory"): the header, whose metadata (mostly the tokenizer's vocabulary: 8 MiB for 2B-4T) was
 * parsed at load, the norm vectors (copied to f32 at load), the blocks outside the loaded layer
 * range, and the pages that matrices copied by aria_model_repack or the head's requantization shared
 * with their neighbours (release_mapped drops only the pages wholly inside a matrix). A page shared
 * with a matrix still read from the mapping stays. A later read of a dropped page (the metadata asked
 * for again) faults the same bytes in from the page cache, so nothing read ever changes; advice
 * only, as drop_pages. token_embd counts as read only where its pages are kept resident
 * (aria_model_embd_dropped: each lookup drops them again anyway). */
static void release_unused_mapping(const struct aria_model * m) {
    const uint64_t page = mapped_page(m);
    if (page == 0 || !m->map) {
        return;
    }
    const int    n_max = 7 * (m->layer_end - m->layer_begin) + 2;
    live_range * live  = malloc(sizeof(live_range) * (size_t)n_max);
    if (!live) {
        return;  /* out of memory: the pages stay, which costs memory, not results */
    }
    int n = 0;
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        aria_matrix * ws[7];
        layer_matrices(&m->layers[il], ws);
        for (int k = 0; k < 7; k++) {
            if (in_mapping(m, ws[k]->data)) {
                /* row layout (copies are never in the mapping); I2_S: its f32 scale after the codes */
                const uint64_t bytes = (uint64_t)ws[k]->n_out * ws[k]->row_bytes + 4;
                live[n++] = (live_range){ (uintptr_t)ws[k]->data, (uintptr_t)ws[k]->data + bytes };
            }
        }
    }
    if (m->has_embd && in_mapping(m, m->tok_embd.data) && !aria_model_embd_dropped(m)) {
        live[n++] = (live_range){ (uintptr_t)m->tok_embd.data,
                                  (uintptr_t)m->tok_embd.data + (uint64_t)m->tok_embd.n_out * m->tok_embd.row_bytes };
    }
    if (m->has_output && in_mapping(m, m->output.data)) {
        live[n++] = (live_range){ (uintptr_t)m->output.data,
                                  (uintptr_t)m->output.data + (uint64_t)m->output.n_out * m->output.row_bytes };
    }
    qsort(live, (size_t)n, sizeof *live, cmp_live);
    const uintptr_t start = (uintptr_t)m->map, end = start + m->map_size;
    uintptr_t       from  = start;  /* page-aligned: the mapping starts on a page */
    for (int i = 0; i <= n; i++) {
        /* the gap before live range i (or before the end): its whole pages */
        const uintptr_t to = i < n ? live[i].lo / page * page : (end + page - 1) / page * page;
        if (to > from) {
            drop_pages(from, to);
        }
        if (i < n) {
            const uintptr_t next = (live[i].hi + page - 1) / page * page;
            from                 = next > from ? next : from;
        }
    }
    free(live);
}

int aria_model_embd_dropped(const struct aria_model * m) {
    /* a float head reading token_embd keeps its pages resident anyway: dropping them would only
     * fault them in again on the next token */
    return m->has_embd && mapped_page(m) != 0 && in_mapping(m, m->tok_embd.data) &&
           !(m->has_output && m->output.data == m->tok_embd.data);
}

void aria_model_embd_release_rows(const struct aria_model * m, int32_t n, const int32_t * tokens) {
    const uint64_t page = mapped_page(m);
    if (page == 0) {
        return;
    }
    /* Linux maps the cached pages around a faulting one too: fault-around (64 KiB windows by
     * default) and, with large page-cache folios (Linux 6.18, ext4), up to a whole folio; with
     * 64 KiB windows here a token still left ~2.4 KB resident, with 2 MiB none. So the aligned
     * 2 MiB windows a row was read from are dropped (a page-table walk, microseconds a token). */
    const uint64_t      win   = page > 2097152 ? page : 2097152;
    const aria_matrix * e     = &m->tok_embd;
    const uintptr_t     first = (uintptr_t)e->data / page * page;  /* the tensor's pages, rounded out */
    const uintptr_t     last  = ((uintptr_t)e->data + (uint64_t)e->n_out * e->row_bytes + page - 1) / page * page;
    for (int32_t i = 0; i < n; i++) {
        /* also pages shared with neighbouring rows (or, at the tensor's ends, with the next
         * tensor): they are all in the mapping, so a later read faults the same bytes back in */
        const uintptr_t row = (uintptr_t)e->data + (uint64_t)tokens[i] * e->row_bytes;
        uintptr_t       lo  = row / win * win;
        uintptr_t       hi  = (row + e->row_bytes + win - 1) / win * win;
        drop_pages(lo < first ? first : lo, hi > last ? last : hi);
    }
}

int32_t aria_model_requantize_output_impl(struct aria_model * m, int32_t type) {
    aria_matrix * o = &m->output;
    if (type != ARIA_TYPE_Q8_W && type != ARIA_TYPE_Q4_W) {
        return ARIA_STATUS_INVALID_ARG;
    }
    if (!m->has_output || m->output_q8 != NULL) {
        return m->output_q8 != NULL ? ARIA_STATUS_OK : ARIA_STATUS_UNSUPPORTED;
    }
    if ((o->type != ARIA_TYPE_F32 && o->type != ARIA_TYPE_F16 && o->type != ARIA_TYPE_BF16) || o->n_in % QK_K != 0 ||
        (type == ARIA_TYPE_Q4_W && o->n_in > ARIA_X16_MAX_N)) {
        return ARIA_STATUS_UNSUPPORTED;
    }
    const int      q4        = type == ARIA_TYPE_Q4_W;
    const uint64_t row_bytes = q4 ? (uint64_t)(o->n_in / QK4_W) * sizeof(block_q4_W)
                                  : (uint64_t)(o->n_in / QK_K) * sizeof(block_q8_W);
    /* after aria_model_repack chose x16 (and when the rows fit it), the int8 head is made in x16
     * groups where the current table's x16_head says they are faster than rows (kernels.h), 16 rows
     * quantized at a time, so no full copy in the row layout is ever held; the int4 head exists only
     * in x16 groups (every table has a kernel for them) */
    const int      x16_head = m->x16 && aria_kernels_current()->x16_head;
    const uint64_t group    = x16_head || q4 ? aria_x16_group_bytes(type, o->n_in) : 0;
    const int64_t  ng    = (o->n_out + ARIA_X16_ROWS - 1) / ARIA_X16_ROWS;
    const uint64_t bytes = group ? group * (uint64_t)ng : row_bytes * (uint64_t)o->n_out;
    uint8_t *      raw;
    uint8_t *      q     = aria_alloc_pages(bytes, &raw);
    uint8_t *      rows  = group ? malloc((size_t)(row_bytes * ARIA_X16_ROWS)) : NULL;
    float *        row   = malloc(sizeof(float) * (size_t)o->n_in);
    if (!q || !row || (group && !rows)) {  /* allocation failure: NO_MEMORY, the head stays as it is */
        free(raw);
        free(rows);
        free(row);
        return ARIA_STATUS_NO_MEMORY;
    }
    /* The float rows are read once, in order; each whole page of them that was read is dropped
     * from this process as the copy grows (docs/engine.md, "Memory"), so the peak holds the copy
     * and a few pages of the float head, not both heads. A tied head's rows stay readable for
     * token lookups (from the page cache; aria_model_embd_release_rows drops them again). */
    const uint64_t  page     = in_mapping(m, o->data) ? mapped_page(m) : 0;
    const uintptr_t src      = (uintptr_t)o->data;
    uintptr_t       released = page ? (src + page - 1) / page * page : 0;
    for (int64_t r = 0; r < o->n_out; r++) {
        const int64_t i = r % ARIA_X16_ROWS;
        aria_matrix_row_f32(o, r, row);
        if (page && (r % 64 == 63 || r == o->n_out - 1)) {
            const uintptr_t done = (src + (uint64_t)(r + 1) * o->row_bytes) / page * page;
            if (done > released) {
                drop_pages(released, done);
                released = done;
            }
        }
        uint8_t * dst = group ? rows + (uint64_t)i * row_bytes : q + (uint64_t)r * row_bytes;
        if (q4) {
            aria_quantize_row_q4_W(row, (block_q4_W *)dst, o->n_in);
        } else {
            aria_quantize_row_q8_W(row, (block_q8_W *)dst, o->n_in);
        }
        if (group && (i == ARIA_X16_ROWS - 1 || r == o->n_out - 1)) {
            aria_x16_pack_group(type, o->n_in, rows, row_bytes, i + 1,
                                q + (uint64_t)(r / ARIA_X16_ROWS) * group, NULL);
        }
    }
    free(rows);
    free(row);
    if (group) {
        o->x16_group = group;
        m->n_x16++;
    }
    m->output_q8   = raw;
    o->type        = type;
    o->data        = q;
    o->row_bytes   = row_bytes;
    release_unused_mapping(m);  /* the float head's pages shared with its neighbours */
    return ARIA_STATUS_OK;
}

/* The seven projections of a loaded block. */
static void layer_matrices(aria_layer * l, aria_matrix * ws[7]) {
    ws[0] = &l->wq;
    ws[1] = &l->wk;
    ws[2] = &l->wv;
    ws[3] = &l->wo;
    ws[4] = &l->gate;
    ws[5] = &l->up;
    ws[6] = &l->down;
}

#define ARIA_REPACK_ALIGN 64  /* each copy starts on a cache line (the file aligns tensors to 32) */

/* Whether a loaded projection goes to the x16 layout (kernels.h): its type has one (TQ1_0 through
 * TQ2_0) and its rows fit it. The converter's fallback projections (act_i8) keep their layout. */
static uint64_t x16_group_for(const aria_matrix * w) {
    if (w->act_i8) {
        return 0;
    }
    const int32_t type = w->type == ARIA_TYPE_TQ1_0 ? ARIA_TYPE_TQ2_0 : w->type;
    return type == ARIA_TYPE_TQ2_0 || type == ARIA_TYPE_I2_S ? aria_x16_group_bytes(type, w->n_in) : 0;
}

static uint64_t align_up(uint64_t b) {
    return (b + ARIA_REPACK_ALIGN - 1) / ARIA_REPACK_ALIGN * ARIA_REPACK_ALIGN;
}

/* Bytes of a projection's converted copy: x16 groups, or TQ2_0 rows for TQ1_0; 0: left as it is. */
static uint64_t repacked_size(const aria_matrix * w, int x16) {
    const uint64_t group = x16 ? x16_group_for(w) : 0;
    if (group) {
        return (uint64_t)((w->n_out + ARIA_X16_ROWS - 1) / ARIA_X16_ROWS) * group;
    }
    if (w->type == ARIA_TYPE_TQ1_0) {
        return (uint64_t)w->n_out * (uint64_t)(w->n_in / QK_K) * sizeof(block_tq2_0);
    }
    return 0;
}

/* Drops the mapped pages wholly inside [p, p + bytes) once their contents were copied. */
static void release_mapped(const struct aria_model * m, const uint8_t * p, uint64_t bytes) {
#if !defined(_WIN32)
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    if (!m->map_is_malloc && page > 0) {
        /* only pages wholly inside this tensor: its neighbours stay as they are */
        const uintptr_t lo = ((uintptr_t)p + page - 1) / page * page;
        const uintptr_t hi = ((uintptr_t)p + bytes) / page * page;
        if (hi > lo) {
            (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);  /* advice only: a failure costs memory, not results */
        }
    }
#else
    (void)m, (void)p, (void)bytes;
#endif
}

/* Packs the n_out rows at src (row layout of `type`, row_bytes each) into x16 groups at dst.
 * tq1_0: src holds TQ1_0 rows, converted 16 at a time to TQ2_0 in rows16 first. scratch: n_in bytes. */
static void pack_x16(const aria_kernel_table * kt, int32_t type, int64_t n_in, int64_t n_out, const uint8_t * src,
                     uint64_t row_bytes, int tq1_0, uint64_t group, uint8_t * dst, uint8_t * rows16, uint8_t * scratch) {
    const uint64_t tq2_row = aria_type_row_bytes(ARIA_TYPE_TQ2_0, n_in);
    for (int64_t g = 0; g * ARIA_X16_ROWS < n_out; g++) {
        const int64_t   r0  = g * ARIA_X16_ROWS;
        const int64_t   nr  = n_out - r0 < ARIA_X16_ROWS ? n_out - r0 : ARIA_X16_ROWS;
        const uint8_t * rows = src + (uint64_t)r0 * row_bytes;
        uint64_t        rb   = row_bytes;
        if (tq1_0) {
            kt->repack_tq1_0_tq2_0((const block_tq1_0 *)rows, (block_tq2_0 *)rows16, nr * (n_in / QK_K));
            rows = rows16;
            rb   = tq2_row;
        }
        aria_x16_pack_group(type, n_in, rows, rb, nr, dst + (uint64_t)g * group, scratch);
    }
}

/* Converts the loaded blocks' projections, in one owned buffer, into the layout the current kernel
 * table runs best: the x16 groups (kernels.h) where the table prefers them (AVX-512), TQ1_0 to
 * TQ2_0 rows otherwise (formats.md §2.1, §2.2; aria_repack_tq1_0_to_tq2_0 keeps the codes and
 * the scales), so the TQ2_0 kernels run on them. Every layout holds the same codes and scales, and
 * the kernels give the same results on them as on the file's rows (kernels.h). Once a matrix is
 * copied, its mapped pages are dropped from this process (MADV_DONTNEED; the file mapping is
 * read-only and shared, so a later read would only fault them in again from the page cache): the
 * resident size then holds the copy instead of both. token_embd and the head are not projections
 * of a block and are left as they are (the int8 head is made in the x16 layout after this). */
/* ---- I2_S layouts (docs/models.md, "I2_S layouts") ------------------------------------------ */

/* Rewrites n codes (n % 128 == 0) from the ARM layout (64-value blocks of 16 bytes) to the x86
 * layout (128-value blocks of 32 bytes). In a block of g bytes, byte b holds elements b, b+g, b+2g,
 * b+3g in bits 7-6, 5-4, 3-2, 1-0; element e of a 128-value window sits in ARM half e/64. */
static void i2s_arm_to_x86(const uint8_t * src, uint8_t * dst, int64_t n) {
    memset(dst, 0, (size_t)(n / 4));
    for (int64_t e = 0; e < n; e++) {
        const int64_t ja   = e % 64;
        const int     code = (src[(e / 64) * 16 + ja % 16] >> (6 - 2 * (ja / 16))) & 3;
        const int64_t jx   = e % 128;
        dst[(e / 128) * 32 + jx % 32] |= (uint8_t)(code << (6 - 2 * (jx / 32)));
    }
}

int32_t aria_model_set_i2s_layout_impl(struct aria_model * m, int32_t layout) {
    if (layout != ARIA_I2S_X86 && layout != ARIA_I2S_ARM) {
        return ARIA_STATUS_INVALID_ARG;
    }
    if (layout == ARIA_I2S_X86) {
        return ARIA_STATUS_OK;
    }
    /* converting twice, or after repack chose new layouts, would scramble the codes: refused here */
    if (m->i2s_relaid || m->repacked || m->x16 || m->n_x16) {
        return ARIA_STATUS_INVALID_ARG;
    }
    uint64_t total = 0;
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        aria_matrix * ws[7];
        layer_matrices(&m->layers[il], ws);
        for (int k = 0; k < 7; k++) {
            total += ws[k]->type == ARIA_TYPE_I2_S ? align_up((uint64_t)(ws[k]->n_in * ws[k]->n_out / 4)) : 0;
        }
    }
    if (total == 0) {
        return ARIA_STATUS_OK;
    }
    uint8_t * raw;
    uint8_t * buf = aria_alloc_pages(total, &raw);
    if (!buf) { /* allocation failure: NO_MEMORY, nothing was changed */
        return ARIA_STATUS_NO_MEMORY;
    }
    uint64_t at = 0;
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        aria_matrix * ws[7];
        layer_matrices(&m->layers[il], ws);
        for (int k = 0; k < 7; k++) {
            aria_matrix * w = ws[k];
            if (w->type != ARIA_TYPE_I2_S) {
                continue;
            }
            const int64_t n = w->n_in * w->n_out;
            i2s_arm_to_x86(w->data, buf + at, n);
            release_mapped(m, w->data, (uint64_t)(n / 4));
            w->data = buf + at;
            at += align_up((uint64_t)(n / 4));
        }
    }
    m->i2s_relaid = raw;
    release_unused_mapping(m);
    return ARIA_STATUS_OK;
}

int32_t aria_model_repack_impl(struct aria_model * m) {
    if (m->repacked || m->x16) {
        return ARIA_STATUS_OK;
    }
    const aria_kernel_table * kt  = aria_kernels_current();  /* TQ1_0 -> TQ2_0: the same bytes from every table */
    const int                 x16 = kt->x16_preferred;
    uint64_t total = 0;
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        aria_matrix * ws[7];
        layer_matrices(&m->layers[il], ws);
        for (int k = 0; k < 7; k++) {
            total += align_up(repacked_size(ws[k], x16));
        }
    }
    if (total == 0) {
        m->x16 = x16;
        return ARIA_STATUS_OK;  /* nothing to convert: the layers stay as they are */
    }
    /* allocation failure is handled here: NO_MEMORY, and the model keeps its matrices as they are
     * (nothing was changed yet), so the caller may go on without repacking */
    uint8_t * raw;
    uint8_t * buf     = aria_alloc_pages(total, &raw);
    uint8_t * rows16  = malloc((size_t)(ARIA_X16_ROWS * aria_type_row_bytes(ARIA_TYPE_TQ2_0, ARIA_X16_MAX_N)));
    uint8_t * scratch = NULL;
    int64_t   max_in  = 0;
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        aria_matrix * ws[7];
        layer_matrices(&m->layers[il], ws);
        for (int k = 0; k < 7; k++) {
            max_in = ws[k]->n_in > max_in ? ws[k]->n_in : max_in;
        }
    }
    scratch = malloc((size_t)max_in);
    if (!buf || !rows16 || !scratch) {
        free(raw), free(rows16), free(scratch);
        return ARIA_STATUS_NO_MEMORY;
    }
    uint64_t  at  = 0;
    for (int il = m->layer_begin; il < m->layer_end; il++) {
        aria_matrix * ws[7];
        layer_matrices(&m->layers[il], ws);
        for (int k = 0; k < 7; k++) {
            aria_matrix *  w     = ws[k];
            const uint64_t bytes = repacked_size(w, x16);
            if (bytes == 0) {
                continue;
            }
            uint8_t *      dst   = buf + at;
            const uint64_t group = x16 ? x16_group_for(w) : 0;
            const int      tq1   = w->type == ARIA_TYPE_TQ1_0;
            const uint64_t src_bytes = (uint64_t)w->n_out * w->row_bytes;
            if (group) {
                const int32_t type = tq1 ? ARIA_TYPE_TQ2_0 : w->type;
                pack_x16(kt, type, w->n_in, w->n_out, w->data, w->row_bytes, tq1, group, dst, rows16, scratch);
                w->type      = type;
                w->x16_group = group;
                m->n_x16++;
            } else {
                kt->repack_tq1_0_tq2_0((const block_tq1_0 *)w->data, (block_tq2_0 *)dst, w->n_out * (w->n_in / QK_K));
                w->type = ARIA_TYPE_TQ2_0;
            }
            release_mapped(m, w->data, src_bytes);
            w->data      = dst;
            w->row_bytes = aria_type_row_bytes(w->type, w->n_in);
            at += align_up(bytes);
            m->n_repacked += tq1;
        }
    }
    free(rows16);
    free(scratch);
    m->repacked       = raw;
    m->repacked_bytes = total;
    m->x16            = x16;
    release_unused_mapping(m);  /* pages the copied matrices shared with their neighbours */
    return ARIA_STATUS_OK;
}

void aria_model_free_impl(struct aria_model * m) {
    if (!m) {
        return;
    }
    free(m->output_q8);
    free(m->repacked);
    free(m->i2s_relaid);
    if (m->layers) {
        for (int il = 0; il < m->n_layer; il++) {
            aria_layer * l = &m->layers[il];
            free(l->attn_norm);
            free(l->attn_sub_norm);
            free(l->attn_q_norm);
            free(l->attn_k_norm);
            free(l->ffn_norm);
            free(l->ffn_sub_norm);
            free(l->q_norm_in);
            free(l->k_norm_in);
            free(l->v_norm_in);
            free(l->gate_norm_in);
            free(l->up_norm_in);
        }
        free(m->layers);
    }
    free(m->output_norm);
    free(m->rope_inv_freq);
    gguf_free(m->gguf);
    unmap_file(m);
    free(m);
}

void aria_matrix_row_f32(const aria_matrix * w, int64_t r, float * out) {
    if (w->x16_group) {  /* not on any hot path: the row is unpacked to its row layout first */
        uint8_t * tmp = malloc((size_t)w->row_bytes);
        if (!tmp) {
            memset(out, 0, sizeof(float) * (size_t)w->n_in);
            return;
        }
        aria_x16_unpack_row(w->type, w->n_in, w->data + (uint64_t)(r / ARIA_X16_ROWS) * w->x16_group,
                            (int)(r % ARIA_X16_ROWS), tmp);
        aria_matrix plain = *w;
        plain.x16_group   = 0;
        plain.data        = tmp;
        aria_matrix_row_f32(&plain, 0, out);
        free(tmp);
        return;
    }
    const uint8_t * row = w->data + (uint64_t)r * w->row_bytes;
    if (w->type == ARIA_TYPE_I2_S) {
        aria_dequantize_row_i2_s(row, w->i2s_scale, out, w->n_in);
    } else if (w->type == ARIA_TYPE_Q8_W) {
        aria_dequantize_row_q8_W((const block_q8_W *)row, out, w->n_in);
    } else if (w->type == ARIA_TYPE_Q4_W) {
        aria_dequantize_row_q4_W((const block_q4_W *)row, out, w->n_in);
    } else {
        aria_dequantize_row(w->type, row, out, w->n_in);
    }
}
