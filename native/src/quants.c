/*
 * quants.c — type facts (names, block sizes, row bytes) and scalar row dequantizers for every
 * tensor type libbitnet reads. Layouts: docs/formats.md §1.4 (ids), §1.6 (F16, BF16,
 * Q4_0, Q8_0, Q4_K, Q6_K), §2 (TQ1_0, TQ2_0, Q8_K), §3.1 (I2_S).
 *
 * The dequantizers mirror llama.cpp's dequantize_row_* arithmetic (same float operations in the
 * same order), so an embedding row read here equals the one llama.cpp would use.
 */
#include <stddef.h>
#include <math.h>
#include <string.h>

#include "aria.h"
#include "kernels.h"

/* ---- type facts ---------------------------------------------------------------------------- */

typedef struct {
    const char * name;
    int64_t      block_elems;  /* elements per block */
    uint64_t     block_bytes;  /* bytes per block */
} type_info;

/* Types libbitnet runs, by id. */
static const type_info * known_type(int32_t type) {
    static const type_info f32   = { "F32", 1, 4 };
    static const type_info f16   = { "F16", 1, 2 };
    static const type_info q4_0  = { "Q4_0", QK4_0, sizeof(block_q4_0) };
    static const type_info q8_0  = { "Q8_0", QK8_0, sizeof(block_q8_0) };
    static const type_info q4_K  = { "Q4_K", QK_K, sizeof(block_q4_K) };
    static const type_info q6_K  = { "Q6_K", QK_K, sizeof(block_q6_K) };
    static const type_info q8_K  = { "Q8_K", QK_K, sizeof(block_q8_K) };
    static const type_info bf16  = { "BF16", 1, 2 };
    static const type_info tq1_0 = { "TQ1_0", QK_K, sizeof(block_tq1_0) };
    static const type_info tq2_0 = { "TQ2_0", QK_K, sizeof(block_tq2_0) };
    static const type_info i2_s  = { "I2_S", QK_I2S, QK_I2S / 4 };  /* + one f32 per tensor */
    switch (type) {
        case ARIA_TYPE_F32:   return &f32;
        case ARIA_TYPE_F16:   return &f16;
        case ARIA_TYPE_Q4_0:  return &q4_0;
        case ARIA_TYPE_Q8_0:  return &q8_0;
        case ARIA_TYPE_Q4_K:  return &q4_K;
        case ARIA_TYPE_Q6_K:  return &q6_K;
        case ARIA_TYPE_Q8_K:  return &q8_K;
        case ARIA_TYPE_BF16:  return &bf16;
        case ARIA_TYPE_TQ1_0: return &tq1_0;
        case ARIA_TYPE_TQ2_0: return &tq2_0;
        case ARIA_TYPE_I2_S:  return &i2_s;
        default:              return NULL;
    }
}

const char * aria_type_name(int32_t type) {
    const type_info * t = known_type(type);
    return t != NULL ? t->name : NULL;
}

/* Ids of ggml (upstream) and of bitnet.cpp's fork that libbitnet refuses, named for messages
 * (formats.md §1.4). 38 and 39 mean different things in the two tables. */
const char * aria_type_name_any(int32_t type) {
    const char * name = aria_type_name(type);
    if (name != NULL) {
        return name;
    }
    switch (type) {
        case 3:  return "Q4_1";
        case 4:  return "Q4_2 (removed)";
        case 5:  return "Q4_3 (removed)";
        case 6:  return "Q5_0";
        case 7:  return "Q5_1";
        case 9:  return "Q8_1";
        case 10: return "Q2_K";
        case 11: return "Q3_K";
        case 13: return "Q5_K";
        case 16: return "IQ2_XXS";
        case 17: return "IQ2_XS";
        case 18: return "IQ3_XXS";
        case 19: return "IQ1_S";
        case 20: return "IQ4_NL";
        case 21: return "IQ3_S";
        case 22: return "IQ2_S";
        case 23: return "IQ4_XS";
        case 24: return "I8";
        case 25: return "I16";
        case 26: return "I32";
        case 27: return "I64";
        case 28: return "F64";
        case 29: return "IQ1_M";
        case 31: return "Q4_0_4_4";
        case 32: return "Q4_0_4_8";
        case 33: return "Q4_0_8_8";
        case 37: return "I8_S (bitnet.cpp)";
        case 38: return "TL1 (bitnet.cpp)";
        case 39: return "TL2 (bitnet.cpp) or MXFP4";
        case 40: return "NVFP4";
        case 41: return "Q1_0";
        case 42: return "Q2_0";
        default: return NULL;
    }
}

int64_t aria_type_block_elems(int32_t type) {
    const type_info * t = known_type(type);
    return t != NULL ? t->block_elems : 0;
}

