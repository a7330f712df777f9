/*
 * llama-oracle: a small command-line driver over the prebuilt llama.cpp library shipped by
 * node-llama-cpp. ARIA's tests and benchmarks use it as an outside oracle (tokens, greedy
 * decoding, full logits) and as a speed bar (llama-bench-style pp / tg).
 *
 * Built by scripts/build-oracle.ts against the headers of the exact llama.cpp source the
 * library was built from; driven by tests/helpers/llama-oracle.ts.
 *
 * Usage: llama-oracle <command> <model.gguf> [--option value]...
 *
 *   info                        stdout: one JSON object (arch, vocab, sizes, CPU backend).
 *   tokenize   --add-special 0|1 --parse-special 0|1
 *              stdin: records "<byte length>\n<bytes>", repeated.
 *              stdout: one JSON array of token ids per record, one per line.
 *   greedy     --steps N [--threads T] [--ctx C] [--kv f16|f32] [--flash-attn off|on|auto]
 *              stdin: prompt token ids (decimal, whitespace separated).
 *              stdout: a header line (JSON, padded with spaces to a multiple of 64 bytes,
 *              ending in '\n'), then N records: int32 token, float32[n_vocab] logits
 *              (little endian). Record i holds the logits after the prompt plus tokens
 *              0..i-1, and the token chosen from them (argmax, lowest id on ties).
 *   logits     [--threads T] [--ctx C] [--kv f16|f32] [--flash-attn off|on|auto] [--chunk B]
 *              stdin: token ids. stdout: the padded header line, then float32[n_vocab]
 *              for every position (logits after consuming tokens 0..i).
 *   embed      [--threads T] [--ctx C]
 *              stdin: token ids of one input. A context with embeddings on and the pooling the
 *              model's `<arch>.pooling_type` says; the tokens in one batch.
 *              stdout: the padded header line (n_embd, pooling), then float32[n_embd]: the
 *              pooled embedding (llama_get_embeddings_seq), not normalized.
 *   bench      --pp N --tg M [--threads T] [--reps R] [--depth D] [--kv f16|f32] [--flash-attn off|on|auto]
 *              (--depth: D random tokens fill the cache before each timed run, llama-bench -d)
 *              stdout: one JSON object with the milliseconds of every timed run.
 *   chat       [--add-generation-prompt 0|1] [--template NAME_OR_JINJA]
 *              stdin: conversations, each "<message count>\n" followed by that many records
 *              "<role byte length> <content byte length>\n<role bytes><content bytes>".
 *              stdout: per conversation "<byte length>\n<bytes>", the text rendered by
 *              llama_chat_apply_template (llama.cpp's built-in templates, detected from the
 *              model's tokenizer.chat_template, or from --template).
 *
 * Everything runs on the CPU backend only; no GPU backend is shipped in the prebuilt package
 * and the model parameters ask for no offload. End-of-sequence tokens never stop decoding.
 * Errors: a message on stderr and exit status 1 (2 for usage errors).
 */
#define _GNU_SOURCE /* dladdr */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

#define ORACLE_PROTOCOL_VERSION 1
#define HEADER_ALIGN 64

/* ---------------------------------------------------------------- errors and logging -- */

