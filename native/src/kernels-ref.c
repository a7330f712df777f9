/*
 * kernels-ref.c — scalar reference kernels (suffix _ref): the oracle every SIMD table is tested
 * against (tests/native/test-kernels.c). Plain C, one element at a time, written to be read next to
 * docs/formats.md (§2.1 TQ2_0, §2.2 TQ1_0, §2.3 Q8_K, §3.1/§3.2 I2_S) and the matmul
 * table of docs/engine.md.
 *
 * Floating point: these kernels DEFINE engine contract v2 (numerics.h, docs/engine.md): block sums
 * in block order, float dots in 32 partial sums of fused multiply-adds (fmaf), every other step a
 * multiply then an add (the library is built with -ffp-contract=off, so the compiler fuses
 * nothing itself). Every SIMD kernel gives these floats bit for bit.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "numerics.h"

/* Round half to even for |f| <= 2^22 (llama.cpp's nearest_int): adding 1.5*2^23 leaves the
 * rounded integer in the low mantissa bits. Out of range (inf, nan, |f| > 2^22) it returns the
 * low 23 bits minus 2^22, whatever they are; the SIMD kernels use the same bit trick, so they
 * agree with this function on every input. */
static inline int32_t nearest_int(float f) {
    const float val = f + 12582912.0f;  /* 1.5 * 2^23 */
    int32_t     i;
    memcpy(&i, &val, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* TQ2_0 x Q8_K. Block i: 256 codes c (2 bits each, -1, 0, 1 -> 0, 1, 2), d_x f16; y[i]: 256 int8.
 * Byte m of half h holds elements 128h + 32k + m in bits 2k..2k+1 (k = 0..3). */
static void vec_dot_tq2_0_q8_K_ref(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                   const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    const int64_t nb   = n / QK_K;
    float         sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int32_t sumi = 0;
        for (int h = 0; h < 2; h++) {
            for (int m = 0; m < 32; m++) {
                const uint8_t b = x[i].qs[32 * h + m];
                for (int k = 0; k < 4; k++) {
                    const int t = ((b >> (2 * k)) & 3) - 1;  /* code 0, 1, 2 -> -1, 0, 1 */
                    sumi += t * y[i].qs[128 * h + 32 * k + m];
                }
            }
        }
        sumf += (float) sumi * (aria_f16_to_f32(x[i].d) * y[i].d);
    }
    *s = sumf;
}

/* Trit n (0 = most significant) of a TQ1_0 byte: multiply by 3^n keeping 8 bits, then the top
 * base-3 digit of that fixed-point fraction is (q * 3) >> 8. */
static inline int tq1_trit(uint8_t b, int n) {
    static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
    const uint8_t        q       = (uint8_t) (b * pow3[n]);
    return (q * 3) >> 8;
}

/* Decodes one TQ1_0 block to its 256 ternary values t (-1, 0, 1), element order of §2.2. */
static void tq1_0_decode(const block_tq1_0 * restrict x, int8_t t[QK_K]) {
    for (int m = 0; m < 32; m++) {       /* qs[0..31]: elements m + 32n, n = 0..4 (0..159) */
        for (int n = 0; n < 5; n++) {
            t[m + 32 * n] = (int8_t) (tq1_trit(x->qs[m], n) - 1);
        }
    }
    for (int m = 0; m < 16; m++) {       /* qs[32..47]: elements 160 + 16n + m (160..239) */
        for (int n = 0; n < 5; n++) {
            t[160 + 16 * n + m] = (int8_t) (tq1_trit(x->qs[32 + m], n) - 1);
        }
    }
    for (int j = 0; j < 4; j++) {        /* qh[0..3]: elements 240 + 4n + j, n = 0..3 (240..255) */
        for (int n = 0; n < 4; n++) {
            t[240 + 4 * n + j] = (int8_t) (tq1_trit(x->qh[j], n) - 1);
        }
    }
}

/* TQ1_0 x Q8_K: same sum as TQ2_0, trits decoded from the base-3 bytes. */
static void vec_dot_tq1_0_q8_K_ref(int64_t n, float * restrict s, const block_tq1_0 * restrict x,
                                   const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    const int64_t nb   = n / QK_K;
    float         sumf = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int8_t t[QK_K];
        tq1_0_decode(&x[i], t);
        int32_t sumi = 0;
        for (int j = 0; j < QK_K; j++) {
            sumi += t[j] * y[i].qs[j];
        }
        sumf += (float) sumi * (aria_f16_to_f32(x[i].d) * y[i].d);
    }
    *s = sumf;
}

