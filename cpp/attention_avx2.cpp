// AVX2+FMA build of the fused attention tile kernels (attention_kernels.inl, 8-lane vectors); chosen
// at run time in attention.cpp on CPUs without AVX-512.
#include "simd_avx2.h"
#define WK_ATTN_SUFFIX Avx2
#define WK_ATTN_V V256
#include "attention_kernels.inl"
