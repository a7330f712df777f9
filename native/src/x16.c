/*
 * x16.c — the x16 weight layout (kernels.h): sizes, and conversion of rows in the file's layout to
 * groups of 16 and back. Scalar; it runs at load (aria_model_repack, the int8 head) and in tests.
 * The row layouts read here are formats.md §2.1 (TQ2_0), §3.1 (I2_S) and ternary.h (block_q8_W,
 * block_q4_W).
 */
#include <string.h>

#include "aria.h"
#include "kernels.h"

static uint64_t pad64(uint64_t b) {
    return (b + 63) / 64 * 64;
}

uint64_t aria_x16_group_bytes(int32_t type, int64_t n) {
    if (n <= 0) {
        return 0;
    }
    switch (type) {
        case ARIA_TYPE_TQ2_0:  /* 2-bit codes of 16 rows, then 16 f16 scales per block */
            return n % QK_K == 0 && n <= ARIA_X16_MAX_N ? (uint64_t)n * 4 + pad64((uint64_t)(n / QK_K) * 32) : 0;
        case ARIA_TYPE_I2_S:   /* 2-bit codes of 16 rows (one scale per tensor, kept in the matrix) */
            return n % QK_I2S == 0 ? (uint64_t)n * 4 : 0;
        case ARIA_TYPE_Q8_W:   /* bytes of 16 rows, then 16 f32 scales per block */
            return n % QK_K == 0 && n <= ARIA_X16_MAX_N ? (uint64_t)n * 16 + pad64((uint64_t)(n / QK_K) * 64) : 0;
        case ARIA_TYPE_Q4_W:   /* nibbles of 16 rows, then 16 f16 scales per 32 values */
            return n % QK_K == 0 && n <= ARIA_X16_MAX_N ? (uint64_t)n * 9 : 0;
        default:
            return 0;
    }
}

/* Q4_W groups (kernels.h): the byte holding element k of row r (low nibble if k % 8 < 4), and the
 * first byte of row r's f16 scale of 32-value block b; 576 bytes per 64 values. */
static uint64_t q4_W_code_byte(int64_t k, int r) {
    return (uint64_t)(k / 64) * 576 + (uint64_t)((k % 64) / 8) * 64 + 4 * (uint64_t)r + (uint64_t)(k % 4);
}

static uint64_t q4_W_scale_byte(int64_t b, int r) {
    return (uint64_t)(b / 2) * 576 + 512 + (uint64_t)(b % 2) * 32 + 2 * (uint64_t)r;
}

void aria_x16_q4_W_act(int64_t n, const block_q8_K * y, int64_t y_stride, int ny, const block_q8_K ** yj,
                       int32_t * tot32) {
    const int64_t n32 = n / QK4_W;
    for (int j = 0; j < ny; j++) {
        yj[j] = (const block_q8_K *)((const char *)y + j * y_stride);
        for (int64_t b = 0; b < n32; b++) {
            const int16_t * bs = yj[j][b / 8].bsums + 2 * (b % 8);
            tot32[j * n32 + b] = bs[0] + bs[1];
        }
    }
}

/* The codes (0..3 as stored; 3 is never written) of one row in element order: TQ2_0 block of 256,
 * byte m of half h holds elements 128h + 32k + m in bits 2k..2k+1; I2_S block of 128 in 32 bytes,
 * byte b holds element b in bits 7-6, b + 32 in 5-4, b + 64 in 3-2, b + 96 in 1-0. */
static void row_codes(int32_t type, int64_t n, const uint8_t * row, uint8_t * codes) {
    if (type == ARIA_TYPE_TQ2_0) {
        for (int64_t ib = 0; ib < n / QK_K; ib++) {
            const block_tq2_0 * b = (const block_tq2_0 *)row + ib;
            uint8_t *           c = codes + ib * QK_K;
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 4; k++) {
                    for (int m = 0; m < 32; m++) {
                        c[128 * h + 32 * k + m] = (b->qs[32 * h + m] >> (2 * k)) & 3;
                    }
                }
            }
        }
        return;
    }
    for (int64_t ib = 0; ib < n / QK_I2S; ib++) {
        for (int g = 0; g < 4; g++) {
            for (int b = 0; b < 32; b++) {
                codes[ib * QK_I2S + 32 * g + b] = (row[32 * ib + b] >> (6 - 2 * g)) & 3;
            }
        }
    }
}