static int g_verbose = 0;
static char g_cpu_backend_path[1024] = "";
static const char *g_fa_resolved = NULL; /* set when llama.cpp resolves flash_attn = auto */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("llama-oracle: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("llama-oracle: usage error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

/* Forwards warnings and errors to stderr (everything with --verbose); remembers which CPU
 * backend variant libggml picked. */
static void log_callback(enum ggml_log_level level, const char *text, void *user_data) {
  (void)user_data;
  static enum ggml_log_level last_level = GGML_LOG_LEVEL_INFO;
  if (level == GGML_LOG_LEVEL_CONT) {
    level = last_level;
  } else {
    last_level = level;
  }
  const char *marker = strstr(text, "loaded CPU backend from ");
  if (marker != NULL) {
    marker += strlen("loaded CPU backend from ");
    size_t n = strcspn(marker, "\r\n");
    if (n >= sizeof g_cpu_backend_path) n = sizeof g_cpu_backend_path - 1;
    memcpy(g_cpu_backend_path, marker, n);
    g_cpu_backend_path[n] = '\0';
  }
  if (strstr(text, "Flash Attention enabled") != NULL) g_fa_resolved = "on";
  if (strstr(text, "Flash Attention not supported") != NULL) g_fa_resolved = "off";
  if (g_verbose || level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) {
    fputs(text, stderr);
  }
}

/* ------------------------------------------------------------------------- options -- */

typedef struct {
  int add_special;
  int parse_special;
  int steps;
  int threads;
  int ctx;
  int chunk;
  int pp;
  int tg;
  int reps;
  int depth;
  enum llama_flash_attn_type flash_attn;
  enum ggml_type kv_type;
  const char *backend_dir;
  int add_generation_prompt;
  const char *chat_template;
} options;

static long parse_long(const char *name, const char *value, long lo, long hi) {
  char *end = NULL;
  errno = 0;
  long v = strtol(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi) {
    usage_error("option %s: expected an integer in [%ld, %ld], got \"%s\"", name, lo, hi, value);
  }
  return v;
}

static void parse_options(int argc, char **argv, int first, options *o) {
  for (int i = first; i < argc; i += 2) {
    const char *k = argv[i];
    if (strcmp(k, "--verbose") == 0) {
      g_verbose = 1;
      i -= 1;
      continue;
    }
    if (i + 1 >= argc) usage_error("option %s needs a value", k);
    const char *v = argv[i + 1];
    if (strcmp(k, "--add-special") == 0) o->add_special = (int)parse_long(k, v, 0, 1);
    else if (strcmp(k, "--parse-special") == 0) o->parse_special = (int)parse_long(k, v, 0, 1);
    else if (strcmp(k, "--steps") == 0) o->steps = (int)parse_long(k, v, 1, 1 << 20);
    else if (strcmp(k, "--threads") == 0) o->threads = (int)parse_long(k, v, 1, 1024);
    else if (strcmp(k, "--ctx") == 0) o->ctx = (int)parse_long(k, v, 0, 1 << 22);
    else if (strcmp(k, "--chunk") == 0) o->chunk = (int)parse_long(k, v, 1, 1 << 16);
    else if (strcmp(k, "--pp") == 0) o->pp = (int)parse_long(k, v, 0, 1 << 20);
    else if (strcmp(k, "--tg") == 0) o->tg = (int)parse_long(k, v, 0, 1 << 20);
    else if (strcmp(k, "--reps") == 0) o->reps = (int)parse_long(k, v, 1, 10000);
    else if (strcmp(k, "--depth") == 0) o->depth = (int)parse_long(k, v, 0, 1 << 20);
    else if (strcmp(k, "--flash-attn") == 0) {
      if (strcmp(v, "off") == 0) o->flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED;
      else if (strcmp(v, "on") == 0) o->flash_attn = LLAMA_FLASH_ATTN_TYPE_ENABLED;
      else if (strcmp(v, "auto") == 0) o->flash_attn = LLAMA_FLASH_ATTN_TYPE_AUTO;
      else usage_error("option --flash-attn: expected \"on\", \"off\" or \"auto\", got \"%s\"", v);
    }
    else if (strcmp(k, "--backend-dir") == 0) o->backend_dir = v;
    else if (strcmp(k, "--add-generation-prompt") == 0) o->add_generation_prompt = (int)parse_long(k, v, 0, 1);
    else if (strcmp(k, "--template") == 0) o->chat_template = v;
    else if (strcmp(k, "--kv") == 0) {
      if (strcmp(v, "f16") == 0) o->kv_type = GGML_TYPE_F16;
      else if (strcmp(v, "f32") == 0) o->kv_type = GGML_TYPE_F32;
      else usage_error("option --kv: expected \"f16\" or \"f32\", got \"%s\"", v);
    } else {
      usage_error("unknown option \"%s\"", k);
    }
  }
}

/* ------------------------------------------------------------------------- helpers -- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", f);
    else if (*p == '\t') fputs("\\t", f);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static void write_all(const void *data, size_t n) {
  if (n > 0 && fwrite(data, 1, n, stdout) != n) die("cannot write to stdout: %s", strerror(errno));
}

/* Writes a JSON header line padded with spaces so that the binary payload after it starts at
 * a multiple of HEADER_ALIGN bytes. */
static void write_header(const char *json) {
  size_t n = strlen(json);
  size_t total = ((n + 1 + HEADER_ALIGN - 1) / HEADER_ALIGN) * HEADER_ALIGN;
  write_all(json, n);
  for (size_t i = n; i + 1 < total; i++) fputc(' ', stdout);
  fputc('\n', stdout);
}

typedef struct {
  int32_t *data;
  int n;
  int cap;
} token_list;

static void tokens_push(token_list *l, int32_t t) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 256;
    l->data = realloc(l->data, sizeof(int32_t) * (size_t)l->cap);
    if (l->data == NULL) die("out of memory");
  }
  l->data[l->n++] = t;
}

