/*
 * test-gguf.c — the GGUF reader (native/src/gguf.c) against files built here in memory:
 * a valid file with every value type, then one negative case per rule, truncation at every byte,
 * and a fixed-seed mutation fuzz. One line per check; exits non-zero if any check fails.
 * Run it under ASan/UBSan too (see native/Makefile `debug`): every parse reads from an
 * exact-size heap copy, so a read past the end is caught.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"
#include "gguf.h"

static int n_pass, n_fail;

/* mingw: with __USE_MINGW_ANSI_STDIO (set by the Makefile for Windows) printf is the C99 one
 * (%zu), which gcc checks as gnu_printf; plain `printf` there means msvcrt's. */
#ifdef __MINGW32__
#define CHECK_PRINTF_FORMAT gnu_printf
#else
#define CHECK_PRINTF_FORMAT printf
#endif

__attribute__((format(CHECK_PRINTF_FORMAT, 2, 3)))
static int check(int ok, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s - ", ok ? "ok  " : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) {
        n_pass++;
    } else {
        n_fail++;
    }
    return ok;
}

/* ---- a tiny GGUF writer ---------------------------------------------------------------------- */

typedef struct wbuf {
    uint8_t * p;
    size_t    n, cap;
} wbuf;

static void w_bytes(wbuf * b, const void * d, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        if (b->p == NULL) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->n, d, n);
    }
    b->n += n;
}

static void w_le(wbuf * b, uint64_t v, int n) {
    uint8_t t[8];
    for (int i = 0; i < n; i++) {
        t[i] = (uint8_t) (v >> (8 * i));
    }
    w_bytes(b, t, (size_t) n);
}

static void w_u8(wbuf * b, uint8_t v)   { w_le(b, v, 1); }
static void w_u16(wbuf * b, uint16_t v) { w_le(b, v, 2); }
static void w_u32(wbuf * b, uint32_t v) { w_le(b, v, 4); }
static void w_u64(wbuf * b, uint64_t v) { w_le(b, v, 8); }

static void w_f32(wbuf * b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    w_u32(b, u);
}

static void w_f64(wbuf * b, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    w_u64(b, u);
}

static void w_str(wbuf * b, const char * s) {
    w_u64(b, strlen(s));
    w_bytes(b, s, strlen(s));
}

static void w_key(wbuf * b, const char * key, uint32_t type) {
    w_str(b, key);
    w_u32(b, type);
}

static void w_pad(wbuf * b, uint64_t align) {
    while (b->n % align != 0) {
        w_u8(b, 0);
    }
}

static void put_le(uint8_t * p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t) (v >> (8 * i));
    }
}

/* ---- the reference file ------------------------------------------------------------------------ */

#define N_T 3

typedef struct opts {
    uint32_t version;
    int      align_kind;   /* 0: UINT32 general.alignment = align_val, 1: absent, 2: UINT64-typed */
    uint64_t align_val;
    int      dup_key;      /* a second "test.u8" */
    int      dup_tensor;   /* the third tensor named like the first */
    int      i2s_last;     /* tensor order F32, TQ2_0, I2_S instead of F32, I2_S, TQ2_0 */
} opts;

typedef struct layout {
    size_t   version, n_tensors, n_kv, key0_len, arch_len, arch_str, u8_type;
    size_t   bool_val, arr_u32_count, arr_str_count, arr_bool0;
    size_t   t_info[N_T], t_name_len[N_T], t_ndims[N_T], t_ne[N_T], t_type[N_T], t_offset[N_T];
    uint64_t t_off[N_T], t_bytes[N_T];
    uint64_t alignment, data_offset, n_kv_written;
    int      i2s_index;
} layout;

static const char * const TNAME[3] = { "token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_up.weight" };

static opts default_opts(void) {
    opts o = { 3, 0, 64, 0, 0, 0 };
    return o;
}

/* Builds the reference file. Tensors: F32 [8, 3] (96 B); I2_S [256, 2] (n/4 + 32 = 160 B);
 * TQ2_0 [256, 2, 1] (2 x 66 = 132 B). The file ends exactly at the end of the last tensor. */