void aria_x16_pack_group(int32_t type, int64_t n, const uint8_t * src, uint64_t row_bytes, int64_t nr,
                         uint8_t * dst, uint8_t * scratch) {
    memset(dst, 0, aria_x16_group_bytes(type, n));
    for (int r = 0; r < nr; r++) {
        const uint8_t * row = src + (uint64_t)r * row_bytes;
        if (type == ARIA_TYPE_Q8_W) {
            const block_q8_W * b  = (const block_q8_W *)row;
            float *            ds = (float *)(dst + (uint64_t)n * 16);  /* 64-aligned: n % 256 == 0 */
            for (int64_t ib = 0; ib < n / QK_K; ib++) {
                uint8_t * d = dst + (uint64_t)ib * 64 * 64 + 4 * (uint64_t)r;
                for (int c = 0; c < 64; c++) {
                    for (int j = 0; j < 4; j++) {
                        d[64 * c + j] = (uint8_t)(b[ib].qs[4 * c + j] + 128);
                    }
                }
                ds[16 * ib + r] = b[ib].d;
            }
            continue;
        }
        if (type == ARIA_TYPE_Q4_W) {
            const block_q4_W * b  = (const block_q4_W *)row;
            for (int64_t k = 0; k < n; k++) {  /* nibble of element k: qs[k % 16] of block k / 32 */
                const uint8_t v = (uint8_t)((b[k / QK4_W].qs[k % 16] >> (4 * ((k % QK4_W) / 16))) & 15);
                dst[q4_W_code_byte(k, r)] |= (uint8_t)(v << (4 * ((k % 8) / 4)));
            }
            for (int64_t ib = 0; ib < n / QK4_W; ib++) {
                memcpy(dst + q4_W_scale_byte(ib, r), &b[ib].d, sizeof(aria_f16));
            }
            continue;
        }
        row_codes(type, n, row, scratch);
        for (int64_t c = 0; c < n / 16; c++) {
            const uint8_t * k = scratch + 16 * c;
            uint8_t *       d = dst + (uint64_t)c * 64 + 4 * (uint64_t)r;
            for (int j = 0; j < 4; j++) {
                d[j] = (uint8_t)(k[j] | k[4 + j] << 2 | k[8 + j] << 4 | k[12 + j] << 6);
            }
        }
        if (type == ARIA_TYPE_TQ2_0) {
            aria_f16 * ds = (aria_f16 *)(dst + (uint64_t)n * 4);
            for (int64_t ib = 0; ib < n / QK_K; ib++) {
                ds[16 * ib + r] = ((const block_tq2_0 *)row)[ib].d;
            }
        }
    }
}

void aria_x16_unpack_row(int32_t type, int64_t n, const uint8_t * group, int r, uint8_t * dst) {
    if (type == ARIA_TYPE_Q8_W) {
        block_q8_W *  b  = (block_q8_W *)dst;
        const float * ds = (const float *)(group + (uint64_t)n * 16);
        for (int64_t k = 0; k < n; k++) {
            b[k / QK_K].qs[k % QK_K] = (int8_t)(group[(uint64_t)(k / 4) * 64 + 4 * (uint64_t)r + (uint64_t)(k % 4)] - 128);
        }
        for (int64_t ib = 0; ib < n / QK_K; ib++) {
            b[ib].d = ds[16 * ib + r];
        }
        return;
    }
    if (type == ARIA_TYPE_Q4_W) {
        block_q4_W *     b  = (block_q4_W *)dst;
        memset(dst, 0, (size_t)(n / QK4_W) * sizeof(block_q4_W));
        for (int64_t k = 0; k < n; k++) {
            const uint8_t v = (uint8_t)((group[q4_W_code_byte(k, r)] >> (4 * ((k % 8) / 4))) & 15);
            b[k / QK4_W].qs[k % 16] |= (uint8_t)(v << (4 * ((k % QK4_W) / 16)));
        }
        for (int64_t ib = 0; ib < n / QK4_W; ib++) {
            memcpy(&b[ib].d, group + q4_W_scale_byte(ib, r), sizeof(aria_f16));
        }
        return;
    }
    memset(dst, 0, aria_type_row_bytes(type, n));
    for (int64_t k = 0; k < n; k++) {
        const int c = (group[(uint64_t)(k / 16) * 64 + 4 * (uint64_t)r + (uint64_t)(k % 4)] >> (2 * ((k % 16) / 4))) & 3;
        if (type == ARIA_TYPE_TQ2_0) {
            const int i = (int)(k % QK_K);
            ((block_tq2_0 *)dst)[k / QK_K].qs[32 * (i / 128) + i % 32] |= (uint8_t)(c << (2 * ((i % 128) / 32)));
        } else {
            const int i = (int)(k % QK_I2S);
            dst[32 * (k / QK_I2S) + i % 32] |= (uint8_t)(c << (6 - 2 * (i / 32)));
        }
    }
    if (type == ARIA_TYPE_TQ2_0) {
        const aria_f16 * ds = (const aria_f16 *)(group + (uint64_t)n * 4);
        for (int64_t ib = 0; ib < n / QK_K; ib++) {
            ((block_tq2_0 *)dst)[ib].d = ds[16 * ib + r];
        }
    }
}