/* Reads decimal token ids separated by whitespace (commas are accepted too) from stdin. */
static token_list read_tokens_stdin(int n_vocab) {
  token_list l = {0};
  int c;
  long cur = -1;
  while (1) {
    c = getchar();
    if (c != EOF && isdigit(c)) {
      cur = (cur < 0 ? 0 : cur) * 10 + (c - '0');
      if (cur > INT32_MAX) die("token id too large on stdin");
      continue;
    }
    if (c != EOF && !isspace(c) && c != ',') die("unexpected byte 0x%02x in the token ids on stdin", c);
    if (cur >= 0) {
      if (cur >= n_vocab) die("token id %ld is out of range: the vocabulary has %d tokens", cur, n_vocab);
      tokens_push(&l, (int32_t)cur);
      cur = -1;
    }
    if (c == EOF) break;
  }
  return l;
}

/* Loads the best CPU backend variant (libggml-cpu-<cpu>.so). The variants sit next to
 * libllama, so by default the directory of the loaded libllama is searched. */
static void load_backends(const options *o) {
  llama_log_set(log_callback, NULL);
  ggml_log_set(log_callback, NULL);
  char dir[4096] = "";
  if (o->backend_dir != NULL) {
    snprintf(dir, sizeof dir, "%s", o->backend_dir);
  } else {
    Dl_info info;
    if (dladdr((void *)&llama_backend_init, &info) != 0 && info.dli_fname != NULL) {
      snprintf(dir, sizeof dir, "%s", info.dli_fname);
      char *slash = strrchr(dir, '/');
      if (slash != NULL) *slash = '\0';
      else dir[0] = '\0';
    }
  }
  if (dir[0] != '\0') ggml_backend_load_all_from_path(dir);
  else ggml_backend_load_all();
  llama_backend_init();
  if (ggml_backend_dev_count() == 0) {
    die("no ggml backend could be loaded from \"%s\" (pass --backend-dir)", dir);
  }
}

static struct llama_model *load_model(const char *path, int vocab_only) {
  struct llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.vocab_only = vocab_only != 0;
  mp.progress_callback = NULL;
  FILE *probe = fopen(path, "rb");
  if (probe == NULL) die("cannot open model \"%s\": %s", path, strerror(errno));
  fclose(probe);
  struct llama_model *model = llama_model_load_from_file(path, mp);
  if (model == NULL) die("cannot load model \"%s\" (see the llama.cpp messages above)", path);
  return model;
}

static struct llama_context *make_context(struct llama_model *model, const options *o, int n_ctx, int n_batch) {
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = (uint32_t)n_ctx;
  cp.n_batch = (uint32_t)n_batch;
  cp.n_ubatch = (uint32_t)(n_batch < 512 ? n_batch : 512);
  cp.n_seq_max = 1;
  cp.n_threads = o->threads;
  cp.n_threads_batch = o->threads;
  cp.flash_attn_type = o->flash_attn;
  cp.type_k = o->kv_type;
  cp.type_v = o->kv_type;
  cp.offload_kqv = false;
  cp.op_offload = false;
  cp.no_perf = true;
  cp.embeddings = false;
  struct llama_context *ctx = llama_init_from_model(model, cp);
  if (ctx == NULL) die("cannot create a llama.cpp context (n_ctx %d, n_batch %d)", n_ctx, n_batch);
  return ctx;
}

static const char *kv_name(enum ggml_type t) { return t == GGML_TYPE_F32 ? "f32" : "f16"; }

/* The flash-attention setting in effect once the context exists ("on" or "off"). */
static const char *fa_name(enum llama_flash_attn_type t) {
  if (t == LLAMA_FLASH_ATTN_TYPE_ENABLED) return "on";
  if (t == LLAMA_FLASH_ATTN_TYPE_DISABLED) return "off";
  return g_fa_resolved != NULL ? g_fa_resolved : "auto";
}

