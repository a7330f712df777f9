/*
 * aria.h — the one contract between libbitnet (C) and everything else (TypeScript via bun:ffi).
 *
 * Conventions (STYLE.md B3):
 *  - Handles are opaque pointers. Only fixed-width integers, float, pointers and `const char *`
 *    cross the boundary; no struct by value, no bool (int32_t 0/1 instead).
 *  - Every fallible call returns int32_t: 0 = OK, < 0 = error (enum aria_status), > 0 = a non-fatal
 *    outcome (ARIA_STATUS_CANCELLED). Results come back through out-pointers.
 *  - The library never calls exit/abort and never prints on input a file or a caller can produce.
 *    Errors carry a short message: aria_ctx_last_error() for a context, the caller's err buffer for
 *    aria_model_load().
 *  - Memory: each _load/_init has exactly one matching _free. The logits and hidden-state buffers
 *    returned by aria_ctx_logits() belong to the context and stay valid until the next call that
 *    evaluates on that context.
 *  - Threads: a model may be shared by several contexts (read-only after load). A context must be
 *    used by one caller thread at a time; only aria_ctx_cancel() may be called from another thread.
 *    Calls that evaluate block the calling thread until done (the context's own worker threads do
 *    the work).
 *
 * ABI version history:
 *   1  first version.
 *   2  aria_ctx_init_kv.
 *   3  aria_model_repack; aria_model_info_json gains "repacked", "repacked_bytes", "matrix_types".
 *   4  aria_model_requantize_output_to (the int4 head, ARIA_TYPE_Q4_W).
 *   5  aria_model_set_i2s_layout (I2_S files quantized by bitnet.cpp on ARM).
 */
#ifndef ARIA_H
#define ARIA_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#    define ARIA_API __declspec(dllexport)
#else
#    define ARIA_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define ARIA_ABI_VERSION 5

/* Status codes. Append only. */
enum aria_status {
    ARIA_STATUS_OK          = 0,
    ARIA_STATUS_CANCELLED   = 1,   /* aria_ctx_cancel() stopped an evaluation; no sequence advanced */
    ARIA_STATUS_INVALID_ARG = -1,  /* a caller passed a bad argument (null, out of range, bad token) */
    ARIA_STATUS_NO_MEMORY   = -2,  /* an allocation failed */
    ARIA_STATUS_IO          = -3,  /* the file could not be opened, stat'ed or mapped */
    ARIA_STATUS_BAD_FORMAT  = -4,  /* the file is not a valid GGUF / model (truncated, corrupt, inconsistent) */
    ARIA_STATUS_UNSUPPORTED = -5,  /* valid file, but an architecture / tensor type we do not run */
    ARIA_STATUS_CTX_FULL    = -6,  /* a position is at or past the context size */
    ARIA_STATUS_INTERNAL    = -7,  /* a bug in libbitnet: please report */
};

/* Tensor types, numbered as in GGUF (ggml / bitnet.cpp ids). Append only. */
enum aria_type {
    ARIA_TYPE_F32   = 0,
    ARIA_TYPE_F16   = 1,
    ARIA_TYPE_Q4_0  = 2,
    ARIA_TYPE_Q8_0  = 8,
    ARIA_TYPE_Q4_K  = 12,
    ARIA_TYPE_Q6_K  = 14,
    ARIA_TYPE_Q8_K  = 15,
    ARIA_TYPE_BF16  = 30,
    ARIA_TYPE_TQ1_0 = 34,
    ARIA_TYPE_TQ2_0 = 35,
    ARIA_TYPE_I2_S  = 36,   /* bitnet.cpp; 38 (TL1) and 39 (TL2 / MXFP4) are refused by name */
    ARIA_TYPE_Q8_W  = 1000, /* ARIA's in-memory int8 output head (aria_model_requantize_output); never in files */
    ARIA_TYPE_Q4_W  = 1001, /* ARIA's in-memory int4 output head (aria_model_requantize_output_to); never in files */
};