/* I2_S x int8: raw codes c (0..3, 3 never written) times q, summed exactly in int32.
 * x: n/4 bytes, blocks of 128 elements in 32 bytes; byte b of a block holds element b in bits 7-6,
 * b + 32 in 5-4, b + 64 in 3-2, b + 96 in 1-0. y: n int8. */
static void vec_dot_i2_s_i8_ref(int64_t n, int32_t * restrict s, const uint8_t * restrict x,
                                const int8_t * restrict y) {
    assert(n % QK_I2S == 0);
    int32_t sum = 0;
    for (int64_t i = 0; i < n / QK_I2S; i++) {
        const uint8_t * xb = x + 32 * i;   /* (32) packed codes */
        const int8_t *  yb = y + 128 * i;  /* (128) activations */
        for (int b = 0; b < 32; b++) {
            sum += ((xb[b] >> 6) & 3) * yb[b];
            sum += ((xb[b] >> 4) & 3) * yb[b + 32];
            sum += ((xb[b] >> 2) & 3) * yb[b + 64];
            sum += ((xb[b] >> 0) & 3) * yb[b + 96];
        }
    }
    *s = sum;
}

/* The float dots of contract v2 (numerics.h): element i into partial sum i % 32 as one fused
 * multiply-add (fmaf: exact product, one rounding), the 32 sums combined by
 * aria_dot_lanes_reduce. Every SIMD table reproduces this. */
static void vec_dot_f16_f32_ref(int64_t n, float * restrict s, const aria_f16 * restrict x,
                                const float * restrict y) {
    float acc[ARIA_DOT_LANES] = { 0 };
    for (int64_t i = 0; i < n; i++) {
        acc[i % ARIA_DOT_LANES] = aria_fmaf(aria_f16_to_f32(x[i]), y[i], acc[i % ARIA_DOT_LANES]);
    }
    *s = aria_dot_lanes_reduce(acc);
}

static void vec_dot_f32_ref(int64_t n, float * restrict s, const float * restrict x,
                            const float * restrict y) {
    float acc[ARIA_DOT_LANES] = { 0 };
    for (int64_t i = 0; i < n; i++) {
        acc[i % ARIA_DOT_LANES] = aria_fmaf(x[i], y[i], acc[i % ARIA_DOT_LANES]);
    }
    *s = aria_dot_lanes_reduce(acc);
}

/* llama.cpp quantize_row_q8_K_ref. Per 256 block: m = the first element of largest |x| (with its
 * sign), iscale = -127/m, q = min(127, nearest_int(iscale * x)) stored as int8 (the low byte, as a
 * C conversion does; only out-of-range input such as a subnormal-only block gets there),
 * d = 1/iscale, bsums[g] = sum of q[16g .. 16g+15]. NaN elements are skipped by the absmax search.
 * An all-zero block gives d = 0, q = 0. */
static void quantize_row_q8_K_ref(int64_t n, block_q8_K * restrict y, const float * restrict x) {
    assert(n % QK_K == 0);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float * xb   = x + QK_K * i;  /* (256) */
        float         amax = 0.0f;
        float         max  = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            const float ax = fabsf(xb[j]);
            if (ax > amax) {
                amax = ax;
                max  = xb[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            const int32_t v = nearest_int(iscale * xb[j]);
            y[i].qs[j]      = (int8_t) (uint8_t) ((v < 127 ? v : 127) & 0xff);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int32_t sum = 0;
            for (int j = 0; j < 16; j++) {
                sum += y[i].qs[16 * g + j];
            }
            y[i].bsums[g] = (int16_t) sum;
        }
        y[i].d = 1.0f / iscale;
    }
}

