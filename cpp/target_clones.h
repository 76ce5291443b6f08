// WK_CLONES: builds a loop function twice, for AVX2 and for the baseline, and picks one when the
// process starts (GCC target_clones through an ifunc). For element-wise passes in portable files
// whose AVX2 build gives the same bits (no FMA is enabled: "avx2" alone does not imply it), so
// results never depend on the clone chosen. Elsewhere (clang, other architectures) it is empty.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define WK_CLONES
#endif