/* Kernel sets (aria_kernels_set). Append only. */
enum aria_kernels {
    ARIA_KERNELS_AUTO    = 0,  /* best available on this CPU (cpuid) */
    ARIA_KERNELS_REF     = 1,  /* scalar reference kernels: the oracle */
    ARIA_KERNELS_AVX2    = 2,
    ARIA_KERNELS_AVX512  = 3,  /* AVX-512 F/BW/VL + VNNI */
    ARIA_KERNELS_NEON    = 4,
    ARIA_KERNELS_AVXVNNI = 5,  /* AVX2 + AVX-VNNI (vpdpbusd on 256-bit registers: Alder Lake+, Zen 5) */
};

struct aria_model;
struct aria_ctx;

/* Returns ARIA_ABI_VERSION of the library. Never fails. Any thread. */
ARIA_API int32_t aria_abi_version(void);

/* Static, NUL-terminated English text for a status code ("unknown status" for others). Any thread. */
ARIA_API const char * aria_status_str(int32_t status);

/* Chooses the kernel set used by contexts evaluated from now on (process-wide).
 * Returns 0, or ARIA_STATUS_UNSUPPORTED if this CPU / build lacks that set, INVALID_ARG for an
 * unknown value. Call it only while no evaluation is running. */
ARIA_API int32_t aria_kernels_set(int32_t kernels);

/* The kernel set in use now (an enum aria_kernels value, never AUTO). Any thread. */
ARIA_API int32_t aria_kernels_get(void);

/* Static text naming the CPU features detected (e.g. "avx2 fma f16c avx512f avx512bw avx512vnni"). */
ARIA_API const char * aria_cpu_features(void);

/* The version of the numerics contract every evaluation of this library follows (docs/engine.md,
 * "Numerics contract v2"): 2 = the logits are a function of the model file, the output-head
 * choice, the KV-cache type and the tokens and positions alone, bit for bit, whatever the kernel
 * set, thread count, batch or CPU. There is no faster mode outside the contract. Never fails. Any
 * thread. */
ARIA_API int32_t aria_numerics_contract(void);

/* Loads a GGUF model file (memory-mapped, read only).
 *   path         : NUL-terminated file path (borrowed).
 *   layer_begin,
 *   layer_end    : load only blocks [layer_begin, layer_end); pass 0, -1 for all. Tensors of other
 *                  blocks are never read. token_embd is loaded only if the range starts at 0, the
 *                  output norm and head only if it ends at the last block.
 *   err, err_cap : optional buffer (may be NULL / 0) receiving a NUL-terminated message on failure;
 *                  the message names what and where (offset, key, tensor).
 *   out          : receives the model handle on success, NULL on failure.
 * Returns 0, or IO, BAD_FORMAT, UNSUPPORTED, NO_MEMORY, INVALID_ARG. Blocks (reads the header and
 * tensor table, maps the data). Any thread. */
ARIA_API int32_t aria_model_load(const char * path, int32_t layer_begin, int32_t layer_end,
                                 char * err, int64_t err_cap, struct aria_model ** out);

/* Frees a model. All contexts made from it must be freed first. NULL is ignored. */
ARIA_API void aria_model_free(struct aria_model * model);

/* Replaces the model's float output head (F32 / F16 / BF16, tied or not) by an int8 copy made
 * now: blocks of 256 values with an f32 scale (8.125 bits per weight instead of 16 for F16), dotted
 * with Q8_K-quantized hidden states. Halves the bytes the head reads per token (on 2B-4T the F16
 * head is more than half of them); the logit error is in docs/engine.md. Call before creating
 * contexts. Returns 0; UNSUPPORTED if the model has no head, the head is not a float type, or
 * n_embd % 256 != 0 (the head is left as it was); NO_MEMORY. Blocks; uses one thread. */
ARIA_API int32_t aria_model_requantize_output(struct aria_model * model);

/* aria_model_requantize_output with a choice of format: type ARIA_TYPE_Q8_W is exactly
 * aria_model_requantize_output; ARIA_TYPE_Q4_W makes an int4 copy instead: blocks of 32 values with
 * an f16 scale (4.5 bits per weight; a quarter of an F16 head's bytes, 55% of the int8 head's), in
 * the x16 layout whatever the kernel table (kernels.h), dotted with Q8_K-quantized hidden states.
 * It costs more accuracy than int8 (docs/engine.md gives the perplexity change). Same returns as
 * aria_model_requantize_output, plus INVALID_ARG for another type; once a head was requantized,
 * a second call returns OK and changes nothing. (ABI 4) */