/* Decodes tokens[0..n) at positions pos0.. in chunks of at most n_batch, requesting logits for
 * every token (all_logits) or only for the last one. on_logits receives each output row. */
typedef void (*logits_sink)(const float *row, int index, void *user);

static void decode_tokens(struct llama_context *ctx, const int32_t *tokens, int n, int pos0, int n_batch,
                          int all_logits, int n_vocab, logits_sink sink, void *user) {
  struct llama_batch batch = llama_batch_init(n_batch, 0, 1);
  for (int start = 0; start < n; start += n_batch) {
    int m = n - start < n_batch ? n - start : n_batch;
    batch.n_tokens = m;
    for (int i = 0; i < m; i++) {
      batch.token[i] = tokens[start + i];
      batch.pos[i] = pos0 + start + i;
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = (int8_t)(all_logits || start + i == n - 1);
    }
    int rc = llama_decode(ctx, batch);
    if (rc != 0) die("llama_decode failed with status %d at position %d", rc, pos0 + start);
    if (sink != NULL) {
      for (int i = 0; i < m; i++) {
        if (!batch.logits[i]) continue;
        const float *row = llama_get_logits_ith(ctx, i);
        if (row == NULL) die("llama_get_logits_ith returned no logits for batch row %d", i);
        sink(row, start + i, user);
      }
    }
  }
  llama_batch_free(batch);
  (void)n_vocab;
}

/* ------------------------------------------------------------------------ commands -- */

static int cmd_info(const char *path, const options *o) {
  load_backends(o);
  struct llama_model *model = load_model(path, 0);
  const struct llama_vocab *vocab = llama_model_get_vocab(model);
  char arch[256] = "", desc[256] = "", name[256] = "";
  llama_model_meta_val_str(model, "general.architecture", arch, sizeof arch);
  llama_model_meta_val_str(model, "general.name", name, sizeof name);
  llama_model_desc(model, desc, sizeof desc);
  printf("{\"protocol\":%d,\"arch\":", ORACLE_PROTOCOL_VERSION);
  json_string(stdout, arch);
  printf(",\"name\":");
  json_string(stdout, name);
  printf(",\"desc\":");
  json_string(stdout, desc);
  printf(",\"n_vocab\":%d,\"vocab_type\":%d,\"bos\":%d,\"eos\":%d,\"add_bos\":%s,\"add_eos\":%s",
         llama_vocab_n_tokens(vocab), (int)llama_vocab_type(vocab), llama_vocab_bos(vocab),
         llama_vocab_eos(vocab), llama_vocab_get_add_bos(vocab) ? "true" : "false",
         llama_vocab_get_add_eos(vocab) ? "true" : "false");
  printf(",\"n_ctx_train\":%d,\"n_embd\":%d,\"n_layer\":%d,\"n_params\":%llu,\"size_bytes\":%llu",
         llama_model_n_ctx_train(model), llama_model_n_embd(model), llama_model_n_layer(model),
         (unsigned long long)llama_model_n_params(model), (unsigned long long)llama_model_size(model));
  printf(",\"cpu_backend\":");
  json_string(stdout, g_cpu_backend_path);
  printf(",\"system_info\":");
  json_string(stdout, llama_print_system_info());
  printf(",\"n_devices\":%zu}\n", ggml_backend_dev_count());
  llama_model_free(model);
  return 0;
}

static int cmd_tokenize(const char *path, const options *o) {
  load_backends(o);
  struct llama_model *model = load_model(path, 1);
  const struct llama_vocab *vocab = llama_model_get_vocab(model);
  int32_t *out = NULL;
  size_t out_cap = 0;
  char *text = NULL;
  size_t text_cap = 0;
  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    char *end = NULL;
    errno = 0;
    unsigned long long len = strtoull(line, &end, 10);
    if (errno != 0 || end == line || *end != '\n' || len > (unsigned long long)INT32_MAX) {
      die("bad record header on stdin: expected \"<byte length>\\n\"");
    }
    if (len + 1 > text_cap) {
      text_cap = (size_t)len + 1;
      text = realloc(text, text_cap);
      if (text == NULL) die("out of memory");
    }
    if (len > 0 && fread(text, 1, (size_t)len, stdin) != (size_t)len) die("short record on stdin");
    text[len] = '\0';
    size_t need = (size_t)len + 8;
    if (need > out_cap) {
      out_cap = need;
      out = realloc(out, sizeof(int32_t) * out_cap);
      if (out == NULL) die("out of memory");
    }
    int32_t n = llama_tokenize(vocab, text, (int32_t)len, out, (int32_t)out_cap, o->add_special != 0,
                               o->parse_special != 0);
    if (n < 0) {
      if (n == INT32_MIN) die("tokenization overflow");
      out_cap = (size_t)(-n);
      out = realloc(out, sizeof(int32_t) * out_cap);
      if (out == NULL) die("out of memory");
      n = llama_tokenize(vocab, text, (int32_t)len, out, (int32_t)out_cap, o->add_special != 0,
                         o->parse_special != 0);
      if (n < 0) die("llama_tokenize failed with %d", n);
    }
    fputc('[', stdout);
    for (int32_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", out[i]);
    fputs("]\n", stdout);
  }
  free(out);
  free(text);
  llama_model_free(model);
  return 0;
}

