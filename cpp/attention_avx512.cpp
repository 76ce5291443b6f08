// AVX-512 build of the fused attention tile kernels (attention_kernels.inl); chosen at run time in
// attention.cpp.
#define WK_ATTN_SUFFIX Avx512
#include "attention_kernels.inl"