ARIA_API int32_t aria_model_requantize_output_to(struct aria_model * model, int32_t type);

/* Converts every TQ1_0 projection of the loaded blocks into an owned TQ2_0 copy made now (2 bits
 * per weight instead of 1.6875: 66 bytes per 256 instead of 54), with exactly the same ternary
 * values and f16 block scales, so the faster TQ2_0 kernels run on them and the results are those of
 * a TQ2_0 file with the same values. Only the blocks of the loaded range; token_embd and the head
 * are left as they are. The mapped TQ1_0 pages are released (madvise) once copied. Call before
 * creating contexts; a second call does nothing. Returns 0 (also when there is no TQ1_0 matrix:
 * nothing changes; aria_model_info_json's "repacked" counts the matrices converted); NO_MEMORY (the
 * model is left as it was and still usable). Blocks; uses one thread. (ABI 3) */
ARIA_API int32_t aria_model_repack(struct aria_model * model);

/* I2_S code layouts (docs/models.md, "I2_S layouts"). Both use type id 36 and the same size, and
 * nothing in a file says which one it has. */
enum aria_i2s_layout {
    ARIA_I2S_X86 = 0, /* blocks of 128 values = 32 bytes: published files, bitnet.cpp on x86 */
    ARIA_I2S_ARM = 1, /* blocks of 64 values = 16 bytes: bitnet.cpp's ARM NEON quantizer */
};

/* Declares the I2_S layout of the file. ARIA_I2S_X86 (what aria_model_load assumes) changes
 * nothing. ARIA_I2S_ARM rewrites every I2_S projection of the loaded blocks into an owned copy in
 * the x86 layout made now (the same values; the mapped pages are released), so every kernel runs
 * on it unchanged. Call right after aria_model_load, before aria_model_repack and before creating
 * contexts. Returns 0 (also when there is no I2_S matrix); INVALID_ARG for another layout value, or
 * when the model was already repacked or converted; NO_MEMORY (the model is left as it was).
 * Blocks; uses one thread. (ABI 5) */
ARIA_API int32_t aria_model_set_i2s_layout(struct aria_model * model, int32_t layout);

/* Model facts. Never fail on a valid handle. */
ARIA_API int32_t aria_model_n_vocab(const struct aria_model * model);
ARIA_API int32_t aria_model_n_embd(const struct aria_model * model);
ARIA_API int32_t aria_model_n_layer(const struct aria_model * model);
ARIA_API int32_t aria_model_n_ctx_train(const struct aria_model * model);
ARIA_API int32_t aria_model_layer_begin(const struct aria_model * model);
ARIA_API int32_t aria_model_layer_end(const struct aria_model * model);

/* Writes a NUL-terminated JSON object describing the model (arch, dims, heads, rope, activation,
 * tensor type counts as in the file, bytes; "matrix_types": the types the loaded blocks' projections
 * run as now, after aria_model_repack; "repacked": how many it converted) into buf. Returns the number of bytes written excluding the NUL, or
 * the negated required size (including the NUL) when cap is too small (llama_tokenize style). */
ARIA_API int64_t aria_model_info_json(const struct aria_model * model, char * buf, int64_t cap);

/* Creates an evaluation context.
 *   n_ctx     : positions per sequence, 1..n_ctx_train (0 = n_ctx_train).
 *   n_seq     : independent sequences, 1..256; each has its own KV cache of n_ctx positions.
 *   n_batch   : most tokens one aria_ctx_decode / aria_ctx_eval_layers call may carry (1..4096).
 *   n_threads : worker threads, 1..256 (the calling thread is one of them). Created once, here.
 * Returns 0, or INVALID_ARG, NO_MEMORY. Allocates all run state up front: evaluation never mallocs. */
ARIA_API int32_t aria_ctx_init(struct aria_model * model, int32_t n_ctx, int32_t n_seq,
                               int32_t n_batch, int32_t n_threads, struct aria_ctx ** out);