/* bitnet.cpp per-row int8 (docs/engine.md, I2_S row): amax = max(max|x|, 1e-5), s = 127/amax,
 * q = clamp(nearest_int(x * s), -128, 127), *sum = sum of q; returns s. NaN elements are skipped by
 * the absmax search. */
static float quantize_row_i8_ref(int64_t n, int8_t * restrict y, int32_t * restrict sum,
                                 const float * restrict x) {
    assert(n % QK_I2S == 0);
    float amax = 1e-5f;  /* the floor: an all-zero row gets s = 1.27e7 and q = 0 */
    for (int64_t i = 0; i < n; i++) {
        const float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
        }
    }
    const float s   = 127.0f / amax;
    int32_t     acc = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t v = nearest_int(x[i] * s);
        v         = v < -128 ? -128 : (v > 127 ? 127 : v);
        y[i]      = (int8_t) v;
        acc      += v;
    }
    *sum = acc;
    return s;
}

/* int8 head x Q8_K: exact int32 block sums, f32 accumulation in block order. */
static void vec_dot_q8_W_q8_K_ref(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                  const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32_t sumi = 0;
        for (int j = 0; j < QK_K; j++) {
            sumi += (int32_t) x[i].qs[j] * (int32_t) y[i].qs[j];
        }
        sumf += (float) sumi * (x[i].d * y[i].d);
    }
    *s = sumf;
}

/* numerics.h aria_silu_mul: (g / (1 + aria_expf(0 - g))) * u, element by element */
static void silu_mul_f32_ref(int64_t n, float * restrict h, const float * restrict u) {
    for (int64_t i = 0; i < n; i++) {
        h[i] = aria_silu_mul(h[i], u[i]);
    }
}

static void axpy_f32_ref(int64_t n, float a, const float * restrict x, float * restrict y) {
    for (int64_t i = 0; i < n; i++) {
        y[i] += a * x[i];
    }
}

static void axpy_f16_ref(int64_t n, float a, const aria_f16 * restrict x, float * restrict y) {
    for (int64_t i = 0; i < n; i++) {
        y[i] += a * aria_f16_to_f32(x[i]);
    }
}

/* The multi-row kernels of the reference: the single-row kernel once per activation row. */
static void vec_dot_tq2_0_q8_K_multi_ref(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                         const block_q8_K * restrict y, int64_t y_stride, int ny) {
    for (int j = 0; j < ny; j++) {
        vec_dot_tq2_0_q8_K_ref(n, s + j, x, (const block_q8_K *) ((const char *) y + j * y_stride));
    }
}

static void vec_dot_tq1_0_q8_K_multi_ref(int64_t n, float * restrict s, const block_tq1_0 * restrict x,
                                         const block_q8_K * restrict y, int64_t y_stride, int ny) {
    for (int j = 0; j < ny; j++) {
        vec_dot_tq1_0_q8_K_ref(n, s + j, x, (const block_q8_K *) ((const char *) y + j * y_stride));
    }
}

static void vec_dot_i2_s_i8_multi_ref(int64_t n, int32_t * restrict s, const uint8_t * restrict x,
                                      const int8_t * restrict y, int64_t y_stride, int ny) {
    for (int j = 0; j < ny; j++) {
        vec_dot_i2_s_i8_ref(n, s + j, x, y + j * y_stride);
    }
}

static void vec_dot_q8_W_q8_K_multi_ref(int64_t n, float * restrict s, const block_q8_W * restrict x,
                                        const block_q8_K * restrict y, int64_t y_stride, int ny) {
    for (int j = 0; j < ny; j++) {
        vec_dot_q8_W_q8_K_ref(n, s + j, x, (const block_q8_K *) ((const char *) y + j * y_stride));
    }
}

static void vec_dot_f16_f32_multi_ref(int64_t n, float * restrict s, const aria_f16 * restrict x,
                                      const float * restrict y, int64_t y_stride, int ny) {
    for (int j = 0; j < ny; j++) {
        vec_dot_f16_f32_ref(n, s + j, x, (const float *) ((const char *) y + j * y_stride));
    }
}

/* Two weight rows: the multi-row kernel once per weight row (the definition the SIMD versions must
 * match bit for bit against their own multi-row kernel). */
