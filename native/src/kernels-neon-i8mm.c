/*
 * kernels-neon-i8mm.c — the neon-i8mm table: kernels-neon-dotprod.c compiled again with
 * -march=armv8.2-a+dotprod+i8mm and ARIA_NEON_I8MM, so that its x16 kernels run two tokens at a time
 * through SMMLA (prefill and batched decode; one token still goes through SDOT). Chosen at run time
 * by cpu.c only when the kernel reports i8mm (HWCAP2_I8MM; Apple: hw.optional.arm.FEAT_I8MM), and
 * such a CPU has dotprod too. Every result is bit-identical to the dotprod table's, and so to _ref:
 * the same exact integer sums, the same f32 steps.
 */
#define ARIA_NEON_I8MM 1
#include "kernels-neon-dotprod.c"