/* aria_ctx_init with a choice of KV cache element type: ARIA_TYPE_F32 (what aria_ctx_init makes) or
 * ARIA_TYPE_F16 (half the memory and half the bytes attention reads per token; K and V are rounded
 * to f16 when stored, as llama.cpp's default cache does). Returns as aria_ctx_init; INVALID_ARG for
 * any other kv_type. (ABI 2) */
ARIA_API int32_t aria_ctx_init_kv(struct aria_model * model, int32_t n_ctx, int32_t n_seq, int32_t n_batch,
                                  int32_t n_threads, int32_t kv_type, struct aria_ctx ** out);
/* Frees a context and joins its threads. NULL is ignored. */
ARIA_API void aria_ctx_free(struct aria_ctx * ctx);

/* Evaluates a batch of n_tokens (token, position, sequence) triples through the whole model and
 * computes logits for the entries where want_logits[i] != 0 (want_logits may be NULL: only the
 * last entry). Within one sequence, positions must be consecutive, in order, and start at or below
 * that sequence's current length (starting below it overwrites: the sequence is truncated first).
 * Returns 0; CANCELLED (no sequence advanced); INVALID_ARG (bad token id, seq, order, n_tokens >
 * n_batch, model loaded with a partial layer range); CTX_FULL (position >= n_ctx). On any non-zero
 * return the KV cache is as before the call. Blocks. */
ARIA_API int32_t aria_ctx_decode(struct aria_ctx * ctx, int32_t n_tokens, const int32_t * tokens,
                                 const int32_t * pos, const int32_t * seq,
                                 const int32_t * want_logits);

/* Number of logit rows computed by the last successful aria_ctx_decode. */
ARIA_API int32_t aria_ctx_n_outputs(const struct aria_ctx * ctx);

/* Pointer to the logits of output row i (0 .. n_outputs-1), n_vocab floats, in batch order of
 * the entries that asked for logits. Owned by the context; valid until the next evaluation.
 * Returns NULL for a bad index. */
ARIA_API float * aria_ctx_logits(struct aria_ctx * ctx, int32_t i);

/* Pipeline stages. The three calls below compose to aria_ctx_decode:
 *   aria_ctx_embed:        hidden[i] = token_embd[tokens[i]]            (needs layer_begin == 0)
 *   aria_ctx_eval_layers:  hidden = blocks [il_begin, il_end) (hidden)  (within the loaded range)
 *   aria_ctx_output:       logits[i] = head(output_norm(hidden[i]))     (needs the last block)
 * hidden is n_tokens x n_embd floats, row-major, owned by the caller, updated in place.
 * aria_ctx_eval_layers advances the sequences' KV caches of those layers like aria_ctx_decode.
 * logits (aria_ctx_output) is n_tokens x n_vocab floats owned by the caller.
 * Return codes as aria_ctx_decode. Blocks. */
ARIA_API int32_t aria_ctx_embed(struct aria_ctx * ctx, int32_t n_tokens, const int32_t * tokens,
                                float * hidden);
ARIA_API int32_t aria_ctx_eval_layers(struct aria_ctx * ctx, int32_t n_tokens, const int32_t * pos,
                                      const int32_t * seq, int32_t il_begin, int32_t il_end,
                                      float * hidden);
ARIA_API int32_t aria_ctx_output(struct aria_ctx * ctx, int32_t n_tokens, const float * hidden,
                                 float * logits);

/* Current length (positions cached) of sequence seq, or INVALID_ARG. */
ARIA_API int32_t aria_ctx_seq_len(const struct aria_ctx * ctx, int32_t seq);

/* Forgets positions >= n_keep of sequence seq (0 clears it). Returns 0 or INVALID_ARG. */
ARIA_API int32_t aria_ctx_seq_truncate(struct aria_ctx * ctx, int32_t seq, int32_t n_keep);

/* Asks a running evaluation on ctx to stop at the next layer boundary (it returns CANCELLED).
 * The flag is cleared when the next evaluation starts. The only call safe from any thread. */
ARIA_API void aria_ctx_cancel(struct aria_ctx * ctx);

/* Copies the message of the last error on ctx (NUL-terminated, truncated to cap) and returns its
 * full length; "" if none. */
ARIA_API int64_t aria_ctx_last_error(const struct aria_ctx * ctx, char * buf, int64_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ARIA_H */