static int argmax(const float *row, int n) {
  int best = 0;
  for (int i = 1; i < n; i++) {
    if (row[i] > row[best]) best = i;
  }
  return best;
}

typedef struct {
  float *last;
  int n_vocab;
} last_logits;

static void keep_last(const float *row, int index, void *user) {
  (void)index;
  last_logits *l = user;
  memcpy(l->last, row, sizeof(float) * (size_t)l->n_vocab);
}

static int pick_ctx(int requested, int needed) {
  if (requested == 0) return needed < 512 ? 512 : needed;
  if (requested < needed) die("--ctx %d is too small: %d positions are needed", requested, needed);
  return requested;
}

static int cmd_greedy(const char *path, const options *o) {
  if (o->steps <= 0) usage_error("greedy needs --steps N (N >= 1)");
  load_backends(o);
  struct llama_model *model = load_model(path, 0);
  const struct llama_vocab *vocab = llama_model_get_vocab(model);
  int n_vocab = llama_vocab_n_tokens(vocab);
  token_list prompt = read_tokens_stdin(n_vocab);
  if (prompt.n == 0) die("greedy needs at least one prompt token on stdin");
  int needed = prompt.n + o->steps;
  int n_ctx = pick_ctx(o->ctx, needed);
  int n_batch = prompt.n;
  struct llama_context *ctx = make_context(model, o, n_ctx, n_batch);
  char header[512];
  snprintf(header, sizeof header,
           "{\"protocol\":%d,\"kind\":\"greedy\",\"n_vocab\":%d,\"n_steps\":%d,\"n_prompt\":%d,"
           "\"n_ctx\":%u,\"threads\":%d,\"kv\":\"%s\",\"flash_attn\":\"%s\"}",
           ORACLE_PROTOCOL_VERSION, n_vocab, o->steps, prompt.n, llama_n_ctx(ctx), o->threads,
           kv_name(o->kv_type), fa_name(o->flash_attn));
  write_header(header);
  last_logits l = {malloc(sizeof(float) * (size_t)n_vocab), n_vocab};
  if (l.last == NULL) die("out of memory");
  decode_tokens(ctx, prompt.data, prompt.n, 0, n_batch, 0, n_vocab, keep_last, &l);
  int pos = prompt.n;
  for (int step = 0; step < o->steps; step++) {
    int32_t tok = argmax(l.last, n_vocab);
    write_all(&tok, sizeof tok);
    write_all(l.last, sizeof(float) * (size_t)n_vocab);
    if (step + 1 == o->steps) break;
    decode_tokens(ctx, &tok, 1, pos, 1, 0, n_vocab, keep_last, &l);
    pos += 1;
  }
  if (fflush(stdout) != 0) die("cannot write to stdout: %s", strerror(errno));
  free(l.last);
  free(prompt.data);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}

typedef struct {
  int n_vocab;
} stream_state;

static void stream_row(const float *row, int index, void *user) {
  (void)index;
  stream_state *s = user;
  write_all(row, sizeof(float) * (size_t)s->n_vocab);
}

