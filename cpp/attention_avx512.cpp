// AVX-512 build of the fused attention tile kernels (attention_kernels.inl, 16-lane vectors); chosen
// at run time in attention.cpp.
#include "simd_avx512.h"
#define WK_ATTN_SUFFIX Avx512
#define WK_ATTN_V V512
#include "attention_kernels.inl"
