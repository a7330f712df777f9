/*
 * gguf.h — a bounds-checked GGUF v2/v3 reader over a byte buffer (the mmapped file).
 * Layout facts: docs/formats.md §1. Nothing here aborts or prints: every problem in the
 * bytes becomes ARIA_STATUS_BAD_FORMAT (or UNSUPPORTED) with a message naming what and where.
 * Keys and names are copied (NUL-terminated); values of strings and arrays point into the buffer,
 * which must outlive the gguf_file.
 */
#ifndef ARIA_GGUF_H
#define ARIA_GGUF_H

#include <stddef.h>
#include <stdint.h>

enum gguf_value_type {
    GGUF_TYPE_UINT8   = 0,
    GGUF_TYPE_INT8    = 1,
    GGUF_TYPE_UINT16  = 2,
    GGUF_TYPE_INT16   = 3,
    GGUF_TYPE_UINT32  = 4,
    GGUF_TYPE_INT32   = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL    = 7,
    GGUF_TYPE_STRING  = 8,
    GGUF_TYPE_ARRAY   = 9,
    GGUF_TYPE_UINT64  = 10,
    GGUF_TYPE_INT64   = 11,
    GGUF_TYPE_FLOAT64 = 12,
};

#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 64

typedef struct gguf_kv {
    char *          key;        /* owned, NUL-terminated */
    int32_t         type;       /* enum gguf_value_type */
    union {
        uint64_t u64;           /* any unsigned integer / bool, widened */
        int64_t  i64;           /* any signed integer, widened */
        double   f64;           /* FLOAT32 / FLOAT64, widened */
    } v;
    const uint8_t * str;        /* STRING: bytes in the buffer (not NUL-terminated) */
    uint64_t        str_len;
    int32_t         arr_type;   /* ARRAY: element type */
    uint64_t        arr_n;      /* ARRAY: element count */
    const uint8_t * arr_data;   /* ARRAY: first element in the buffer */
    uint64_t        offset;     /* where this pair starts in the file (for messages) */
} gguf_kv;

typedef struct gguf_tensor {
    char            name[GGUF_MAX_NAME];
    int32_t         n_dims;
    int64_t         ne[GGUF_MAX_DIMS];  /* ne[0] is contiguous; unused dims are 1 */
    int32_t         type;               /* ggml / bitnet.cpp type id (enum aria_type) */
    uint64_t        offset;             /* relative to the data section */
    uint64_t        n_bytes;            /* size in the file (I2_S: n/4 + 32) */
    const uint8_t * data;               /* start of the tensor in the buffer */
} gguf_tensor;

typedef struct gguf_file {
    uint32_t        version;
    uint64_t        alignment;
    uint64_t        n_kv;
    gguf_kv *       kv;
    uint64_t        n_tensors;
    gguf_tensor *   tensors;
    uint64_t        data_offset;        /* start of the data section in the file */
} gguf_file;

/* Parses the header, all key/value pairs and the tensor table of buf[0..size) and checks that
 * every tensor lies inside the buffer. Returns 0, or ARIA_STATUS_BAD_FORMAT / UNSUPPORTED /
 * NO_MEMORY with a message in err (NUL-terminated, truncated to err_cap). On failure *out is NULL. */
int32_t gguf_parse(const uint8_t * buf, uint64_t size, gguf_file ** out, char * err, size_t err_cap);
void    gguf_free(gguf_file * f);

const gguf_kv *     gguf_find_kv(const gguf_file * f, const char * key);
const gguf_tensor * gguf_find_tensor(const gguf_file * f, const char * name);

/* Typed getters: return 1 and set *out if the key exists with a compatible type (any integer type
 * for _int, FLOAT32/FLOAT64 or integer for _float, BOOL or integer for _bool), 0 if the key is
 * absent, -1 if present with an incompatible type. */
int gguf_get_int(const gguf_file * f, const char * key, int64_t * out);
int gguf_get_float(const gguf_file * f, const char * key, double * out);
int gguf_get_bool(const gguf_file * f, const char * key, int * out);
/* STRING: copies into buf (NUL-terminated, truncated to cap). */
int gguf_get_str(const gguf_file * f, const char * key, char * buf, size_t cap);

#endif /* ARIA_GGUF_H */
