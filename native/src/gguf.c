/*
 * gguf.c — bounds-checked GGUF v2/v3 reader over a byte buffer (see gguf.h; layout facts in
 * docs/formats.md §1, I2_S sizes in §3.1 and §6).
 *
 * Every length, count and offset in the file is attacker-controlled. The rules this file keeps:
 *  - the read position never exceeds size, and every read first checks `n <= size - pos`
 *    (never `pos + n <= size`, which can overflow);
 *  - a count is checked against the bytes left (count x smallest possible element) before
 *    anything is allocated for it;
 *  - every error path goes through fail(), which writes "Cannot parse GGUF: <what> at offset <n>"
 *    and returns the status; the partly built gguf_file is freed by the one caller of parse_all.
 */
#include "gguf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"
#include "kernels.h"

#define GGUF_MAGIC             "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_KEY_LEN       65535           /* formats.md §1.1 */
#define GGUF_MAX_ARRAY_DEPTH   8               /* nested arrays deeper than this are refused */
#define GGUF_MAX_ELEMS         (1ull << 48)    /* elements of one tensor */

/* Smallest encodings, used to cap counts before allocating: a key/value pair is a key of at least
 * one byte (8 + 1), a value type (4) and a value of at least one byte; a tensor info is a name of
 * at least one byte (8 + 1), n_dims (4), one dim (8), a type (4) and an offset (8). */
#define GGUF_MIN_KV_BYTES      (8 + 1 + 4 + 1)
#define GGUF_MIN_TENSOR_BYTES  (8 + 1 + 4 + 8 + 4 + 8)

typedef struct reader {
    const uint8_t * buf;
    uint64_t        size;
    uint64_t        pos;      /* invariant: pos <= size */
    char *          err;
    size_t          err_cap;
} reader;

static const char * value_type_name(uint32_t t) {
    static const char * names[] = {
        "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
        "BOOL",  "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
    };
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

/* Bytes of one scalar value of type t; 0 for STRING, ARRAY and unknown types. */
static uint64_t scalar_size(uint32_t t) {
    switch (t) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL:      return 1;
        case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16:                         return 2;
        case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
        case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
        default:                                                             return 0;
    }
}

static void set_err(char * err, size_t cap, const char * fmt, va_list ap) {
    if (err == NULL || cap == 0) {
        return;
    }
    static const char prefix[] = "Cannot parse GGUF: ";
    size_t n = sizeof(prefix) - 1;
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(err, prefix, n);
    err[n] = '\0';
    if (n + 1 < cap) {
        vsnprintf(err + n, cap - n, fmt, ap);
    }
}

__attribute__((format(printf, 3, 4)))
static int32_t fail(reader * r, int32_t status, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_err(r->err, r->err_cap, fmt, ap);
    va_end(ap);
    return status;
}

static uint64_t remaining(const reader * r) {
    return r->size - r->pos;
}

/* Checks that n more bytes can be read at the current position. */
static int32_t need(reader * r, uint64_t n, const char * what) {
    if (n > remaining(r)) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "file is truncated: %s needs %" PRIu64 " bytes at offset %" PRIu64
                    " but the file has %" PRIu64 " bytes",
                    what, n, r->pos, r->size);
    }
    return 0;
}

