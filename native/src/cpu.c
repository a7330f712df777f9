/*
 * cpu.c — CPU feature probes (cpuid + xgetbv on x86-64, fixed answers on aarch64) and the
 * process-wide choice of kernel table (kernels.h).
 *
 * Threads: the probe runs once (pthread_once). The current table is one atomic pointer; it is set
 * lazily to the best available table on first use, or by aria_kernels_select(), which aria.c calls
 * only while nothing evaluates (aria.h: aria_kernels_set).
 *
 * aarch64: aria_cpu_has_neon() is 1 (AdvSIMD is mandatory in ARMv8-A), so ARIA_KERNELS_NEON is
 * always available there and is the AUTO choice. It means the dotprod table (kernels-neon-dotprod.c)
 * when the kernel reports SDOT (getauxval(AT_HWCAP) & HWCAP_ASIMDDP), else the ARMv8.0 table
 * (kernels-neon.c); both give results identical to each other (see kernels-neon-ternary.h). With
 * i8mm too (getauxval(AT_HWCAP2) & HWCAP2_I8MM; Apple: sysctl hw.optional.arm.FEAT_I8MM) it means
 * the neon-i8mm table (kernels-neon-i8mm.c: the dotprod table with SMMLA in its x16 kernels).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "aria.h"
#include "kernels.h"

#if defined(__x86_64__)
#    include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#    include <sys/auxv.h>
#    define ARIA_HWCAP_ASIMDDP (1ul << 20)  /* <asm/hwcap.h> HWCAP_ASIMDDP (Linux 4.15+) */
#    define ARIA_HWCAP2_I8MM   (1ul << 13)  /* <asm/hwcap.h> HWCAP2_I8MM (Linux 5.10+) */
#endif
#if defined(__aarch64__) && defined(__APPLE__)
#    include <sys/sysctl.h>
#endif

typedef struct {
    int  avx2;     /* AVX2 + FMA + F16C, YMM state saved by the OS */
    int  avx512;   /* AVX-512 F + BW + VL + VNNI, ZMM state saved by the OS (and avx2) */
    int  avxvnni;  /* AVX-VNNI (VEX vpdpbusd on ymm), YMM state saved by the OS (and avx2) */
    int  neon;
    int  dotprod;  /* aarch64 SDOT/UDOT */
    int  i8mm;     /* aarch64 SMMLA/UMMLA/USMMLA (and dotprod) */
    char str[160]; /* space-separated names of the usable features */
} cpu_features;

static cpu_features   g_cpu;
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;

static void add_name(char * str, const char * name) {
    if (str[0] != '\0') {
        strcat(str, " ");
    }
    strcat(str, name);
}

#if defined(__x86_64__)
/* XCR0: which register states the OS saves on a context switch. Only valid when OSXSAVE is set.
 * Encoded as bytes so that no -mxsave flag is needed. */
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t) hi << 32) | lo;
}

static void probe_x86(cpu_features * f) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7 || !__get_cpuid(1, &a, &b, &c, &d)) {
        return;
    }
    const int fma     = (c >> 12) & 1;
    const int osxsave = (c >> 27) & 1;
    const int avx     = (c >> 28) & 1;
    const int f16c    = (c >> 29) & 1;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2     = (b >> 5) & 1;
    const int avx512f  = (b >> 16) & 1;
    const int avx512bw = (b >> 30) & 1;
    const int avx512vl = (b >> 31) & 1;
    const int vnni     = (c >> 11) & 1;
    unsigned  max_sub7 = a;  /* leaf 7 subleaf 0 EAX: the highest subleaf */
    __cpuid_count(7, 1, a, b, c, d);
    const int avxvnni = max_sub7 >= 1 && ((a >> 4) & 1);  /* leaf 7 subleaf 1 EAX bit 4 */

    const uint64_t xcr0   = osxsave ? read_xcr0() : 0;
    const int      ymm_ok = (xcr0 & 0x06) == 0x06;  /* SSE + AVX state */
    const int      zmm_ok = (xcr0 & 0xe6) == 0xe6;  /* + opmask, ZMM_Hi256, Hi16_ZMM */

    if (ymm_ok && avx) {
        if (avx2) add_name(f->str, "avx2");
        if (fma) add_name(f->str, "fma");
        if (f16c) add_name(f->str, "f16c");
        if (avxvnni) add_name(f->str, "avxvnni");
    }
    if (zmm_ok) {
        if (avx512f) add_name(f->str, "avx512f");
        if (avx512bw) add_name(f->str, "avx512bw");
        if (avx512vl) add_name(f->str, "avx512vl");
        if (vnni) add_name(f->str, "avx512vnni");
    }
    f->avx2   = ymm_ok && avx && avx2 && fma && f16c;
    f->avx512 = f->avx2 && zmm_ok && avx512f && avx512bw && avx512vl && vnni;
    f->avxvnni = f->avx2 && avxvnni;
}
#endif