static void vec_dot_tq2_0_q8_K_2x_ref(int64_t n, float * restrict s, const block_tq2_0 * restrict x,
                                      int64_t x_stride, const block_q8_K * restrict y, int64_t y_stride,
                                      int ny) {
    for (int r = 0; r < 2; r++) {
        vec_dot_tq2_0_q8_K_multi_ref(n, s + r * ARIA_MULTI_MAX,
                                     (const block_tq2_0 *) ((const char *) x + r * x_stride), y, y_stride, ny);
    }
}

static void vec_dot_i2_s_i8_2x_ref(int64_t n, int32_t * restrict s, const uint8_t * restrict x, int64_t x_stride,
                                   const int8_t * restrict y, int64_t y_stride, int ny) {
    for (int r = 0; r < 2; r++) {
        vec_dot_i2_s_i8_multi_ref(n, s + r * ARIA_MULTI_MAX, x + r * x_stride, y, y_stride, ny);
    }
}

/* Rows: the multi-row kernel with one activation row, once per weight row. */
static void vec_dot_tq2_0_q8_K_rows_ref(int64_t n, int64_t nr, float * restrict s, const block_tq2_0 * restrict x,
                                        int64_t x_stride, const block_q8_K * restrict y) {
    for (int64_t r = 0; r < nr; r++) {
        vec_dot_tq2_0_q8_K_multi_ref(n, s + r, (const block_tq2_0 *) ((const char *) x + r * x_stride), y, 0, 1);
    }
}

static void vec_dot_tq1_0_q8_K_rows_ref(int64_t n, int64_t nr, float * restrict s, const block_tq1_0 * restrict x,
                                        int64_t x_stride, const block_q8_K * restrict y) {
    for (int64_t r = 0; r < nr; r++) {
        vec_dot_tq1_0_q8_K_multi_ref(n, s + r, (const block_tq1_0 *) ((const char *) x + r * x_stride), y, 0, 1);
    }
}

static void vec_dot_i2_s_i8_rows_ref(int64_t n, int64_t nr, int32_t * restrict s, const uint8_t * restrict x,
                                     int64_t x_stride, const int8_t * restrict y) {
    for (int64_t r = 0; r < nr; r++) {
        vec_dot_i2_s_i8_multi_ref(n, s + r, x + r * x_stride, y, 0, 1);
    }
}

/* ---- x16 layout (kernels.h): one row per lane; the same sums and float steps as the row kernels
 * above, so every x16 result equals vec_dot_*_ref of the same row. Also the x16 entries of the
 * tables whose own kernels do not read the layout (AVX2, NEON). */

/* The code of row r at element k of a ternary group. */
static inline int x16_code(const uint8_t * g, int r, int64_t k) {
    return (g[(k / 16) * 64 + 4 * r + k % 4] >> (2 * ((k % 16) / 4))) & 3;
}

void aria_silu_mul_f32_ref(int64_t n, float * h, const float * u) {
    silu_mul_f32_ref(n, h, u);
}

void aria_gemm_tq2_0_x16_ref(int64_t n, int64_t ng, const uint8_t * restrict x, int64_t x_stride,
                             const block_q8_K * restrict y, int64_t y_stride, int ny, float * restrict s,
                             int64_t s_stride) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t *  xg = x + g * x_stride;
        const aria_f16 * dx = (const aria_f16 *) (xg + n * 4);
        for (int j = 0; j < ny; j++) {
            const block_q8_K * yj = (const block_q8_K *) ((const char *) y + j * y_stride);
            for (int r = 0; r < ARIA_X16_ROWS; r++) {
                float sumf = 0.0f;
                for (int64_t b = 0; b < n / QK_K; b++) {
                    int32_t sumi = 0;
                    for (int i = 0; i < QK_K; i++) {
                        sumi += (x16_code(xg, r, b * QK_K + i) - 1) * yj[b].qs[i];
                    }
                    sumf += (float) sumi * (aria_f16_to_f32(dx[16 * b + r]) * yj[b].d);
                }
                s[j * s_stride + 16 * g + r] = sumf;
            }
        }
    }
}