static int cmd_logits(const char *path, const options *o) {
  load_backends(o);
  struct llama_model *model = load_model(path, 0);
  const struct llama_vocab *vocab = llama_model_get_vocab(model);
  int n_vocab = llama_vocab_n_tokens(vocab);
  token_list toks = read_tokens_stdin(n_vocab);
  if (toks.n == 0) die("logits needs at least one token on stdin");
  int n_ctx = pick_ctx(o->ctx, toks.n);
  int chunk = o->chunk > 0 ? o->chunk : 64;
  if (chunk > toks.n) chunk = toks.n;
  struct llama_context *ctx = make_context(model, o, n_ctx, chunk);
  char header[512];
  snprintf(header, sizeof header,
           "{\"protocol\":%d,\"kind\":\"logits\",\"n_vocab\":%d,\"n_tokens\":%d,\"n_ctx\":%u,"
           "\"threads\":%d,\"kv\":\"%s\",\"flash_attn\":\"%s\",\"chunk\":%d}",
           ORACLE_PROTOCOL_VERSION, n_vocab, toks.n, llama_n_ctx(ctx), o->threads,
           kv_name(o->kv_type), fa_name(o->flash_attn), chunk);
  write_header(header);
  stream_state s = {n_vocab};
  decode_tokens(ctx, toks.data, toks.n, 0, chunk, 1, n_vocab, stream_row, &s);
  if (fflush(stdout) != 0) die("cannot write to stdout: %s", strerror(errno));
  free(toks.data);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}

static int cmd_embed(const char *path, const options *o) {
  load_backends(o);
  struct llama_model *model = load_model(path, 0);
  const struct llama_vocab *vocab = llama_model_get_vocab(model);
  int n_vocab = llama_vocab_n_tokens(vocab);
  token_list toks = read_tokens_stdin(n_vocab);
  if (toks.n == 0) die("embed needs at least one token on stdin");
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = (uint32_t)pick_ctx(o->ctx, toks.n);
  cp.n_batch = (uint32_t)toks.n;
  cp.n_ubatch = (uint32_t)toks.n;
  cp.n_seq_max = 1;
  cp.n_threads = o->threads;
  cp.n_threads_batch = o->threads;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.type_k = GGML_TYPE_F32;
  cp.type_v = GGML_TYPE_F32;
  cp.offload_kqv = false;
  cp.op_offload = false;
  cp.no_perf = true;
  cp.embeddings = true;
  cp.pooling_type = LLAMA_POOLING_TYPE_UNSPECIFIED; /* the model's */
  struct llama_context *ctx = llama_init_from_model(model, cp);
  if (ctx == NULL) die("cannot create a llama.cpp embedding context");
  enum llama_pooling_type pooling = llama_pooling_type(ctx);
  if (pooling == LLAMA_POOLING_TYPE_NONE) die("the model has no pooling type");
  struct llama_batch batch = llama_batch_init(toks.n, 0, 1);
  batch.n_tokens = toks.n;
  for (int i = 0; i < toks.n; i++) {
    batch.token[i] = toks.data[i];
    batch.pos[i] = i;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = 0;
    batch.logits[i] = 1;
  }
  int rc = llama_decode(ctx, batch);
  if (rc != 0) die("llama_decode failed with status %d", rc);
  int n_embd = llama_model_n_embd(model);
  const float *e = llama_get_embeddings_seq(ctx, 0);
  if (e == NULL) die("llama_get_embeddings_seq returned nothing");
  char header[256];
  snprintf(header, sizeof header, "{\"protocol\":%d,\"kind\":\"embed\",\"n_embd\":%d,\"pooling\":%d}",
           ORACLE_PROTOCOL_VERSION, n_embd, (int)pooling);
  write_header(header);
  if (fwrite(e, sizeof(float), (size_t)n_embd, stdout) != (size_t)n_embd) die("cannot write to stdout");
  if (fflush(stdout) != 0) die("cannot write to stdout: %s", strerror(errno));
  llama_batch_free(batch);
  free(toks.data);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}

/* Fixed-seed xorshift for the benchmark's token ids (the ids do not change the timing). */
static uint32_t g_rng = 0x2545F491u;
static int32_t random_token(int n_vocab) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 17;
  g_rng ^= g_rng << 5;
  return (int32_t)(g_rng % (uint32_t)n_vocab);
}

/* Clears the cache and fills it with `depth` random tokens (not timed), in batches of n_batch. */
static void fill_depth(struct llama_context *ctx, int32_t *buf, int depth, int n_batch, int n_vocab) {
  llama_memory_clear(llama_get_memory(ctx), false);
  for (int done = 0; done < depth; done += n_batch) {
    int m = depth - done < n_batch ? depth - done : n_batch;
    for (int i = 0; i < m; i++) buf[i] = random_token(n_vocab);
    decode_tokens(ctx, buf, m, done, n_batch, 0, n_vocab, NULL, NULL);
  }
  llama_synchronize(ctx);
}

