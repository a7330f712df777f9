/*
 * ternary.h — block layouts of the tensor types libbitnet reads, and f16/bf16 conversions.
 * Facts: docs/formats.md §1.4, §1.6, §2, §3. Every struct has its size asserted.
 */
#ifndef ARIA_TERNARY_H
#define ARIA_TERNARY_H

#include <assert.h>
#include <stdint.h>
#include <string.h>

#define QK_K   256   /* super-block of TQ1_0, TQ2_0, Q6_K, Q4_K, Q8_K */
#define QK8_0  32
#define QK4_0  32
#define QK_I2S 128   /* I2_S: 128 weights in 32 bytes; one f32 scale per tensor after the codes */

typedef uint16_t aria_f16;

/* TQ2_0: 2-bit codes c = t + 1 (-1, 0, 1 -> 0, 1, 2). Half h (0, 1) covers elements 128h..128h+127;
 * byte m of a half holds elements 128h+m, +32, +64, +96 in bits 0-1, 2-3, 4-5, 6-7. */
typedef struct {
    uint8_t  qs[QK_K / 4];
    aria_f16 d;
} block_tq2_0;
static_assert(sizeof(block_tq2_0) == 66, "block_tq2_0 is 66 bytes");

/* TQ1_0: 5 trits per byte in qs (base-3 fixed point, ceil(v*256/243)), 4 trits per byte in qh. */
typedef struct {
    uint8_t  qs[(QK_K - 4 * QK_K / 64) / 5];  /* 48 */
    uint8_t  qh[QK_K / 64];                   /* 4 */
    aria_f16 d;
} block_tq1_0;
static_assert(sizeof(block_tq1_0) == 54, "block_tq1_0 is 54 bytes");

/* Q8_K: activation format the TQ types are dotted with (llama.cpp): per-256 absmax. */
typedef struct {
    float   d;
    int8_t  qs[QK_K];
    int16_t bsums[QK_K / 16];
} block_q8_K;
static_assert(sizeof(block_q8_K) == 292, "block_q8_K is 292 bytes");

/* ARIA's own int8 row format for a requantized output head (not a GGUF type): per 256 values,
 * d = absmax / 127 and q = round-half-even(x / d) in -127..127; value = d * q. */
typedef struct {
    float  d;
    int8_t qs[QK_K];
} block_q8_W;
static_assert(sizeof(block_q8_W) == 260, "block_q8_W is 260 bytes");

/* ARIA's own int4 row format for a requantized output head (not a GGUF type; the bytes of Q4_0):
 * per 32 values an f16 d and q in -8..7 stored as q + 8, qs[i] holding element i in bits 0-3 and
 * element i + 16 in bits 4-7; value = d * q. Only ever held in the x16 layout (kernels.h). */
#define QK4_W 32
typedef struct {
    aria_f16 d;
    uint8_t  qs[QK4_W / 2];
} block_q4_W;
static_assert(sizeof(block_q4_W) == 18, "block_q4_W is 18 bytes");

typedef struct {
    aria_f16 d;
    int8_t   qs[QK8_0];
} block_q8_0;
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 is 34 bytes");

typedef struct {
    aria_f16 d;
    uint8_t  qs[QK4_0 / 2];
} block_q4_0;
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 is 18 bytes");

typedef struct {
    aria_f16 d;
    aria_f16 dmin;
    uint8_t  scales[12];
    uint8_t  qs[QK_K / 2];
} block_q4_K;
static_assert(sizeof(block_q4_K) == 144, "block_q4_K is 144 bytes");

typedef struct {
    uint8_t  ql[QK_K / 2];
    uint8_t  qh[QK_K / 4];
    int8_t   scales[QK_K / 16];
    aria_f16 d;
} block_q6_K;
static_assert(sizeof(block_q6_K) == 210, "block_q6_K is 210 bytes");

/* IEEE binary16 -> binary32, exact (handles subnormals, inf, nan). */
static inline float aria_f16_to_f32(aria_f16 h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t       exp  = (h >> 10) & 0x1fu;
    uint32_t       man  = h & 0x3ffu;
    uint32_t       bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while ((man & 0x400u) == 0) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ffu;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* binary32 -> binary16, round to nearest even (as F16C's vcvtps2ph with rounding mode 0). */
static inline aria_f16 aria_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) { /* inf or nan */
        return (aria_f16)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0));
    }
    if (absx >= 0x477ff000u) { /* rounds to >= 65520: overflow to inf */
        return (aria_f16)(sign | 0x7c00u);
    }
    if (absx < 0x38800000u) { /* result is subnormal or zero */
        if (absx < 0x33000000u) {
            return (aria_f16)sign;
        }
        const uint32_t e     = absx >> 23;
        const uint32_t m     = (absx & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - e; /* 14..24 */
        uint32_t       r     = m >> shift;
        const uint32_t rem   = m & ((1u << shift) - 1);
        const uint32_t half  = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) {
            r++;
        }
        return (aria_f16)(sign | r);
    }
    uint32_t r = ((absx >> 13) - ((127 - 15) << 10));
    const uint32_t rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) {
        r++;
    }
    return (aria_f16)(sign | r);
}

static inline float aria_bf16_to_f32(uint16_t h) {
    const uint32_t bits = (uint32_t)h << 16;
    float          f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#endif /* ARIA_TERNARY_H */