void aria_gemm_i2_s_x16_ref(int64_t n, int64_t ng, const uint8_t * restrict x, int64_t x_stride,
                            const int8_t * restrict y, int64_t y_stride, int ny, int32_t * restrict s,
                            int64_t s_stride) {
    assert(n % QK_I2S == 0 && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    for (int64_t g = 0; g < ng; g++) {
        for (int j = 0; j < ny; j++) {
            const int8_t * yj = (const int8_t *) ((const char *) y + j * y_stride);
            for (int r = 0; r < ARIA_X16_ROWS; r++) {
                int32_t sum = 0;
                for (int64_t k = 0; k < n; k++) {
                    sum += x16_code(x + g * x_stride, r, k) * yj[k];
                }
                s[j * s_stride + 16 * g + r] = sum;
            }
        }
    }
}

void aria_gemm_q8_W_x16_ref(int64_t n, int64_t ng, const uint8_t * restrict x, int64_t x_stride,
                            const block_q8_K * restrict y, int64_t y_stride, int ny, float * restrict s,
                            int64_t s_stride) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t * xg = x + g * x_stride;
        const float *   dx = (const float *) (xg + n * 16);
        for (int j = 0; j < ny; j++) {
            const block_q8_K * yj = (const block_q8_K *) ((const char *) y + j * y_stride);
            for (int r = 0; r < ARIA_X16_ROWS; r++) {
                float sumf = 0.0f;
                for (int64_t b = 0; b < n / QK_K; b++) {
                    int32_t sumi = 0;
                    for (int i = 0; i < QK_K; i++) {
                        const int64_t k = b * QK_K + i;
                        sumi += ((int32_t) xg[(k / 4) * 64 + 4 * r + k % 4] - 128) * yj[b].qs[i];
                    }
                    sumf += (float) sumi * (dx[16 * b + r] * yj[b].d);
                }
                s[j * s_stride + 16 * g + r] = sumf;
            }
        }
    }
}

void aria_vec_dot_q4_W_q8_K_ref(int64_t n, float * restrict s, const block_q4_W * restrict x,
                                const block_q8_K * restrict y) {
    assert(n % QK_K == 0);
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / QK4_W; b++) {
        const block_q8_K * yb   = &y[b / (QK_K / QK4_W)];
        const int8_t *     q    = yb->qs + (b % (QK_K / QK4_W)) * QK4_W;
        int32_t            sumi = 0;
        for (int j = 0; j < QK4_W / 2; j++) {
            sumi += ((x[b].qs[j] & 15) - 8) * q[j] + ((x[b].qs[j] >> 4) - 8) * q[j + QK4_W / 2];
        }
        sumf += (float) sumi * (aria_f16_to_f32(x[b].d) * yb->d);
    }
    *s = sumf;
}

/* The same sums as aria_vec_dot_q4_W_q8_K_ref, read from the x16 layout. */
void aria_gemm_q4_W_x16_ref(int64_t n, int64_t ng, const uint8_t * restrict x, int64_t x_stride,
                            const block_q8_K * restrict y, int64_t y_stride, int ny, float * restrict s,
                            int64_t s_stride) {
    assert(n % QK_K == 0 && ny >= 1 && ny <= ARIA_X16_MAX_NY);
    for (int64_t g = 0; g < ng; g++) {
        const uint8_t * xg = x + g * x_stride;
        for (int j = 0; j < ny; j++) {
            const block_q8_K * yj = (const block_q8_K *) ((const char *) y + j * y_stride);
            for (int r = 0; r < ARIA_X16_ROWS; r++) {
                float sumf = 0.0f;
                for (int64_t b = 0; b < n / QK4_W; b++) {
                    const block_q8_K * yb   = &yj[b / (QK_K / QK4_W)];
                    const int8_t *     q    = yb->qs + (b % (QK_K / QK4_W)) * QK4_W;
                    int32_t            sumi = 0;
                    const uint8_t * sb = xg + (b / 2) * 576;  /* kernels.h: 8 chunks, then 32 scales */
                    aria_f16        dx;
                    memcpy(&dx, sb + 512 + (b % 2) * 32 + 2 * r, sizeof dx);
                    for (int c = 0; c < QK4_W / 8; c++) {
                        const uint8_t * w = sb + (b % 2) * 256 + c * 64 + 4 * r;
                        for (int i = 0; i < 4; i++) {
                            sumi += ((w[i] & 15) - 8) * q[8 * c + i] + ((w[i] >> 4) - 8) * q[8 * c + 4 + i];
                        }
                    }
                    sumf += (float) sumi * (aria_f16_to_f32(dx) * yb->d);
                }
                s[j * s_stride + 16 * g + r] = sumf;
            }
        }
    }
}

