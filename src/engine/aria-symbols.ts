/**
 * @module The bun:ffi symbol table of libbitnet: one line per `ARIA_API` function of
 * `native/include/aria.h`, in the header's order. `tests/native/abi.test.ts` checks that the
 * names and argument counts match the header exactly. Only `src/engine/` imports bun:ffi.
 */
import { FFIType } from "bun:ffi";

const { i32, i64, ptr, cstring, void: none } = FFIType;

/** The dlopen definitions of every exported libbitnet function. */
export const ARIA_SYMBOLS = {
  aria_abi_version: { args: [], returns: i32 },
  aria_status_str: { args: [i32], returns: cstring },
  aria_kernels_set: { args: [i32], returns: i32 },
  aria_kernels_get: { args: [], returns: i32 },
  aria_cpu_features: { args: [], returns: cstring },
  aria_numerics_contract: { args: [], returns: i32 },
  aria_model_load: { args: [ptr, i32, i32, ptr, i64, ptr], returns: i32 },
  aria_model_requantize_output: { args: [ptr], returns: i32 },
  aria_model_requantize_output_to: { args: [ptr, i32], returns: i32 },
  aria_model_repack: { args: [ptr], returns: i32 },
  aria_model_set_i2s_layout: { args: [ptr, i32], returns: i32 },
  aria_model_free: { args: [ptr], returns: none },
  aria_model_n_vocab: { args: [ptr], returns: i32 },
  aria_model_n_embd: { args: [ptr], returns: i32 },
  aria_model_n_layer: { args: [ptr], returns: i32 },
  aria_model_n_ctx_train: { args: [ptr], returns: i32 },
  aria_model_layer_begin: { args: [ptr], returns: i32 },
  aria_model_layer_end: { args: [ptr], returns: i32 },
  aria_model_info_json: { args: [ptr, ptr, i64], returns: i64 },
  aria_ctx_init: { args: [ptr, i32, i32, i32, i32, ptr], returns: i32 },
  aria_ctx_init_kv: { args: [ptr, i32, i32, i32, i32, i32, ptr], returns: i32 },
  aria_ctx_free: { args: [ptr], returns: none },
  aria_ctx_decode: { args: [ptr, i32, ptr, ptr, ptr, ptr], returns: i32 },
  aria_ctx_n_outputs: { args: [ptr], returns: i32 },
  aria_ctx_logits: { args: [ptr, i32], returns: ptr },
  aria_ctx_embed: { args: [ptr, i32, ptr, ptr], returns: i32 },
  aria_ctx_eval_layers: { args: [ptr, i32, ptr, ptr, i32, i32, ptr], returns: i32 },
  aria_ctx_output: { args: [ptr, i32, ptr, ptr], returns: i32 },
  aria_ctx_seq_len: { args: [ptr, i32], returns: i32 },
  aria_ctx_seq_truncate: { args: [ptr, i32, i32], returns: i32 },
  aria_ctx_cancel: { args: [ptr], returns: none },
  aria_ctx_last_error: { args: [ptr, ptr, i64], returns: i64 },
} as const;

/** The ABI version this TypeScript side was written for (`ARIA_ABI_VERSION` in aria.h). */
export const EXPECTED_ABI_VERSION = 5;