static wbuf build(const opts * o, layout * L) {
    wbuf b = { 0 };
    memset(L, 0, sizeof(*L));
    uint64_t n_kv = 19 + (o->align_kind == 1 ? -1 : 0) + (o->dup_key ? 1 : 0);
    w_bytes(&b, "GGUF", 4);
    L->version   = b.n; w_u32(&b, o->version);
    L->n_tensors = b.n; w_u64(&b, N_T);
    L->n_kv      = b.n; w_u64(&b, n_kv);
    L->n_kv_written = n_kv;

    L->key0_len = b.n;
    w_key(&b, "general.architecture", GGUF_TYPE_STRING);
    L->arch_len = b.n;
    L->arch_str = b.n + 8;
    w_str(&b, "bitnet-b1.58");
    if (o->align_kind == 0) {
        w_key(&b, "general.alignment", GGUF_TYPE_UINT32);
        w_u32(&b, (uint32_t) o->align_val);
    } else if (o->align_kind == 2) {
        w_key(&b, "general.alignment", GGUF_TYPE_UINT64);
        w_u64(&b, o->align_val);
    }
    L->u8_type = b.n + 8 + strlen("test.u8");
    w_key(&b, "test.u8", GGUF_TYPE_UINT8);      w_u8(&b, 200);
    w_key(&b, "test.i8", GGUF_TYPE_INT8);       w_u8(&b, (uint8_t) -100);
    w_key(&b, "test.u16", GGUF_TYPE_UINT16);    w_u16(&b, 60000);
    w_key(&b, "test.i16", GGUF_TYPE_INT16);     w_u16(&b, (uint16_t) -30000);
    w_key(&b, "test.u32", GGUF_TYPE_UINT32);    w_u32(&b, 4000000000u);
    w_key(&b, "test.i32", GGUF_TYPE_INT32);     w_u32(&b, (uint32_t) -2000000000);
    w_key(&b, "test.f32", GGUF_TYPE_FLOAT32);   w_f32(&b, 1.5f);
    w_key(&b, "test.bool", GGUF_TYPE_BOOL);
    L->bool_val = b.n;                          w_u8(&b, 1);
    w_key(&b, "test.u64", GGUF_TYPE_UINT64);    w_u64(&b, UINT64_MAX);
    w_key(&b, "test.i64", GGUF_TYPE_INT64);     w_u64(&b, (uint64_t) -(INT64_C(1) << 40));
    w_key(&b, "test.f64", GGUF_TYPE_FLOAT64);   w_f64(&b, 3.25e100);
    w_key(&b, "test.arr_u32", GGUF_TYPE_ARRAY); w_u32(&b, GGUF_TYPE_UINT32);
    L->arr_u32_count = b.n;                     w_u64(&b, 4);
    for (uint32_t i = 1; i <= 4; i++) {
        w_u32(&b, i * 11);
    }
    w_key(&b, "test.arr_str", GGUF_TYPE_ARRAY); w_u32(&b, GGUF_TYPE_STRING);
    L->arr_str_count = b.n;                     w_u64(&b, 3);
    w_str(&b, "a"); w_str(&b, ""); w_str(&b, "hello");
    /* [[INT16 7, -7], [STRING "x"], [] of FLOAT32] */
    w_key(&b, "test.arr_nested", GGUF_TYPE_ARRAY); w_u32(&b, GGUF_TYPE_ARRAY); w_u64(&b, 3);
    w_u32(&b, GGUF_TYPE_INT16);  w_u64(&b, 2); w_u16(&b, 7); w_u16(&b, (uint16_t) -7);
    w_u32(&b, GGUF_TYPE_STRING); w_u64(&b, 1); w_str(&b, "x");
    w_u32(&b, GGUF_TYPE_FLOAT32); w_u64(&b, 0);
    w_key(&b, "test.arr_bool", GGUF_TYPE_ARRAY); w_u32(&b, GGUF_TYPE_BOOL); w_u64(&b, 3);
    L->arr_bool0 = b.n;
    w_u8(&b, 0); w_u8(&b, 1); w_u8(&b, 1);
    w_key(&b, "test.empty", GGUF_TYPE_ARRAY);   w_u32(&b, GGUF_TYPE_FLOAT64); w_u64(&b, 0);
    w_key(&b, "test.arr_f32", GGUF_TYPE_ARRAY); w_u32(&b, GGUF_TYPE_FLOAT32); w_u64(&b, 2);
    w_f32(&b, 0.5f); w_f32(&b, -2.0f);
    if (o->dup_key) {
        w_key(&b, "test.u8", GGUF_TYPE_UINT8); w_u8(&b, 1);
    }

    uint64_t A = 64;
    if (o->align_kind == 1) {
        A = 32;
    }
    L->alignment = A;
    /* order of the tensors in the table and in the data section */
    int      order[N_T] = { 0, 1, 2 };
    if (o->i2s_last) {
        order[1] = 2;
        order[2] = 1;
    }
    const uint64_t bytes[N_T] = { 96, 160, 132 };
    uint64_t       off        = 0;
    for (int i = 0; i < N_T; i++) {
        int k = order[i];
        if (k == 1) {
            L->i2s_index = i;
        }
        const char * name = (o->dup_tensor && i == 2) ? TNAME[0] : TNAME[k];
        L->t_info[i]     = b.n;
        L->t_name_len[i] = b.n;
        w_str(&b, name);
        L->t_ndims[i] = b.n;
        L->t_ne[i]    = b.n + 4;
        if (k == 0) {
            w_u32(&b, 2); w_u64(&b, 8); w_u64(&b, 3);
        } else if (k == 1) {
            w_u32(&b, 2); w_u64(&b, 256); w_u64(&b, 2);
        } else {
            w_u32(&b, 3); w_u64(&b, 256); w_u64(&b, 2); w_u64(&b, 1);
        }
        L->t_type[i] = b.n;
        w_u32(&b, k == 0 ? ARIA_TYPE_F32 : k == 1 ? ARIA_TYPE_I2_S : ARIA_TYPE_TQ2_0);
        L->t_offset[i] = b.n;
        w_u64(&b, off);
        L->t_off[i]   = off;
        L->t_bytes[i] = bytes[k];
        off += bytes[k];
        off += (A - off % A) % A;
    }
    w_pad(&b, A);
    L->data_offset = b.n;
    for (int i = 0; i < N_T; i++) {
        while (b.n < L->data_offset + L->t_off[i]) {
            w_u8(&b, 0xEE);   /* gap padding */
        }
        int k = order[i];
        if (k == 0) {
            for (int j = 0; j < 24; j++) {
                w_f32(&b, (float) j);
            }
        } else {
            for (uint64_t j = 0; j < bytes[k]; j++) {
                w_u8(&b, (uint8_t) (j * 7 + (uint64_t) k));
            }
        }
    }
    return b;
}