static uint64_t load_le(const uint8_t * p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static int32_t read_u32(reader * r, uint32_t * out, const char * what) {
    int32_t rc = need(r, 4, what);
    if (rc != 0) {
        return rc;
    }
    *out = (uint32_t) load_le(r->buf + r->pos, 4);
    r->pos += 4;
    return 0;
}

static int32_t read_u64(reader * r, uint64_t * out, const char * what) {
    int32_t rc = need(r, 8, what);
    if (rc != 0) {
        return rc;
    }
    *out = load_le(r->buf + r->pos, 8);
    r->pos += 8;
    return 0;
}

/* A gguf string: uint64 length + bytes. Sets *data to the bytes in the buffer. */
static int32_t read_str(reader * r, const uint8_t ** data, uint64_t * len, const char * what) {
    int32_t rc = read_u64(r, len, what);
    if (rc != 0) {
        return rc;
    }
    rc = need(r, *len, what);
    if (rc != 0) {
        return rc;
    }
    *data = r->buf + r->pos;
    r->pos += *len;
    return 0;
}

/* Reads one scalar of type t (not STRING / ARRAY) into kv->v, widened. */
static int32_t read_scalar(reader * r, uint32_t t, gguf_kv * kv) {
    uint64_t sz  = scalar_size(t);
    uint64_t at  = r->pos;
    int32_t  rc  = need(r, sz, "a value");
    if (rc != 0) {
        return rc;
    }
    uint64_t raw = load_le(r->buf + r->pos, (int) sz);
    r->pos += sz;
    switch (t) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
            kv->v.u64 = raw;
            break;
        case GGUF_TYPE_INT8:  kv->v.i64 = (int8_t) (uint8_t) raw;   break;
        case GGUF_TYPE_INT16: kv->v.i64 = (int16_t) (uint16_t) raw; break;
        case GGUF_TYPE_INT32: kv->v.i64 = (int32_t) (uint32_t) raw; break;
        case GGUF_TYPE_INT64: kv->v.i64 = (int64_t) raw;            break;
        case GGUF_TYPE_FLOAT32: {
            uint32_t bits = (uint32_t) raw;
            float    f;
            memcpy(&f, &bits, sizeof(f));
            kv->v.f64 = f;
            break;
        }
        case GGUF_TYPE_FLOAT64: {
            double d;
            memcpy(&d, &raw, sizeof(d));
            kv->v.f64 = d;
            break;
        }
        case GGUF_TYPE_BOOL:
            if (raw > 1) {
                return fail(r, ARIA_STATUS_BAD_FORMAT,
                            "key \"%s\" has bool value %" PRIu64 " (must be 0 or 1) at offset %" PRIu64,
                            kv->key, raw, at);
            }
            kv->v.u64 = raw;
            break;
        default:
            return fail(r, ARIA_STATUS_INTERNAL, "read_scalar got type %u at offset %" PRIu64, t, at);
    }
    return 0;
}

/* Skips the n elements of an array of type t starting at the current position, validating them
 * (bools 0/1, every string length, nested arrays up to GGUF_MAX_ARRAY_DEPTH). */
