/*
 * neon-count.c — one NEON kernel table's ternary / int8-head kernels on a 2B-4T-shaped matrix
 * (n = 2560 inputs, 256 rows), called `calls` times: a driver for counting the instructions an
 * aarch64 CPU executes under qemu, where no timing means anything. Built for aarch64 by
 * `make -C native CROSS=aarch64-linux-gnu- build/aarch64-linux-gnu/neon-count`; the count is the
 * difference between a run with `calls` and one with 0 calls (benchmarks/METHODOLOGY.md, "ARM").
 * Usage: neon-count TABLE KERNEL NY CALLS
 *   TABLE  neon | neon-dotprod | neon-i8mm | ref
 *   KERNEL tq2_0-rows | tq2_0-x16 | i2_s-rows | i2_s-x16 | q8_W-rows | q8_W-x16
 *          (rows: the row layout's kernels, vec_dot_*_rows for NY = 1, else _2x / _multi over
 *          row pairs / rows, ARIA_MULTI_MAX tokens at a time; x16: gemm_*_x16 with NY tokens)
 *   NY     tokens, 1..8
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"
#include "kernels.h"

enum { N = 2560, ROWS = 256 };

static const aria_kernel_table * table_named(const char * name) {
    const aria_kernel_table * all[] = { &aria_kernels_ref, &aria_kernels_neon, &aria_kernels_neon_dotprod,
                                        &aria_kernels_neon_i8mm };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i]->name, name) == 0) {
            return all[i];
        }
    }
    return NULL;
}

int main(int argc, char ** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: neon-count TABLE KERNEL NY CALLS\n");
        return 2;
    }
    const aria_kernel_table * k     = table_named(argv[1]);
    const char *              kern  = argv[2];
    const int                 ny    = atoi(argv[3]);
    const int                 calls = atoi(argv[4]);
    if (!k || ny < 1 || ny > ARIA_X16_MAX_NY || calls < 0) {
        fprintf(stderr, "neon-count: bad table, NY or CALLS\n");
        return 2;
    }
    const int      tq   = strncmp(kern, "tq2_0", 5) == 0;
    const int      i2   = strncmp(kern, "i2_s", 4) == 0;
    const int      x16  = strstr(kern, "x16") != NULL;
    const int32_t  type = tq ? ARIA_TYPE_TQ2_0 : i2 ? ARIA_TYPE_I2_S : ARIA_TYPE_Q8_W;
    const uint64_t rb   = tq ? (uint64_t) (N / QK_K) * sizeof(block_tq2_0)
                        : i2 ? (uint64_t) N / 4
                             : (uint64_t) (N / QK_K) * sizeof(block_q8_W);
    uint8_t * rows = calloc(ROWS, rb);
    /* codes 0..2 (a code 3 never occurs in a ternary file), small scales */
    uint32_t st = 12345;
    for (uint64_t i = 0; i < ROWS * rb; i++) {
        st        = st * 1103515245u + 12345u;
        uint8_t b = 0;
        for (int s = 0; s < 4; s++) {
            b |= (uint8_t) (((st >> (8 + 2 * s)) % 3) << (2 * s));
        }
        rows[i] = i2 || tq ? b : (uint8_t) (st >> 16);
    }
    if (tq) {
        for (int r = 0; r < ROWS * (N / QK_K); r++) {
            ((block_tq2_0 *) rows)[r].d = 0x2c00;
        }
    } else if (!i2) {
        for (int r = 0; r < ROWS * (N / QK_K); r++) {
            ((block_q8_W *) rows)[r].d = 0.01f;
        }
    }
    const uint64_t gb     = aria_x16_group_bytes(type, N);
    uint8_t *      groups = calloc(ROWS / 16, gb);
    uint8_t *      scr    = malloc(N);
    for (int g = 0; g < ROWS / 16; g++) {
        aria_x16_pack_group(type, N, rows + rb * 16 * g, rb, 16, groups + gb * g, scr);
    }
    const int64_t ys = i2 ? N : (int64_t) (N / QK_K) * (int64_t) sizeof(block_q8_K);
    uint8_t *     y  = calloc(ARIA_X16_MAX_NY, (size_t) ys);
    float         xf[N];
    for (int j = 0; j < ny; j++) {
        for (int i = 0; i < N; i++) {
            xf[i] = (float) ((i * 7 + j * 13) % 29) - 14.0f;
        }
        if (i2) {
            int32_t sum;
            k->quantize_row_i8(N, (int8_t *) (y + j * ys), &sum, xf);
        } else {
            k->quantize_row_q8_K(N, (block_q8_K *) (y + j * ys), xf);
        }
    }
    float *   sf = calloc((size_t) ARIA_X16_MAX_NY * ROWS, sizeof(float));
    int32_t * si = calloc((size_t) ARIA_X16_MAX_NY * ROWS, sizeof(int32_t));
    for (int c = 0; c < calls; c++) {
        if (x16) {
            if (tq) {
                k->gemm_tq2_0_x16(N, ROWS / 16, groups, (int64_t) gb, (const block_q8_K *) y, ys, ny, sf, ROWS);
            } else if (i2) {
                k->gemm_i2_s_x16(N, ROWS / 16, groups, (int64_t) gb, (const int8_t *) y, ys, ny, si, ROWS);
            } else {
                k->gemm_q8_W_x16(N, ROWS / 16, groups, (int64_t) gb, (const block_q8_K *) y, ys, ny, sf, ROWS);
            }
            continue;
        }
        for (int j0 = 0; j0 < ny; j0 += ARIA_MULTI_MAX) {  /* the row layout: 4 tokens at a time, as matmul.c */
            const int nt = ny - j0 < ARIA_MULTI_MAX ? ny - j0 : ARIA_MULTI_MAX;
            if (ny == 1) {
                if (tq) {
                    k->vec_dot_tq2_0_q8_K_rows(N, ROWS, sf, (const block_tq2_0 *) rows, (int64_t) rb,
                                               (const block_q8_K *) y);
                } else if (i2) {
                    k->vec_dot_i2_s_i8_rows(N, ROWS, si, rows, (int64_t) rb, (const int8_t *) y);
                } else {
                    for (int r = 0; r < ROWS; r++) {
                        k->vec_dot_q8_W_q8_K(N, sf + r, (const block_q8_W *) (rows + rb * r), (const block_q8_K *) y);
                    }
                }
                continue;
            }
            float   s4[2 * ARIA_MULTI_MAX];
            int32_t i4[2 * ARIA_MULTI_MAX];
            for (int r = 0; r < ROWS; r += tq || i2 ? 2 : 1) {
                if (tq) {
                    k->vec_dot_tq2_0_q8_K_2x(N, s4, (const block_tq2_0 *) (rows + rb * r), (int64_t) rb,
                                             (const block_q8_K *) (y + j0 * ys), ys, nt);
                } else if (i2) {
                    k->vec_dot_i2_s_i8_2x(N, i4, rows + rb * r, (int64_t) rb, (const int8_t *) (y + j0 * ys), ys, nt);
                } else {
                    k->vec_dot_q8_W_q8_K_multi(N, s4, (const block_q8_W *) (rows + rb * r),
                                               (const block_q8_K *) (y + j0 * ys), ys, nt);
                }
                for (int rr = 0; rr < (tq || i2 ? 2 : 1); rr++) {
                    for (int j = 0; j < nt; j++) {
                        const int e = (j0 + j) * ROWS + r + rr;
                        if (i2) {
                            si[e] = i4[rr * ARIA_MULTI_MAX + j];
                        } else {
                            sf[e] = tq ? s4[rr * ARIA_MULTI_MAX + j] : s4[j];
                        }
                    }
                }
            }
        }
    }
    /* a checksum, so that no call is optimised away and runs can be compared */
    double chk = 0;
    for (int i = 0; i < ARIA_X16_MAX_NY * ROWS; i++) {
        chk += sf[i] + si[i];
    }
    printf("%s %s ny=%d calls=%d checksum %.6g\n", k->name, kern, ny, calls, chk);
    free(rows), free(groups), free(scr), free(y), free(sf), free(si);
    return 0;
}