/* ---- parse helpers ----------------------------------------------------------------------------- */

static char err[512];

/* Parses an exact-size heap copy of buf[0..n) so that ASan sees any read past the end. */
static int32_t parse_copy(const uint8_t * buf, size_t n, gguf_file ** out, uint8_t ** copy) {
    *copy = malloc(n ? n : 1);
    if (n) {
        memcpy(*copy, buf, n);
    }
    err[0] = '\0';
    return gguf_parse(*copy, n, out, err, sizeof(err));
}

static void expect_fail(const char * label, const uint8_t * buf, size_t n, int32_t status, const char * sub) {
    gguf_file * f    = (gguf_file *) 1;
    uint8_t *   copy = NULL;
    int32_t     rc   = parse_copy(buf, n, &f, &copy);
    check(rc == status && f == NULL && strstr(err, sub) != NULL && strstr(err, "Cannot parse GGUF: ") == err,
          "%s -> %d \"%s\" (want %d containing \"%s\")", label, rc, err, status, sub);
    gguf_free(rc == 0 ? f : NULL);
    free(copy);
}

/* Patches an n-byte little-endian value at pos of a copy of b and expects a failure. */
static void expect_patch(const char * label, const wbuf * b, size_t pos, uint64_t v, int n, int32_t status,
                         const char * sub) {
    uint8_t * p = malloc(b->n);
    memcpy(p, b->p, b->n);
    put_le(p + pos, v, n);
    expect_fail(label, p, b->n, status, sub);
    free(p);
}

static int in_buf(const uint8_t * buf, size_t n, const uint8_t * p, uint64_t len) {
    return p >= buf && p <= buf + n && len <= (uint64_t) (buf + n - p);
}