static double run_pp(struct llama_context *ctx, int32_t *buf, int pp, int depth, int n_batch, int n_vocab) {
  fill_depth(ctx, buf, depth, n_batch, n_vocab);
  for (int i = 0; i < pp; i++) buf[i] = random_token(n_vocab);
  double t0 = now_ms();
  decode_tokens(ctx, buf, pp, depth, pp, 0, n_vocab, NULL, NULL);
  llama_synchronize(ctx);
  return now_ms() - t0;
}

static double run_tg(struct llama_context *ctx, int32_t *buf, int tg, int depth, int n_batch, int n_vocab) {
  fill_depth(ctx, buf, depth, n_batch, n_vocab);
  double t0 = now_ms();
  for (int i = 0; i < tg; i++) {
    int32_t tok = random_token(n_vocab);
    decode_tokens(ctx, &tok, 1, depth + i, 1, 0, n_vocab, NULL, NULL);
    llama_synchronize(ctx);
  }
  return now_ms() - t0;
}

static void print_runs(const char *name, const double *runs, int n) {
  printf(",\"%s\":[", name);
  for (int i = 0; i < n; i++) printf(i ? ",%.4f" : "%.4f", runs[i]);
  putchar(']');
}

static int cmd_bench(const char *path, const options *o) {
  if (o->pp <= 0 && o->tg <= 0) usage_error("bench needs --pp N and/or --tg M");
  load_backends(o);
  struct llama_model *model = load_model(path, 0);
  int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  int longest = o->depth + (o->pp > o->tg ? o->pp : o->tg);
  int n_ctx = pick_ctx(o->ctx, longest);
  int n_batch = o->pp > 0 ? o->pp : 512;
  struct llama_context *ctx = make_context(model, o, n_ctx, n_batch);
  int32_t *buf = malloc(sizeof(int32_t) * (size_t)n_batch);
  double *pp_runs = calloc((size_t)o->reps, sizeof(double));
  double *tg_runs = calloc((size_t)o->reps, sizeof(double));
  if (buf == NULL || pp_runs == NULL || tg_runs == NULL) die("out of memory");
  /* Warm-up, not timed: one prompt pass and a short generation, as llama-bench does. */
  if (o->pp > 0) run_pp(ctx, buf, o->pp, 0, n_batch, n_vocab);
  if (o->tg > 0) run_tg(ctx, buf, o->tg < 4 ? o->tg : 4, 0, n_batch, n_vocab);
  for (int r = 0; r < o->reps && o->pp > 0; r++) pp_runs[r] = run_pp(ctx, buf, o->pp, o->depth, n_batch, n_vocab);
  for (int r = 0; r < o->reps && o->tg > 0; r++) tg_runs[r] = run_tg(ctx, buf, o->tg, o->depth, n_batch, n_vocab);
  printf("{\"protocol\":%d,\"kind\":\"bench\",\"pp\":%d,\"tg\":%d,\"depth\":%d,\"threads\":%d,\"reps\":%d,"
         "\"n_ctx\":%u,\"n_batch\":%d,\"kv\":\"%s\",\"flash_attn\":\"%s\",\"cpu_backend\":",
         ORACLE_PROTOCOL_VERSION, o->pp, o->tg, o->depth, o->threads, o->reps, llama_n_ctx(ctx), n_batch,
         kv_name(o->kv_type), fa_name(o->flash_attn));
  json_string(stdout, g_cpu_backend_path);
  print_runs("pp_ms", pp_runs, o->pp > 0 ? o->reps : 0);
  print_runs("tg_ms", tg_runs, o->tg > 0 ? o->reps : 0);
  fputs("}\n", stdout);
  free(buf);
  free(pp_runs);
  free(tg_runs);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}

/* Reads one "<a> <b>\n" record header; returns 0 at end of input. */
static int read_pair_header(unsigned long long *a, unsigned long long *b) {
  char line[64];
  if (fgets(line, sizeof line, stdin) == NULL) return 0;
  char *end = NULL;
  errno = 0;
  *a = strtoull(line, &end, 10);
  if (errno != 0 || end == line || *end != ' ') die("bad message header on stdin: expected \"<n> <m>\\n\"");
  char *second = end + 1;
  *b = strtoull(second, &end, 10);
  if (errno != 0 || end == second || *end != '\n') die("bad message header on stdin: expected \"<n> <m>\\n\"");
  if (*a > (1ull << 30) || *b > (1ull << 30)) die("message too long on stdin");
  return 1;
}