static int32_t skip_array(reader * r, const char * key, uint32_t t, uint64_t n, int depth) {
    uint64_t at = r->pos;
    uint64_t sz = scalar_size(t);
    if (sz != 0) {
        if (n > remaining(r) / sz) {
            return fail(r, ARIA_STATUS_BAD_FORMAT,
                        "file is truncated or corrupt: array \"%s\" of %" PRIu64 " %s (%" PRIu64
                        " bytes each) cannot fit in the %" PRIu64 " bytes after offset %" PRIu64,
                        key, n, value_type_name(t), sz, remaining(r), at);
        }
        if (t == GGUF_TYPE_BOOL) {
            for (uint64_t i = 0; i < n; i++) {
                uint8_t b = r->buf[r->pos + i];
                if (b > 1) {
                    return fail(r, ARIA_STATUS_BAD_FORMAT,
                                "array \"%s\" has bool value %u (must be 0 or 1) at offset %" PRIu64,
                                key, b, r->pos + i);
                }
            }
        }
        r->pos += n * sz;
        return 0;
    }
    if (t == GGUF_TYPE_STRING) {
        if (n > remaining(r) / 8) {
            return fail(r, ARIA_STATUS_BAD_FORMAT,
                        "file is truncated or corrupt: array \"%s\" of %" PRIu64
                        " strings cannot fit in the %" PRIu64 " bytes after offset %" PRIu64,
                        key, n, remaining(r), at);
        }
        for (uint64_t i = 0; i < n; i++) {
            const uint8_t * s;
            uint64_t        len;
            int32_t         rc = read_str(r, &s, &len, "a string in an array");
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    if (t == GGUF_TYPE_ARRAY) {
        if (depth >= GGUF_MAX_ARRAY_DEPTH) {
            return fail(r, ARIA_STATUS_BAD_FORMAT,
                        "array \"%s\" nests arrays more than %d deep at offset %" PRIu64,
                        key, GGUF_MAX_ARRAY_DEPTH, at);
        }
        if (n > remaining(r) / 12) {
            return fail(r, ARIA_STATUS_BAD_FORMAT,
                        "file is truncated or corrupt: array \"%s\" of %" PRIu64
                        " arrays cannot fit in the %" PRIu64 " bytes after offset %" PRIu64,
                        key, n, remaining(r), at);
        }
        for (uint64_t i = 0; i < n; i++) {
            uint64_t sub_at = r->pos;
            uint32_t sub_t;
            uint64_t sub_n;
            int32_t  rc = read_u32(r, &sub_t, "a nested array's element type");
            if (rc == 0) {
                rc = read_u64(r, &sub_n, "a nested array's element count");
            }
            if (rc != 0) {
                return rc;
            }
            if (sub_t > GGUF_TYPE_FLOAT64) {
                return fail(r, ARIA_STATUS_BAD_FORMAT,
                            "array \"%s\" has a nested array of unknown element type %u at offset %" PRIu64,
                            key, sub_t, sub_at);
            }
            rc = skip_array(r, key, sub_t, sub_n, depth + 1);
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    return fail(r, ARIA_STATUS_BAD_FORMAT, "array \"%s\" has unknown element type %u at offset %" PRIu64,
                key, t, at);
}

/* Checks a key or tensor name before it is copied: not empty, no NUL byte inside. */
static int32_t check_name(reader * r, const uint8_t * s, uint64_t len, uint64_t at, const char * what) {
    if (len == 0) {
        return fail(r, ARIA_STATUS_BAD_FORMAT, "%s is empty at offset %" PRIu64, what, at);
    }
    if (memchr(s, 0, (size_t) len) != NULL) {
        return fail(r, ARIA_STATUS_BAD_FORMAT, "%s contains a NUL byte at offset %" PRIu64, what, at);
    }
    return 0;
}

static int32_t parse_kv(reader * r, gguf_kv * kv) {
    kv->offset = r->pos;
    const uint8_t * s;
    uint64_t        len;
    int32_t         rc = read_u64(r, &len, "a key length");
    if (rc != 0) {
        return rc;
    }
    if (len > GGUF_MAX_KEY_LEN) {
        return fail(r, ARIA_STATUS_BAD_FORMAT, "key length %" PRIu64 " exceeds %d at offset %" PRIu64,
                    len, GGUF_MAX_KEY_LEN, kv->offset);
    }
    rc = need(r, len, "a key");
    if (rc != 0) {
        return rc;
    }
    s = r->buf + r->pos;
    r->pos += len;
    rc = check_name(r, s, len, kv->offset, "a key");
    if (rc != 0) {
        return rc;
    }
    kv->key = malloc((size_t) len + 1);
    if (kv->key == NULL) {
        return fail(r, ARIA_STATUS_NO_MEMORY, "out of memory for a key at offset %" PRIu64, kv->offset);
    }
    memcpy(kv->key, s, (size_t) len);
    kv->key[len] = '\0';

    uint64_t type_at = r->pos;
    uint32_t t;
    rc = read_u32(r, &t, "a value type");
    if (rc != 0) {
        return rc;
    }
    if (t > GGUF_TYPE_FLOAT64) {
        return fail(r, ARIA_STATUS_BAD_FORMAT, "key \"%s\" has unknown value type %u at offset %" PRIu64,
                    kv->key, t, type_at);
    }
    kv->type = (int32_t) t;
    if (t == GGUF_TYPE_STRING) {
        return read_str(r, &kv->str, &kv->str_len, "a string value");
    }
    if (t == GGUF_TYPE_ARRAY) {
        uint64_t arr_at = r->pos;
        uint32_t et;
        rc = read_u32(r, &et, "an array's element type");
        if (rc == 0) {
            rc = read_u64(r, &kv->arr_n, "an array's element count");
        }
        if (rc != 0) {
            return rc;
        }
        if (et > GGUF_TYPE_FLOAT64) {
            return fail(r, ARIA_STATUS_BAD_FORMAT,
                        "key \"%s\" is an array of unknown element type %u at offset %" PRIu64,
                        kv->key, et, arr_at);
        }
        kv->arr_type = (int32_t) et;
        kv->arr_data = r->buf + r->pos;
        return skip_array(r, kv->key, et, kv->arr_n, 1);
    }
    return read_scalar(r, t, kv);
}

/* Sorting helpers for the duplicate checks (O(n log n): a file may hold many names). */
static int cmp_kv_ptr(const void * a, const void * b) {
    const gguf_kv * x = *(const gguf_kv * const *) a;
    const gguf_kv * y = *(const gguf_kv * const *) b;
    int c = strcmp(x->key, y->key);
    return c != 0 ? c : (x->offset < y->offset ? -1 : x->offset > y->offset);
}

typedef struct tensor_ref {
    const gguf_tensor * t;
    uint64_t            at;   /* offset of its info in the file */
} tensor_ref;

static int cmp_tensor_ref(const void * a, const void * b) {
    const tensor_ref * x = a;
    const tensor_ref * y = b;
    int c = strcmp(x->t->name, y->t->name);
    return c != 0 ? c : (x->at < y->at ? -1 : x->at > y->at);
}

static int32_t check_duplicate_keys(reader * r, const gguf_file * f) {
    if (f->n_kv < 2) {
        return 0;
    }
    const gguf_kv ** p = malloc((size_t) f->n_kv * sizeof(*p));
    if (p == NULL) {
        return fail(r, ARIA_STATUS_NO_MEMORY, "out of memory checking %" PRIu64 " keys at offset 24",
                    f->n_kv);
    }
    for (uint64_t i = 0; i < f->n_kv; i++) {
        p[i] = &f->kv[i];
    }
    qsort(p, (size_t) f->n_kv, sizeof(*p), cmp_kv_ptr);
    int32_t rc = 0;
    for (uint64_t i = 1; i < f->n_kv; i++) {
        if (strcmp(p[i - 1]->key, p[i]->key) == 0) {
            rc = fail(r, ARIA_STATUS_BAD_FORMAT,
                      "duplicate key \"%s\" at offset %" PRIu64 " (first at offset %" PRIu64 ")",
                      p[i]->key, p[i]->offset, p[i - 1]->offset);
            break;
        }
    }
    free(p);
    return rc;
}

static int32_t check_duplicate_tensors(reader * r, const gguf_file * f, const uint64_t * info_at) {
    if (f->n_tensors < 2) {
        return 0;
    }
    tensor_ref * p = malloc((size_t) f->n_tensors * sizeof(*p));
    if (p == NULL) {
        return fail(r, ARIA_STATUS_NO_MEMORY, "out of memory checking %" PRIu64 " tensor names",
                    f->n_tensors);
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        p[i].t  = &f->tensors[i];
        p[i].at = info_at[i];
    }
    qsort(p, (size_t) f->n_tensors, sizeof(*p), cmp_tensor_ref);
    int32_t rc = 0;
    for (uint64_t i = 1; i < f->n_tensors; i++) {
        if (strcmp(p[i - 1].t->name, p[i].t->name) == 0) {
            rc = fail(r, ARIA_STATUS_BAD_FORMAT,
                      "duplicate tensor \"%s\" at offset %" PRIu64 " (first at offset %" PRIu64 ")",
                      p[i].t->name, p[i].at, p[i - 1].at);
            break;
        }
    }
    free(p);
    return rc;
}

static int32_t read_alignment(reader * r, gguf_file * f) {
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv * kv = gguf_find_kv(f, "general.alignment");
    if (kv == NULL) {
        return 0;
    }
    if (kv->type != GGUF_TYPE_UINT32) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "key \"general.alignment\" must be UINT32, not %s, at offset %" PRIu64,
                    value_type_name((uint32_t) kv->type), kv->offset);
    }
    uint64_t a = kv->v.u64;
    if (a == 0 || (a & (a - 1)) != 0) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "key \"general.alignment\" is %" PRIu64 ", not a non-zero power of two, at offset %" PRIu64,
                    a, kv->offset);
    }
    f->alignment = a;
    return 0;
}