/* 0 also when n is negative or not a multiple of the block size. */
uint64_t aria_type_row_bytes(int32_t type, int64_t n) {
    const type_info * t = known_type(type);
    if (t == NULL || n < 0 || n % t->block_elems != 0) {
        return 0;
    }
    return (uint64_t) (n / t->block_elems) * t->block_bytes;
}

/* ---- dequantizers (one row of n elements) ------------------------------------------------- */

static void dequant_f16(const aria_f16 * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = aria_f16_to_f32(x[i]);
    }
}

static void dequant_bf16(const uint16_t * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = aria_bf16_to_f32(x[i]);
    }
}

/* Q4_0: byte j low nibble = element j, high nibble = element j + 16; x = (nibble - 8) * d. */
static void dequant_q4_0(const block_q4_0 * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; i++, y += QK4_0) {
        const float d = aria_f16_to_f32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j]              = (float) ((x[i].qs[j] & 0x0f) - 8) * d;
            y[j + QK4_0 / 2]  = (float) ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void dequant_q8_0(const block_q8_0 * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; i++, y += QK8_0) {
        const float d = aria_f16_to_f32(x[i].d);
        for (int j = 0; j < QK8_0; j++) {
            y[j] = (float) x[i].qs[j] * d;
        }
    }
}

static void dequant_q8_K(const block_q8_K * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        for (int j = 0; j < QK_K; j++) {
            y[j] = x[i].d * (float) x[i].qs[j];
        }
    }
}