static char *read_exact(unsigned long long n) {
  char *s = malloc((size_t)n + 1);
  if (s == NULL) die("out of memory");
  if (n > 0 && fread(s, 1, (size_t)n, stdin) != (size_t)n) die("short message on stdin");
  s[n] = '\0';
  return s;
}

/* Renders one conversation; returns the length, the text in *buf (grown as needed). */
static int32_t render_chat(const char *tmpl, const struct llama_chat_message *msgs, size_t n_msg, int add_ass,
                           char **buf, int32_t *cap) {
  int32_t n = llama_chat_apply_template(tmpl, msgs, n_msg, add_ass != 0, *buf, *cap);
  if (n > *cap) {
    *cap = n;
    *buf = realloc(*buf, (size_t)*cap);
    if (*buf == NULL) die("out of memory");
    n = llama_chat_apply_template(tmpl, msgs, n_msg, add_ass != 0, *buf, *cap);
  }
  if (n < 0) die("llama_chat_apply_template does not support this template (status %d)", n);
  return n;
}

static int cmd_chat(const char *path, const options *o) {
  load_backends(o);
  struct llama_model *model = load_model(path, 1);
  const char *tmpl = o->chat_template != NULL ? o->chat_template : llama_model_chat_template(model, NULL);
  if (tmpl == NULL) die("model \"%s\" has no chat template (pass --template)", path);
  int32_t cap = 4096;
  char *buf = malloc((size_t)cap);
  if (buf == NULL) die("out of memory");
  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    char *end = NULL;
    errno = 0;
    unsigned long long n_msg = strtoull(line, &end, 10);
    if (errno != 0 || end == line || *end != '\n' || n_msg > (1u << 20)) {
      die("bad conversation header on stdin: expected \"<message count>\\n\"");
    }
    struct llama_chat_message *msgs = calloc((size_t)n_msg + 1, sizeof *msgs);
    if (msgs == NULL) die("out of memory");
    for (size_t i = 0; i < n_msg; i++) {
      unsigned long long role_len, content_len;
      if (!read_pair_header(&role_len, &content_len)) die("missing message %zu on stdin", i);
      msgs[i].role = read_exact(role_len);
      msgs[i].content = read_exact(content_len);
    }
    int32_t n = render_chat(tmpl, msgs, (size_t)n_msg, o->add_generation_prompt, &buf, &cap);
    printf("%d\n", n);
    write_all(buf, (size_t)n);
    for (size_t i = 0; i < n_msg; i++) {
      free((void *)msgs[i].role);
      free((void *)msgs[i].content);
    }
    free(msgs);
  }
  if (fflush(stdout) != 0) die("cannot write to stdout: %s", strerror(errno));
  free(buf);
  llama_model_free(model);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    usage_error("llama-oracle <info|tokenize|greedy|logits|embed|bench|chat> <model.gguf> [--option value]...");
  }
  options o = {
      .add_special = 1,
      .parse_special = 0,
      .steps = 0,
      .threads = 1,
      .ctx = 0,
      .chunk = 0,
      .pp = 0,
      .tg = 0,
      .reps = 5,
      .flash_attn = LLAMA_FLASH_ATTN_TYPE_DISABLED,
      .kv_type = GGML_TYPE_F16,
      .backend_dir = NULL,
      .add_generation_prompt = 1,
      .chat_template = NULL,
  };
  const char *cmd = argv[1];
  const char *model = argv[2];
  parse_options(argc, argv, 3, &o);
  if (strcmp(cmd, "info") == 0) return cmd_info(model, &o);
  if (strcmp(cmd, "tokenize") == 0) return cmd_tokenize(model, &o);
  if (strcmp(cmd, "embed") == 0) return cmd_embed(model, &o);
  if (strcmp(cmd, "greedy") == 0) return cmd_greedy(model, &o);
  if (strcmp(cmd, "logits") == 0) return cmd_logits(model, &o);
  if (strcmp(cmd, "bench") == 0) return cmd_bench(model, &o);
  if (strcmp(cmd, "chat") == 0) return cmd_chat(model, &o);
  usage_error("unknown command \"%s\"", cmd);
  return 2;
}