/* Describes a type id for messages: "39 (TL2 (bitnet.cpp) or MXFP4)", or "200" for an id nobody
 * named. */
static const char * type_label(uint32_t type, char * buf, size_t cap) {
    const char * name = type <= INT32_MAX ? aria_type_name_any((int32_t) type) : NULL;
    if (name != NULL) {
        snprintf(buf, cap, "%u (%s)", type, name);
    } else {
        snprintf(buf, cap, "%u", type);
    }
    return buf;
}

static int32_t parse_tensor_info(reader * r, const gguf_file * f, gguf_tensor * t, uint64_t at) {
    const uint8_t * s;
    uint64_t        len;
    int32_t         rc = read_u64(r, &len, "a tensor name length");
    if (rc != 0) {
        return rc;
    }
    if (len == 0 || len >= GGUF_MAX_NAME) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "tensor name length %" PRIu64 " is not in 1..%d at offset %" PRIu64,
                    len, GGUF_MAX_NAME - 1, at);
    }
    rc = need(r, len, "a tensor name");
    if (rc != 0) {
        return rc;
    }
    s = r->buf + r->pos;
    r->pos += len;
    rc = check_name(r, s, len, at, "a tensor name");
    if (rc != 0) {
        return rc;
    }
    memcpy(t->name, s, (size_t) len);
    t->name[len] = '\0';

    uint32_t n_dims;
    uint64_t dims_at = r->pos;
    rc = read_u32(r, &n_dims, "a tensor's n_dims");
    if (rc != 0) {
        return rc;
    }
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "tensor \"%s\" has n_dims %u (must be 1..%d) at offset %" PRIu64,
                    t->name, n_dims, GGUF_MAX_DIMS, dims_at);
    }
    t->n_dims = (int32_t) n_dims;
    uint64_t n_elems = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
    }
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne_at = r->pos;
        uint64_t ne;
        rc = read_u64(r, &ne, "a tensor dimension");
        if (rc != 0) {
            return rc;
        }
        if (ne == 0 || ne > GGUF_MAX_ELEMS / n_elems) {
            return fail(r, ARIA_STATUS_BAD_FORMAT,
                        "tensor \"%s\" has ne[%u] = %" PRId64 " (must be >= 1, at most 2^48 elements in all)"
                        " at offset %" PRIu64,
                        t->name, d, (int64_t) ne, ne_at);
        }
        t->ne[d] = (int64_t) ne;
        n_elems *= ne;
    }

    uint64_t type_at = r->pos;
    uint32_t type;
    rc = read_u32(r, &type, "a tensor type");
    if (rc != 0) {
        return rc;
    }
    int64_t block = type <= INT32_MAX ? aria_type_block_elems((int32_t) type) : 0;
    if (block <= 0) {
        char label[96];
        return fail(r, ARIA_STATUS_UNSUPPORTED,
                    "tensor \"%s\" has type %s, which libbitnet does not support, at offset %" PRIu64,
                    t->name, type_label(type, label, sizeof(label)), type_at);
    }
    t->type = (int32_t) type;
    if (t->ne[0] % block != 0) {
        const char * name = aria_type_name(t->type);
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "tensor \"%s\" has ne[0] = %" PRId64 ", not a multiple of %s's block of %" PRId64
                    " elements, at offset %" PRIu64,
                    t->name, t->ne[0], name != NULL ? name : "its type", block, at);
    }

    uint64_t off_at = r->pos;
    rc = read_u64(r, &t->offset, "a tensor offset");
    if (rc != 0) {
        return rc;
    }
    if (t->offset % f->alignment != 0) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "tensor \"%s\" has offset %" PRIu64 ", not a multiple of the alignment %" PRIu64
                    ", at offset %" PRIu64,
                    t->name, t->offset, f->alignment, off_at);
    }

    if (t->type == ARIA_TYPE_I2_S) {
        t->n_bytes = n_elems / 4 + 32;   /* codes, then one f32 scale in a 32-byte tail (§3.1) */
    } else {
        uint64_t row  = aria_type_row_bytes(t->type, t->ne[0]);
        uint64_t rows = n_elems / (uint64_t) t->ne[0];
        if (row == 0 || row > UINT64_MAX / rows) {
            return fail(r, ARIA_STATUS_INTERNAL,
                        "tensor \"%s\": no byte size for type %d at offset %" PRIu64, t->name, t->type, at);
        }
        t->n_bytes = row * rows;
    }
    return 0;
}