static uint64_t rd_le(const uint8_t * p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* ---- the valid file ---------------------------------------------------------------------------- */

static void test_valid(void) {
    opts   o = default_opts();
    layout L;
    wbuf   b = build(&o, &L);
    gguf_file * f;
    uint8_t *   copy;
    int32_t     rc = parse_copy(b.p, b.n, &f, &copy);
    if (!check(rc == 0 && f != NULL, "valid file (%zu bytes) parses: rc %d \"%s\"", b.n, rc, err)) {
        free(copy);
        free(b.p);
        return;
    }
    check(err[0] == '\0', "no message on success");
    check(f->version == 3, "version 3");
    check(f->alignment == 64, "alignment 64 from general.alignment");
    check(f->n_kv == 19, "19 key/value pairs (got %" PRIu64 ")", f->n_kv);
    check(f->n_tensors == 3, "3 tensors");
    check(f->data_offset == L.data_offset && f->data_offset % 64 == 0,
          "data section at %" PRIu64 " (want %" PRIu64 ")", f->data_offset, L.data_offset);
    check(f->kv[0].offset == 24, "first pair at offset 24");

    const gguf_kv * kv = gguf_find_kv(f, "general.architecture");
    check(kv && kv->type == GGUF_TYPE_STRING && kv->str_len == 12 && memcmp(kv->str, "bitnet-b1.58", 12) == 0 &&
              kv->str == copy + L.arch_str,
          "STRING general.architecture = \"bitnet-b1.58\", pointing into the buffer");
    kv = gguf_find_kv(f, "general.alignment");
    check(kv && kv->type == GGUF_TYPE_UINT32 && kv->v.u64 == 64, "UINT32 general.alignment = 64");
    kv = gguf_find_kv(f, "test.u8");
    check(kv && kv->type == GGUF_TYPE_UINT8 && kv->v.u64 == 200, "UINT8 = 200");
    kv = gguf_find_kv(f, "test.i8");
    check(kv && kv->type == GGUF_TYPE_INT8 && kv->v.i64 == -100, "INT8 = -100 (sign-extended)");
    kv = gguf_find_kv(f, "test.u16");
    check(kv && kv->type == GGUF_TYPE_UINT16 && kv->v.u64 == 60000, "UINT16 = 60000");
    kv = gguf_find_kv(f, "test.i16");
    check(kv && kv->type == GGUF_TYPE_INT16 && kv->v.i64 == -30000, "INT16 = -30000");
    kv = gguf_find_kv(f, "test.u32");
    check(kv && kv->type == GGUF_TYPE_UINT32 && kv->v.u64 == 4000000000u, "UINT32 = 4000000000");
    kv = gguf_find_kv(f, "test.i32");
    check(kv && kv->type == GGUF_TYPE_INT32 && kv->v.i64 == -2000000000, "INT32 = -2000000000");
    kv = gguf_find_kv(f, "test.f32");
    check(kv && kv->type == GGUF_TYPE_FLOAT32 && kv->v.f64 == 1.5, "FLOAT32 = 1.5");
    kv = gguf_find_kv(f, "test.bool");
    check(kv && kv->type == GGUF_TYPE_BOOL && kv->v.u64 == 1, "BOOL = true");
    kv = gguf_find_kv(f, "test.u64");
    check(kv && kv->type == GGUF_TYPE_UINT64 && kv->v.u64 == UINT64_MAX, "UINT64 = 2^64-1");
    kv = gguf_find_kv(f, "test.i64");
    check(kv && kv->type == GGUF_TYPE_INT64 && kv->v.i64 == -(INT64_C(1) << 40), "INT64 = -2^40");
    kv = gguf_find_kv(f, "test.f64");
    check(kv && kv->type == GGUF_TYPE_FLOAT64 && kv->v.f64 == 3.25e100, "FLOAT64 = 3.25e100");

    kv = gguf_find_kv(f, "test.arr_u32");
    int ok = kv && kv->type == GGUF_TYPE_ARRAY && kv->arr_type == GGUF_TYPE_UINT32 && kv->arr_n == 4;
    for (int i = 0; ok && i < 4; i++) {
        ok = rd_le(kv->arr_data + 4 * i, 4) == (uint64_t) (11 * (i + 1));
    }
    check(ok, "ARRAY of UINT32 [11, 22, 33, 44]");
    kv = gguf_find_kv(f, "test.arr_str");
    ok = kv && kv->type == GGUF_TYPE_ARRAY && kv->arr_type == GGUF_TYPE_STRING && kv->arr_n == 3;
    if (ok) {
        const uint8_t * p    = kv->arr_data;
        const char *    want[3] = { "a", "", "hello" };
        for (int i = 0; ok && i < 3; i++) {
            uint64_t len = rd_le(p, 8);
            ok = len == strlen(want[i]) && memcmp(p + 8, want[i], len) == 0;
            p += 8 + len;
        }
    }
    check(ok, "ARRAY of STRING [\"a\", \"\", \"hello\"]");
    kv = gguf_find_kv(f, "test.arr_nested");
    check(kv && kv->arr_type == GGUF_TYPE_ARRAY && kv->arr_n == 3 && rd_le(kv->arr_data, 4) == GGUF_TYPE_INT16 &&
              rd_le(kv->arr_data + 4, 8) == 2,
          "ARRAY of ARRAY (3 nested arrays: INT16, STRING, empty FLOAT32)");
    kv = gguf_find_kv(f, "test.arr_bool");
    check(kv && kv->arr_type == GGUF_TYPE_BOOL && kv->arr_n == 3 && kv->arr_data[1] == 1, "ARRAY of BOOL");
    kv = gguf_find_kv(f, "test.empty");
    check(kv && kv->arr_type == GGUF_TYPE_FLOAT64 && kv->arr_n == 0, "empty ARRAY of FLOAT64");
    kv = gguf_find_kv(f, "test.arr_f32");
    float x;
    memcpy(&x, kv ? kv->arr_data + 4 : (const uint8_t *) "", kv ? 4 : 0);
    check(kv && kv->arr_type == GGUF_TYPE_FLOAT32 && kv->arr_n == 2 && x == -2.0f, "ARRAY of FLOAT32 [0.5, -2]");
    check(gguf_find_kv(f, "test.missing") == NULL && gguf_find_kv(f, "") == NULL, "absent key -> NULL");

    /* getters */
    int64_t i64 = 0;
    double  d   = 0;
    int     bo  = -1;
    char    s[64];
    check(gguf_get_int(f, "test.u8", &i64) == 1 && i64 == 200, "get_int UINT8 -> 200");
    check(gguf_get_int(f, "test.i32", &i64) == 1 && i64 == -2000000000, "get_int INT32 -> -2000000000");
    check(gguf_get_int(f, "test.u32", &i64) == 1 && i64 == 4000000000, "get_int UINT32 -> 4000000000");
    check(gguf_get_int(f, "test.i64", &i64) == 1 && i64 == -(INT64_C(1) << 40), "get_int INT64");
    check(gguf_get_int(f, "test.u64", &i64) == -1, "get_int UINT64 2^64-1 -> -1 (does not fit)");
    check(gguf_get_int(f, "test.f32", &i64) == -1, "get_int FLOAT32 -> -1");
    check(gguf_get_int(f, "general.architecture", &i64) == -1, "get_int STRING -> -1");
    check(gguf_get_int(f, "nope", &i64) == 0, "get_int absent -> 0");
    check(gguf_get_float(f, "test.f32", &d) == 1 && d == 1.5, "get_float FLOAT32 -> 1.5");
    check(gguf_get_float(f, "test.f64", &d) == 1 && d == 3.25e100, "get_float FLOAT64");
    check(gguf_get_float(f, "test.i16", &d) == 1 && d == -30000.0, "get_float INT16 -> -30000");
    check(gguf_get_float(f, "test.u16", &d) == 1 && d == 60000.0, "get_float UINT16 -> 60000");
    check(gguf_get_float(f, "test.bool", &d) == -1, "get_float BOOL -> -1");
    check(gguf_get_float(f, "nope", &d) == 0, "get_float absent -> 0");
    check(gguf_get_bool(f, "test.bool", &bo) == 1 && bo == 1, "get_bool BOOL -> 1");
    check(gguf_get_bool(f, "test.i8", &bo) == 1 && bo == 1, "get_bool INT8 -> 1");
    check(gguf_get_bool(f, "test.f32", &bo) == -1, "get_bool FLOAT32 -> -1");
    check(gguf_get_bool(f, "nope", &bo) == 0, "get_bool absent -> 0");
    check(gguf_get_str(f, "general.architecture", s, sizeof(s)) == 1 && strcmp(s, "bitnet-b1.58") == 0,
          "get_str -> \"bitnet-b1.58\"");
    check(gguf_get_str(f, "general.architecture", s, 4) == 1 && strcmp(s, "bit") == 0, "get_str truncates to cap");
    check(gguf_get_str(f, "test.u8", s, sizeof(s)) == -1, "get_str UINT8 -> -1");
    check(gguf_get_str(f, "test.arr_str", s, sizeof(s)) == -1, "get_str ARRAY -> -1");
    check(gguf_get_str(f, "nope", s, sizeof(s)) == 0, "get_str absent -> 0");

    /* tensors */
    const gguf_tensor * t = gguf_find_tensor(f, "token_embd.weight");
    ok = t && t->n_dims == 2 && t->ne[0] == 8 && t->ne[1] == 3 && t->ne[2] == 1 && t->ne[3] == 1 &&
         t->type == ARIA_TYPE_F32 && t->offset == 0 && t->n_bytes == 96 && t->data == copy + L.data_offset;
    if (ok) {
        for (int j = 0; ok && j < 24; j++) {
            memcpy(&x, t->data + 4 * j, 4);
            ok = x == (float) j;
        }
    }
    check(ok, "F32 token_embd.weight [8, 3], 96 bytes at data+0, values 0..23");
    t = gguf_find_tensor(f, "blk.0.attn_q.weight");
    check(t && t->n_dims == 2 && t->ne[0] == 256 && t->ne[1] == 2 && t->ne[2] == 1 && t->type == ARIA_TYPE_I2_S &&
              t->offset == 128 && t->n_bytes == 512 / 4 + 32 && t->data == copy + L.data_offset + 128 &&
              t->data[5] == (uint8_t) (5 * 7 + 1),
          "I2_S blk.0.attn_q.weight [256, 2], n/4 + 32 = 160 bytes at data+128");
    t = gguf_find_tensor(f, "blk.0.ffn_up.weight");
    check(t && t->n_dims == 3 && t->ne[0] == 256 && t->ne[1] == 2 && t->ne[2] == 1 && t->ne[3] == 1 &&
              t->type == ARIA_TYPE_TQ2_0 && t->offset == 320 && t->n_bytes == 132 &&
              t->data == copy + L.data_offset + 320,
          "TQ2_0 blk.0.ffn_up.weight [256, 2, 1], 2 x 66 = 132 bytes at data+320");
    check(f->tensors[0].data + 96 <= copy + b.n && f->tensors[2].data + 132 == copy + b.n,
          "last tensor ends exactly at the end of the file");
    check(gguf_find_tensor(f, "output.weight") == NULL, "absent tensor -> NULL");
    gguf_free(f);
    free(copy);

    /* version 2 and default alignment */
    o.version = 2;
    o.align_kind = 1;
    wbuf b2 = build(&o, &L);
    rc = parse_copy(b2.p, b2.n, &f, &copy);
    check(rc == 0 && f->version == 2 && f->alignment == 32 && f->n_kv == 18 && f->data_offset % 32 == 0 &&
              f->tensors[1].offset == 96 && f->tensors[2].offset == 256,
          "version 2 without general.alignment: alignment 32, offsets 0/96/256 (rc %d \"%s\")", rc, err);
    gguf_free(f);
    free(copy);
    free(b2.p);

    /* the smallest file: header only */
    uint8_t hdr[24];
    memcpy(hdr, "GGUF", 4);
    put_le(hdr + 4, 3, 4);
    put_le(hdr + 8, 0, 8);
    put_le(hdr + 16, 0, 8);
    rc = parse_copy(hdr, sizeof(hdr), &f, &copy);
    check(rc == 0 && f->n_kv == 0 && f->n_tensors == 0 && f->kv == NULL && f->tensors == NULL,
          "24-byte file with no pairs and no tensors parses");
    gguf_free(f);
    free(copy);

    /* argument checks and message buffers */
    rc = gguf_parse(b.p, b.n, NULL, err, sizeof(err));
    check(rc == ARIA_STATUS_INVALID_ARG && err[0] != '\0', "out == NULL -> INVALID_ARG \"%s\"", err);
    rc = gguf_parse(NULL, 10, &f, err, sizeof(err));
    check(rc == ARIA_STATUS_INVALID_ARG && f == NULL, "buf == NULL with size 10 -> INVALID_ARG \"%s\"", err);
    rc = gguf_parse(NULL, 0, &f, err, sizeof(err));
    check(rc == ARIA_STATUS_BAD_FORMAT && f == NULL && strstr(err, "file is truncated") != NULL,
          "empty buffer -> BAD_FORMAT \"%s\"", err);
    char small[8];
    memset(small, 'Z', sizeof(small));
    rc = gguf_parse((const uint8_t *) "GGUX....", 8, &f, small, 8);
    check(rc == ARIA_STATUS_BAD_FORMAT && small[7] == '\0' && strcmp(small, "Cannot ") == 0,
          "message truncated to err_cap 8: \"%s\"", small);
    rc = gguf_parse((const uint8_t *) "GGUX....", 8, &f, NULL, 0);
    check(rc == ARIA_STATUS_BAD_FORMAT && f == NULL, "err == NULL is allowed");
    gguf_free(NULL);
    check(1, "gguf_free(NULL) is a no-op");
    free(b.p);
}

/* ---- negative cases ---------------------------------------------------------------------------- */

static void test_negative(void) {
    opts   o = default_opts();
    layout L;
    wbuf   b = build(&o, &L);
    const int32_t BAD = ARIA_STATUS_BAD_FORMAT, UNS = ARIA_STATUS_UNSUPPORTED;

    expect_patch("bad magic", &b, 0, 'X', 1, BAD, "bad magic");
    expect_patch("version 1", &b, L.version, 1, 4, UNS, "version 1 is not supported");
    expect_patch("version 4", &b, L.version, 4, 4, UNS, "version 4 is not supported");
    expect_patch("version 0", &b, L.version, 0, 4, BAD, "big-endian or corrupt");
    expect_patch("version 3 big-endian", &b, L.version, 0x03000000, 4, BAD, "big-endian or corrupt");

    /* truncation at every byte */
    int      bad = 0;
    size_t   first_bad = 0;
    char     first_msg[512] = "";
    for (size_t n = 0; n < b.n; n++) {
        gguf_file * f = (gguf_file *) 1;
        uint8_t *   copy;
        int32_t     rc = parse_copy(b.p, n, &f, &copy);
        if (rc != BAD || f != NULL || strstr(err, "truncated") == NULL) {
            if (!bad++) {
                first_bad = n;
                snprintf(first_msg, sizeof(first_msg), "rc %d \"%.400s\"", rc, err);
            }
            if (rc == 0) {
                gguf_free(f);
            }
        }
        free(copy);
    }
    check(bad == 0, "truncated at every length 0..%zu: all BAD_FORMAT saying \"truncated\" (%d wrong, first at %zu: %s)",
          b.n - 1, bad, first_bad, first_msg);
    {
        gguf_file * f;
        uint8_t *   copy;
        parse_copy(b.p, L.t_info[1] + 3, &f, &copy);
        check(strstr(err, "file is truncated") != NULL && strstr(err, "at offset") != NULL,
              "a truncated tensor table names where: \"%s\"", err);
        free(copy);
    }

    expect_patch("huge string length", &b, L.arch_len, UINT64_MAX - 15, 8, BAD, "file is truncated");
    expect_patch("huge key length", &b, L.key0_len, UINT64_C(1) << 63, 8, BAD, "key length 9223372036854775808");
    expect_patch("empty key", &b, L.key0_len, 0, 8, BAD, "a key is empty at offset 24");
    expect_patch("unknown value type 13", &b, L.u8_type, 13, 4, BAD, "key \"test.u8\" has unknown value type 13");
    expect_patch("huge array count", &b, L.arr_u32_count, UINT64_C(1) << 62, 8, BAD,
                 "array \"test.arr_u32\" of 4611686018427387904 UINT32");
    expect_patch("array count past the end", &b, L.arr_u32_count, 1000, 8, BAD, "truncated");
    expect_patch("huge string array count", &b, L.arr_str_count, UINT64_MAX, 8, BAD,
                 "array \"test.arr_str\" of 18446744073709551615 strings cannot fit");
    expect_patch("string array count one too many", &b, L.arr_str_count, 4, 8, BAD, "");
    expect_patch("huge tensor count", &b, L.n_tensors, UINT64_C(1) << 40, 8, BAD, "1099511627776 tensors");
    expect_patch("huge key/value count", &b, L.n_kv, UINT64_MAX, 8, BAD,
                 "18446744073709551615 key/value pairs cannot fit");
    expect_patch("bad bool 2", &b, L.bool_val, 2, 1, BAD, "key \"test.bool\" has bool value 2");
    expect_patch("bad bool in an array", &b, L.arr_bool0, 0x80, 1, BAD, "array \"test.arr_bool\" has bool value 128");
    expect_patch("n_dims 5", &b, L.t_ndims[0], 5, 4, BAD, "tensor \"token_embd.weight\" has n_dims 5");
    expect_patch("n_dims 0", &b, L.t_ndims[0], 0, 4, BAD, "has n_dims 0");
    expect_patch("ne 0", &b, L.t_ne[1], 0, 8, BAD, "tensor \"blk.0.attn_q.weight\" has ne[0] = 0");
    expect_patch("ne negative", &b, L.t_ne[0] + 8, UINT64_MAX, 8, BAD, "has ne[1] = -1");
    expect_patch("ne product > 2^48", &b, L.t_ne[0] + 8, UINT64_C(1) << 46, 8, BAD, "at most 2^48 elements");
    expect_patch("type 39", &b, L.t_type[1], 39, 4, UNS,
                 "tensor \"blk.0.attn_q.weight\" has type 39 (TL2 (bitnet.cpp) or MXFP4), "
                 "which libbitnet does not support");
    expect_patch("type 38", &b, L.t_type[1], 38, 4, UNS, "has type 38 (TL1 (bitnet.cpp))");
    expect_patch("type 200", &b, L.t_type[0], 200, 4, UNS, "tensor \"token_embd.weight\" has type 200");
    expect_patch("type 0xFFFFFFFF", &b, L.t_type[0], 0xFFFFFFFFu, 4, UNS, "has type 4294967295");
    expect_patch("ne[0] not a multiple of the block", &b, L.t_ne[2], 128, 8, BAD,
                 "tensor \"blk.0.ffn_up.weight\" has ne[0] = 128, not a multiple of");
    expect_patch("offset not aligned", &b, L.t_offset[1], 160, 8, BAD,
                 "tensor \"blk.0.attn_q.weight\" has offset 160, not a multiple of the alignment 64");
    expect_patch("tensor outside the file", &b, L.t_offset[2], 1 << 20, 8, BAD,
                 "tensor \"blk.0.ffn_up.weight\" (offset 1048576");
    expect_patch("tensor outside the file says so", &b, L.t_offset[2], 1 << 20, 8, BAD, "lies outside the file");
    expect_patch("tensor offset near 2^64", &b, L.t_offset[0], UINT64_MAX - 63, 8, BAD, "lies outside the file");
    expect_patch("tensor one alignment too far", &b, L.t_offset[2], 384, 8, BAD, "lies outside the file");
    expect_patch("tensor name length 64", &b, L.t_name_len[0], 64, 8, BAD, "tensor name length 64 is not in 1..63");
    expect_patch("tensor name length 0", &b, L.t_name_len[0], 0, 8, BAD, "tensor name length 0");
    expect_patch("NUL in a tensor name", &b, L.t_name_len[0] + 8 + 3, 0, 1, BAD, "contains a NUL byte");
    free(b.p);

    o = default_opts();
    o.dup_key = 1;
    b = build(&o, &L);
    expect_fail("duplicate key", b.p, b.n, BAD, "duplicate key \"test.u8\"");
    free(b.p);
    o = default_opts();
    o.dup_tensor = 1;
    b = build(&o, &L);
    expect_fail("duplicate tensor", b.p, b.n, BAD, "duplicate tensor \"token_embd.weight\"");
    free(b.p);
    const uint64_t bad_align[3] = { 0, 3, 48 };
    for (int i = 0; i < 3; i++) {
        o = default_opts();
        o.align_val = bad_align[i];
        b = build(&o, &L);
        char label[64];
        snprintf(label, sizeof(label), "alignment %" PRIu64, bad_align[i]);
        expect_fail(label, b.p, b.n, BAD, "not a non-zero power of two");
        free(b.p);
    }
    o = default_opts();
    o.align_kind = 2;
    b = build(&o, &L);
    expect_fail("alignment UINT64-typed", b.p, b.n, BAD, "\"general.alignment\" must be UINT32, not UINT64");
    free(b.p);

    /* arrays nested 9 deep (limit 8) and exactly 8 deep */
    for (int depth = 8; depth <= 9; depth++) {
        wbuf n = { 0 };
        w_bytes(&n, "GGUF", 4); w_u32(&n, 3); w_u64(&n, 0); w_u64(&n, 1);
        w_key(&n, "deep", GGUF_TYPE_ARRAY);
        for (int i = 1; i < depth; i++) {
            w_u32(&n, GGUF_TYPE_ARRAY); w_u64(&n, 1);
        }
        w_u32(&n, GGUF_TYPE_UINT8); w_u64(&n, 1); w_u8(&n, 9);
        if (depth == 9) {
            expect_fail("arrays nested 9 deep", n.p, n.n, BAD, "nests arrays more than 8 deep");
        } else {
            gguf_file * f;
            uint8_t *   copy;
            int32_t     rc = parse_copy(n.p, n.n, &f, &copy);
            check(rc == 0 && f->kv[0].arr_type == GGUF_TYPE_ARRAY, "arrays nested 8 deep parse (rc %d \"%s\")", rc,
                  err);
            gguf_free(f);
            free(copy);
        }
        free(n.p);
    }

    /* I2_S as the last tensor: its 32-byte tail may be partly missing, not its scale */
    o = default_opts();
    o.i2s_last = 1;
    b = build(&o, &L);
    for (int cut = 0; cut <= 29; cut += 1) {
        gguf_file * f;
        uint8_t *   copy;
        int32_t     rc = parse_copy(b.p, b.n - (size_t) cut, &f, &copy);
        if (cut <= 28) {
            const gguf_tensor * t = rc == 0 ? &f->tensors[L.i2s_index] : NULL;
            if (cut == 0 || cut == 28) {
                check(rc == 0 && t->type == ARIA_TYPE_I2_S && t->n_bytes == 160u - (unsigned) cut &&
                          t->data + t->n_bytes == copy + b.n - cut,
                      "I2_S last, %d tail bytes cut: accepted, n_bytes %" PRIu64 " (rc %d \"%s\")", cut,
                      t ? t->n_bytes : 0, rc, err);
            } else if (rc != 0 || t->data + t->n_bytes != copy + b.n - cut) {
                check(0, "I2_S last, %d tail bytes cut: rc %d \"%s\"", cut, rc, err);
            }
            gguf_free(f);
        } else {
            check(rc == ARIA_STATUS_BAD_FORMAT && strstr(err, "tensor \"blk.0.attn_q.weight\"") != NULL,
                  "I2_S last, 29 bytes cut (scale incomplete): BAD_FORMAT \"%s\"", err);
        }
        free(copy);
    }
    free(b.p);
}

/* ---- fuzz -------------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void) {   /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static uint64_t rng_below(uint64_t n) {
    return n ? rng() % n : 0;
}

/* Checks everything a successful parse promises about where its pointers lie. */
static int valid_result(const gguf_file * f, const uint8_t * buf, size_t n, char * why, size_t cap) {
    if (f->alignment == 0 || (f->alignment & (f->alignment - 1)) != 0) {
        snprintf(why, cap, "alignment %" PRIu64, f->alignment);
        return 0;
    }
    for (uint64_t i = 0; i < f->n_kv; i++) {
        const gguf_kv * kv = &f->kv[i];
        if (kv->key == NULL || kv->key[0] == '\0' || kv->type < 0 || kv->type > GGUF_TYPE_FLOAT64) {
            snprintf(why, cap, "pair %" PRIu64 " key/type", i);
            return 0;
        }
        if (kv->type == GGUF_TYPE_STRING && !in_buf(buf, n, kv->str, kv->str_len)) {
            snprintf(why, cap, "string \"%s\" outside the buffer", kv->key);
            return 0;
        }
        if (kv->type == GGUF_TYPE_ARRAY && !in_buf(buf, n, kv->arr_data, 0)) {
            snprintf(why, cap, "array \"%s\" outside the buffer", kv->key);
            return 0;
        }
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor * t = &f->tensors[i];
        size_t              len = strnlen(t->name, GGUF_MAX_NAME);
        if (len == 0 || len >= GGUF_MAX_NAME || t->n_dims < 1 || t->n_dims > 4 || t->n_bytes == 0 ||
            !in_buf(buf, n, t->data, t->n_bytes) || t->data != buf + f->data_offset + t->offset ||
            t->offset % f->alignment != 0) {
            snprintf(why, cap, "tensor %" PRIu64 " outside the buffer or malformed", i);
            return 0;
        }
        for (int d = 0; d < 4; d++) {
            if (t->ne[d] < 1) {
                snprintf(why, cap, "tensor %" PRIu64 " ne[%d] = %" PRId64, i, d, t->ne[d]);
                return 0;
            }
        }
    }
    return 1;
}

static void test_fuzz(int iters) {
    opts   o = default_opts();
    layout L;
    wbuf   base[2];
    size_t hdr_end[2];
    base[0] = build(&o, &L);
    hdr_end[0] = L.data_offset;
    o.i2s_last = 1;
    base[1] = build(&o, &L);
    hdr_end[1] = L.data_offset;

    static const uint8_t special[4] = { 0x00, 0xFF, 0x7F, 0x80 };
    int      n_ok = 0, n_bad = 0, n_unsup = 0, wrong = 0;
    char     first[600] = "";
    size_t   cap = base[0].n + 256;
    uint8_t * m  = malloc(cap);
    for (int it = 0; it < iters; it++) {
        int    which = (int) rng_below(2);
        size_t n     = base[which].n;
        memcpy(m, base[which].p, n);
        int n_mut = 1 + (int) rng_below(4);
        for (int k = 0; k < n_mut && n > 0; k++) {
            /* mostly hit the header and tables, where the parser looks */
            size_t span = rng_below(5) ? (hdr_end[which] < n ? hdr_end[which] : n) : n;
            size_t pos  = rng_below(span);
            switch (rng_below(6)) {
                case 0: m[pos] ^= (uint8_t) (1u << rng_below(8)); break;
                case 1: m[pos] = special[rng_below(4)]; break;
                case 2: m[pos] = (uint8_t) rng(); break;
                case 3: n = rng_below(n + 1); break;
                case 4: {
                    size_t ins = 1 + rng_below(8);
                    if (n + ins <= cap) {
                        memmove(m + pos + ins, m + pos, n - pos);
                        for (size_t j = 0; j < ins; j++) {
                            m[pos + j] = (uint8_t) rng();
                        }
                        n += ins;
                    }
                    break;
                }
                case 5: {   /* a length-like field: 8 bytes of a small or huge value */
                    static const uint64_t vals[6] = { 0, 1, 64, UINT64_C(1) << 31, UINT64_C(1) << 63, UINT64_MAX };
                    if (pos + 8 <= n) {
                        put_le(m + pos, vals[rng_below(6)] + rng_below(3), 8);
                    }
                    break;
                }
            }
        }
        gguf_file * f;
        uint8_t *   copy;
        int32_t     rc = parse_copy(m, n, &f, &copy);
        char        why[200] = "";
        int         good;
        if (rc == 0) {
            good = f != NULL && valid_result(f, copy, n, why, sizeof(why));
            n_ok++;
            gguf_free(f);
        } else {
            good = rc < 0 && f == NULL && err[0] != '\0' &&
                   (rc == ARIA_STATUS_BAD_FORMAT || rc == ARIA_STATUS_UNSUPPORTED);
            snprintf(why, sizeof(why), "rc %d \"%.150s\"", rc, err);
            if (rc == ARIA_STATUS_UNSUPPORTED) {
                n_unsup++;
            } else {
                n_bad++;
            }
        }
        if (!good && !wrong++) {
            snprintf(first, sizeof(first), "iteration %d: %s", it, why);
        }
        free(copy);
    }
    check(wrong == 0, "fuzz: %d mutated files: %d accepted (all tensors inside), %d BAD_FORMAT, %d UNSUPPORTED, "
                      "%d wrong%s%s",
          iters, n_ok, n_bad, n_unsup, wrong, wrong ? ", first: " : "", first);
    free(m);
    free(base[0].p);
    free(base[1].p);
}

int main(int argc, char ** argv) {
    int iters = argc > 1 ? atoi(argv[1]) : 20000;
    test_valid();
    test_negative();
    test_fuzz(iters);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 ? 0 : 1;
}
