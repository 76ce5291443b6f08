// AVX2+FMA build of LayerNorm's per-row passes (layer_norm_rows.inl); chosen at run time in
// layer_norm.cpp on CPUs without AVX-512.
#define WK_LN_SUFFIX Avx2
#include "layer_norm_rows.inl"