/* Places every tensor in the buffer. I2_S tensors may lack part of their 32-byte tail (one dump of
 * the official file has none, formats.md §6) as long as the f32 scale at n/4 is inside: their
 * n_bytes is then cut to what the file holds, so [data, data + n_bytes) is always in the buffer. */
static int32_t place_tensors(reader * r, gguf_file * f, const uint64_t * info_at) {
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor * t     = &f->tensors[i];
        uint64_t      avail = 0;   /* bytes from the tensor's start to the end of the file */
        if (f->data_offset <= r->size && t->offset <= r->size - f->data_offset) {
            avail = r->size - f->data_offset - t->offset;
        }
        uint64_t need_bytes = t->n_bytes;
        if (t->type == ARIA_TYPE_I2_S) {
            need_bytes = t->n_bytes - 32 + 4;
        }
        if (f->data_offset > r->size || t->offset > r->size - f->data_offset || need_bytes > avail) {
            return fail(r, ARIA_STATUS_BAD_FORMAT,
                        "tensor \"%s\" (offset %" PRIu64 " + %" PRIu64 " bytes in the data section at %" PRIu64
                        ") lies outside the file of %" PRIu64 " bytes: file is truncated or the offset is"
                        " corrupt (tensor info at offset %" PRIu64 ")",
                        t->name, t->offset, need_bytes, f->data_offset, r->size, info_at[i]);
        }
        if (t->n_bytes > avail) {
            t->n_bytes = avail;
        }
        t->data = r->buf + f->data_offset + t->offset;
    }
    return 0;
}