/* Q4_K sub-block j (0..7) scale and min, 6 bits each, packed in 12 bytes (formats.md §1.6). */
static void q4_K_scale_min(int j, const uint8_t * q, uint8_t * sc, uint8_t * mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (uint8_t) ((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *mn = (uint8_t) ((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q4_K: chunk c (0..3) = 32 bytes; low nibbles -> sub-block 2c (elements 64c..64c+31), high
 * nibbles -> sub-block 2c+1; x = d*scale*q - dmin*min. */
static void dequant_q4_K(const block_q4_K * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float     d  = aria_f16_to_f32(x[i].d);
        const float     dm = aria_f16_to_f32(x[i].dmin);
        const uint8_t * q  = x[i].qs;
        for (int c = 0; c < 4; c++, q += 32) {
            uint8_t sc, mn;
            q4_K_scale_min(2 * c, x[i].scales, &sc, &mn);
            const float d1 = d * sc, m1 = dm * mn;
            q4_K_scale_min(2 * c + 1, x[i].scales, &sc, &mn);
            const float d2 = d * sc, m2 = dm * mn;
            for (int l = 0; l < 32; l++) {
                *y++ = d1 * (q[l] & 0x0f) - m1;
            }
            for (int l = 0; l < 32; l++) {
                *y++ = d2 * (q[l] >> 4) - m2;
            }
        }
    }
}

/* Q6_K: per 128-element half (ql += 64, qh += 32, scales += 8), for l in 0..31, is = l/16:
 *   element l      : ql[l]      low nibble | qh[l] bits 0-1 << 4, scale is
 *   element l + 32 : ql[l + 32] low nibble | qh[l] bits 2-3 << 4, scale is + 2
 *   element l + 64 : ql[l]      high nibble| qh[l] bits 4-5 << 4, scale is + 4
 *   element l + 96 : ql[l + 32] high nibble| qh[l] bits 6-7 << 4, scale is + 6
 * each 6-bit value minus 32, times d times the scale. */
static void dequant_q6_K(const block_q6_K * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float     d  = aria_f16_to_f32(x[i].d);
        const uint8_t * ql = x[i].ql;
        const uint8_t * qh = x[i].qh;
        const int8_t *  sc = x[i].scales;
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l]      = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

/* TQ2_0: byte m of half h holds elements 128h + 32k + m in bits 2k..2k+1; w = (c - 1) * d. */
static void dequant_tq2_0(const block_tq2_0 * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = aria_f16_to_f32(x[i].d);
        for (int h = 0; h < 2; h++) {
            for (int k = 0; k < 4; k++) {
                for (int m = 0; m < 32; m++) {
                    const int c = (x[i].qs[32 * h + m] >> (2 * k)) & 3;
                    y[128 * h + 32 * k + m] = (float) (c - 1) * d;
                }
            }
        }
    }
}

/* TQ1_0 trit n of byte b (n = 0 most significant): (uint8(b * 3^n) * 3) >> 8. */
static int tq1_0_code(uint8_t b, int n) {
    static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
    return ((uint8_t) (b * pow3[n]) * 3) >> 8;
}

/* TQ1_0 element order (formats.md §2.2): qs[m], m < 32 -> elements m + 32n (n = 0..4);
 * qs[32 + m], m < 16 -> 160 + 16n + m; qh[j] -> 240 + 4n + j (n = 0..3). w = (c - 1) * d. */
static void dequant_tq1_0(const block_tq1_0 * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, y += QK_K) {
        const float d = aria_f16_to_f32(x[i].d);
        for (int t = 0; t < 5; t++) {
            for (int m = 0; m < 32; m++) {
                y[m + 32 * t] = (float) (tq1_0_code(x[i].qs[m], t) - 1) * d;
            }
            for (int m = 0; m < 16; m++) {
                y[160 + 16 * t + m] = (float) (tq1_0_code(x[i].qs[32 + m], t) - 1) * d;
            }
        }
        for (int t = 0; t < 4; t++) {
            for (int j = 0; j < 4; j++) {
                y[240 + 4 * t + j] = (float) (tq1_0_code(x[i].qh[j], t) - 1) * d;
            }
        }
    }
}

/* TQ1_0 -> TQ2_0, block by block: the same 256 codes (each TQ1_0 byte decoded by the formula of
 * tq1_0_code, so even bytes 243..255, which no encoder writes, give what the TQ1_0 kernels read)
 * and the f16 scale copied bit for bit. TQ2_0 byte m of half h holds elements 128h + m + 32k
 * (k = 0..3) in bits 2k..2k+1. Where they come from in TQ1_0 (§2.2):
 *   half 0, byte m:           elements m + 32k       = trits 0..3 of qs[m]
 *   half 1, byte m < 16:      128 + m (qs[m] trit 4), 160 + m (qs[32 + m] trit 0),
 *                             192 + m (qs[32 + m] trit 2), 224 + m (qs[32 + m] trit 4)
 *   half 1, byte 16 + m:      144 + m (qs[16 + m] trit 4), 176 + m (qs[32 + m] trit 1),
 *                             208 + m (qs[32 + m] trit 3), 240 + m (qh[m % 4] trit m / 4)
 * Each output byte is an OR of table entries indexed by source bytes (tables built per call from
 * tq1_0_code: 1 KiB, nothing shared between threads). The reference and the NEON tables' entry;
 * AVX2 has its own (kernels-avx2.c). One thread, shared 2-core VM: ~200 ns per block decoding trit
 * by trit with the multiply formula, 46-70 with these tables, 13-15 for AVX2. */
void aria_repack_tq1_0_to_tq2_0(const block_tq1_0 * x, block_tq2_0 * y, int64_t nb) {
    uint8_t low4[256];  /* codes of trits 0..3 in bits 0-1, 2-3, 4-5, 6-7 */
    uint8_t t4[256];    /* code of trit 4 in bits 0-1 */
    uint8_t even[256];  /* trits 0, 2, 4 in bits 2-3, 4-5, 6-7 */
    uint8_t odd[256];   /* trits 1, 3 in bits 2-3, 4-5 */
    for (int b = 0; b < 256; b++) {
        int c[5];
        for (int n = 0; n < 5; n++) {
            c[n] = tq1_0_code((uint8_t) b, n);
        }
        low4[b] = (uint8_t) (c[0] | c[1] << 2 | c[2] << 4 | c[3] << 6);
        t4[b]   = (uint8_t) c[4];
        even[b] = (uint8_t) (c[0] << 2 | c[2] << 4 | c[4] << 6);
        odd[b]  = (uint8_t) (c[1] << 2 | c[3] << 4);
    }
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t * qs = x[i].qs;
        const uint8_t * qh = x[i].qh;
        uint8_t *       o  = y[i].qs;
        for (int m = 0; m < 32; m++) {
            o[m] = low4[qs[m]];
        }
        const uint8_t h[4] = { low4[qh[0]], low4[qh[1]], low4[qh[2]], low4[qh[3]] };
        for (int m = 0; m < 16; m++) {
            o[32 + m] = (uint8_t) (t4[qs[m]] | even[qs[32 + m]]);
            o[48 + m] = (uint8_t) (t4[qs[16 + m]] | odd[qs[32 + m]] | ((h[m & 3] >> (2 * (m >> 2))) & 3) << 6);
        }
        y[i].d = x[i].d;
    }
}

int aria_dequantize_row(int32_t type, const void * x, float * y, int64_t n) {
    const int64_t block = aria_type_block_elems(type);
    if (block == 0 || type == ARIA_TYPE_I2_S || n < 0 || n % block != 0) {
        return -1;
    }
    switch (type) {
        case ARIA_TYPE_F32:
            if (n > 0) {
                memcpy(y, x, (size_t) n * sizeof(float));
            }
            return 0;
        case ARIA_TYPE_F16:   dequant_f16(x, y, n);   return 0;
        case ARIA_TYPE_BF16:  dequant_bf16(x, y, n);  return 0;
        case ARIA_TYPE_Q4_0:  dequant_q4_0(x, y, n);  return 0;
        case ARIA_TYPE_Q8_0:  dequant_q8_0(x, y, n);  return 0;
        case ARIA_TYPE_Q8_K:  dequant_q8_K(x, y, n);  return 0;
        case ARIA_TYPE_Q4_K:  dequant_q4_K(x, y, n);  return 0;
        case ARIA_TYPE_Q6_K:  dequant_q6_K(x, y, n);  return 0;
        case ARIA_TYPE_TQ1_0: dequant_tq1_0(x, y, n); return 0;
        case ARIA_TYPE_TQ2_0: dequant_tq2_0(x, y, n); return 0;
        default:              return -1;
    }
}

/* I2_S row: n/4 bytes of 128-element blocks (byte b: element b in bits 7-6, b + 32 in 5-4,
 * b + 64 in 3-2, b + 96 in 1-0); w = (c - 1) * scale. Code 3 (never written) gives +2 * scale,
 * which is what the dot kernel's sum(c*q) - sum(q) makes of it too. */
void aria_dequantize_row_i2_s(const uint8_t * x, float scale, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_I2S; i++, x += 32, y += QK_I2S) {
        for (int b = 0; b < 32; b++) {
            y[b]      = (float) (((x[b] >> 6) & 3) - 1) * scale;
            y[b + 32] = (float) (((x[b] >> 4) & 3) - 1) * scale;
            y[b + 64] = (float) (((x[b] >> 2) & 3) - 1) * scale;
            y[b + 96] = (float) (((x[b] >> 0) & 3) - 1) * scale;
        }
    }
}