/* ---- x16 lookup tables (kernels.h "x16 lookup tables"): the algorithm in plain C ------------- */

/* One call of the LUT GEMM: off = 1 (TQ2_0, Q8_K activations y, float outputs sf) or 0 (I2_S, int8
 * rows y, int32 code sums si). Every 128 elements: the 32 quads' tables from the tokens'
 * activations, then each row's sum as 32 lookups (a byte with a code 3 as its 4 products). */
static void gemm_x16_lut_ref(int off, int64_t n, int64_t ng, const uint8_t * restrict x, int64_t x_stride,
                             const void * y, int64_t y_stride, int ny, float * sf, int32_t * si, int64_t s_stride) {
    enum { NT = ARIA_X16_LUT_NY, QUADS = 32 };
    assert(ny >= 1 && ny <= NT && n % (off ? QK_K : QK_I2S) == 0);
    int32_t (*tab)[81][NT] = malloc(sizeof(int32_t[QUADS][81][NT]));  /* 166 KB: off the stack */
    int32_t * isum         = calloc((size_t) (ng * 16 * NT), sizeof(int32_t));
    float *   fsum         = calloc((size_t) (ng * 16 * NT), sizeof(float));
    if (!tab || !isum || !fsum) {  /* a test oracle: no partial answer */
        abort();
    }
    for (int64_t hb = 0; hb < n / 128; hb++) {
        const int8_t * q[NT];
        float          dy[NT];
        for (int t = 0; t < NT; t++) {
            q[t]  = NULL;
            dy[t] = 0.0f;
            if (t < ny && off) {
                const block_q8_K * b = (const block_q8_K *) ((const char *) y + t * y_stride) + hb / 2;
                q[t]  = b->qs + 128 * (hb % 2);
                dy[t] = b->d;
            } else if (t < ny) {
                q[t] = (const int8_t *) y + t * y_stride + 128 * hb;
            }
        }
        for (int qd = 0; qd < QUADS; qd++) {  /* quad qd = chunk qd / 4, byte qd % 4 */
            for (int i = 0; i < 81; i++) {
                for (int t = 0; t < NT; t++) {
                    int32_t v = 0;
                    for (int s = 0, p = i; s < 4; s++, p /= 3) {
                        v += q[t] ? (p % 3 - off) * q[t][16 * (qd / 4) + 4 * s + qd % 4] : 0;
                    }
                    tab[qd][i][t] = v;
                }
            }
        }
        for (int64_t g = 0; g < ng; g++) {
            const uint8_t * xg = x + g * x_stride + 64 * 8 * hb;
            for (int r = 0; r < 16; r++) {
                int32_t * acc = isum + (g * 16 + r) * NT;
                for (int qd = 0; qd < QUADS; qd++) {
                    const int byte = xg[64 * (qd / 4) + 4 * r + qd % 4];
                    int       idx  = 0, code3 = 0;
                    for (int s = 3; s >= 0; s--) {
                        const int c = (byte >> (2 * s)) & 3;
                        code3 |= c == 3;
                        idx = 3 * idx + (c == 3 ? 0 : c);
                    }
                    for (int t = 0; t < NT; t++) {
                        if (!code3) {
                            acc[t] += tab[qd][idx][t];
                            continue;
                        }
                        for (int s = 0; s < 4 && q[t]; s++) {
                            acc[t] += (((byte >> (2 * s)) & 3) - off) * q[t][16 * (qd / 4) + 4 * s + qd % 4];
                        }
                    }
                }
                if (off && hb % 2 == 1) {  /* the end of a 256-block: the reference's f32 step */
                    const float dx = aria_f16_to_f32(((const aria_f16 *) (x + g * x_stride + n * 4))[16 * (hb / 2) + r]);
                    for (int t = 0; t < NT; t++) {
                        fsum[(g * 16 + r) * NT + t] += (float) acc[t] * (dx * dy[t]);
                        acc[t] = 0;
                    }
                }
            }
        }
    }
    for (int64_t g = 0; g < ng; g++) {
        for (int r = 0; r < 16; r++) {
            for (int t = 0; t < ny; t++) {
                if (off) {
                    sf[t * s_stride + 16 * g + r] = fsum[(g * 16 + r) * NT + t];
                } else {
                    si[t * s_stride + 16 * g + r] = isum[(g * 16 + r) * NT + t];
                }
            }
        }
    }
    free(tab);
    free(isum);
    free(fsum);
}