static int32_t parse_all(reader * r, gguf_file * f) {
    int32_t rc = need(r, 4, "the magic");
    if (rc != 0) {
        return rc;
    }
    if (memcmp(r->buf, GGUF_MAGIC, 4) != 0) {
        const uint8_t * m = r->buf;
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "bad magic %02x %02x %02x %02x (expected \"GGUF\") at offset 0", m[0], m[1], m[2], m[3]);
    }
    r->pos = 4;
    rc = read_u32(r, &f->version, "the version");
    if (rc != 0) {
        return rc;
    }
    if ((f->version & 0xFFFFu) == 0) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "version 0x%08x is big-endian or corrupt at offset 4", f->version);
    }
    if (f->version != 2 && f->version != 3) {
        return fail(r, ARIA_STATUS_UNSUPPORTED,
                    "version %u is not supported (only 2 and 3) at offset 4", f->version);
    }
    uint64_t n_tensors, n_kv;
    rc = read_u64(r, &n_tensors, "the tensor count");
    if (rc == 0) {
        rc = read_u64(r, &n_kv, "the key/value count");
    }
    if (rc != 0) {
        return rc;
    }
    /* Cap both counts by the bytes left before allocating for them. */
    uint64_t left = remaining(r);
    if (n_kv > left / GGUF_MIN_KV_BYTES) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "file is truncated or corrupt: %" PRIu64 " key/value pairs cannot fit in the %" PRIu64
                    " bytes after offset %" PRIu64 " (count at offset 16)",
                    n_kv, left, r->pos);
    }
    left -= n_kv * GGUF_MIN_KV_BYTES;
    if (n_tensors > left / GGUF_MIN_TENSOR_BYTES) {
        return fail(r, ARIA_STATUS_BAD_FORMAT,
                    "file is truncated or corrupt: %" PRIu64 " tensors (and %" PRIu64 " key/value pairs)"
                    " cannot fit in the %" PRIu64 " bytes after offset %" PRIu64 " (count at offset 8)",
                    n_tensors, n_kv, remaining(r), r->pos);
    }
    if (n_kv > SIZE_MAX / sizeof(gguf_kv) || n_tensors > SIZE_MAX / sizeof(gguf_tensor)) {
        return fail(r, ARIA_STATUS_NO_MEMORY, "counts too large for this machine at offset 8");
    }

    if (n_kv > 0) {
        f->kv = calloc((size_t) n_kv, sizeof(gguf_kv));
        if (f->kv == NULL) {
            return fail(r, ARIA_STATUS_NO_MEMORY, "out of memory for %" PRIu64 " key/value pairs", n_kv);
        }
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        f->n_kv = i + 1;   /* counts the pairs whose key gguf_free must release */
        rc = parse_kv(r, &f->kv[i]);
        if (rc != 0) {
            return rc;
        }
    }
    rc = check_duplicate_keys(r, f);
    if (rc == 0) {
        rc = read_alignment(r, f);
    }
    if (rc != 0) {
        return rc;
    }

    if (n_tensors == 0) {
        f->data_offset = r->pos + (f->alignment - r->pos % f->alignment) % f->alignment;
        if (f->data_offset < r->pos) {
            f->data_offset = UINT64_MAX;   /* unreachable for real sizes; no tensor to place */
        }
        return 0;
    }
    f->tensors = calloc((size_t) n_tensors, sizeof(gguf_tensor));
    uint64_t * info_at = calloc((size_t) n_tensors, sizeof(uint64_t));
    if (f->tensors == NULL || info_at == NULL) {
        free(info_at);
        return fail(r, ARIA_STATUS_NO_MEMORY, "out of memory for %" PRIu64 " tensors", n_tensors);
    }
    f->n_tensors = n_tensors;
    for (uint64_t i = 0; i < n_tensors && rc == 0; i++) {
        info_at[i] = r->pos;
        rc = parse_tensor_info(r, f, &f->tensors[i], info_at[i]);
    }
    if (rc == 0) {
        rc = check_duplicate_tensors(r, f, info_at);
    }
    if (rc == 0) {
        uint64_t pad = (f->alignment - r->pos % f->alignment) % f->alignment;
        if (pad > UINT64_MAX - r->pos) {
            rc = fail(r, ARIA_STATUS_BAD_FORMAT, "file is truncated: data section past offset %" PRIu64,
                      r->pos);
        } else {
            f->data_offset = r->pos + pad;
            rc = place_tensors(r, f, info_at);
        }
    }
    free(info_at);
    return rc;
}