/* The int8 output-head format (block_q8_W): per 256 values d = absmax / 127 and
 * q = round-half-even(x / d) (so |q| <= 127 and two products fit an int16 pair sum); an all-zero
 * block has d = 0 and q = 0. */
/* Round half to even of v clamped to lo..hi (integers), NaN to 0: the clamp comes first because
 * lrintf of a value past the range of long (inf, huge) is not specified (x86 gives LONG_MIN, arm64
 * saturates), and the weights a head is requantized from must give the same bytes on every CPU
 * (contract v2, docs/engine.md). For v in range this is lrintf then clamp. */
static long round_clamp(float v, float lo, float hi) {
    if (v != v) {
        return 0;
    }
    v = v < lo ? lo : v > hi ? hi : v;
    return lrintf(v);  /* the default rounding mode: half to even */
}

void aria_quantize_row_q8_W(const float * x, block_q8_W * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float amax = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float a = fabsf(x[j]);
            amax          = a > amax ? a : amax;
        }
        y[i].d          = amax / 127.0f;
        const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        for (int j = 0; j < QK_K; j++) {
            y[i].qs[j] = (int8_t) round_clamp(x[j] * inv, -127.0f, 127.0f);
        }
    }
}

/* The int4 output-head format (block_q4_W): per 32 values, m = the value of largest magnitude
 * (sign kept), d = f16(m / -8), q = round-half-even(x / d) clamped to -8..7, so m itself is -8 and
 * the other side reaches +7 (Q4_0's choice: one more level on m's side than a symmetric -7..7 step
 * of |m| / 7); the f16-rounded d is the one used to divide, so dequantizing gives d * q exactly. An
 * all-zero block has d = 0 and q = 0. */
void aria_quantize_row_q4_W(const float * x, block_q4_W * y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_W; i++, x += QK4_W) {
        float amax = 0.0f;
        float m    = 0.0f;
        for (int j = 0; j < QK4_W; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                m    = x[j];
            }
        }
        y[i].d          = aria_f32_to_f16(m / -8.0f);
        const float d   = aria_f16_to_f32(y[i].d);
        const float inv = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < QK4_W / 2; j++) {
            const long a = round_clamp(x[j] * inv, -8.0f, 7.0f);
            const long b = round_clamp(x[j + QK4_W / 2] * inv, -8.0f, 7.0f);
            y[i].qs[j] = (uint8_t) ((a + 8) | (b + 8) << 4);
        }
    }
}

void aria_dequantize_row_q4_W(const block_q4_W * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_W; i++) {
        const float d = aria_f16_to_f32(x[i].d);
        for (int j = 0; j < QK4_W / 2; j++) {
            y[i * QK4_W + j]             = d * (float) ((x[i].qs[j] & 15) - 8);
            y[i * QK4_W + j + QK4_W / 2] = d * (float) ((x[i].qs[j] >> 4) - 8);
        }
    }
}

void aria_dequantize_row_q8_W(const block_q8_W * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        for (int j = 0; j < QK_K; j++) {
            y[i * QK_K + j] = x[i].d * (float) x[i].qs[j];
        }
    }
}
