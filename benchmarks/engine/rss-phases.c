/* Resident-memory accounting of one `aria bench`-like run, phase by phase (benchmarks/engine/rss.sh):
 * loads a model as `aria bench` does (kernel table, repack, then the head), creates the context
 * `aria bench --pp PP --tg TG` creates (n_ctx = max(pp, tg), n_batch = pp, one sequence, f32 KV),
 * runs the prefill and TG decode steps, and after each phase prints one JSON line with the
 * process's /proc/self/status figures (VmHWM, VmRSS, RssAnon, RssFile, in KiB) and the resident KiB
 * of the model file's mapping (/proc/self/smaps). Linux only.
 *
 *   rss-phases FILE KERNELS(auto|ref|avx2|avxvnni|avx512) HEAD(float|int8|int4) PP TG THREADS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aria.h"

/* One field of /proc/self/status in KiB, or -1. */
static long status_kib(const char * key) {
    FILE * f = fopen("/proc/self/status", "r");
    char   line[256];
    long   v = -1;
    if (!f) {
        return -1;
    }
    const size_t n = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resident KiB of the mappings of `path` (the model file) in /proc/self/smaps. */
static long mapping_rss_kib(const char * path) {
    FILE * f = fopen("/proc/self/smaps", "r");
    char   line[4096];
    long   total = 0;
    int    in    = 0;
    if (!f) {
        return -1;
    }
    const char * base = strrchr(path, '/');
    base              = base ? base + 1 : path;
    while (fgets(line, sizeof line, f)) {
        /* a mapping's header line starts with its address range, "7f…-7f… r--s …" */
        const char * dash = strchr(line, '-');
        if (dash && dash > line && strspn(line, "0123456789abcdef") == (size_t)(dash - line)) {
            in = strstr(line, base) != NULL;
        } else if (in && strncmp(line, "Rss:", 4) == 0) {
            total += strtol(line + 4, NULL, 10);
        }
    }
    fclose(f);
    return total;
}

static void snap(const char * phase, const char * path) {
    printf("{\"phase\":\"%s\",\"hwm_kib\":%ld,\"rss_kib\":%ld,\"anon_kib\":%ld,\"file_kib\":%ld,\"model_map_kib\":%ld}\n",
           phase, status_kib("VmHWM"), status_kib("VmRSS"), status_kib("RssAnon"), status_kib("RssFile"),
           mapping_rss_kib(path));
    fflush(stdout);
}

int main(int argc, char ** argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s FILE auto|ref|avx2|avxvnni|avx512 float|int8|int4 PP TG THREADS\n", argv[0]);
        return 2;
    }
    const char * path = argv[1];
    const char * kname = argv[2], *head = argv[3];
    const int    pp = atoi(argv[4]), tg = atoi(argv[5]), threads = atoi(argv[6]);
    const int    kernels = strcmp(kname, "ref") == 0       ? ARIA_KERNELS_REF
                           : strcmp(kname, "avx2") == 0    ? ARIA_KERNELS_AVX2
                           : strcmp(kname, "avxvnni") == 0 ? ARIA_KERNELS_AVXVNNI
                           : strcmp(kname, "avx512") == 0  ? ARIA_KERNELS_AVX512
                                                           : ARIA_KERNELS_AUTO;
    const int32_t type = strcmp(head, "int8") == 0 ? ARIA_TYPE_Q8_W : strcmp(head, "int4") == 0 ? ARIA_TYPE_Q4_W : 0;
    if (pp < 0 || tg < 0 || pp + tg < 1 || threads < 1 || (type == 0 && strcmp(head, "float") != 0)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    snap("start", path);
    if (aria_kernels_set(kernels)) {
        fprintf(stderr, "kernels %s not available\n", kname);
        return 1;
    }
    char                err[512];
    struct aria_model * m;
    if (aria_model_load(path, 0, -1, err, sizeof err, &m)) {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        return 1;
    }
    snap("load", path);
    if (aria_model_repack(m)) {
        fprintf(stderr, "cannot repack\n");
        return 1;
    }
    snap("repack", path);
    if (type != 0 && aria_model_requantize_output_to(m, type)) {
        fprintf(stderr, "cannot requantize the head\n");
        return 1;
    }
    snap("head", path);
    const int n_ctx = pp > tg ? pp : tg, n_batch = pp > 1 ? pp : 1;
    struct aria_ctx * c;
    if (aria_ctx_init_kv(m, n_ctx, 1, n_batch, threads, ARIA_TYPE_F32, &c)) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    snap("ctx", path);
    const int n_vocab = aria_model_n_vocab(m);
    int32_t * tok     = malloc(sizeof(int32_t) * (size_t)(n_batch));
    int32_t * pos     = malloc(sizeof(int32_t) * (size_t)(n_batch));
    int32_t * seq     = calloc((size_t)n_batch, sizeof(int32_t));
    if (pp > 0) {
        for (int i = 0; i < pp; i++) {
            tok[i] = (i * 7919 + 1) % n_vocab, pos[i] = i;
        }
        if (aria_ctx_decode(c, pp, tok, pos, seq, NULL)) {
            fprintf(stderr, "prefill failed\n");
            return 1;
        }
        snap("prefill", path);
    }
    for (int i = 0; i < tg; i++) {
        tok[0] = (i * 104729 + 3) % n_vocab, pos[0] = i;
        if (aria_ctx_decode(c, 1, tok, pos, seq, NULL)) {
            fprintf(stderr, "decode failed\n");
            return 1;
        }
    }
    if (tg > 0) {
        snap("decode", path);
    }
    aria_ctx_free(c);
    aria_model_free(m);
    free(tok), free(pos), free(seq);
    return 0;
}