int32_t gguf_parse(const uint8_t * buf, uint64_t size, gguf_file ** out, char * err, size_t err_cap) {
    reader r = { buf, size, 0, err, err_cap };
    if (err != NULL && err_cap > 0) {
        err[0] = '\0';
    }
    if (out == NULL) {
        return fail(&r, ARIA_STATUS_INVALID_ARG, "no output pointer given at offset 0");
    }
    *out = NULL;
    if (buf == NULL && size > 0) {
        return fail(&r, ARIA_STATUS_INVALID_ARG, "no buffer given for %" PRIu64 " bytes at offset 0", size);
    }
    if (buf == NULL) {
        static const uint8_t empty[1] = { 0 };
        r.buf = empty;
    }
    gguf_file * f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return fail(&r, ARIA_STATUS_NO_MEMORY, "out of memory at offset 0");
    }
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    int32_t rc = parse_all(&r, f);
    if (rc != 0) {
        gguf_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void gguf_free(gguf_file * f) {
    if (f == NULL) {
        return;
    }
    if (f->kv != NULL) {
        for (uint64_t i = 0; i < f->n_kv; i++) {
            free(f->kv[i].key);
        }
    }
    free(f->kv);
    free(f->tensors);
    free(f);
}

const gguf_kv * gguf_find_kv(const gguf_file * f, const char * key) {
    if (f == NULL || key == NULL) {
        return NULL;
    }
    for (uint64_t i = 0; i < f->n_kv; i++) {
        if (f->kv[i].key != NULL && strcmp(f->kv[i].key, key) == 0) {
            return &f->kv[i];
        }
    }
    return NULL;
}

const gguf_tensor * gguf_find_tensor(const gguf_file * f, const char * name) {
    if (f == NULL || name == NULL) {
        return NULL;
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        if (strcmp(f->tensors[i].name, name) == 0) {
            return &f->tensors[i];
        }
    }
    return NULL;
}

static int is_unsigned_int(int32_t t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_UINT64;
}

static int is_signed_int(int32_t t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}

int gguf_get_int(const gguf_file * f, const char * key, int64_t * out) {
    const gguf_kv * kv = gguf_find_kv(f, key);
    if (kv == NULL) {
        return 0;
    }
    if (is_signed_int(kv->type)) {
        *out = kv->v.i64;
        return 1;
    }
    if (is_unsigned_int(kv->type) && kv->v.u64 <= (uint64_t) INT64_MAX) {
        *out = (int64_t) kv->v.u64;
        return 1;
    }
    return -1;   /* not an integer, or a UINT64 beyond INT64_MAX */
}

int gguf_get_float(const gguf_file * f, const char * key, double * out) {
    const gguf_kv * kv = gguf_find_kv(f, key);
    if (kv == NULL) {
        return 0;
    }
    if (kv->type == GGUF_TYPE_FLOAT32 || kv->type == GGUF_TYPE_FLOAT64) {
        *out = kv->v.f64;
    } else if (is_signed_int(kv->type)) {
        *out = (double) kv->v.i64;
    } else if (is_unsigned_int(kv->type)) {
        *out = (double) kv->v.u64;
    } else {
        return -1;
    }
    return 1;
}

int gguf_get_bool(const gguf_file * f, const char * key, int * out) {
    const gguf_kv * kv = gguf_find_kv(f, key);
    if (kv == NULL) {
        return 0;
    }
    if (kv->type == GGUF_TYPE_BOOL || is_unsigned_int(kv->type) || is_signed_int(kv->type)) {
        *out = kv->v.u64 != 0;
        return 1;
    }
    return -1;
}

int gguf_get_str(const gguf_file * f, const char * key, char * buf, size_t cap) {
    const gguf_kv * kv = gguf_find_kv(f, key);
    if (kv == NULL) {
        return 0;
    }
    if (kv->type != GGUF_TYPE_STRING) {
        return -1;
    }
    if (buf != NULL && cap > 0) {
        size_t n = kv->str_len < cap - 1 ? (size_t) kv->str_len : cap - 1;
        if (n > 0) {
            memcpy(buf, kv->str, n);
        }
        buf[n] = '\0';
    }
    return 1;
}