static void probe(void) {
    memset(&g_cpu, 0, sizeof g_cpu);
#if defined(__x86_64__)
    probe_x86(&g_cpu);
#elif defined(__aarch64__)
    g_cpu.neon = 1;  /* mandatory in ARMv8-A */
    add_name(g_cpu.str, "neon");
#    if defined(__linux__)
    g_cpu.dotprod = (getauxval(AT_HWCAP) & ARIA_HWCAP_ASIMDDP) != 0;
    g_cpu.i8mm    = g_cpu.dotprod && (getauxval(AT_HWCAP2) & ARIA_HWCAP2_I8MM) != 0;
#    elif defined(__APPLE__)
    g_cpu.dotprod = 1;  /* Apple silicon Macs (M1 on) implement ARMv8.4-A+, where dotprod is mandatory */
    int    has    = 0;  /* M2 on */
    size_t len    = sizeof has;
    g_cpu.i8mm    = sysctlbyname("hw.optional.arm.FEAT_I8MM", &has, &len, NULL, 0) == 0 && has != 0;
#    endif                /* elsewhere: no probe, the ARMv8.0 table */
    if (g_cpu.dotprod) add_name(g_cpu.str, "dotprod");
    if (g_cpu.i8mm) add_name(g_cpu.str, "i8mm");
#endif
    if (g_cpu.str[0] == '\0') {
        strcpy(g_cpu.str, "none");
    }
}

static const cpu_features * cpu(void) {
    pthread_once(&g_cpu_once, probe);
    return &g_cpu;
}

int aria_cpu_has_avx2(void) { return cpu()->avx2; }
int aria_cpu_has_avx512(void) { return cpu()->avx512; }
int aria_cpu_has_avxvnni(void) { return cpu()->avxvnni; }
int aria_cpu_has_neon(void) { return cpu()->neon; }
int aria_cpu_has_dotprod(void) { return cpu()->dotprod; }
int aria_cpu_has_i8mm(void) { return cpu()->i8mm; }
const char * aria_cpu_features_str(void) { return cpu()->str; }

/* ---- kernel table selection ------------------------------------------------------------------ */

static _Atomic(const aria_kernel_table *) g_table = NULL;  /* NULL until first use */

/* The table for an explicit set, or NULL if this CPU or build lacks it. */
static const aria_kernel_table * table_for(int32_t kernels) {
    switch (kernels) {
        case ARIA_KERNELS_REF:
            return &aria_kernels_ref;
#if defined(__x86_64__)
        case ARIA_KERNELS_AVX2:
            return aria_cpu_has_avx2() ? &aria_kernels_avx2 : NULL;
        case ARIA_KERNELS_AVX512:
            return aria_cpu_has_avx512() ? &aria_kernels_avx512 : NULL;
        case ARIA_KERNELS_AVXVNNI:
            return aria_cpu_has_avxvnni() ? &aria_kernels_avxvnni : NULL;
#endif
#if defined(__aarch64__)
        case ARIA_KERNELS_NEON:
            if (!aria_cpu_has_neon()) return NULL;
            return aria_cpu_has_i8mm()      ? &aria_kernels_neon_i8mm
                   : aria_cpu_has_dotprod() ? &aria_kernels_neon_dotprod
                                            : &aria_kernels_neon;
#endif
        default:
            return NULL;
    }
}

static const aria_kernel_table * best_table(void) {
    static const int32_t order[] = { ARIA_KERNELS_AVX512, ARIA_KERNELS_AVXVNNI, ARIA_KERNELS_AVX2, ARIA_KERNELS_NEON };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const aria_kernel_table * t = table_for(order[i]);
        if (t != NULL) {
            return t;
        }
    }
    return &aria_kernels_ref;
}

int aria_kernels_select(int32_t kernels) {
    if (kernels < ARIA_KERNELS_AUTO || kernels > ARIA_KERNELS_AVXVNNI) {
        return ARIA_STATUS_INVALID_ARG;
    }
    const aria_kernel_table * t = kernels == ARIA_KERNELS_AUTO ? best_table() : table_for(kernels);
    if (t == NULL) {
        return ARIA_STATUS_UNSUPPORTED;
    }
    atomic_store_explicit(&g_table, t, memory_order_release);
    return 0;
}

const aria_kernel_table * aria_kernels_current(void) {
    const aria_kernel_table * t = atomic_load_explicit(&g_table, memory_order_acquire);
    if (t == NULL) {
        /* First use: install the best table unless someone got there first. */
        const aria_kernel_table * expected = NULL;
        t = best_table();
        if (!atomic_compare_exchange_strong_explicit(&g_table, &expected, t, memory_order_acq_rel,
                                                     memory_order_acquire)) {
            t = expected;
        }
    }
    return t;
}

int32_t aria_kernels_selected(void) {
    const aria_kernel_table * t = aria_kernels_current();
#if defined(__x86_64__)
    if (t == &aria_kernels_avx512) return ARIA_KERNELS_AVX512;
    if (t == &aria_kernels_avx2) return ARIA_KERNELS_AVX2;
    if (t == &aria_kernels_avxvnni) return ARIA_KERNELS_AVXVNNI;
#endif
#if defined(__aarch64__)
    if (t == &aria_kernels_neon || t == &aria_kernels_neon_dotprod || t == &aria_kernels_neon_i8mm) {
        return ARIA_KERNELS_NEON;
    }
#endif
    (void) t;  /* only the reference table on builds without SIMD kernels */
    return ARIA_KERNELS_REF;
}
