// AVX2+FMA build of the fused attention tile kernels (attention_kernels.inl); chosen at run time in
// attention.cpp on CPUs without AVX-512.
#define WK_ATTN_SUFFIX Avx2
#include "attention_kernels.inl"