void aria_gemm_tq2_0_x16_lut_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const block_q8_K * y,
                                 int64_t y_stride, int ny, float * s, int64_t s_stride) {
    gemm_x16_lut_ref(1, n, ng, x, x_stride, y, y_stride, ny, s, NULL, s_stride);
}

void aria_gemm_i2_s_x16_lut_ref(int64_t n, int64_t ng, const uint8_t * x, int64_t x_stride, const int8_t * y,
                                int64_t y_stride, int ny, int32_t * s, int64_t s_stride) {
    gemm_x16_lut_ref(0, n, ng, x, x_stride, y, y_stride, ny, NULL, s, s_stride);
}

const aria_kernel_table aria_kernels_ref = {
    .name               = "ref",
    .vec_dot_tq2_0_q8_K = vec_dot_tq2_0_q8_K_ref,
    .vec_dot_tq1_0_q8_K = vec_dot_tq1_0_q8_K_ref,
    .vec_dot_i2_s_i8    = vec_dot_i2_s_i8_ref,
    .vec_dot_tq2_0_q8_K_multi = vec_dot_tq2_0_q8_K_multi_ref,
    .vec_dot_tq1_0_q8_K_multi = vec_dot_tq1_0_q8_K_multi_ref,
    .vec_dot_i2_s_i8_multi    = vec_dot_i2_s_i8_multi_ref,
    .vec_dot_tq2_0_q8_K_2x    = vec_dot_tq2_0_q8_K_2x_ref,
    .vec_dot_i2_s_i8_2x       = vec_dot_i2_s_i8_2x_ref,
    .vec_dot_tq2_0_q8_K_rows  = vec_dot_tq2_0_q8_K_rows_ref,
    .vec_dot_tq1_0_q8_K_rows  = vec_dot_tq1_0_q8_K_rows_ref,
    .vec_dot_i2_s_i8_rows     = vec_dot_i2_s_i8_rows_ref,
    .vec_dot_q8_W_q8_K        = vec_dot_q8_W_q8_K_ref,
    .vec_dot_q8_W_q8_K_multi  = vec_dot_q8_W_q8_K_multi_ref,
    .vec_dot_f16_f32_multi    = vec_dot_f16_f32_multi_ref,
    .axpy_f32                 = axpy_f32_ref,
    .silu_mul_f32             = silu_mul_f32_ref,
    .axpy_f16                 = axpy_f16_ref,
    .vec_dot_f16_f32    = vec_dot_f16_f32_ref,
    .vec_dot_f32        = vec_dot_f32_ref,
    .quantize_row_q8_K  = quantize_row_q8_K_ref,
    .quantize_row_i8    = quantize_row_i8_ref,
    .repack_tq1_0_tq2_0 = aria_repack_tq1_0_to_tq2_0,
    .x16_preferred      = 0,
    .gemm_tq2_0_x16     = aria_gemm_tq2_0_x16_ref,
    .gemm_i2_s_x16      = aria_gemm_i2_s_x16_ref,
    .gemm_q8_W_x16      = aria_gemm_q8_W_x16_ref,
    .gemm_q4_W_x16      = aria_gemm_q4_W_x16_ref,
};
